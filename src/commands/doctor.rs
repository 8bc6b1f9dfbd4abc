//! `wxpub doctor`: can each account reach the API from here, with its credentials?
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::{Account, Config};
use crate::redact::redact;
use crate::wechat::{Client, Credentials, WechatError, resolve_base};

pub fn run(project: &Path, only: Option<&str>, probe: bool, report: Option<&Path>, yes: bool) -> Result<ExitCode> {
    let config = Config::load(project)?;
    if let Some(name) = only {
        config.account(name)?;
    }
    if probe {
        return run_probe(project, &config, only, report, yes);
    }
    let mut failures = 0;
    // What this project's runs spent today of the daily quotas (WeChat shows no counters).
    let usage = crate::publish::usage::ApiUsage::load(project).unwrap_or_default();
    let today = crate::wechat::limits::quota_day(crate::clock::now());
    for (name, account) in config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())) {
        match reach(account) {
            Ok(summary) => println!("ok      {name} ({}): {summary}", account.name),
            Err(err) => {
                failures += 1;
                println!("failed  {name} ({}): {}", account.name, redact(&err.to_string()));
            }
        }
        let spent: Vec<String> = usage
            .on(name, today)
            .into_iter()
            .filter_map(|(endpoint, calls)| {
                crate::wechat::limits::daily_quota(&endpoint).map(|limit| format!("{endpoint} {calls}/{limit}"))
            })
            .collect();
        if !spent.is_empty() {
            println!("        today's quota use recorded by wxpub ({today}, Beijing): {}", spent.join(", "));
        }
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `doctor --probe`: the contract's rules against each live account (see [`crate::probe`]).
fn run_probe(
    project: &Path,
    config: &Config,
    only: Option<&str>,
    report: Option<&Path>,
    yes: bool,
) -> Result<ExitCode> {
    let accounts: Vec<(&String, &Account)> =
        config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())).collect();
    if !yes && let Some((name, _)) = accounts.iter().find(|(_, a)| a.mode == crate::config::PublishMode::Masssend) {
        anyhow::bail!(
            "account `{name}` mass-sends to its followers: the probe sends nothing, but it makes and deletes throwaway drafts and a cover material on it — add --yes to go ahead (or --account to probe another)"
        );
    }
    // One probe at a time, and never beside a publish run: both touch the drafts.
    let Some(_lock) = super::lock_project(project, "doctor --probe", true)? else {
        return Ok(ExitCode::from(crate::project_lock::EXIT_BUSY));
    };
    let mut reports = Vec::new();
    for (name, account) in accounts {
        println!(
            "probing {name} ({}): throwaway drafts are deleted at once; nothing is published or sent",
            account.name
        );
        let credentials = Credentials::from_env(&account.appid_env, &account.secret_env)?;
        let client = Client::new(&resolve_base(&account.api_base), credentials, super::client_options())?;
        let result = crate::probe::probe(&client, name, account.mode, &mut |finding| println!("  {finding}"));
        for cleaned in &result.cleaned_up {
            println!("  cleaned up: {cleaned}");
        }
        let calls: u64 = result.calls.values().sum();
        println!("  {} check(s) differ from the contract; {calls} API call(s) made", result.differs());
        reports.push(result);
    }
    if let Some(path) = report {
        let json = serde_json::to_string_pretty(&reports)?;
        super::report::write_whole(path, json.as_bytes())?;
        let text: String = reports.iter().map(crate::probe::ProbeReport::text).collect::<Vec<_>>().join("\n");
        let text_path = path.with_extension("txt");
        super::report::write_whole(&text_path, text.as_bytes())?;
        println!("report: {} and {}", path.display(), text_path.display());
    }
    let differs: usize = reports.iter().map(crate::probe::ProbeReport::differs).sum();
    Ok(if differs == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn reach(account: &Account) -> Result<String, WechatError> {
    let credentials = Credentials::from_env(&account.appid_env, &account.secret_env)?;
    let base = resolve_base(&account.api_base);
    let client = Client::new(&base, credentials, super::client_options())?;
    client.access_token()?;
    let materials = client.material_count()?;
    let drafts = client.draft_count()?;
    Ok(format!("{base} answered; token OK; {} image materials, {drafts} drafts", materials.image_count))
}
