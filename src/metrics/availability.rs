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

/// The period as instants of site time, `begin` inclusive and `end` exclusive, and the same as
/// the text the monitor's tables compare (`local_time` is stored as text).
struct Bounds {
    begin: NaiveDateTime,
    end: NaiveDateTime,
    from: String,
    to: String,
}

impl Bounds {
    fn of(period: Period) -> Bounds {
        let begin = period.since.and_hms_opt(0, 0, 0).unwrap_or_default();
        let end = period.until.succ_opt().unwrap_or(period.until).and_hms_opt(0, 0, 0).unwrap_or_default();
        Bounds { begin, end, from: begin.format(LOCAL).to_string(), to: end.format(LOCAL).to_string() }
    }

    /// The month of `figures` cut to the period: a report may start or end mid-month.
    fn month_of(&self, figures: &CheckFigures) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let start = figures.month.as_deref().and_then(month_start)?;
        Some((start.max(self.begin), next_month(start).min(self.end)))
    }
}

/// An incident's downtime inside the period, kept beside the [`Incident`] rows to add up per
/// month and per check.
struct Outage {
    check: String,
    start: NaiveDateTime,
    stop: NaiveDateTime,
}

/// `up` of `rounds` as a percentage; None without rounds (no figure rather than a false 0 %).
fn share(up: u64, rounds: u64) -> Option<f64> {
    (rounds > 0).then(|| round2(up as f64 / rounds as f64 * 100.0))
}

/// From the first round to the last, when both are known (outside maintenance windows).
fn monitored_minutes(figures: &CheckFigures) -> Option<f64> {
    let (first, last) = (local(&figures.first)?, local(&figures.last)?);
    Some(round2(minutes(first, last)))
}

/// Sets the latency percentiles of `figures` from the latencies of its good answers.
fn set_percentiles(figures: &mut CheckFigures, values: &mut [u64]) {
    values.sort_unstable();
    figures.p50_ms = percentile(values, 0.5);
    figures.p95_ms = percentile(values, 0.95);
}

/// Computes the availability report of `period` (site time), warning about certificates with
/// fewer than `cert_warn_days` left; `maintenance` are the configured windows, shown.
pub fn availability(
    store: &Store,
    period: Period,
    cert_warn_days: u32,
    maintenance: &[MaintenanceWindow],
) -> Result<Availability, StoreError> {
    let bounds = Bounds::of(period);
    let mut months = month_rounds(store, &bounds)?;
    let (incidents, outages) = incidents(store, &bounds)?;
    add_month_downtime(&mut months, &outages, &bounds);
    let latencies = add_month_latency(store, &mut months, &bounds)?;
    let checks = period_totals(&months, &outages, latencies);
    let certificates = certificates(store, &bounds, cert_warn_days)?;
    let windows = maintenance_windows(store, maintenance, &bounds)?;

    let services: Vec<&CheckFigures> = checks.iter().filter(|c| !c.builtin).collect();
    let (rounds, up) = services.iter().fold((0, 0), |(n, u), c| (n + c.rounds, u + c.up));
    let (monitored, down) =
        services.iter().fold((0.0, 0.0), |(m, d), c| (m + c.monitored_minutes, d + c.downtime_minutes));
    Ok(Availability {
        since: period.since,
        until: period.until,
        service_stability: share(up, rounds),
        safe_operation: (monitored > 0.0).then(|| round2((monitored - down).max(0.0) / monitored * 100.0)),
        services_answered: services.iter().filter(|c| c.up > 0).map(|c| c.check.clone()).collect(),
        checks,
        months,
        incidents,
        certificates,
        maintenance: windows,
    })
}

/// The rounds of each check and month, counted in SQL; downtime, incidents and latency are
/// added afterwards (they need the incidents and the answers, not just counts).
fn month_rounds(store: &Store, bounds: &Bounds) -> Result<Vec<CheckFigures>, StoreError> {
    let rows = store.rows(
        "SELECT check_name, MAX(builtin), substr(local_time, 1, 7), \
         SUM(CASE WHEN maintenance = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN maintenance = 0 AND up = 1 THEN 1 ELSE 0 END), \
         SUM(maintenance), MIN(CASE WHEN maintenance = 0 THEN local_time END), \
         MAX(CASE WHEN maintenance = 0 THEN local_time END) \
         FROM monitor_results WHERE local_time >= ?1 AND local_time < ?2 \
         GROUP BY check_name, substr(local_time, 1, 7) ORDER BY check_name, substr(local_time, 1, 7)",
        args![bounds.from, bounds.to],
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
            availability: share(up, rounds),
            downtime_minutes: 0.0,
            monitored_minutes: 0.0,
            incidents: 0,
            p50_ms: None,
            p95_ms: None,
            first: row.opt_text(6)?.unwrap_or_default(),
            last: row.opt_text(7)?.unwrap_or_default(),
        });
    }
    Ok(months)
}

