//! Where each item stands — from its front matter, the build output and publish.lock — and
//! what it waits for: `wxpub status` prints it, `wxpub mcp` answers `status` and `list_items`
//! with it.
use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::build::Renders;
use crate::config::PublishMode;
use crate::content;
use crate::project::Project;
use crate::state::ledger::{Ledger, PublicationStatus, PushRecord};

/// One item's standing.
#[derive(Debug, Clone, Serialize)]
pub struct ItemStatus {
    pub key: String,
    pub account: String,
    pub publish_at: Option<String>,
    /// In a sentence, with what to do when something is to be done.
    pub state: String,
    /// The same, as one word for a program to sort on.
    pub phase: Phase,
    /// Its own article URL, once published.
    pub urls: Vec<String>,
    /// Items it links to that must be published before it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
    /// Its publish_at has come (at `now`) and it is neither published nor a draft: the next
    /// `wxpub publish --due` sends it.
    pub due: bool,
}

/// An item's standing in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `draft: true`: never published.
    Draft,
    NotBuilt,
    Built,
    /// Its push has a draft at WeChat.
    Drafted,
    /// Drafted, but the account may not publish it through the API: the web backend must.
    Refused,
    /// Its draft was edited in the web backend: `publish` waits for a decision.
    Conflict,
    /// Submitted; WeChat is still reviewing it.
    Publishing,
    /// A mass send waiting for an administrator's confirmation.
    Sending,
    /// Published or sent (even if deleted since).
    Published,
    /// WeChat did not publish or send it.
    Failed,
}

/// Every item's standing at `now`, in the project's order. `renders` (when the items could be
/// rendered) tell what each links to; `dist` is the build output, to tell built from not.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    Ledger(#[from] crate::state::ledger::LockError),
}

/// Loads the project at `root` and says where each of its items stands at `now` (what each
/// links to from a render by path: no image is read).
pub fn of_project(root: &Path, now: chrono::DateTime<chrono::Utc>) -> Result<(Project, Vec<ItemStatus>), StatusError> {
    let project = Project::load(root)?;
    let lock = Ledger::load(root)?;
    let memo = crate::build::RenderMemo::on_disk(&project.root);
    let renders = crate::build::render_all(&project, crate::images::Planning::ByPath, false, Some(&memo)).ok();
    let dist = project.root.join(&project.config.site.output_dir);
    let rows = statuses(&project, &lock, renders.as_ref(), &dist, now);
    Ok((project, rows))
}

pub fn statuses(
    project: &Project,
    lock: &Ledger,
    renders: Option<&Renders>,
    dist: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<ItemStatus> {
    let published = lock.settled_items();
    let tz = project.config.timezone();
    let mut rows = Vec::new();
    for (index, item) in project.items.iter().enumerate() {
        let key = item.key();
        let record =
            lock.accounts.get(&item.meta.account).and_then(|a| a.pushes.values().find(|p| p.items.contains(&key)));
        let built = dist.join(&key).join("content.html").is_file();
        let (state, phase, urls) = state_of(item, &key, record, built, tz);
        let linked = renders.and_then(|r| r.get(index)).and_then(|r| r.as_ref().ok()).map(|r| &r.linked[..]);
        let waits_for = waits_for(project, item, &key, linked, &published, tz);
        let state = if waits_for.is_empty() {
            state
        } else {
            format!("{state}; published after {} (it links to them)", waits_for.join(", "))
        };
        let when = item.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz));
        // What `publish --due` would send: not an item the account may not publish through the
        // API (refused) nor one whose draft was edited in the web backend (conflict).
        let unsent = matches!(phase, Phase::NotBuilt | Phase::Built | Phase::Drafted);
        rows.push(ItemStatus {
            key,
            account: item.meta.account.clone(),
            publish_at: item.meta.publish_at.clone(),
            state,
            phase,
            urls,
            waits_for,
            due: unsent && when.is_some_and(|t| t <= now),
        });
    }
    rows
}

/// Items in one push (same account and time) go out together: none waits for another.
fn same_push(item: &content::Item, other: Option<&content::Item>, tz: chrono_tz::Tz) -> bool {
    let when = |i: &content::Item| i.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz));
    other.is_some_and(|o| o.meta.account == item.meta.account && when(o) == when(item))
}

