//! Errors from the WeChat API, with what the user should do about each.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WechatError {
    /// WeChat answered with a non-zero errcode.
    #[error("WeChat error {code} ({message}) calling {endpoint}: {}", hint(*.code))]
    Api { endpoint: String, code: i64, message: String },
    /// The request did not get an answer (connection refused or dropped, timeout). `sent`: the
    /// request may have reached WeChat (only a refused connection proves it did not), so a
    /// create may have happened although no answer says so.
    #[error("{} calling {endpoint}: {message}", if *.sent { "no answer from WeChat" } else { "could not reach WeChat" })]
    Transport { endpoint: String, message: String, sent: bool },
    /// An HTTP status other than 200.
    #[error("WeChat answered HTTP {status} calling {endpoint}")]
    Http { endpoint: String, status: u16 },
    /// An answer that is not the documented shape.
    #[error("unexpected answer from {endpoint}: {message}")]
    Decode { endpoint: String, message: String },
    /// Missing or invalid local settings (credentials, base URL).
    #[error("{0}")]
    Config(String),
    /// A `wxpub relay` did not forward the request (401 token, 403 account, 404 endpoint, 405
    /// method, 413 size, 429 rate, 502/503 WeChat or the relay's own token out of reach):
    /// nothing reached WeChat.
    #[error("{} {endpoint} (HTTP {status}): {message}", if *.status >= 500 { "the relay could not forward" } else { "the relay refused" })]
    Relay {
        endpoint: String,
        status: u16,
        message: String,
        /// When to come back, as the relay's `Retry-After` said (its rate limit for this token).
        retry_after: Option<std::time::Duration>,
    },
}

impl WechatError {
    pub fn code(&self) -> Option<i64> {
        match self {
            WechatError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Worth trying again after a pause: transport failures, 5xx, "system busy" and quota.
    pub fn is_retryable(&self) -> bool {
        match self {
            WechatError::Transport { .. } => true,
            WechatError::Http { status, .. } => *status >= 500,
            // The relay's rate limit for this token, or WeChat out of its reach: it forwarded
            // nothing; wait and try again.
            WechatError::Relay { status, .. } => *status == 429 || *status >= 500,
            // 45066: the same clientmsgid retried too fast; wait and try again.
            WechatError::Api { code, .. } => matches!(code, -1 | 45009 | 45066),
            _ => false,
        }
    }

    /// How long the other side asked to wait before the next try, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            WechatError::Relay { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The request may have been carried out although no answer says so: no answer came, or
    /// WeChat answered with a server error. A create in this state is resolved by looking on the
    /// server, never by sending it again.
    pub fn may_have_been_processed(&self) -> bool {
        match self {
            WechatError::Transport { sent, .. } => *sent,
            WechatError::Http { status, .. } => *status >= 500,
            // The relay marked it as not forwarded: the call was never made.
            WechatError::Relay { .. } => false,
            _ => false,
        }
    }

    /// The endpoint path the error came from.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            WechatError::Api { endpoint, .. }
            | WechatError::Transport { endpoint, .. }
            | WechatError::Http { endpoint, .. }
            | WechatError::Decode { endpoint, .. }
            | WechatError::Relay { endpoint, .. } => Some(endpoint),
            WechatError::Config(_) => None,
        }
    }

    /// The access token is invalid, superseded or expired: refresh it and try once more.
    pub fn is_token_error(&self) -> bool {
        matches!(self.code(), Some(40001 | 40014 | 42001))
    }
}

/// What to do about an errcode, in plain words.
pub fn hint(code: i64) -> &'static str {
    match code {
        -1 => "WeChat is busy; wxpub retried with backoff — try again in a few minutes",
        40001 => {
            "the access token is invalid or was replaced by another process; check the AppSecret, and that no other tool fetches tokens with /cgi-bin/token for this account (wxpub uses stable_token)"
        }
        40013 => "the AppID is invalid; check the account's appid environment variable",
        40125 => {
            "the AppSecret is invalid; reset it in the WeChat admin console and update the secret environment variable"
        }
        40164 => {
            "this machine's IP is not on the account's IP allow-list; add the runner's public IP under 设置与开发 → 基本配置 → IP白名单"
        }
        41001 => "the access token is missing from the request",
        42001 => {
            "the access token expired; wxpub refreshes it automatically, so this persisting means the clock or the token cache is wrong"
        }
        40014 => "the access token is not valid for this account",
        45009 => {
            "the API's daily quota is reached; wait until tomorrow (or clear it in the admin console, which is itself rate-limited)"
        }
        48001 => {
            "the account lacks the permission for this API (unverified accounts cannot use several of them); verify the account or use another mode"
        }
        47001 => "the request body is malformed; this is a wxpub bug — please report it",
        40005 => "the file type is not accepted here (uploadimg takes jpg/png; material takes bmp/png/jpeg/gif)",
        40009 => "the image is too large for this endpoint (uploadimg: under 1 MB; material: up to 10 MB)",
        40006 => "the media file is too large for this material type",
        40007 => "the media_id is unknown (for covers: it must be a permanent image material)",
        41005 => "the upload has no `media` file field",
        45002 => "the article content is too long: WeChat takes under 20,000 visible characters and under 1 MB of HTML",
        45003 => "the title is too long: at most 32 characters",
        45004 => "the digest is too long: at most 120 characters",
        45110 => "the author is too long: at most 16 characters",
        44003 => "the article content is empty",
        44004 => "the article title is empty",
        45028 => "the account has no mass-send quota left (subscription: one a day; service: four a month)",
        45065 => "this mass send (clientmsgid) already went out in the last 24 hours",
        45066 => "the same mass send was retried too fast; wait a minute",
        45067 => "the clientmsgid is longer than 64 bytes; this is a wxpub bug — please report it",
        53503 => "the draft failed WeChat's checks; open it in the admin console to see why",
        61500 => "the date is not YYYY-MM-DD",
        61501 => "the date range is too long for this endpoint, or ends after yesterday",
        _ => "see the WeChat global error code list for this code",
    }
}
