//! `wxpub status`: where each item stands, from content/, dist/ and publish.lock.
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::config::PublishMode;
use crate::content;
use crate::state::ledger::{Ledger, PublicationStatus, PushRecord};

#[derive(Debug, Serialize)]
struct ItemStatus {
    key: String,
    account: String,
    publish_at: Option<String>,
    state: String,
    urls: Vec<String>,
    /// Items it links to that must be published before it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waits_for: Vec<String>,
}

/// Items in one push (same account and time) go out together: none waits for another.
fn same_push(item: &content::Item, other: Option<&content::Item>, tz: chrono_tz::Tz) -> bool {
    let when = |i: &content::Item| i.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz));
    other.is_some_and(|o| o.meta.account == item.meta.account && when(o) == when(item))
}

/// An RFC 3339 time as Beijing time, `YYYY-MM-DD HH:MM`.
/// `wxpub status`: a row per item — where it stands (from its front matter, dist/ and
/// publish.lock), its own article URL, what it waits for — as a table or JSON.
pub fn run(project: &Path, json: bool) -> Result<ExitCode> {
    let loaded = crate::project::Project::load(project)?;
    let (config, items) = (&loaded.config, &loaded.items);
    let lock = Ledger::load(project)?;
    let published = lock.settled_items();
    // What each item links to (rendered by path: no image is read), for "waits for".
    let memo = crate::build::RenderMemo::on_disk(&loaded.root);
    let renders = crate::build::render_all(&loaded, crate::images::Planning::ByPath, false, Some(&memo)).ok();
    let dist = project.join(&config.site.output_dir);
    let tz = config.timezone();
    let mut rows = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let key = item.key();
        let record =
            lock.accounts.get(&item.meta.account).and_then(|a| a.pushes.values().find(|p| p.items.contains(&key)));
        let built = dist.join(&key).join("content.html").is_file();
        let (state, urls) = state_of(item, &key, record, built, tz);
        let linked = renders.as_ref().and_then(|r| r.get(index)).and_then(|r| r.as_ref().ok()).map(|r| &r.linked[..]);
        let waits_for = waits_for(&loaded, item, &key, linked, &published, tz);
        let state = if waits_for.is_empty() {
            state
        } else {
            format!("{state}; published after {} (it links to them)", waits_for.join(", "))
        };
        rows.push(ItemStatus {
            key,
            account: item.meta.account.clone(),
            publish_at: item.meta.publish_at.clone(),
            state,
            urls,
            waits_for,
        });
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let width = rows.iter().map(|r| r.key.chars().count()).max().unwrap_or(0);
        for row in &rows {
            println!("{:<width$}  {:<13}  {}", row.key, row.account, row.state);
            for url in &row.urls {
                println!("{:<width$}  {:<13}  {url}", "", "");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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
) -> (String, Vec<String>) {
    let when = item.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz));
    let scheduled = when.map(|t| format!("scheduled for {}", t.format("%Y-%m-%d %H:%M")));
    match (item.meta.draft, record.and_then(|r| r.publication.as_ref()), record) {
        (true, _, _) => ("draft: never published".to_string(), Vec::new()),
        (_, Some(publication), Some(r)) => {
            // Article URLs are in push order; show this item's own.
            let own = r.items.iter().position(|k| *k == key).and_then(|i| publication.article_urls.get(i));
            let state = match &publication.status {
                PublicationStatus::Publishing => format!(
                    "publishing since {} (WeChat is reviewing it; the next publish run confirms it)",
                    crate::util::clock::beijing_stamp(&publication.submitted_at, "%Y-%m-%d %H:%M")
                ),
                PublicationStatus::Sending => format!(
                    "sending since {} (waiting for an administrator to confirm the mass send)",
                    crate::util::clock::beijing_stamp(&publication.submitted_at, "%Y-%m-%d %H:%M")
                ),
                other => other.to_string(),
            };
            (state, own.cloned().into_iter().collect())
        }
        (_, None, Some(r)) if r.conflict.is_some() => {
            let conflict = r.conflict.as_ref().map(|c| c.changes.join("; ")).unwrap_or_default();
            (
                format!(
                    "CONFLICT: draft {} was edited in the web backend ({conflict}); run `wxpub publish --keep-server {key}` or `--overwrite-server {key}`",
                    r.draft_media_id.as_deref().unwrap_or("")
                ),
                Vec::new(),
            )
        }
        (_, None, Some(r)) if r.draft_media_id.is_some() && r.refused.is_some() => (
            format!(
                "draft ready ({}); not published: {} — publish it in the web backend",
                r.draft_media_id.as_deref().unwrap_or(""),
                r.refused.as_deref().unwrap_or("")
            ),
            Vec::new(),
        ),
        (_, None, Some(r)) if r.draft_media_id.is_some() => (
            format!(
                "drafted ({}{}){}",
                r.draft_media_id.as_deref().unwrap_or(""),
                if r.keep_server { "; the web backend's version is kept" } else { "" },
                scheduled.map(|s| format!("; {s}")).unwrap_or_default()
            ),
            Vec::new(),
        ),
        _ => {
            let base = if built { "built" } else { "not built" };
            (scheduled.map_or_else(|| format!("{base}; not scheduled"), |s| format!("{base}; {s}")), Vec::new())
        }
    }
}

/// The items a scheduled item not yet published must be published after: those it links to
/// (`linked`, when it could be rendered) that are scheduled, unpublished, in accounts that
/// publish, and not in its own push.
fn waits_for(
    loaded: &crate::project::Project,
    item: &content::Item,
    key: &str,
    linked: Option<&[String]>,
    published: &BTreeSet<String>,
    tz: chrono_tz::Tz,
) -> Vec<String> {
    let config = &loaded.config;
    match linked {
        Some(linked) if !item.meta.draft && !published.contains(key) => linked
            .iter()
            .filter(|target| {
                !published.contains(*target)
                    && loaded.item(target).is_some_and(|t| {
                        !t.meta.draft
                            && t.meta.publish_at.is_some()
                            && config.accounts.get(&t.meta.account).map(|a| a.mode) == Some(PublishMode::Publish)
                    })
                    && !same_push(item, loaded.item(target), tz)
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}
