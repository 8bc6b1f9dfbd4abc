//! The availability report (`wxpub report availability`): from the monitor's results, each
//! check's availability per month, its incidents and downtime, latency, and the certificates
//! about to expire; and the three figures of the yearly form that come from them.
//!
//! The rules, stated in the reports as well:
//! - availability (功能服务稳定度) = rounds a service answered as expected / rounds it was checked,
//!   outside announced maintenance windows;
//! - safe operation (安全运行保障率) = (time monitored − downtime) / time monitored, where an
//!   incident's downtime runs from its first failed round to the first good one after it, and the
//!   time monitored from a service's first round in the period to its last (outside maintenance);
//! - services provided (提供基于微信的功能服务) = the services that answered in the period.
use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::format::{Document, TableData};
use super::report::Period;
use super::score::{percentile, round2};
use super::store::{Store, StoreError, args};
use crate::config::MaintenanceWindow;

const LOCAL: &str = "%Y-%m-%d %H:%M:%S";

/// One check's figures over the period, or over one month of it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckFigures {
    pub check: String,
    /// A built-in check of an account's API, not one of the museum's services.
    pub builtin: bool,
    /// `YYYY-MM`, or None for the whole period.
    pub month: Option<String>,
    /// Rounds counted (outside maintenance windows).
    pub rounds: u64,
    pub up: u64,
    pub down: u64,
    /// Rounds inside maintenance windows (recorded, not counted).
    pub maintenance: u64,
    /// up / rounds, as a percentage.
    pub availability: Option<f64>,
    pub downtime_minutes: f64,
    pub monitored_minutes: f64,
    pub incidents: u64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// First and last round in the period outside maintenance windows (site time; empty when
    /// every round was inside one).
    pub first: String,
    pub last: String,
}

/// A failure of a check, from its first failed round to the first good one.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub check: String,
    pub started_at: String,
    /// None while it lasts.
    pub ended_at: Option<String>,
    /// Inside the period; an ongoing incident counts to the check's latest round.
    pub minutes: f64,
    pub failure: String,
    pub failed_rounds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub check: String,
    pub expires_at: String,
    /// Whole days left at the last check that saw it (negative: expired).
    pub days_left: i64,
    pub seen_at: String,
    pub warn: bool,
}

/// A maintenance window of the period, with the rounds recorded inside it.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub checks: Vec<String>,
    pub note: Option<String>,
    pub rounds: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Availability {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub checks: Vec<CheckFigures>,
    pub months: Vec<CheckFigures>,
    pub incidents: Vec<Incident>,
    pub certificates: Vec<Certificate>,
    pub maintenance: Vec<Window>,
    /// Over the museum's services (built-in API checks left out): 功能服务稳定度, %.
    pub service_stability: Option<f64>,
    /// 安全运行保障率, %.
    pub safe_operation: Option<f64>,
    /// The services that answered in the period (提供基于微信的功能服务).
    pub services_answered: Vec<String>,
}

impl Availability {
    /// The museum's services (not the built-in API checks), over the whole period.
    pub fn services(&self) -> impl Iterator<Item = &CheckFigures> {
        self.checks.iter().filter(|c| !c.builtin)
    }
}

fn local(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, LOCAL).ok()
}

fn minutes(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    ((to - from).num_seconds().max(0)) as f64 / 60.0
}

fn month_start(month: &str) -> Option<NaiveDateTime> {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)
}

fn next_month(start: NaiveDateTime) -> NaiveDateTime {
    start.checked_add_months(chrono::Months::new(1)).unwrap_or(start)
}

