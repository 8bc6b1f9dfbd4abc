//! MONITOR: availability checks of the services a museum runs through WeChat (visit booking,
//! on-site verification, menu pages, a mini program's backend) and of each account's API,
//! recorded round by round in the statistics store as evidence for the service indicators of
//! the yearly self-evaluation (功能服务稳定度, 安全运行保障率, 提供基于微信的功能服务).
//!
//! A round checks every target at once, each cut at its own timeout, so a hanging service never
//! delays the others beyond the round. A round is keyed by the slot of the clock it fills
//! (`[monitor] every`): two monitors running at once, or a timer firing twice, record it once.
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rustls::pki_types::CertificateDer;

use crate::config::Monitor;
use crate::metrics::CheckResult;

mod cert;
mod probe;

pub use probe::Probe;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(
        "publish.toml: `monitor.check` `{check}`: cannot read the CA file {path}: {message}; give a PEM file of the certificate authorities to trust"
    )]
    Ca { check: String, path: PathBuf, message: String },
}

/// What a working service answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// A page or health URL: this status, and this text in the answer if given.
    Page { status: u16, text: Option<String> },
    /// WeChat's API front end: `GET /cgi-bin/token` with no credentials answers 200 with an
    /// errcode (40002) — it proves DNS, TLS and the API answering, and spends no quota.
    WechatApi,
    /// A `wxpub relay`'s `/healthz`.
    Relay,
}

/// One thing to check.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub url: String,
    pub expect: Expect,
    pub timeout: Duration,
    /// Certificate authorities trusted besides the system's.
    pub roots: Vec<CertificateDer<'static>>,
    /// A built-in check of an account's API, not one of the museum's services.
    pub builtin: bool,
}

/// Where an account's API calls go, for its built-in check.
pub enum ApiRoute {
    Direct { base: String },
    Relay { url: String },
}

/// The built-in check's name for `account`.
pub fn api_check_name(account: &str) -> String {
    format!("wechat-api:{account}")
}

/// The targets of a round: the museum's `[[monitor.check]]`s, then (with `api_checks`) each
/// account's API as `routes` says it is reached.
pub fn targets(project: &Path, monitor: &Monitor, routes: &[(String, ApiRoute)]) -> Result<Vec<Target>, MonitorError> {
    let mut targets = Vec::new();
    for check in &monitor.checks {
        let mut roots = Vec::new();
        if let Some(ca) = &check.ca {
            use rustls::pki_types::pem::PemObject;
            let path = project.join(ca);
            let fail = |message: String| MonitorError::Ca { check: check.name.clone(), path: path.clone(), message };
            for cert in CertificateDer::pem_file_iter(&path).map_err(|e| fail(e.to_string()))? {
                roots.push(cert.map_err(|e| fail(e.to_string()))?);
            }
            if roots.is_empty() {
                return Err(fail("no certificate in it".into()));
            }
        }
        targets.push(Target {
            name: check.name.clone(),
            url: check.url.0.clone(),
            expect: Expect::Page { status: check.expect_status.0, text: check.expect_text.clone() },
            timeout: check.timeout(monitor),
            roots,
            builtin: false,
        });
    }
    if monitor.api_checks {
        for (account, route) in routes {
            let (url, expect) = match route {
                ApiRoute::Direct { base } => {
                    (format!("{}/cgi-bin/token", base.trim_end_matches('/')), Expect::WechatApi)
                }
                ApiRoute::Relay { url } => (format!("{}/healthz", url.trim_end_matches('/')), Expect::Relay),
            };
            targets.push(Target {
                name: api_check_name(account),
                url,
                expect,
                timeout: monitor.timeout.0,
                roots: Vec::new(),
                builtin: true,
            });
        }
    }
    Ok(targets)
}

/// The start of the slot of the clock that a round at `now` fills (`every` long, counted from
/// the Unix epoch: 09:00, 09:05, … for 5 minutes).
pub fn slot(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let step = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    let ms = now.timestamp_millis();
    Utc.timestamp_millis_opt(ms - ms.rem_euclid(step)).single().unwrap_or(now)
}

/// Whether `check` is inside an announced maintenance window at `now`.
pub fn in_maintenance(monitor: &Monitor, check: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> bool {
    let local = now.with_timezone(&tz).naive_local();
    monitor.maintenance.iter().any(|window| {
        window.start.0 <= local
            && local < window.end.0
            && (window.checks.is_empty() || window.checks.iter().any(|c| c == check))
    })
}

/// Checks every target at once, at `now`, and returns their results in the targets' order.
pub fn round(targets: &[Target], monitor: &Monitor, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Vec<CheckResult> {
    let probes: Vec<Probe> = std::thread::scope(|scope| {
        let running: Vec<_> = targets.iter().map(|target| scope.spawn(move || probe::probe(target, now))).collect();
        running
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| Probe {
                    up: false,
                    status: None,
                    latency_ms: None,
                    failure: Some(crate::metrics::Failure::Other),
                    error: Some("the check itself failed (a bug in wxpub: please report it)".into()),
                    cert_expires_at: None,
                })
            })
            .collect()
    });
    let checked_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let local_time = now.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
    targets
        .iter()
        .zip(probes)
        .map(|(target, probe)| CheckResult {
            check: target.name.clone(),
            url: target.url.clone(),
            builtin: target.builtin,
            checked_at: checked_at.clone(),
            local_time: local_time.clone(),
            up: probe.up,
            status: probe.status,
            latency_ms: probe.latency_ms,
            failure: probe.failure,
            error: probe.error,
            maintenance: in_maintenance(monitor, &target.name, now, tz),
            cert_expires_at: probe.cert_expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        })
        .collect()
}

/// Whole days from `now` until a certificate expiring at `expires_at` (RFC 3339) does; negative
/// once it has expired.
pub fn days_left(expires_at: &str, now: DateTime<Utc>) -> Option<i64> {
    let expires = DateTime::parse_from_rfc3339(expires_at).ok()?.with_timezone(&Utc);
    Some((expires - now).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_fill_the_slots_of_the_clock() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let five = Duration::from_secs(300);
        assert_eq!(slot(at("2026-12-07T09:04:59Z"), five), at("2026-12-07T09:00:00Z"));
        assert_eq!(slot(at("2026-12-07T09:05:00Z"), five), at("2026-12-07T09:05:00Z"));
        assert_eq!(slot(at("2026-12-07T09:05:00.700Z"), Duration::from_secs(1)), at("2026-12-07T09:05:00Z"));
        assert_eq!(days_left("2026-12-17T00:00:00Z", at("2026-12-07T00:00:00Z")), Some(10));
        assert_eq!(days_left("2026-12-01T00:00:00Z", at("2026-12-07T00:00:00Z")), Some(-6));
    }
}
