//! WECHAT: the HTTP client for the contract in docs/wechat-contract.md — typed requests and
//! answers, typed errors that say what to do, token management, retries, redaction.
mod client;
mod error;
pub mod limits;
pub mod probe;
pub mod types;

pub use client::{
    API_BASE_ENV, Client, ClientFactory, ClientOptions, Credentials, Forwarded, RELAY_NOT_FORWARDED, RelayGrant,
    RetryNotice, RetryPolicy, Secret, Upload, list_all, resolve_base,
};
pub use error::{WechatError, hint};
