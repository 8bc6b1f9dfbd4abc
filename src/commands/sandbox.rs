//! `wxpub sandbox`: run the local WeChat emulator in the foreground.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::SandboxArgs;
use crate::config::Config;
use crate::sandbox::{self, SandboxOptions};
use crate::wechat::API_BASE_ENV;

pub fn run(project: &Path, args: SandboxArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!("--fault-rate must be between 0 and 1 (e.g. 0.1 for 10 % of calls)");
    }
    if let Some(parent) = args.state.as_deref().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut quotas = std::collections::BTreeMap::new();
    for quota in &args.quotas {
        let parsed =
            quota.split_once('=').and_then(|(path, n)| Some((path.trim().to_string(), n.trim().parse().ok()?)));
        let Some((path, limit)) = parsed else {
            anyhow::bail!("--quota `{quota}`: write ENDPOINT=N, e.g. /cgi-bin/freepublish/get=3");
        };
        quotas.insert(path, limit);
    }
    let options = SandboxOptions {
        port: args.port,
        state: args.state.clone(),
        appid: args.appid.clone(),
        secret: args.secret.clone(),
        service_account: args.account_kind == "service",
        latency_ms: args.latency_ms,
        fault_rate: args.fault_rate,
        fault_seed: args.fault_seed,
        token_ttl: args.token_ttl,
        publish_delay_ms: args.publish_delay_ms,
        today: args.today,
        publish_fail_status: args.publish_fail_status,
        may_publish: !args.no_publish_permission,
        may_mass_send: !args.no_mass_send_permission,
        may_comment: !args.no_comment_permission,
        background_articles: !args.no_background_articles,
        quotas,
        send_protection_ms: args.send_protection_ms,
        send_refused: args.send_refused,
        article_rules: sandbox::ArticleRules {
            digest_max_chars: args.digest_max.unwrap_or(crate::wechat::limits::DIGEST_MAX_CHARS),
            content_counts_html: args.content_counts_html,
        },
        ..SandboxOptions::default()
    };
    let handle = sandbox::spawn(options)?;
    println!("wxpub sandbox: WeChat API emulator listening on {}", handle.base_url);
    println!();
    println!("Point wxpub at it (in another shell):");
    println!("  export {API_BASE_ENV}={}", handle.base_url);
    // Name the variables this project's accounts read, when there is a project here.
    let accounts: Vec<(String, String)> = match Config::load(project) {
        Ok(config) => config.accounts.values().map(|a| (a.appid_env.clone(), a.secret_env.clone())).collect(),
        Err(_) => vec![("WXPUB_SERVICE_APPID".into(), "WXPUB_SERVICE_SECRET".into())],
    };
    for (appid_env, secret_env) in accounts {
        println!("  export {appid_env}={}", args.appid);
        println!("  export {secret_env}={}", args.secret);
    }
    println!();
    match &args.state {
        Some(path) => println!("State: {} (survives restarts).", path.display()),
        None => println!("State: in memory (pass --state FILE to keep it)."),
    }
    println!("Inspect: curl {}/__sandbox/state   ·   Stop: Ctrl-C", handle.base_url);
    handle.wait();
    Ok(ExitCode::SUCCESS)
}
