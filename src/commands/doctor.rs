//! `wxpub doctor`: can each account reach the API from here, with its credentials?
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::{Account, Config};
use crate::util::redact::redact;
use crate::wechat::WechatError;

pub fn run(
    project: &Path,
    only: Option<&str>,
    probe: bool,
    report: Option<&Path>,
    yes: bool,
    preview_to: Option<&str>,
) -> Result<ExitCode> {
    let config = Config::load(project)?;
    if let Some(name) = only {
        config.account(name)?;
    }
    if probe {
        return run_probe(project, &config, only, report, yes, preview_to);
    }
    let mut failures = 0;
    // What this project's runs spent today of the daily quotas (WeChat shows no counters).
    let usage = crate::publish::usage::ApiUsage::load(project).unwrap_or_default();
    let today = crate::wechat::limits::quota_day(crate::util::clock::now());
    for (name, account) in config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())) {
        match reach(name, account) {
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

/// `doctor --probe`: the contract's rules against each live account (see [`crate::wechat::probe`]).
fn run_probe(
    project: &Path,
    config: &Config,
    only: Option<&str>,
    report: Option<&Path>,
    yes: bool,
    preview_to: Option<&str>,
) -> Result<ExitCode> {
    let reviewer = preview_to.map(|id| crate::wechat::types::Reviewer::WechatId(id.to_string()));
    let accounts: Vec<(&String, &Account)> =
        config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())).collect();
    if !yes && let Some((name, _)) = accounts.iter().find(|(_, a)| a.mode == crate::config::PublishMode::Masssend) {
        anyhow::bail!(
            "account `{name}` mass-sends to its followers: the probe sends nothing, but it makes and deletes throwaway drafts and a cover material on it — add --yes to go ahead (or --account to probe another)"
        );
    }
    // One probe at a time, and never beside a publish run: both touch the drafts.
    let Some(_lock) = super::lock_project(project, "doctor --probe", true)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let mut reports = Vec::new();
    for (name, account) in accounts {
        match &reviewer {
            None => println!(
                "probing {name} ({}): throwaway drafts are deleted at once; nothing is published or sent",
                account.name
            ),
            Some(reviewer) => println!(
                "probing {name} ({}): throwaway drafts are deleted at once; one is sent as a preview to {reviewer}; nothing is published or sent to followers",
                account.name
            ),
        }
        let client = super::account_client(name, account)?;
        let result =
            crate::wechat::probe::probe(&client, name, account_use(account.mode), reviewer.as_ref(), &mut |finding| {
                println!("  {finding}")
            });
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
        let text: String = reports.iter().map(crate::wechat::probe::ProbeReport::text).collect::<Vec<_>>().join("\n");
        let text_path = path.with_extension("txt");
        super::report::write_whole(&text_path, text.as_bytes())?;
        println!("report: {} and {}", path.display(), text_path.display());
    }
    let differs: usize = reports.iter().map(crate::wechat::probe::ProbeReport::differs).sum();
    Ok(if differs == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn reach(name: &str, account: &Account) -> Result<String, WechatError> {
    let client = super::account_client(name, account)?;
    // Through a relay, the check asks the relay to vouch for this client's token and to reach
    // WeChat as the account; directly, it fetches a token with the AppSecret.
    let route = match super::relay_of(account) {
        Some(relay) => {
            let grant = client.relay_grant().map_err(|err| match err {
                WechatError::Relay { status: 401, .. } => WechatError::Config(format!(
                    "the relay {relay} does not accept the token in {}: check it against the relay's [tokens]",
                    account.relay_token_env
                )),
                WechatError::Relay { status: 403, .. } => WechatError::Config(format!(
                    "the relay {relay} accepts the token in {} but not for account `{}`: add it to that token's accounts in relay.toml",
                    account.relay_token_env,
                    account.relay_account.as_deref().unwrap_or(name)
                )),
                other => other,
            })?;
            match grant.filter(|g| !g.token.is_empty()) {
                Some(grant) => format!(
                    "through the relay {relay} (it accepts this runner's token `{}` and reached WeChat; scopes: {})",
                    grant.token,
                    grant.scopes.join(", ")
                ),
                // A relay older than token scopes names neither.
                None => format!("through the relay {relay} (it accepts this runner's token and reached WeChat)"),
            }
        }
        None => {
            client.access_token()?;
            format!("directly: {} answered; token OK", client.base())
        }
    };
    let materials = client.material_count()?;
    let drafts = client.draft_count()?;
    Ok(format!("{route}; {} image materials, {drafts} drafts", materials.image_count))
}

/// How the project uses an account, as the probe needs to know it.
fn account_use(mode: crate::config::PublishMode) -> crate::wechat::probe::AccountUse {
    use crate::config::PublishMode;
    use crate::wechat::probe::AccountUse;
    match mode {
        PublishMode::Publish => AccountUse::Publishes,
        PublishMode::Masssend => AccountUse::MassSends,
        PublishMode::Draft => AccountUse::DraftsOnly,
    }
}
