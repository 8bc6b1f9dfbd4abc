//! `wxpub archive verify|index`.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::archive;
use crate::cli::ArchiveCommand;
use crate::config::Config;

pub fn run(project: &Path, command: ArchiveCommand) -> Result<ExitCode> {
    let config = Config::load(project)?;
    let dir = project.join(&config.archive.dir);
    match command {
        ArchiveCommand::Verify { year } => {
            let years = match year {
                Some(year) => vec![year],
                None => archive::years(&dir),
            };
            if years.is_empty() {
                println!("{}: no archive yet (wxpub publish archives every publication)", config.archive.dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let mut failed = 0;
            for year in &years {
                let (problems, entries) = archive::verify(&dir, year)?;
                for p in &problems {
                    eprintln!("{}/{}/{}: {}", config.archive.dir.display(), p.year, p.entry, p.message);
                }
                if problems.is_empty() {
                    println!("{year}: {entries} entries, every file and link verified");
                } else {
                    failed += problems.len();
                }
            }
            if failed > 0 {
                eprintln!("{failed} problem(s): the archive was changed after archiving");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Import { account, since, until, max_image_bytes } => {
            import(project, &config, &dir, account.as_deref(), since, until, max_image_bytes)
        }
        ArchiveCommand::Index { year, out } => {
            if !dir.join(&year).join("index.json").exists() {
                bail!("{}/{year}: no archive for {year}", config.archive.dir.display());
            }
            let html = archive::index_html(&dir, &year, &config.site.name)?;
            match out {
                Some(path) => {
                    super::report::write_whole(&path, html.as_bytes())?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{html}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn import(
    project: &Path,
    config: &Config,
    dir: &Path,
    only: Option<&str>,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    max_image_bytes: usize,
) -> Result<ExitCode> {
    if let Some(name) = only {
        config.account(name)?;
    }
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        bail!("--since {since} is after --until {until}");
    }
    // Not beside a publish run: both add entries to the archive's chains.
    let Some(_lock) = super::lock_project(project, "archive import", true)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let lock = crate::state::ledger::Ledger::load(project)?;
    let mut total = 0;
    let mut deferred = 0;
    for (name, account) in config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())) {
        let client = super::account_client(name, account)?;
        // Images come from WeChat's image servers, or from the sandbox the account is pointed at.
        let base = crate::wechat::resolve_base(&account.api_base);
        let extra_image_hosts = url::Url::parse(&base)
            .ok()
            .filter(|u| u.host_str().is_some_and(|h| !h.ends_with("weixin.qq.com")))
            .and_then(|u| u.host_str().map(|h| u.port().map_or_else(|| h.to_string(), |p| format!("{h}:{p}"))))
            .into_iter()
            .collect();
        let options = archive::import::ImportOptions {
            since,
            until,
            extra_image_hosts,
            max_image_bytes,
            now: crate::util::clock::now(),
        };
        eprintln!("{name}: listing what the server has published (freepublish/batchget)…");
        let summary =
            archive::import::import_account(&client, dir, name, &account.name, &lock, &options, &mut |entry| {
                eprintln!("  imported {entry}");
            })
            .with_context(|| {
                format!("account `{name}`: the entries imported so far are kept; run again to continue")
            })?;
        println!(
            "{name}: {} listed, {} imported, {} already archived or published by wxpub{}{}",
            summary.listed,
            summary.imported.len(),
            summary.known,
            if summary.out_of_range > 0 {
                format!(", {} outside the dates", summary.out_of_range)
            } else {
                String::new()
            },
            if summary.missing_images > 0 {
                format!("; {} image(s) could not be kept (see `fetched` in each record.json)", summary.missing_images)
            } else {
                String::new()
            },
        );
        for why in &summary.deferred {
            eprintln!("  not imported yet: {why}");
        }
        deferred += summary.deferred.len();
        total += summary.imported.len();
    }
    if total > 0 {
        println!("`wxpub archive verify` checks them; `report annual` counts them, marked as imported");
    }
    if deferred > 0 {
        eprintln!(
            "{deferred} publication(s) not imported yet: an image could not be fetched for a reason that may pass; run `wxpub archive import` again"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
