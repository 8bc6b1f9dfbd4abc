//! `wxpub report`: reports from the metrics database.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, NaiveDate};

use crate::cli::{PeriodKind, ReportArgs, ReportFormat, ReportKind};
use crate::config::Config;
use crate::metrics::format::{self, Document};
use crate::metrics::report::{CalendarUnit, Period, resolve_period as resolve};
use crate::metrics::{Store, StoreTarget, annual, documents};

/// The period `args` name; "today" is the site's (as `wxpub mcp`'s report tool has it).
fn resolve_period(store: &Store, args: &ReportArgs, config: &Config) -> Result<Period> {
    let unit = args.period.map(|kind| match kind {
        PeriodKind::Week => CalendarUnit::Week,
        PeriodKind::Month => CalendarUnit::Month,
        PeriodKind::Year => CalendarUnit::Year,
    });
    let today = crate::util::clock::now().with_timezone(&config.timezone()).date_naive();
    Ok(resolve(store, args.account.as_deref(), args.since, args.until, unit, today)?)
}

/// `--year`, or the current year in the site's time zone.
fn report_year(args: &ReportArgs, config: &Config) -> Result<i32> {
    let year = args.year.unwrap_or_else(|| crate::util::clock::now().with_timezone(&config.timezone()).year());
    if !(2014..=9999).contains(&year) {
        bail!("--year {year}: give a year such as 2026");
    }
    Ok(year)
}

/// Records what the project published in the store (see [`crate::metrics::published::record`]),
/// telling what could not be counted.
pub(super) fn record_lock_publications(project: &Path, config: &Config, store: &mut Store) -> Result<usize> {
    let (recorded, warnings) = crate::metrics::published::record(project, config, store)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(recorded)
}