/// Computes the availability report of `period` (site time), warning about certificates with
/// fewer than `cert_warn_days` left; `maintenance` are the configured windows, shown.
pub fn availability(
    store: &Store,
    period: Period,
    cert_warn_days: u32,
    maintenance: &[MaintenanceWindow],
) -> Result<Availability, StoreError> {
    let begin = period.since.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = period.until.succ_opt().unwrap_or(period.until).and_hms_opt(0, 0, 0).unwrap_or_default();
    let (from, to) = (begin.format(LOCAL).to_string(), end.format(LOCAL).to_string());

    let rows = store.rows(
        "SELECT check_name, MAX(builtin), substr(local_time, 1, 7), \
         SUM(CASE WHEN maintenance = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN maintenance = 0 AND up = 1 THEN 1 ELSE 0 END), \
         SUM(maintenance), MIN(CASE WHEN maintenance = 0 THEN local_time END), \
         MAX(CASE WHEN maintenance = 0 THEN local_time END) \
         FROM monitor_results WHERE local_time >= ?1 AND local_time < ?2 \
         GROUP BY check_name, substr(local_time, 1, 7) ORDER BY check_name, substr(local_time, 1, 7)",
        args![from, to],
    )?;
    let mut months = Vec::new();
    for row in rows {
        let (rounds, up) = (row.int(3)? as u64, row.int(4)? as u64);
        months.push(CheckFigures {
            check: row.text(0)?,
            builtin: row.int(1)? != 0,
            month: Some(row.text(2)?),
            rounds,
            up,
            down: rounds - up,
            maintenance: row.int(5)? as u64,
            availability: (rounds > 0).then(|| round2(up as f64 / rounds as f64 * 100.0)),
            downtime_minutes: 0.0,
            monitored_minutes: 0.0,
            incidents: 0,
            p50_ms: None,
            p95_ms: None,
            first: row.opt_text(6)?.unwrap_or_default(),
            last: row.opt_text(7)?.unwrap_or_default(),
        });
    }

    // Incidents touching the period, clipped to it; an ongoing one runs to its check's last round.
    let latest: BTreeMap<String, String> = store
        .rows("SELECT check_name, MAX(local_time) FROM monitor_results GROUP BY check_name", &[])?
        .into_iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_, StoreError>>()?;
    let mut incidents = Vec::new();
    let mut spans: Vec<(String, NaiveDateTime, NaiveDateTime)> = Vec::new();
    for row in store.rows(
        "SELECT check_name, started_at, ended_at, failure, failed_rounds FROM monitor_incidents \
         WHERE started_at < ?2 AND (ended_at IS NULL OR ended_at > ?1) ORDER BY started_at, check_name",
        args![from, to],
    )? {
        let check = row.text(0)?;
        let started_at = row.text(1)?;
        let ended_at = row.opt_text(2)?;
        let stop = ended_at.as_deref().or(latest.get(&check).map(String::as_str)).and_then(local);
        let (Some(start), Some(stop)) = (local(&started_at), stop) else { continue };
        let (start, stop) = (start.max(begin), stop.min(end));
        spans.push((check.clone(), start, stop));
        incidents.push(Incident {
            check,
            started_at,
            ended_at,
            minutes: round2(minutes(start, stop)),
            failure: row.text(3)?,
            failed_rounds: row.int(4)?,
        });
    }
    // Downtime and incidents of each month, from the incidents' overlap with it.
    for figures in &mut months {
        let Some(start) = figures.month.as_deref().and_then(month_start) else { continue };
        let (start, stop) = (start.max(begin), next_month(start).min(end));
        for (_, from, to) in spans.iter().filter(|(c, _, _)| *c == figures.check) {
            if from < &stop && to > &start {
                figures.downtime_minutes += minutes(*from.max(&start), *to.min(&stop));
                figures.incidents += u64::from(from >= &start);
            }
        }
        figures.downtime_minutes = round2(figures.downtime_minutes);
        let (first, last) = (local(&figures.first), local(&figures.last));
        if let (Some(first), Some(last)) = (first, last) {
            figures.monitored_minutes = round2(minutes(first, last));
        }
    }

    // Latency of the good answers, per check and month (read one month at a time).
    let mut latencies: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for figures in &mut months {
        let Some(start) = figures.month.as_deref().and_then(month_start) else { continue };
        let (start, stop) =
            (start.max(begin).format(LOCAL).to_string(), next_month(start).min(end).format(LOCAL).to_string());
        let mut values: Vec<u64> = store
            .rows(
                "SELECT latency_ms FROM monitor_results WHERE check_name = ?1 AND local_time >= ?2 AND local_time < ?3 \
                 AND up = 1 AND maintenance = 0 AND latency_ms IS NOT NULL",
                args![figures.check, start, stop],
            )?
            .iter()
            .map(|r| r.int(0).map(|v| v.max(0) as u64))
            .collect::<Result<_, _>>()?;
        values.sort_unstable();
        figures.p50_ms = percentile(&values, 0.5);
        figures.p95_ms = percentile(&values, 0.95);
        latencies.entry(figures.check.clone()).or_default().extend(values);
    }

    // The whole period, per check.
    let mut checks: Vec<CheckFigures> = Vec::new();
    for month in &months {
        match checks.last_mut() {
            Some(total) if total.check == month.check => {
                total.rounds += month.rounds;
                total.up += month.up;
                total.down += month.down;
                total.maintenance += month.maintenance;
                if total.first.is_empty() {
                    total.first = month.first.clone();
                }
                if !month.last.is_empty() {
                    total.last = month.last.clone();
                }
            }
            _ => checks.push(CheckFigures { month: None, ..month.clone() }),
        }
    }
    for total in &mut checks {
        total.availability = (total.rounds > 0).then(|| round2(total.up as f64 / total.rounds as f64 * 100.0));
        let own: Vec<&(String, NaiveDateTime, NaiveDateTime)> = spans.iter().filter(|s| s.0 == total.check).collect();
        total.incidents = own.len() as u64;
        // `+ 0.0`: a float sum over nothing is -0.0, which a report would print as "-0.00".
        total.downtime_minutes = round2(own.iter().map(|(_, from, to)| minutes(*from, *to)).sum::<f64>() + 0.0);
        if let (Some(first), Some(last)) = (local(&total.first), local(&total.last)) {
            total.monitored_minutes = round2(minutes(first, last));
        }
        let mut values = latencies.remove(&total.check).unwrap_or_default();
        values.sort_unstable();
        total.p50_ms = percentile(&values, 0.5);
        total.p95_ms = percentile(&values, 0.95);
    }

    let mut certificates = Vec::new();
    for row in store.rows(
        "SELECT r.check_name, r.cert_expires_at, r.checked_at, r.local_time FROM monitor_results r \
         WHERE r.cert_expires_at IS NOT NULL AND r.local_time = (SELECT MAX(l.local_time) FROM monitor_results l \
         WHERE l.check_name = r.check_name AND l.cert_expires_at IS NOT NULL AND l.local_time >= ?1 AND l.local_time < ?2) \
         ORDER BY r.check_name",
        args![from, to],
    )? {
        let (expires_at, checked_at) = (row.text(1)?, row.text(2)?);
        let days_left = match (
            chrono::DateTime::parse_from_rfc3339(&expires_at),
            chrono::DateTime::parse_from_rfc3339(&checked_at),
        ) {
            (Ok(expires), Ok(seen)) => (expires - seen).num_days(),
            _ => continue,
        };
        certificates.push(Certificate {
            check: row.text(0)?,
            expires_at,
            days_left,
            seen_at: row.text(3)?,
            warn: days_left < i64::from(cert_warn_days),
        });
    }

    let mut windows = Vec::new();
    for window in maintenance {
        let (start, stop) = (window.start.0, window.end.0);
        if stop <= begin || start >= end {
            continue;
        }
        let inside = store.one(
            "SELECT COUNT(*) FROM monitor_results WHERE maintenance = 1 AND local_time >= ?1 AND local_time < ?2",
            args![start.format(LOCAL).to_string(), stop.format(LOCAL).to_string()],
        )?;
        windows.push(Window {
            start: start.format("%Y-%m-%d %H:%M").to_string(),
            end: stop.format("%Y-%m-%d %H:%M").to_string(),
            checks: window.checks.clone(),
            note: window.note.clone(),
            rounds: inside.int(0)? as u64,
        });
    }

    let services: Vec<&CheckFigures> = checks.iter().filter(|c| !c.builtin).collect();
    let (rounds, up) = services.iter().fold((0, 0), |(n, u), c| (n + c.rounds, u + c.up));
    let (monitored, down) =
        services.iter().fold((0.0, 0.0), |(m, d), c| (m + c.monitored_minutes, d + c.downtime_minutes));
    Ok(Availability {
        since: period.since,
        until: period.until,
        service_stability: (rounds > 0).then(|| round2(up as f64 / rounds as f64 * 100.0)),
        safe_operation: (monitored > 0.0).then(|| round2((monitored - down).max(0.0) / monitored * 100.0)),
        services_answered: services.iter().filter(|c| c.up > 0).map(|c| c.check.clone()).collect(),
        checks,
        months,
        incidents,
        certificates,
        maintenance: windows,
    })
}

