//! `wxpub monitor run|serve`: rounds of availability checks, recorded in the statistics store.
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use crate::cli::MonitorCommand;
use crate::config::Config;
use crate::metrics::{CheckResult, Store};
use crate::monitor::{self, ApiRoute, Target};

pub fn run(project: &Path, command: MonitorCommand, quiet: bool) -> Result<ExitCode> {
    let config = Config::load(project)?;
    let targets = targets(project, &config)?;
    if targets.is_empty() {
        bail!(
            "nothing to check: name the museum's services in publish.toml, e.g.\n\n  [[monitor.check]]\n  name = \"预约\"\n  url = \"https://booking.museum.example/\"\n  expect_text = \"预约\"\n\n(or set `[monitor] api_checks = true` to check the accounts' API); see `wxpub monitor --help`"
        );
    }
    let store = super::stats::open_store(project, &config)?;
    match command {
        MonitorCommand::Run { json, fail_on_down } => {
            let round = one_round(&store, &targets, &config, crate::util::clock::now())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&round).context("cannot write the round as JSON")?);
            } else {
                print_round(&round, quiet);
            }
            warn(&round, &config);
            let down = round.results.iter().any(|r| !r.up && !r.maintenance);
            Ok(if fail_on_down && down { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        MonitorCommand::Serve => serve(&store, &targets, &config, quiet),
    }
}

/// The round's targets: the museum's services, and each account's API as its calls go (through
/// its relay, or straight to its API base).
fn targets(project: &Path, config: &Config) -> Result<Vec<Target>> {
    let routes: Vec<(String, ApiRoute)> = config
        .accounts
        .iter()
        .map(|(name, account)| {
            let route = match super::relay_of(account) {
                Some(url) => ApiRoute::Relay { url },
                None => ApiRoute::Direct { base: crate::wechat::resolve_base(&account.api_base) },
            };
            (name.clone(), route)
        })
        .collect();
    Ok(monitor::targets(project, &config.monitor, &routes)?)
}

/// One recorded round.
#[derive(Debug, serde::Serialize)]
struct Round {
    /// The slot of the clock it fills (RFC 3339, UTC).
    round: String,
    /// Results new to the store (0: this round was recorded already).
    recorded: usize,
    results: Vec<CheckResult>,
}

fn one_round(store: &Store, targets: &[Target], config: &Config, now: DateTime<Utc>) -> Result<Round> {
    let slot = monitor::slot(now, config.monitor.every.0).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let results = monitor::round(targets, &config.monitor, now, config.timezone());
    let recorded = store
        .record_round(&slot, &results)
        .with_context(|| format!("cannot record the monitor round in {}", store.describe()))?;
    Ok(Round { round: slot, recorded, results })
}

fn print_round(round: &Round, quiet: bool) {
    for r in &round.results {
        let line = if r.maintenance {
            format!("· {}  maintenance window{}", r.check, if r.up { "" } else { " (down, not counted)" })
        } else if r.up {
            format!("✓ {}  {}  {} ms", r.check, r.status.unwrap_or(0), r.latency_ms.unwrap_or(0))
        } else {
            format!(
                "✗ {}  down ({}): {}",
                r.check,
                r.failure.map_or("other", |f| f.label()),
                r.error.as_deref().unwrap_or("no detail")
            )
        };
        if !quiet || (!r.up && !r.maintenance) {
            println!("{line}");
        }
    }
}

/// Certificates about to expire, and a round that was recorded already: on stderr.
fn warn(round: &Round, config: &Config) {
    let now = crate::util::clock::now();
    for r in &round.results {
        if let Some(days) = r.cert_expires_at.as_deref().and_then(|at| monitor::days_left(at, now))
            && days < i64::from(config.monitor.cert_warn_days)
        {
            let at = r.cert_expires_at.as_deref().unwrap_or_default();
            if days < 0 {
                eprintln!("warning: the HTTPS certificate of {} expired {at}: renew it", r.check);
            } else {
                eprintln!("warning: the HTTPS certificate of {} expires {at} ({days} days left): renew it", r.check);
            }
        }
    }
    if round.recorded == 0 {
        eprintln!(
            "round {} was recorded already (by another monitor, or a run earlier in the same `every` slot): nothing added",
            round.round
        );
    }
}

/// Rounds every `every` until SIGINT or SIGTERM, which let the round under way finish.
fn serve(store: &Store, targets: &[Target], config: &Config, quiet: bool) -> Result<ExitCode> {
    if crate::util::clock::is_pinned() {
        bail!("`wxpub monitor serve` runs on the real clock; --now / WXPUB_NOW are for `wxpub monitor run`");
    }
    let every = config.monitor.every.0;
    let stop = Arc::new(AtomicBool::new(false));
    let (stopped, stopping) = mpsc::channel();
    watch_signals(stop.clone(), stopped)?;
    eprintln!(
        "monitoring {} check(s) every {}; recording into {}; Ctrl-C or SIGTERM stops after the round",
        targets.len(),
        humantime(every),
        store.describe()
    );
    let mut rounds = 0;
    loop {
        let started = Utc::now();
        let round = one_round(store, targets, config, started)?;
        rounds += 1;
        print_round(&round, quiet);
        warn(&round, config);
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let next = monitor::slot(started, every) + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        match stopping.recv_timeout(wait) {
            Ok(()) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
        }
    }
    eprintln!("stopped after {rounds} round(s)");
    Ok(ExitCode::SUCCESS)
}

/// Sets `stop` (and says so on `stopped`) at the first SIGINT or SIGTERM; a second one ends the
/// process at once. The handlers are in place when this returns.
fn watch_signals(stop: Arc<AtomicBool>, stopped: mpsc::Sender<()>) -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot watch for signals")?;
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = runtime.enter();
        (
            signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?,
            signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?,
        )
    };
    std::thread::spawn(move || {
        runtime.block_on(async move {
            for count in 0.. {
                #[cfg(unix)]
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                #[cfg(not(unix))]
                let _ = tokio::signal::ctrl_c().await;
                if count > 0 {
                    eprintln!("stopped at once");
                    std::process::exit(130);
                }
                eprintln!("stopping after this round (again to stop at once)");
                stop.store(true, Ordering::SeqCst);
                let _ = stopped.send(());
            }
        })
    });
    Ok(())
}

fn humantime(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 60.0 && seconds % 60.0 == 0.0 { format!("{} min", seconds / 60.0) } else { format!("{seconds} s") }
}
