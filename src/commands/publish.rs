//! `wxpub publish`: build → check → plan → upload, draft, publish (recorded in publish.lock).
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::check::{self, CheckOptions};
use crate::cli::PublishArgs;
use crate::config::Config;
use crate::diagnostics::Severity;
use crate::publish::{self, ExecuteOptions, Lock};
use crate::wechat::{Client, ClientOptions, Credentials, resolve_base};

pub fn run(project: &Path, args: PublishArgs, quiet: bool) -> Result<ExitCode> {
    let config = Config::load(project)?;
    let now = match &args.now {
        Some(text) => crate::content::parse_publish_at(text, config.timezone())
            .with_context(|| format!("--now `{text}` is not `YYYY-MM-DD HH:MM`"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };

    // 1. Build (incremental: images come from the cache) and check; errors block.
    let build = super::build::build_project(project, None, false, false)?;
    let report = check::check_project(project, &CheckOptions { paths: Vec::new(), now, fix: false })?;
    let errors: Vec<_> = report.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
    if !errors.is_empty() {
        for d in &errors {
            eprintln!("{d}");
        }
        bail!("wxpub check found {} error(s); nothing was published — fix them and run again", errors.len());
    }

    // 2. Plan.
    let pushes = publish::plan(&build.manifest, &config, &args.items, args.account.as_deref(), now)?;
    if args.dry_run || pushes.is_empty() {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "dry_run": true, "pushes": pushes }))?);
        } else {
            if pushes.is_empty() {
                println!("nothing to publish: no scheduled item matches");
            }
            for push in &pushes {
                let action = if args.due && push.due { "publish now" } else { "draft only" };
                println!("{} at {} ({action}):", push.account, push.slot);
                for item in &push.items {
                    println!("  {item}");
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    // 3. Execute against the lock.
    let mut clients = BTreeMap::new();
    for account in pushes.iter().map(|p| p.account.as_str()) {
        if clients.contains_key(account) {
            continue;
        }
        let settings = &config.accounts[account];
        let credentials = Credentials::from_env(&settings.appid_env, &settings.secret_env)?;
        clients.insert(
            account.to_string(),
            Client::new(&resolve_base(&settings.api_base), credentials, ClientOptions::default())?,
        );
    }
    let mut lock = Lock::load(project)?;
    let options = ExecuteOptions {
        project,
        dist_dir: &build.output_dir,
        publish_due: args.due,
        poll_timeout: Duration::from_secs(300),
        upload_concurrency: config.publish.upload_concurrency,
        progress: !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let outcomes = publish::execute(&pushes, &build.manifest, &config, &mut lock, &clients, &options);

    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "pushes": outcomes, "failed": failed }))?);
    } else {
        for outcome in &outcomes {
            let state = if outcome.error.is_some() {
                "FAILED"
            } else if outcome.done.is_empty() {
                "up to date"
            } else {
                "done"
            };
            if quiet && outcome.error.is_none() {
                continue;
            }
            println!("{} at {}: {state}", outcome.account, outcome.slot);
            for step in &outcome.done {
                println!("  done: {step}");
            }
            for url in &outcome.article_urls {
                println!("  url:  {url}");
            }
            if let Some(error) = &outcome.error {
                println!("  left: everything after the steps above — {error}");
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} push(es) failed; run wxpub publish again to finish them (what is done is recorded in publish.lock)"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