/// Incidents touching the period, and their downtime clipped to it; an ongoing one runs to its
/// check's last round (the last moment anything is known of it).
fn incidents(store: &Store, bounds: &Bounds) -> Result<(Vec<Incident>, Vec<Outage>), StoreError> {
    let latest: BTreeMap<String, String> = store
        .rows("SELECT check_name, MAX(local_time) FROM monitor_results GROUP BY check_name", &[])?
        .into_iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_, StoreError>>()?;
    let mut incidents = Vec::new();
    let mut outages = Vec::new();
    for row in store.rows(
        "SELECT check_name, started_at, ended_at, failure, failed_rounds FROM monitor_incidents \
         WHERE started_at < ?2 AND (ended_at IS NULL OR ended_at > ?1) ORDER BY started_at, check_name",
        args![bounds.from, bounds.to],
    )? {
        let check = row.text(0)?;
        let started_at = row.text(1)?;
        let ended_at = row.opt_text(2)?;
        let stop = ended_at.as_deref().or(latest.get(&check).map(String::as_str)).and_then(local);
        let (Some(start), Some(stop)) = (local(&started_at), stop) else { continue };
        let (start, stop) = (start.max(bounds.begin), stop.min(bounds.end));
        outages.push(Outage { check: check.clone(), start, stop });
        incidents.push(Incident {
            check,
            started_at,
            ended_at,
            minutes: round2(minutes(start, stop)),
            failure: row.text(3)?,
            failed_rounds: row.int(4)?,
        });
    }
    Ok((incidents, outages))
}

/// Downtime and incidents of each month, from the outages' overlap with it: an incident across
/// a month's end is down in both months, but counted in the month it started.
fn add_month_downtime(months: &mut [CheckFigures], outages: &[Outage], bounds: &Bounds) {
    for figures in months {
        let Some((start, stop)) = bounds.month_of(figures) else { continue };
        for outage in outages.iter().filter(|o| o.check == figures.check) {
            if outage.start < stop && outage.stop > start {
                figures.downtime_minutes += minutes(outage.start.max(start), outage.stop.min(stop));
                figures.incidents += u64::from(outage.start >= start);
            }
        }
        figures.downtime_minutes = round2(figures.downtime_minutes);
        if let Some(monitored) = monitored_minutes(figures) {
            figures.monitored_minutes = monitored;
        }
    }
}

/// Latency of the good answers per check and month, read one month at a time (a year of
/// rounds need not be held at once); returns each check's latencies for its period's figures.
fn add_month_latency(
    store: &Store,
    months: &mut [CheckFigures],
    bounds: &Bounds,
) -> Result<BTreeMap<String, Vec<u64>>, StoreError> {
    let mut latencies: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for figures in months {
        let Some((start, stop)) = bounds.month_of(figures) else { continue };
        let mut values: Vec<u64> = store
            .rows(
                "SELECT latency_ms FROM monitor_results WHERE check_name = ?1 AND local_time >= ?2 AND local_time < ?3 \
                 AND up = 1 AND maintenance = 0 AND latency_ms IS NOT NULL",
                args![figures.check, start.format(LOCAL).to_string(), stop.format(LOCAL).to_string()],
            )?
            .iter()
            .map(|r| r.int(0).map(|v| v.max(0) as u64))
            .collect::<Result<_, _>>()?;
        set_percentiles(figures, &mut values);
        latencies.entry(figures.check.clone()).or_default().extend(values);
    }
    Ok(latencies)
}

/// Each check over the whole period, from its months (in check order, as SQL sorted them);
/// the percentiles come from all its latencies, not from the months' percentiles.
fn period_totals(
    months: &[CheckFigures],
    outages: &[Outage],
    mut latencies: BTreeMap<String, Vec<u64>>,
) -> Vec<CheckFigures> {
    let mut checks: Vec<CheckFigures> = Vec::new();
    for month in months {
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
        total.availability = share(total.up, total.rounds);
        let own: Vec<&Outage> = outages.iter().filter(|o| o.check == total.check).collect();
        total.incidents = own.len() as u64;
        // `+ 0.0`: a float sum over nothing is -0.0, which a report would print as "-0.00".
        total.downtime_minutes = round2(own.iter().map(|o| minutes(o.start, o.stop)).sum::<f64>() + 0.0);
        if let Some(monitored) = monitored_minutes(total) {
            total.monitored_minutes = monitored;
        }
        set_percentiles(total, &mut latencies.remove(&total.check).unwrap_or_default());
    }
    checks
}

