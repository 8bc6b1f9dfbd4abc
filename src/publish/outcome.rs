//! What a push came to — done steps, warnings, what is still running at WeChat, or why it
//! stopped — and the errors its steps return.
use crate::wechat::WechatError;

/// What happened to one push.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushOutcome {
    pub account: String,
    pub slot: String,
    pub items: Vec<String>,
    /// What was done, in order (empty when nothing needed doing).
    pub done: Vec<String>,
    /// Why the push stopped, if it did; what is left is everything after `done`. In `--json`,
    /// `error` (the sentence) and `failure` (its kind).
    #[serde(flatten)]
    pub error: Option<PushFailure>,
    pub article_urls: Vec<String>,
    /// Items it links to that must be published first; it was drafted but not published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    /// What WeChat changed without refusing (a mini-program card it dropped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Still running at WeChat when the run stopped waiting (a publication under review, a mass
    /// send awaiting confirmation): not a failure, the next run settles it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// Drafted, not published: the draft still shows a video placeholder, to be replaced in
    /// the web backend.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waiting_for_video: bool,
}

impl PushOutcome {
    /// Whether the push stopped for this kind of reason.
    pub fn failed_with(&self, kind: FailureKind) -> bool {
        self.error.as_ref().is_some_and(|e| e.failure == kind)
    }
}

/// Why a push stopped: the kind, from which `publish` chooses its exit code and summary, and
/// the sentence shown (secrets redacted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushFailure {
    pub failure: FailureKind,
    #[serde(rename = "error")]
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// 48001: the account may not publish through the API; the draft is ready.
    CannotPublish,
    /// A daily quota ran out (45009); the push waits for tomorrow's quota.
    Quota,
    /// The draft was edited in the web backend and the build differs: nothing was written or
    /// published until the editor decides.
    Conflict,
    /// Anything else: refused content, an unreachable API, a failed review.
    Failed,
}

impl std::fmt::Display for PushFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StepError> for PushFailure {
    fn from(err: StepError) -> PushFailure {
        let failure = match err {
            StepError::CannotPublish => FailureKind::CannotPublish,
            StepError::Quota(_) => FailureKind::Quota,
            StepError::Conflict(_) => FailureKind::Conflict,
            StepError::Wechat(_) | StepError::Ledger(_) | StepError::Other(_) => FailureKind::Failed,
        };
        PushFailure { failure, message: crate::util::redact::redact(&err.to_string()) }
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum StepError {
    #[error(transparent)]
    Wechat(#[from] WechatError),
    /// 48001 from freepublish/submit: the account may not publish through the API.
    #[error("{CANNOT_PUBLISH}")]
    CannotPublish,
    /// 45009 that outlasted the retries: a daily quota is used up.
    #[error("WeChat's daily quota of {0} is used up (45009); {QUOTA_LEFT}")]
    Quota(String),
    #[error(transparent)]
    Ledger(#[from] crate::state::ledger::LockError),
    /// The draft was edited in the web backend; what differs, and how to decide.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

/// The outcome of a push whose account may not publish through the API (48001): its draft is
/// made and stays; `status` shows it; `publish` exits with [`EXIT_CANNOT_PUBLISH`].
pub const CANNOT_PUBLISH: &str = "draft ready — this account cannot publish through the API (WeChat answered 48001: personal and unverified accounts lost freepublish in 2025); verify the account, or publish the draft in the web backend (mp.weixin.qq.com → 草稿箱)";

/// Exit code of `wxpub publish` when every failure is [`CANNOT_PUBLISH`]: nothing is wrong with
/// the content or the run, and rerunning will not change it.
pub const EXIT_CANNOT_PUBLISH: u8 = 4;

/// What happens to a push when a daily quota runs out.
pub const QUOTA_LEFT: &str =
    "left as it is for the next run after the quotas reset at 00:00 Beijing time (nothing is sent twice)";

pub(super) fn now_text() -> String {
    crate::util::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