/// The availability of `year`, for the yearly report.
pub fn year(store: &Store, year: i32) -> Result<Availability, StoreError> {
    let period = Period::new(
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
    );
    availability(store, period, 14, &[])
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_string(), |v| v.to_string())
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}%"))
}

/// The rules the figures follow, said under every availability report.
pub const RULES: [&str; 3] = [
    "availability (功能服务稳定度) = rounds a service answered as expected / rounds it was checked, outside announced maintenance windows",
    "safe operation (安全运行保障率) = (time monitored − downtime) / time monitored; an incident's downtime runs from its first failed round to the first good one after it",
    "services provided (提供基于微信的功能服务) = the museum's services that answered in the period; built-in `wechat-api:` checks (each account's API) are shown but not counted",
];

/// The report as tables, a chart and JSON.
pub fn document(report: &Availability) -> Result<Document, serde_json::Error> {
    let kind = |builtin: bool| if builtin { "account API" } else { "service" };
    let mut by_check = TableData::new(
        "Availability by check · 可用性",
        &[
            "check",
            "kind",
            "rounds",
            "up",
            "down",
            "maintenance",
            "availability",
            "downtime_minutes",
            "incidents",
            "latency_p50_ms",
            "latency_p95_ms",
            "first",
            "last",
        ],
    );
    for c in &report.checks {
        by_check.push(vec![
            c.check.clone(),
            kind(c.builtin).into(),
            c.rounds.to_string(),
            c.up.to_string(),
            c.down.to_string(),
            c.maintenance.to_string(),
            percent(c.availability),
            format!("{:.2}", c.downtime_minutes),
            c.incidents.to_string(),
            optional(c.p50_ms),
            optional(c.p95_ms),
            c.first.clone(),
            c.last.clone(),
        ]);
    }
    let mut by_month = TableData::new(
        "By month · 按月",
        &[
            "check",
            "month",
            "rounds",
            "up",
            "down",
            "availability",
            "downtime_minutes",
            "incidents",
            "latency_p50_ms",
            "latency_p95_ms",
        ],
    );
    for m in &report.months {
        by_month.push(vec![
            m.check.clone(),
            m.month.clone().unwrap_or_default(),
            m.rounds.to_string(),
            m.up.to_string(),
            m.down.to_string(),
            percent(m.availability),
            format!("{:.2}", m.downtime_minutes),
            m.incidents.to_string(),
            optional(m.p50_ms),
            optional(m.p95_ms),
        ]);
    }
    let mut incidents =
        TableData::new("Incidents · 故障", &["check", "started", "ended", "minutes", "failure", "failed_rounds"]);
    for i in &report.incidents {
        incidents.push(vec![
            i.check.clone(),
            i.started_at.clone(),
            i.ended_at.clone().unwrap_or_else(|| "ongoing".into()),
            format!("{:.2}", i.minutes),
            super::store::Failure::parse(&i.failure).map_or(i.failure.clone(), |f| f.label().to_string()),
            i.failed_rounds.to_string(),
        ]);
    }
    let mut certificates =
        TableData::new("HTTPS certificates · 证书", &["check", "expires", "days_left", "seen_at", "warning"]);
    for c in &report.certificates {
        certificates.push(vec![
            c.check.clone(),
            c.expires_at.clone(),
            c.days_left.to_string(),
            c.seen_at.clone(),
            if c.days_left < 0 {
                "EXPIRED".into()
            } else if c.warn {
                format!("expires in {} days: renew it", c.days_left)
            } else {
                String::new()
            },
        ]);
    }
    let mut windows =
        TableData::new("Maintenance windows · 维护窗口", &["start", "end", "checks", "note", "rounds_inside"]);
    for w in &report.maintenance {
        windows.push(vec![
            w.start.clone(),
            w.end.clone(),
            if w.checks.is_empty() { "all".into() } else { w.checks.join(", ") },
            w.note.clone().unwrap_or_default(),
            w.rounds.to_string(),
        ]);
    }
    let mut notes: Vec<String> = RULES.iter().map(|r| r.to_string()).collect();
    if report.checks.is_empty() {
        notes.insert(
            0,
            format!(
                "no monitor results from {} to {}: name the services under [[monitor.check]] in publish.toml and run `wxpub monitor serve` (or `wxpub monitor run` on a timer)",
                report.since, report.until
            ),
        );
    }
    for c in report.certificates.iter().filter(|c| c.warn) {
        notes.push(format!(
            "warning: the certificate of {} expires {} ({} days left)",
            c.check, c.expires_at, c.days_left
        ));
    }
    let mut tables = vec![by_check, by_month, incidents];
    if !certificates.rows.is_empty() {
        tables.push(certificates);
    }
    if !windows.rows.is_empty() {
        tables.push(windows);
    }
    let months: Vec<String> = {
        let mut all: Vec<String> = report.months.iter().filter_map(|m| m.month.clone()).collect();
        all.sort();
        all.dedup();
        all
    };
    let series: Vec<(String, Vec<Option<f64>>)> = report
        .checks
        .iter()
        .map(|c| {
            let values = months
                .iter()
                .map(|month| {
                    report
                        .months
                        .iter()
                        .find(|m| m.check == c.check && m.month.as_ref() == Some(month))
                        .and_then(|m| m.availability)
                })
                .collect();
            (c.check.clone(), values)
        })
        .collect();
    let summary = format!(
        "{} to {} · 功能服务稳定度 {} · 安全运行保障率 {} · services answered: {}",
        report.since,
        report.until,
        percent(report.service_stability),
        percent(report.safe_operation),
        if report.services_answered.is_empty() { "none".to_string() } else { report.services_answered.join(", ") }
    );
    Ok(Document {
        title: "Availability · 服务可用性".into(),
        subtitle: summary,
        tables,
        charts: vec![(
            "每月可用性 · availability per month (%)".into(),
            super::charts::availability_by_month(&months, &series),
        )],
        json: serde_json::to_value(report)?,
        notes,
    })
}
