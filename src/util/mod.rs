//! Leaf helpers every stage may use, and that use no stage: the clock (pinnable for tests and
//! `--now`), file writes, the progress reporter, redaction of secrets, HTML scanning, the
//! loopback HTTP server, file:line diagnostics, and the memo the caches share.
pub mod clock;
pub mod diagnostics;
pub mod fs;
pub mod html;
pub mod http_server;
pub mod memo;
pub mod progress;
pub mod redact;
