//! One check of one service: an HTTP(S) GET with its own timeout, judged by status and text,
//! with what went wrong told apart (DNS, refused, timeout, TLS, status, text missing).
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::cert::{Recording, Seen};
use super::{Expect, Target};
use crate::metrics::Failure;
use crate::util::redact::{error_chain, redact};

/// The most of an answer read to look for the expected text.
const BODY_LIMIT: u64 = 2 * 1024 * 1024;

/// What one check found.
#[derive(Debug, Clone)]
pub struct Probe {
    pub up: bool,
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub failure: Option<Failure>,
    pub error: Option<String>,
    pub cert_expires_at: Option<DateTime<Utc>>,
}

impl Probe {
    fn down(failure: Failure, error: String) -> Probe {
        Probe {
            up: false,
            status: None,
            latency_ms: None,
            failure: Some(failure),
            error: Some(error),
            cert_expires_at: None,
        }
    }
}

/// Checks `target` once, taking at most its timeout (the whole answer included).
pub fn probe(target: &Target, now: DateTime<Utc>) -> Probe {
    let seen: Seen = Arc::new(Mutex::new(None));
    let client = match client(target, seen.clone(), now) {
        Ok(client) => client,
        Err(message) => return Probe::down(Failure::Other, message),
    };
    let started = Instant::now();
    let answer = client.get(&target.url).send().map_err(|e| (classify(&e), describe(e))).and_then(|response| {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let read = response.take(BODY_LIMIT).read_to_end(&mut body);
        read.map_err(|e| (classify_io(&e), redact(&error_chain(&e).replace(&target.url, "the check's URL"))))?;
        Ok((status, body))
    });
    let latency_ms = Some(started.elapsed().as_millis() as u64);
    let cert_expires_at = *seen.lock().unwrap_or_else(|p| p.into_inner());
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err((failure, error)) => return Probe { latency_ms, cert_expires_at, ..Probe::down(failure, error) },
    };
    let verdict = judge(&target.expect, status, &body);
    Probe {
        up: verdict.is_none(),
        status: Some(status),
        latency_ms,
        failure: verdict.as_ref().map(|(failure, _)| *failure),
        error: verdict.map(|(_, error)| error),
        cert_expires_at,
    }
}

/// Why an answer is not what a working service gives, or None when it is.
fn judge(expect: &Expect, status: u16, body: &[u8]) -> Option<(Failure, String)> {
    let (wanted, text) = match expect {
        Expect::Page { status, text } => (*status, text.as_deref()),
        Expect::Relay => (200, None),
        Expect::WechatApi => {
            // Any errcode is WeChat's front end answering (the call carries no credentials on
            // purpose: 40002 "invalid grant_type" is the expected answer).
            let answered = serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.get("errcode").is_some());
            return match (status, answered) {
                (200, true) => None,
                (200, false) => Some((Failure::Text, "answered 200 without WeChat's JSON (errcode)".into())),
                (other, _) => Some((Failure::Status, format!("answered HTTP {other}, expected 200"))),
            };
        }
    };
    if status != wanted {
        return Some((Failure::Status, format!("answered HTTP {status}, expected {wanted}")));
    }
    match text {
        Some(text) if !String::from_utf8_lossy(body).contains(text) => {
            Some((Failure::Text, format!("the answer does not contain `{text}`")))
        }
        _ => None,
    }
}

/// A client for this one check: its timeout, its CA, and a verifier that records the certificate.
fn client(target: &Target, seen: Seen, now: DateTime<Utc>) -> Result<reqwest::blocking::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let platform = rustls_platform_verifier::Verifier::new_with_extra_roots(target.roots.clone(), provider.clone())
        .map_err(|e| format!("cannot load the trusted certificates: {e}"))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recording::new(Arc::new(platform), seen, now)))
        .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(target.timeout)
        .connect_timeout(target.timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("wxpub-monitor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {}", describe(e)))
}

/// The error in words, without the URL (a health URL may carry a key), redacted.
fn describe(error: reqwest::Error) -> String {
    redact(&error_chain(&error.without_url()))
}

fn classify(error: &reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return Failure::Tls;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let failure = classify_io(io);
            if failure != Failure::Other {
                return failure;
            }
        }
        // hyper-util's connector names a failed lookup "dns error"; the TLS connector's errors
        // reach here as text when a layer boxed them away from their type.
        let text = e.to_string();
        if text.starts_with("dns error") || text.contains("failed to lookup address") {
            return Failure::Dns;
        }
        if text.contains("invalid peer certificate") || text.contains("HandshakeFailure") {
            return Failure::Tls;
        }
        source = e.source();
    }
    Failure::Other
}

fn classify_io(error: &std::io::Error) -> Failure {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => Failure::Refused,
        std::io::ErrorKind::TimedOut => Failure::Timeout,
        _ => match error.get_ref() {
            Some(inner) if inner.downcast_ref::<rustls::Error>().is_some() => Failure::Tls,
            Some(inner) => match inner.downcast_ref::<reqwest::Error>() {
                Some(e) => classify(e),
                None => Failure::Other,
            },
            None => Failure::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_by_status_then_text() {
        let page = Expect::Page { status: 200, text: Some("预约".into()) };
        assert_eq!(judge(&page, 200, "参观预约".as_bytes()), None);
        assert_eq!(judge(&page, 500, b"").map(|v| v.0), Some(Failure::Status));
        assert_eq!(judge(&page, 200, b"maintenance").map(|v| v.0), Some(Failure::Text));
        assert_eq!(judge(&Expect::WechatApi, 200, br#"{"errcode":40002,"errmsg":"invalid grant_type"}"#), None);
        assert_eq!(judge(&Expect::WechatApi, 200, b"<html>").map(|v| v.0), Some(Failure::Text));
        assert_eq!(judge(&Expect::WechatApi, 502, b"").map(|v| v.0), Some(Failure::Status));
    }
}
