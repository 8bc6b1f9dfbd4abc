//! What wxpub keeps on disk between runs, besides the caches: the ledger of what was written to
//! WeChat (`publish.lock`), the lock that keeps two runs from writing a project at once, and
//! the stat-cached hashes of the sources.
pub mod file_hashes;
pub mod ledger;
pub mod run_lock;
