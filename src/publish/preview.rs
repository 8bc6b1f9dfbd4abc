//! Proofs on editors' phones (`wxpub send-preview`, `wxpub mcp`'s `send_preview`): the drafts of
//! the pushes holding the named items, made or brought up to date as `publish` would (and
//! recorded in publish.lock for it), each sent to every reviewer through WeChat's preview
//! (message/mass/preview). Nothing is published and nothing reaches followers.
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{ExecuteOptions, Pace, PlanError, Push, PushOutcome, StatusBudget, execute, plan};
use crate::build::{self, BuildError, BuildOptions};
use crate::check::{self, CheckError, CheckOptions};
use crate::config::Config;
use crate::project::Project;
use crate::state::file_hashes::FileHashes;
use crate::state::ledger::{Ledger, LockError, PublicationMode};
use crate::util::diagnostics::{Diagnostic, Severity};
use crate::wechat::types::Reviewer;
use crate::wechat::{Client, WechatError};

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no item `{0}` (give item keys like articles/2026-12-01-ding-story, or their folders)")]
    NoItem(String),
    #[error(
        "{0} is marked `draft: true`, so it is neither built for WeChat nor previewed; set `draft: false` (it still goes out only at its publish_at, with `wxpub publish --due`)"
    )]
    Draft(String),
    #[error("{0} has no publish_at: a preview sends the draft of its push; give it a publish_at")]
    Unscheduled(String),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The check found errors: nothing goes to WeChat until they are fixed.
    #[error("wxpub check found {} error(s); nothing was {what} — fix them and run again", .errors.len())]
    Blocked { what: String, errors: Vec<Diagnostic> },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("account `{account}`: {source}")]
    Client { account: String, source: WechatError },
}

/// One preview sent: which push, its draft, to whom, and WeChat's message id.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub account: String,
    pub slot: String,
    pub items: Vec<String>,
    pub draft: String,
    pub to: String,
    pub msg_id: u64,
}

/// What a preview run came to: what was sent, and why the rest was not, in order.
#[derive(Debug, Default, Serialize)]
pub struct Previews {
    pub sent: Vec<Sent>,
    pub failed: Vec<String>,
}

/// The keys of the items to preview (keys, folders or content/ paths), each an item that is no
/// draft and has a schedule: a preview is the draft of the item's push.
pub fn item_keys(project: &Project, names: &[String]) -> Result<Vec<String>, PreviewError> {
    let mut wanted = Vec::new();
    for name in names {
        let key = name.trim_end_matches('/').trim_end_matches("/index.md").trim_start_matches("content/");
        let item = project.item(key).ok_or_else(|| PreviewError::NoItem(name.clone()))?;
        if item.meta.draft {
            return Err(PreviewError::Draft(key.to_string()));
        }
        if item.meta.publish_at.is_none() {
            return Err(PreviewError::Unscheduled(key.to_string()));
        }
        wanted.push(key.to_string());
    }
    Ok(wanted)
}

/// The build of what goes to WeChat: into `output_dir`, without drafts, every item rendered
/// from its source (no kept render stands between the sources and what is sent).
pub fn sent_build<'a>(output_dir: &std::path::Path, hashes: &'a FileHashes) -> BuildOptions<'a> {
    BuildOptions {
        output_dir: Some(output_dir.to_path_buf()),
        drafts: false,
        hashes,
        memo: None,
        progress: &crate::util::progress::Silent,
    }
}

/// Builds (incrementally) and checks the same renders; an error blocks (`what`: "published",
/// "sent", for the message). Returns the build and what could not be remembered on the way.
pub fn build_checked(
    project: &Project,
    options: &BuildOptions<'_>,
    now: chrono::DateTime<chrono::Utc>,
    what: &str,
) -> Result<(build::Build, Vec<String>), PreviewError> {
    let build = build::build(project, options)?;
    let check_options = CheckOptions { paths: Vec::new(), now, fix: false };
    let report = check::check(project, Some(&build.renders), &check_options, options.hashes, None)?;
    let mut notes = Vec::new();
    if let Err(e) = options.hashes.save() {
        notes.push(format!("the images' dimensions could not be remembered ({e}); the next run reads them again"));
    }
    let errors: Vec<Diagnostic> = report.diagnostics.into_iter().filter(|d| d.severity == Severity::Error).collect();
    if !errors.is_empty() {
        return Err(PreviewError::Blocked { what: what.to_string(), errors });
    }
    Ok((build, notes))
}

/// When to look first at a submission: `[publish] first_look`, or `WXPUB_FIRST_LOOK` (what the
/// test suite sets against a sandbox that publishes in milliseconds).
pub fn first_look(config: &Config) -> Duration {
    std::env::var("WXPUB_FIRST_LOOK")
        .ok()
        .and_then(|text| crate::config::parse_duration(&text))
        .filter(|d| !d.is_zero())
        .unwrap_or_else(|| config.publish.first_look())
}

