//! MCP: `wxpub mcp`, a Model Context Protocol server over stdio for one project, so that an
//! editor's AI assistant checks, edits and measures through wxpub's own rules instead of
//! guessing WeChat's.
//!
//! The tools are plain functions over the project and the stages' own APIs, each taking its
//! typed arguments and returning an [`Answer`] (a JSON value and a short text): `read.rs`
//! (items, check, status, reports, the contract's rules), `write.rs` (new items, edits,
//! typography fixes, builds — the project's files only, never outside `content/`) and
//! `wechat.rs` (previews and comment replies, each off until `[mcp] allow` names it).
//! `items.rs` names items safely (never outside `content/`) and runs their check; `resources.rs`
//! holds the editors' guide and the check rules; `log.rs` makes the line each call leaves on
//! stderr; `server.rs` is the only file that knows rmcp: the tool table, the schemas, the stdio
//! loop. Publishing and mass sending are never tools.
mod items;
mod log;
mod read;
mod resources;
mod server;
mod wechat;
mod write;

use std::path::PathBuf;
use std::sync::Arc;

pub use server::{ServeError, serve, tool_names};

use crate::config::McpGate;
use crate::wechat::WechatError;

pub use crate::wechat::ClientFactory;

/// Where each call is told (a line on stderr, from the command): stdout is the protocol's.
pub type CallLog = Arc<dyn Fn(&str) + Send + Sync>;

/// What every tool works on: the project, how to reach its accounts, who acts.
pub struct Session {
    /// The project folder (absolute).
    pub root: PathBuf,
    pub clients: ClientFactory,
    /// Who replies to comments, as recorded.
    pub by: String,
    pub log: CallLog,
    /// Writes to the project one at a time: two edits of one item must not interleave.
    writing: std::sync::Mutex<()>,
}

impl Session {
    pub fn new(root: PathBuf, clients: ClientFactory, by: String, log: CallLog) -> Session {
        Session { root, clients, by, log, writing: std::sync::Mutex::new(()) }
    }

    fn write_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writing.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A tool's result: the structured value, and a line or two for people.
#[derive(Debug)]
pub struct Answer {
    pub value: serde_json::Value,
    pub summary: String,
}

impl Answer {
    fn new(value: impl serde::Serialize, summary: impl Into<String>) -> Result<Answer, ToolError> {
        Ok(Answer { value: serde_json::to_value(value).map_err(ToolError::Json)?, summary: summary.into() })
    }
}

/// Why a tool did nothing (or stopped): said to the assistant as the tool's error, redacted.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("arguments: {0}")]
    Arguments(String),
    #[error("no item `{0}`: name an item by its key (articles/2026-12-01-ding-story) or folder; list_items lists them")]
    UnknownItem(String),
    #[error(
        "`{0}` is outside content/: name an item by its key (articles/2026-12-01-ding-story) or folder, never a path with `..` or from /"
    )]
    OutsideContent(String),
    #[error("the front matter would not read, so nothing was written: {0}")]
    FrontMatter(String),
    #[error(
        "`{tool}` reaches WeChat and is off for this project: add `[mcp] allow = [\"{tool}\"]` to publish.toml to enable it",
        tool = .0.name()
    )]
    NotAllowed(McpGate),
    #[error("{0}")]
    Refused(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Content(#[from] crate::content::ContentError),
    #[error(transparent)]
    NewItem(#[from] crate::content::new::NewItemError),
    #[error(transparent)]
    Check(#[from] crate::check::CheckError),
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    #[error(transparent)]
    Lock(#[from] crate::state::ledger::LockError),
    #[error(transparent)]
    Busy(#[from] crate::state::run_lock::RunLockError),
    #[error(transparent)]
    Preview(#[from] crate::publish::preview::PreviewError),
    #[error(transparent)]
    Status(#[from] crate::publish::status::StatusError),
    #[error(transparent)]
    Store(#[from] crate::metrics::StoreError),
    #[error(transparent)]
    Period(#[from] crate::metrics::report::PeriodError),
    #[error(transparent)]
    Published(#[from] crate::metrics::published::PublishedError),
    #[error(transparent)]
    Audience(#[from] crate::audience::AudienceError),
    #[error("{0}")]
    Wechat(#[from] WechatError),
    #[error("cannot write the answer as JSON: {0}")]
    Json(serde_json::Error),
}