/// Each check's certificate as the last round of the period saw it.
fn certificates(store: &Store, bounds: &Bounds, warn_days: u32) -> Result<Vec<Certificate>, StoreError> {
    let mut certificates = Vec::new();
    for row in store.rows(
        "SELECT r.check_name, r.cert_expires_at, r.checked_at, r.local_time FROM monitor_results r \
         WHERE r.cert_expires_at IS NOT NULL AND r.local_time = (SELECT MAX(l.local_time) FROM monitor_results l \
         WHERE l.check_name = r.check_name AND l.cert_expires_at IS NOT NULL AND l.local_time >= ?1 AND l.local_time < ?2) \
         ORDER BY r.check_name",
        args![bounds.from, bounds.to],
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
            warn: days_left < i64::from(warn_days),
        });
    }
    Ok(certificates)
}

/// The configured maintenance windows that overlap the period, each with the rounds recorded
/// inside it (which were left out of the figures).
fn maintenance_windows(
    store: &Store,
    maintenance: &[MaintenanceWindow],
    bounds: &Bounds,
) -> Result<Vec<Window>, StoreError> {
    let mut windows = Vec::new();
    for window in maintenance {
        let (start, stop) = (window.start.0, window.end.0);
        if stop <= bounds.begin || start >= bounds.end {
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
    Ok(windows)
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
    let mut tables =
        vec![checks_table(&report.checks), months_table(&report.months), incidents_table(&report.incidents)];
    // Most sites have neither certificates (plain HTTP checks) nor maintenance: no empty tables.
    let certificates = certificates_table(&report.certificates);
    if !certificates.rows.is_empty() {
        tables.push(certificates);
    }
    let windows = windows_table(&report.maintenance);
    if !windows.rows.is_empty() {
        tables.push(windows);
    }
    let (months, series) = monthly_series(report);
    Ok(Document {
        title: "Availability · 服务可用性".into(),
        subtitle: summary(report),
        tables,
        charts: vec![(
            "每月可用性 · availability per month (%)".into(),
            super::charts::availability_by_month(&months, &series),
        )],
        json: serde_json::to_value(report)?,
        notes: notes(report),
    })
}

fn kind(builtin: bool) -> &'static str {
    if builtin { "account API" } else { "service" }
}

fn checks_table(checks: &[CheckFigures]) -> TableData {
    let mut table = TableData::new(
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
    for c in checks {
        table.push(vec![
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
    table
}

fn months_table(months: &[CheckFigures]) -> TableData {
    let mut table = TableData::new(
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
    for m in months {
        table.push(vec![
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
    table
}

fn incidents_table(incidents: &[Incident]) -> TableData {
    let mut table =
        TableData::new("Incidents · 故障", &["check", "started", "ended", "minutes", "failure", "failed_rounds"]);
    for i in incidents {
        table.push(vec![
            i.check.clone(),
            i.started_at.clone(),
            i.ended_at.clone().unwrap_or_else(|| "ongoing".into()),
            format!("{:.2}", i.minutes),
            super::store::Failure::parse(&i.failure).map_or(i.failure.clone(), |f| f.label().to_string()),
            i.failed_rounds.to_string(),
        ]);
    }
    table
}

fn certificates_table(certificates: &[Certificate]) -> TableData {
    let mut table =
        TableData::new("HTTPS certificates · 证书", &["check", "expires", "days_left", "seen_at", "warning"]);
    for c in certificates {
        table.push(vec![
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
    table
}

fn windows_table(windows: &[Window]) -> TableData {
    let mut table =
        TableData::new("Maintenance windows · 维护窗口", &["start", "end", "checks", "note", "rounds_inside"]);
    for w in windows {
        table.push(vec![
            w.start.clone(),
            w.end.clone(),
            if w.checks.is_empty() { "all".into() } else { w.checks.join(", ") },
            w.note.clone().unwrap_or_default(),
            w.rounds.to_string(),
        ]);
    }
    table
}

/// The rules, led by what to do when nothing was monitored, and followed by the certificates
/// to renew.
fn notes(report: &Availability) -> Vec<String> {
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
    notes
}

/// Per check, its availability in each month of the chart (None: no rounds, drawn as a gap).
type MonthlySeries = Vec<(String, Vec<Option<f64>>)>;

/// The chart's data: every month any check was monitored in, and each check's series over them.
fn monthly_series(report: &Availability) -> (Vec<String>, MonthlySeries) {
    let mut months: Vec<String> = report.months.iter().filter_map(|m| m.month.clone()).collect();
    months.sort();
    months.dedup();
    let series = report
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
    (months, series)
}

fn summary(report: &Availability) -> String {
    format!(
        "{} to {} · 功能服务稳定度 {} · 安全运行保障率 {} · services answered: {}",
        report.since,
        report.until,
        percent(report.service_stability),
        percent(report.safe_operation),
        if report.services_answered.is_empty() { "none".to_string() } else { report.services_answered.join(", ") }
    )
}
