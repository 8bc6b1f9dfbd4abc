//! METRICS: the statistics database, the datacube pull, and the reports built from it
//! (followers, articles, summary, and the yearly evidence report scored with the museum's
//! self-evaluation form). Reports read only the database.
pub mod annual;
pub mod availability;
pub mod charts;
pub mod comments;
pub mod documents;
pub mod format;
pub mod network;
pub mod published;
pub mod pull;
pub mod report;
pub mod score;
pub mod store;
pub mod survey;
pub mod xlsx;

pub use store::{CheckResult, Failure, Publication, PublishRun, Store, StoreError, StoreTarget};
