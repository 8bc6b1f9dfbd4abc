//! The availability monitor's records: one row per check and round, and the incidents (first
//! failure to recovery) kept up to date as results arrive.
use super::{Store, StoreError, args};

/// Why a check found its service down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Failure {
    /// The name does not resolve.
    Dns,
    /// Nothing listens at the address (connection refused).
    Refused,
    /// No whole answer within the check's timeout.
    Timeout,
    /// The TLS handshake failed (certificate expired, self-signed, wrong name).
    Tls,
    /// An answer, with another HTTP status than expected.
    Status,
    /// An answer without the expected text.
    Text,
    /// Anything else on the way (connection reset, bad answer).
    Other,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Dns => "dns",
            Failure::Refused => "refused",
            Failure::Timeout => "timeout",
            Failure::Tls => "tls",
            Failure::Status => "status",
            Failure::Text => "text",
            Failure::Other => "other",
        }
    }

    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Failure::Dns => "DNS",
            Failure::Refused => "connection refused",
            Failure::Timeout => "timeout",
            Failure::Tls => "TLS",
            Failure::Status => "HTTP status",
            Failure::Text => "text missing",
            Failure::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Failure> {
        [Failure::Dns, Failure::Refused, Failure::Timeout, Failure::Tls, Failure::Status, Failure::Text, Failure::Other]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

/// The result of one check in one round.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    pub check: String,
    pub url: String,
    /// A built-in check of an account's API (not one of the museum's services).
    pub builtin: bool,
    /// RFC 3339, UTC.
    pub checked_at: String,
    /// The same moment in the site's time zone, `YYYY-MM-DD HH:MM:SS`.
    pub local_time: String,
    pub up: bool,
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub failure: Option<Failure>,
    /// What went wrong, in words (never a secret).
    pub error: Option<String>,
    /// Inside an announced maintenance window: recorded, not counted.
    pub maintenance: bool,
    /// When the HTTPS certificate the service showed expires (RFC 3339), if it showed one.
    pub cert_expires_at: Option<String>,
}

impl Store {
    /// Records one round (`round`: the start of the clock's slot it fills) and updates the
    /// incidents, in one transaction. Returns the results that were new: none when another
    /// monitor recorded this round already.
    pub fn record_round(&self, round: &str, results: &[CheckResult]) -> Result<usize, StoreError> {
        self.write(|engine| {
            let mut added = 0;
            for r in results {
                let inserted = engine.execute(
                    "INSERT INTO monitor_results (check_name, round, checked_at, local_time, url, builtin, up, status, \
                     latency_ms, failure, error, maintenance, cert_expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                     ON CONFLICT (check_name, round) DO NOTHING",
                    args![
                        r.check,
                        round,
                        r.checked_at,
                        r.local_time,
                        r.url,
                        r.builtin,
                        r.up,
                        r.status.map(i64::from),
                        r.latency_ms.map(|l| l as i64),
                        r.failure.map(Failure::as_str),
                        r.error,
                        r.maintenance,
                        r.cert_expires_at
                    ],
                )?;
                if inserted == 0 || r.maintenance {
                    continue;
                }
                added += 1;
                let open = engine.query(
                    "SELECT started_at FROM monitor_incidents WHERE check_name = ?1 AND ended_at IS NULL",
                    args![r.check],
                )?;
                match (r.up, open.is_empty()) {
                    // Recovered: the incident ends with the first good answer.
                    (true, false) => {
                        engine.execute(
                            "UPDATE monitor_incidents SET ended_at = ?2 WHERE check_name = ?1 AND ended_at IS NULL",
                            args![r.check, r.local_time],
                        )?;
                    }
                    (false, true) => {
                        engine.execute(
                            "INSERT INTO monitor_incidents (check_name, started_at, ended_at, failure, failed_rounds, \
                             last_failure_at) VALUES (?1, ?2, NULL, ?3, 1, ?2) \
                             ON CONFLICT (check_name, started_at) DO NOTHING",
                            args![r.check, r.local_time, r.failure.unwrap_or(Failure::Other).as_str()],
                        )?;
                    }
                    (false, false) => {
                        engine.execute(
                            "UPDATE monitor_incidents SET failed_rounds = failed_rounds + 1, last_failure_at = ?2 \
                             WHERE check_name = ?1 AND ended_at IS NULL",
                            args![r.check, r.local_time],
                        )?;
                    }
                    (true, true) => {}
                }
            }
            Ok(added)
        })
    }
}