/// Where an item stands, and its own article URL once published: a draft; published (or
/// publishing, sending) by the push `record`; in conflict with the web backend; drafted (and
/// refused, or scheduled); or only built (`built`) or not, scheduled or not.
fn state_of(
    item: &content::Item,
    key: &str,
    record: Option<&PushRecord>,
    built: bool,
    tz: chrono_tz::Tz,
) -> (String, Phase, Vec<String>) {
    let when = item.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz));
    let scheduled = when.map(|t| format!("scheduled for {}", t.format("%Y-%m-%d %H:%M")));
    match (item.meta.draft, record.and_then(|r| r.publication.as_ref()), record) {
        (true, _, _) => ("draft: never published".to_string(), Phase::Draft, Vec::new()),
        (_, Some(publication), Some(r)) => {
            // Article URLs are in push order; show this item's own.
            let own = r.items.iter().position(|k| *k == key).and_then(|i| publication.article_urls.get(i));
            let since = || crate::util::clock::beijing_stamp(&publication.submitted_at, "%Y-%m-%d %H:%M");
            let (state, phase) = match &publication.status {
                PublicationStatus::Publishing => (
                    format!("publishing since {} (WeChat is reviewing it; the next publish run confirms it)", since()),
                    Phase::Publishing,
                ),
                PublicationStatus::Sending => (
                    format!("sending since {} (waiting for an administrator to confirm the mass send)", since()),
                    Phase::Sending,
                ),
                failed @ PublicationStatus::Failed(_) => (failed.to_string(), Phase::Failed),
                other => (other.to_string(), Phase::Published),
            };
            (state, phase, own.cloned().into_iter().collect())
        }
        (_, None, Some(r)) if r.conflict.is_some() => {
            let conflict = r.conflict.as_ref().map(|c| c.changes.join("; ")).unwrap_or_default();
            let state = format!(
                "CONFLICT: draft {} was edited in the web backend ({conflict}); run `wxpub publish --keep-server {key}` or `--overwrite-server {key}`",
                r.draft_media_id.as_deref().unwrap_or("")
            );
            (state, Phase::Conflict, Vec::new())
        }
        (_, None, Some(r)) if r.draft_media_id.is_some() && r.refused.is_some() => (
            format!(
                "draft ready ({}); not published: {} — publish it in the web backend",
                r.draft_media_id.as_deref().unwrap_or(""),
                r.refused.as_deref().unwrap_or("")
            ),
            Phase::Refused,
            Vec::new(),
        ),
        (_, None, Some(r)) if r.draft_media_id.is_some() => (
            format!(
                "drafted ({}{}){}",
                r.draft_media_id.as_deref().unwrap_or(""),
                if r.keep_server { "; the web backend's version is kept" } else { "" },
                scheduled.map(|s| format!("; {s}")).unwrap_or_default()
            ),
            Phase::Drafted,
            Vec::new(),
        ),
        _ => {
            let (base, phase) = if built { ("built", Phase::Built) } else { ("not built", Phase::NotBuilt) };
            let state = scheduled.map_or_else(|| format!("{base}; not scheduled"), |s| format!("{base}; {s}"));
            (state, phase, Vec::new())
        }
    }
}

/// The items a scheduled item not yet published must be published after: those it links to
/// (`linked`, when it could be rendered) that are scheduled, unpublished, in accounts that
/// publish, and not in its own push.
fn waits_for(
    project: &Project,
    item: &content::Item,
    key: &str,
    linked: Option<&[String]>,
    published: &BTreeSet<String>,
    tz: chrono_tz::Tz,
) -> Vec<String> {
    let config = &project.config;
    match linked {
        Some(linked) if !item.meta.draft && !published.contains(key) => linked
            .iter()
            .filter(|target| {
                !published.contains(*target)
                    && project.item(target).is_some_and(|t| {
                        !t.meta.draft
                            && t.meta.publish_at.is_some()
                            && config.accounts.get(&t.meta.account).map(|a| a.mode) == Some(PublishMode::Publish)
                    })
                    && !same_push(item, project.item(target), tz)
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}
