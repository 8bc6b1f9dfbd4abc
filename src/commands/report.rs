//! `wxpub report`: reports from the metrics database.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, NaiveDate};

use crate::cli::{PeriodKind, ReportArgs, ReportFormat, ReportKind};
use crate::config::Config;
use crate::metrics::format::{self, Document};
use crate::metrics::report::{CalendarUnit, Period};
use crate::metrics::{Store, annual, documents};
use crate::publish::Lock;

fn resolve_period(store: &Store, args: &ReportArgs) -> Result<Period> {
    let latest = store
        .latest_day(args.account.as_deref())?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| crate::clock::now().date_naive() - chrono::Days::new(1));
    let until = args.until.unwrap_or(latest);
    let period = match (args.period, args.since) {
        (Some(kind), _) => {
            let unit = match kind {
                PeriodKind::Week => CalendarUnit::Week,
                PeriodKind::Month => CalendarUnit::Month,
                PeriodKind::Year => CalendarUnit::Year,
            };
            Period::calendar(unit, until).context("invalid period")?
        }
        (None, Some(since)) => Period::new(since, until),
        (None, None) => Period::new(until - chrono::Days::new(29), until),
    };
    if period.since > period.until {
        bail!("--since {} is after --until {}", period.since, period.until);
    }
    Ok(period)
}

/// `--year`, or the current year in the site's time zone.
fn report_year(args: &ReportArgs, config: &Config) -> Result<i32> {
    let year = args.year.unwrap_or_else(|| crate::clock::now().with_timezone(&config.timezone()).year());
    if !(2014..=9999).contains(&year) {
        bail!("--year {year}: give a year such as 2026");
    }
    Ok(year)
}

/// Publications in publish.lock that the database does not have yet (a lock older than the
/// database, or a database lost), or has without their statistics key: recorded now, so the
/// annual report counts them and the articles reports find their items.
fn record_lock_publications(project: &Path, config: &Config, store: &mut Store) -> Result<usize> {
    if !Lock::path(project).exists() {
        return Ok(0);
    }
    let lock = Lock::load(project)?;
    let items = crate::content::load_items(project).unwrap_or_default();
    let publications = annual::publications_from_lock(&lock, &items, &config.metrics.live_tag);
    Ok(store.record_publications(&publications)?)
}

pub fn run(project: &Path, args: ReportArgs) -> Result<ExitCode> {
    let config = Config::load(project)?;
    if let Some(account) = &args.account {
        config.account(account)?;
    }
    let mut store = super::stats::open_store(project, &config)?;
    let account = args.account.as_deref();
    let format =
        args.format.unwrap_or_else(|| match args.out.as_deref().and_then(Path::extension).and_then(|e| e.to_str()) {
            Some("csv") => ReportFormat::Csv,
            Some("json") => ReportFormat::Json,
            Some("html" | "htm") => ReportFormat::Html,
            Some("xlsx") => ReportFormat::Xlsx,
            _ => ReportFormat::Table,
        });
    if format == ReportFormat::Xlsx {
        if args.kind != ReportKind::Annual {
            bail!("--format xlsx is the self-evaluation form: use it with `wxpub report annual`");
        }
        let year = report_year(&args, &config)?;
        let out = args.out.clone().unwrap_or_else(|| format!("self-evaluation-{year}.xlsx").into());
        record_lock_publications(project, &config, &mut store)?;
        let report = annual::annual(&store, year, account, config.targets.get(&year.to_string()))?;
        let surveys = crate::metrics::survey::satisfaction(&store, None, Some(year))?;
        let bytes = crate::metrics::xlsx::annual_form(&report, &config.site.name, &surveys)
            .context("cannot write the XLSX form")?;
        write_whole(&out, &bytes)?;
        eprintln!("wrote {}", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    match (args.kind, &args.target) {
        (ReportKind::Item, None) => {
            bail!("`wxpub report item` needs the item: its key (articles/2026-12-01-ding-story), folder name or msgid")
        }
        (ReportKind::Item, Some(_)) | (_, None) => {}
        (kind, Some(target)) => bail!("`{target}`: only `wxpub report item` takes an item, not {kind:?}"),
    }
    // The articles reports join statistics to items through the msgids publish.lock records.
    if matches!(args.kind, ReportKind::Articles | ReportKind::Summary | ReportKind::Item) {
        record_lock_publications(project, &config, &mut store)?;
    }
    let document: Document = match args.kind {
        ReportKind::Followers => documents::followers(&store, account, resolve_period(&store, &args)?)?,
        ReportKind::Articles => documents::articles(&store, account, resolve_period(&store, &args)?, args.top)?,
        ReportKind::Summary => documents::summary(&store, account, resolve_period(&store, &args)?)?,
        ReportKind::Annual => {
            let year = report_year(&args, &config)?;
            record_lock_publications(project, &config, &mut store)?;
            let targets = config.targets.get(&year.to_string());
            let report = annual::annual(&store, year, account, targets)?;
            documents::annual(&store, &report)?
        }
        ReportKind::Item => {
            let target = args.target.as_deref().unwrap_or_default();
            match documents::item(&store, account, target)? {
                Some(document) => document,
                None => bail!(
                    "no published item matches `{target}`: give its key (articles/2026-12-01-ding-story), its folder \
                     name or a msgid (`wxpub report articles` lists them); statistics for it arrive with `wxpub stats pull`"
                ),
            }
        }
    };
    let text = match format {
        ReportFormat::Table => format::to_table(&document),
        ReportFormat::Csv => format::to_csv(&document).context("cannot write CSV")?,
        ReportFormat::Json => format::to_json(&document) + "\n",
        ReportFormat::Html => format::to_html(&document),
        ReportFormat::Xlsx => unreachable!("written above"),
    };
    match &args.out {
        Some(path) => {
            write_whole(path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a file via a temporary sibling and a rename: readers never see half a report.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("report")));
    std::fs::write(&temp, bytes).with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