/// A client per account that `pushes` use, each made by `client_of`.
pub fn clients_for(
    pushes: &[Push],
    client_of: &dyn Fn(&str) -> Result<Client, WechatError>,
) -> Result<BTreeMap<String, Client>, PreviewError> {
    let mut clients = BTreeMap::new();
    for account in pushes.iter().map(|p| p.account.as_str()) {
        if !clients.contains_key(account) {
            let client =
                client_of(account).map_err(|source| PreviewError::Client { account: account.to_string(), source })?;
            clients.insert(account.to_string(), client);
        }
    }
    Ok(clients)
}

/// What a preview run needs besides the project: the items (keys, see [`item_keys`]), who
/// receives them, how to reach each account, and what to tell of the uploads.
pub struct PreviewRequest<'a> {
    pub keys: &'a [String],
    pub reviewers: &'a [Reviewer],
    pub client_of: &'a dyn Fn(&str) -> Result<Client, WechatError>,
    pub progress: &'a dyn crate::util::progress::Progress,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// What [`send`] did: the previews, the clients it used (their calls count against the day's
/// quotas), and notes on the way.
pub struct PreviewRun {
    pub previews: Previews,
    pub clients: BTreeMap<String, Client>,
    pub notes: Vec<String>,
}

/// Builds and checks (errors block), drafts the pushes holding the items as `publish` would —
/// publishing nothing, whatever is due — records them in publish.lock, and sends each draft to
/// every reviewer. The caller holds the project's run lock.
pub fn send(project: &Project, request: &PreviewRequest<'_>) -> Result<PreviewRun, PreviewError> {
    let config = &project.config;
    let hashes = FileHashes::load(&project.root);
    let output_dir = project.root.join(&config.site.output_dir);
    let (build, notes) = build_checked(project, &sent_build(&output_dir, &hashes), request.now, "sent")?;
    let mut pushes = plan(&build.manifest, config, &[], None, request.now)?;
    pushes.retain(|push| push.items.iter().any(|key| request.keys.contains(key)));

    let clients = clients_for(&pushes, request.client_of)?;
    let mut lock = Ledger::load(&project.root)?;
    let options = ExecuteOptions {
        project: &project.root,
        dist_dir: &output_dir,
        // Drafts only: a preview publishes nothing, whatever is due.
        publish_due: false,
        pace: Pace { first_look: first_look(config), wait: Duration::ZERO },
        upload_concurrency: config.publish.upload_concurrency,
        progress: request.progress,
        retry_refused: false,
        status_budget: &StatusBudget::new(config.publish.status_checks_per_run),
        keep_server: &[],
        overwrite_server: &[],
    };
    let outcomes = execute(&pushes, &build.manifest, config, &mut lock, &clients, &options);
    let previews = send_drafts(&pushes, &outcomes, &lock, &clients, config, request.reviewers);
    Ok(PreviewRun { previews, clients, notes })
}

/// Sends each push's draft, as the lock records it after `outcomes`, to every reviewer.
fn send_drafts(
    pushes: &[Push],
    outcomes: &[PushOutcome],
    lock: &Ledger,
    clients: &BTreeMap<String, Client>,
    config: &Config,
    reviewers: &[Reviewer],
) -> Previews {
    let mut previews = Previews::default();
    for (push, outcome) in pushes.iter().zip(outcomes) {
        let at = format!("{} at {}", push.account, push.slot);
        if let Some(error) = &outcome.error {
            previews.failed.push(format!("{at}: the draft could not be made: {error}"));
            continue;
        }
        let record = lock.accounts.get(&push.account).and_then(|a| a.pushes.get(&push.slot));
        // Published (or sent): its draft left the box; a preview of it would be refused.
        if let Some(publication) = record.and_then(|r| r.publication.as_ref()) {
            previews.failed.push(format!(
                "{at}: already {} ({}); there is no draft left to preview — open the published article instead",
                if publication.mode == PublicationMode::Masssend { "sent" } else { "published" },
                publication.status
            ));
            continue;
        }
        let Some(draft) = record.and_then(|r| r.draft_media_id.clone()) else {
            previews.failed.push(format!("{at}: no draft was made"));
            continue;
        };
        let client = &clients[&push.account];
        let account_name = &config.accounts[&push.account].name;
        for reviewer in reviewers {
            match client.mass_preview(&draft, reviewer) {
                Ok(answer) => previews.sent.push(Sent {
                    account: push.account.clone(),
                    slot: push.slot.clone(),
                    items: push.items.clone(),
                    draft: draft.clone(),
                    to: reviewer.to_string(),
                    msg_id: answer.msg_id,
                }),
                Err(e) => previews.failed.push(format!("{at} to {reviewer}: {}", refused(&e, account_name))),
            }
        }
    }
    previews
}

/// Why WeChat refused a preview, told so that the operator knows what to do.
fn refused(e: &WechatError, account_name: &str) -> String {
    match e.code() {
        Some(43004) => format!(
            "they do not follow {account_name}; only followers receive previews — follow the account, then run this again"
        ),
        Some(40132) | Some(40003) => {
            "WeChat knows no such reviewer; check the WeChat ID (微信号, not the nickname) or openid".to_string()
        }
        Some(45009) => format!(
            "today's {} previews are used up; the quota resets at 00:00 Beijing time",
            crate::wechat::limits::daily_quota("/cgi-bin/message/mass/preview").unwrap_or(100)
        ),
        _ => crate::util::redact::redact(&e.to_string()),
    }
}
