//! `wxpub doctor`: can each account reach the API from here, with its credentials?
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::{Account, Config};
use crate::redact::redact;
use crate::wechat::{Client, ClientOptions, Credentials, WechatError, resolve_base};

pub fn run(project: &Path, only: Option<&str>) -> Result<ExitCode> {
    let config = Config::load(project)?;
    if let Some(name) = only {
        config.account(name)?;
    }
    let mut failures = 0;
    // What this project's runs spent today of the daily quotas (WeChat shows no counters).
    let usage = crate::publish::usage::ApiUsage::load(project).unwrap_or_default();
    let today = crate::wechat::limits::quota_day(crate::clock::now());
    for (name, account) in config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())) {
        match probe(account) {
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

fn probe(account: &Account) -> Result<String, WechatError> {
    let credentials = Credentials::from_env(&account.appid_env, &account.secret_env)?;
    let base = resolve_base(&account.api_base);
    let client = Client::new(&base, credentials, ClientOptions::default())?;
    client.access_token()?;
    let materials = client.material_count()?;
    let drafts = client.draft_count()?;
    Ok(format!("{base} answered; token OK; {} image materials, {drafts} drafts", materials.image_count))
}
