//! `wxpub stats pull`: datacube statistics → the metrics database.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Timelike};

use crate::cli::StatsPullArgs;
use crate::config::Config;
use crate::metrics::pull::{self, PullOptions};
use crate::metrics::{Store, StoreTarget};
use crate::wechat::Client;
use crate::wechat::types::Datacube;

/// The newest day the datacube has: yesterday, or the day before until 08:00 Beijing time
/// (WeChat computes yesterday's figures overnight).
pub fn latest_available_day(now: chrono::DateTime<chrono_tz::Tz>) -> NaiveDate {
    let today = now.date_naive();
    let back = if now.hour() < 8 { 2 } else { 1 };
    today - chrono::Days::new(back)
}

/// The project's statistics store (`[metrics] db`): its SQLite file or its PostgreSQL schema,
/// created or migrated as needed.
pub fn open_store(project: &Path, config: &Config) -> Result<Store> {
    let target = StoreTarget::from_config(project, &config.metrics)?;
    Store::open(&target).with_context(|| format!("cannot open the metrics database {}", target.describe()))
}

pub fn pull(project: &Path, args: StatsPullArgs, quiet: bool) -> Result<ExitCode> {
    let Some(_lock) = super::lock_project(project, "stats pull", true)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let config = Config::load(project)?;
    let names: Vec<String> = match &args.account {
        Some(name) => {
            config.account(name)?;
            vec![name.clone()]
        }
        None => config.accounts.keys().cloned().collect(),
    };
    let endpoints = args
        .endpoint
        .iter()
        .map(|name| {
            Datacube::from_name(name).with_context(|| {
                let all: Vec<_> = Datacube::ALL.iter().map(|d| d.name()).collect();
                format!("--endpoint: no datacube endpoint `{name}` (known: {})", all.join(", "))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let latest = latest_available_day(crate::util::clock::now().with_timezone(&chrono_tz::Asia::Shanghai));
    let until = args.until.unwrap_or(latest);
    if let Some(since) = args.since
        && since > until
    {
        bail!("--since {since} is after --until {until}");
    }

    let mut clients = Vec::new();
    for name in &names {
        let client =
            super::account_client(name, &config.accounts[name]).with_context(|| format!("account `{name}`"))?;
        clients.push((name.clone(), client));
    }
    let mut store = open_store(project, &config)?;
    let options = PullOptions {
        since: args.since,
        until,
        // A day the datacube answered for is one it has: a later --until than our clock's
        // yesterday (a clock behind WeChat's) moves "latest" with it.
        latest: latest.max(until),
        refetch_days: config.metrics.refetch_days,
        first_pull_days: config.metrics.first_pull_days,
        concurrency: config.metrics.concurrency,
        endpoints,
    };
    let (since, chunks) = pull::plan(&store, &names, &options)?;
    let bar = (!quiet && !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = indicatif::ProgressBar::new(chunks.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} calls {elapsed} (eta {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix("stats pull");
        bar
    });
    let refs: Vec<(String, &Client)> = clients.iter().map(|(n, c)| (n.clone(), c)).collect();
    let mut summary = pull::pull(&mut store, &refs, &chunks, options.concurrency, options.latest, |done, _| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary.since = since.to_string();
    summary.until = until.to_string();

    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !quiet || !summary.failures.is_empty() {
        println!(
            "{}: {} to {}: {} call(s), {} row(s) stored in {}",
            names.join(", "),
            since,
            until,
            summary.calls,
            summary.rows,
            store.describe()
        );
        if summary.calls == 0 {
            println!("  everything up to {until} was already stored");
        }
    }
    if !summary.failures.is_empty() {
        for f in &summary.failures {
            eprintln!("not fetched: {} {} {}..{}: {}", f.account, f.endpoint, f.begin, f.end, f.error);
        }
        eprintln!(
            "{} range(s) could not be fetched; everything else is stored. Run `wxpub stats pull` again to fetch them.",
            summary.failures.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn yesterday_is_ready_after_eight_in_beijing() {
        let tz = chrono_tz::Asia::Shanghai;
        let morning = tz.with_ymd_and_hms(2026, 11, 25, 7, 59, 0).unwrap();
        let later = tz.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
        assert_eq!(latest_available_day(morning).to_string(), "2026-11-23");
        assert_eq!(latest_available_day(later).to_string(), "2026-11-24");
    }
}