pub fn run(project: &Path, args: ReportArgs) -> Result<ExitCode> {
    if args.kind == ReportKind::Network {
        return network(&args);
    }
    let config = Config::load(project)?;
    if let Some(account) = &args.account {
        config.account(account)?;
    }
    let mut store = super::stats::open_store(project, &config)?;
    let account = args.account.as_deref();
    let format = output_format(&args);
    if args.kind == ReportKind::Availability {
        return availability(&store, &config, &args, format);
    }
    if format == ReportFormat::Xlsx {
        if args.kind != ReportKind::Annual {
            bail!(
                "--format xlsx is for `wxpub report annual` (the self-evaluation form), `availability` and `network`"
            );
        }
        let year = report_year(&args, &config)?;
        let out = args.out.clone().unwrap_or_else(|| format!("self-evaluation-{year}.xlsx").into());
        record_lock_publications(project, &config, &mut store)?;
        let report = annual::annual(&store, year, account, config.targets.get(&year.to_string()))?;
        let surveys = crate::metrics::survey::satisfaction(&store, None, Some(year))?;
        let monitored = crate::metrics::availability::year(&store, year)?;
        let bytes = crate::metrics::xlsx::annual_form(&report, &config.site.name, &surveys, &monitored)
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
        ReportKind::Followers => documents::followers(&store, account, resolve_period(&store, &args, &config)?)?,
        ReportKind::Articles => {
            documents::articles(&store, account, resolve_period(&store, &args, &config)?, args.top)?
        }
        ReportKind::Summary => documents::summary(&store, account, resolve_period(&store, &args, &config)?)?,
        ReportKind::Annual => {
            let year = report_year(&args, &config)?;
            record_lock_publications(project, &config, &mut store)?;
            let targets = config.targets.get(&year.to_string());
            let report = annual::annual(&store, year, account, targets)?;
            documents::annual(&store, &report)?
        }
        ReportKind::Network | ReportKind::Availability => unreachable!("handled at the start of run"),
        ReportKind::Comments => {
            let period = match (args.year, args.since, args.period) {
                (Some(year), None, None) => Period::new(
                    NaiveDate::from_ymd_opt(year, 1, 1).context("invalid --year")?,
                    NaiveDate::from_ymd_opt(year, 12, 31).context("invalid --year")?,
                ),
                _ => resolve_period(&store, &args, &config)?,
            };
            let report = crate::metrics::comments::report(&store, period)?;
            crate::metrics::comments::document(&report).context("cannot write the report as JSON")?
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

/// `wxpub report availability`: the monitor's results over `--year` (default: this year) or
/// `--since/--until`.
fn availability(store: &Store, config: &Config, args: &ReportArgs, format: ReportFormat) -> Result<ExitCode> {
    if args.account.is_some() {
        bail!("--account: the availability report covers every check (each account's API is its own check)");
    }
    if args.period.is_some() {
        bail!("`wxpub report availability` takes --year, or --since and --until");
    }
    let period = match (args.since, args.until) {
        (None, None) => {
            let year = report_year(args, config)?;
            Period::new(
                NaiveDate::from_ymd_opt(year, 1, 1).context("invalid --year")?,
                NaiveDate::from_ymd_opt(year, 12, 31).context("invalid --year")?,
            )
        }
        (since, until) => {
            if args.year.is_some() {
                bail!("give --year, or --since/--until, not both");
            }
            let today = crate::util::clock::now().with_timezone(&config.timezone()).date_naive();
            let until = until.unwrap_or(today);
            let since = since.unwrap_or_else(|| NaiveDate::from_ymd_opt(until.year(), 1, 1).unwrap_or(until));
            if since > until {
                bail!("--since {since} is after --until {until}");
            }
            Period::new(since, until)
        }
    };
    let report = crate::metrics::availability::availability(
        store,
        period,
        config.monitor.cert_warn_days,
        &config.monitor.maintenance,
    )?;
    let document = crate::metrics::availability::document(&report).context("cannot write the report as JSON")?;
    write_document(&document, format, args.out.as_deref(), format::to_xlsx)
}

/// Writes `document` as `format` to `out` (whole, or not at all), or to standard output; a
/// workbook, made by `xlsx`, only to a file.
fn write_document(
    document: &Document,
    format: ReportFormat,
    out: Option<&Path>,
    xlsx: fn(&Document) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError>,
) -> Result<ExitCode> {
    let bytes = match format {
        ReportFormat::Table => format::to_table(document).into_bytes(),
        ReportFormat::Csv => format::to_csv(document).context("cannot write CSV")?.into_bytes(),
        ReportFormat::Json => (format::to_json(document) + "\n").into_bytes(),
        ReportFormat::Html => format::to_html(document).into_bytes(),
        ReportFormat::Xlsx => xlsx(document).context("cannot write the XLSX workbook")?,
    };
    match out {
        Some(out) => {
            write_whole(out, &bytes)?;
            eprintln!("wrote {}", out.display());
        }
        None if format == ReportFormat::Xlsx => bail!("--format xlsx needs --out FILE.xlsx"),
        None => print!("{}", String::from_utf8_lossy(&bytes)),
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

/// `--format`, or else from the --out file's extension, or else a table.
fn output_format(args: &ReportArgs) -> ReportFormat {
    args.format.unwrap_or_else(|| match args.out.as_deref().and_then(Path::extension).and_then(|e| e.to_str()) {
        Some("csv") => ReportFormat::Csv,
        Some("json") => ReportFormat::Json,
        Some("html" | "htm") => ReportFormat::Html,
        Some("xlsx") => ReportFormat::Xlsx,
        _ => ReportFormat::Table,
    })
}

/// `wxpub report network --museums network.toml`: every museum's year side by side.
fn network(args: &ReportArgs) -> Result<ExitCode> {
    use crate::metrics::network::{self, MuseumYear, NetworkFile};
    let Some(path) = args.museums.as_deref() else {
        bail!(
            "`wxpub report network` needs --museums network.toml: [museums.KEY] with name = \"…\" and project = \"path/to/its/wxpub/project\" (or db = \"path/to/metrics.db\", or db = \"postgres://user@host/database\" with schema = \"…\")"
        );
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: NetworkFile =
        toml::from_str(&text).with_context(|| format!("{} is not a valid network file", path.display()))?;
    if file.museums.is_empty() {
        bail!("{}: no [museums.KEY] entries", path.display());
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let year = args.year.unwrap_or_else(|| crate::util::clock::now().with_timezone(&chrono_tz::Asia::Shanghai).year());
    let museums: Vec<MuseumYear> = file
        .museums
        .iter()
        .map(|(key, entry)| MuseumYear {
            key: key.clone(),
            name: entry.name.clone(),
            figures: museum_year(base, entry, year),
        })
        .collect();
    let name = file.name.clone().unwrap_or_else(|| "博物馆网络".to_string());
    let document = network::document(&name, year, &museums);
    write_document(&document, output_format(args), args.out.as_deref(), network::xlsx)
}

/// One museum's annual report, or why there is none (said in the report, never dropped).
fn museum_year(
    base: &Path,
    entry: &crate::metrics::network::MuseumEntry,
    year: i32,
) -> std::result::Result<crate::metrics::annual::Annual, String> {
    let (store, targets, published) = match (&entry.project, &entry.db) {
        (Some(_), Some(_)) => {
            return Err("network file: give the museum's `project` or its `db`, not both".to_string());
        }
        (Some(project), None) => {
            if entry.schema.is_some() || entry.password_env.is_some() {
                return Err(
                    "network file: `schema` and `password_env` go with `db`; a `project` names its store in its own publish.toml"
                        .to_string(),
                );
            }
            let project = base.join(project);
            if !project.join("publish.toml").is_file() {
                return Err(format!("no wxpub project at {} (no publish.toml)", project.display()));
            }
            let config = Config::load(&project).map_err(|e| format!("{}: {e}", project.display()))?;
            let target = StoreTarget::from_config(&project, &config.metrics).map_err(|e| e.to_string())?;
            if let Some(db) = target.sqlite_file().filter(|db| !db.is_file()) {
                return Err(format!("no statistics yet at {} (run `wxpub stats pull` there)", db.display()));
            }
            // Read as it is: another museum's store is never written or migrated from here.
            let store = Store::open_read_only(&target).map_err(|e| e.to_string())?;
            // What it published, as its own annual report counts it (publish.lock, the archive).
            let published = crate::metrics::published::of_project(&project, &config).map_err(|e| e.to_string())?;
            for warning in &published.warnings {
                eprintln!("warning: {}: {warning}", project.display());
            }
            let published = published.publications;
            (store, config.targets.get(&year.to_string()).cloned(), published)
        }
        (None, Some(db)) => {
            let place = "network file: [museums] entry";
            let target =
                StoreTarget::from_setting(base, db, entry.schema.as_deref(), entry.password_env.as_deref(), place)
                    .map_err(|e| e.to_string())?;
            if let Some(db) = target.sqlite_file().filter(|db| !db.is_file()) {
                return Err(format!("no statistics database at {}", db.display()));
            }
            (Store::open_read_only(&target).map_err(|e| e.to_string())?, None, Vec::new())
        }
        (None, None) => return Err("network file: give the museum's `project` or `db`".to_string()),
    };
    let annual = annual::annual_with(&store, year, None, targets.as_ref(), &published).map_err(|e| e.to_string())?;
    let published = annual.output.iter().any(|f| f.value > 0.0);
    if annual.days_with_data == 0 && !published {
        return Err(format!("no figures for {year} in {}", store.describe()));
    }
    Ok(annual)
}
