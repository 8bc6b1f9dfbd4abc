//! PUBLISH: plan pushes from the build manifest, then execute them against `publish.lock`:
//! upload images, create or update drafts, publish what is due — recording every write as soon
//! as it succeeds, so that a re-run never writes twice.
mod articles;
mod draft_guard;
mod execute;
mod outcome;
pub mod preview;
mod push;
mod server_view;
mod settle;
pub mod status;
mod uploads;
pub mod usage;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::build::{Manifest, ManifestItem};
use crate::config::Config;
pub use articles::article_as_sent;
pub use execute::execute;
use outcome::StepError;
pub use outcome::{EXIT_CANNOT_PUBLISH, FailureKind, PushFailure, PushOutcome, QUOTA_LEFT};
pub use settle::{Pace, StatusBudget};

/// WeChat's limit of articles in one push.
pub use crate::wechat::limits::PUSH_MAX_ARTICLES as PUSH_MAX;

/// One push: the articles an account sends together at one time.
#[derive(Debug, Clone, Serialize)]
pub struct Push {
    pub account: String,
    /// `publish_at` as written (the key in publish.lock).
    pub slot: String,
    pub when: chrono::DateTime<chrono::Utc>,
    /// Manifest items in push order (`position`, then key).
    pub items: Vec<String>,
    pub due: bool,
    /// Items this push links to that are scheduled but not published yet: it is drafted, but
    /// published only after them, with their URLs in its links. Set by [`wait_for_links`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
}

/// How a run goes about its pushes (see [`execute`]).
pub struct ExecuteOptions<'a> {
    pub project: &'a std::path::Path,
    /// The build output holding `content.html` and the processed images.
    pub dist_dir: &'a std::path::Path,
    /// Publish (or mass-send) the pushes that are due; otherwise stop at drafts.
    pub publish_due: bool,
    /// When to look at what WeChat is still doing, and until when this run waits for it.
    pub pace: Pace,
    /// Uploads running at once.
    pub upload_concurrency: usize,
    /// Told about each upload.
    pub progress: &'a dyn crate::util::progress::Progress,
    /// The items were named on the command line: retry pushes WeChat refused before (48001).
    pub retry_refused: bool,
    /// freepublish/get calls one run may make per account: they count against WeChat's 100 a
    /// day, and a run every 15 minutes must not spend them all on one slow review.
    pub status_budget: &'a StatusBudget,
    /// Items whose pushes publish the web backend's draft as it is (`--keep-server`).
    pub keep_server: &'a [String],
    /// Items whose pushes send the build over a draft edited in the web backend
    /// (`--overwrite-server`).
    pub overwrite_server: &'a [String],
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{account} push at {slot} has {count} items; WeChat allows {PUSH_MAX} — move some to another time")]
    TooLarge { account: String, slot: String, count: usize },
    #[error("no item matches `{0}` (give item keys like articles/2026-12-01-ding-story, or their folders)")]
    UnknownItem(String),
    #[error("no account `{0}` in publish.toml")]
    UnknownAccount(String),
}

/// Marks the pushes that must wait for items they link to: an item that is scheduled (in the
/// manifest, not a draft) and not published yet (`published`: keys of items whose publication
/// has finished). Links to items in the same push, or to items never scheduled, wait for
/// nothing: they stay text (`check` says so).
///
/// Only targets that will get a URL are waited for: not those of a `masssend` or `draft`-mode
/// account. Items that link to each other cannot both go out after the
/// other: in a loop, the later push waits and the earlier one goes first, its link as text.
pub fn wait_for_links(
    pushes: &mut [Push],
    manifest: &Manifest,
    config: &Config,
    settled: &std::collections::BTreeSet<String>,
) {
    use std::collections::{BTreeSet, VecDeque};
    type PushId<'m> = (&'m str, &'m str);
    // Every scheduled item's push, planned in this run or not (the manifest's publish_at is
    // normalised, as the plan's slots are).
    let push_of: BTreeMap<&str, PushId<'_>> = manifest
        .items
        .iter()
        .filter(|i| !i.draft)
        .filter_map(|i| Some((i.key.as_str(), (i.account.as_str(), i.publish_at.as_deref()?))))
        .collect();
    // Only a freepublished item gets a URL: a mass send has none, and a draft-mode account's
    // items are published by hand. Waiting for those would delay the push for nothing.
    let gets_a_url =
        |account: &str| config.accounts.get(account).is_some_and(|a| a.mode == crate::config::PublishMode::Publish);
    let mut edges: Vec<(PushId<'_>, PushId<'_>, &str)> = Vec::new();
    for item in manifest.items.iter().filter(|i| !settled.contains(&i.key)) {
        let Some(&from) = push_of.get(item.key.as_str()) else { continue };
        for target in &item.links {
            if let Some(&to) = push_of.get(target.as_str())
                && to != from
                && !settled.contains(target)
                && gets_a_url(to.0)
            {
                edges.push((from, to, target.as_str()));
            }
        }
    }
    // The later pushes' waits first: an earlier push's wait that would close a loop is dropped.
    let when = |slot: &str| chrono::DateTime::parse_from_rfc3339(slot).ok();
    edges.sort_by(|a, b| (when(b.0.1), b.0).cmp(&(when(a.0.1), a.0)));
    let mut accepted: BTreeSet<(PushId<'_>, PushId<'_>)> = BTreeSet::new();
    let mut waits: BTreeMap<PushId<'_>, Vec<String>> = BTreeMap::new();
    let reaches = |accepted: &BTreeSet<(PushId<'_>, PushId<'_>)>, start: PushId<'_>, goal: PushId<'_>| {
        let mut queue = VecDeque::from([start]);
        let mut seen = BTreeSet::from([start]);
        while let Some(at) = queue.pop_front() {
            if at == goal {
                return true;
            }
            for &(_, next) in accepted.range((at, ("", ""))..).take_while(|(from, _)| *from == at) {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        false
    };
    for (from, to, target) in edges {
        if accepted.contains(&(from, to)) || !reaches(&accepted, to, from) {
            accepted.insert((from, to));
            let list = waits.entry(from).or_default();
            if !list.iter().any(|k| k == target) {
                list.push(target.to_string());
            }
        }
    }
    for push in pushes.iter_mut() {
        push.waits_for = waits.remove(&(push.account.as_str(), push.slot.as_str())).unwrap_or_default();
    }
}

/// Groups the selected, scheduled, non-draft items into pushes, in time order.
pub fn plan(
    manifest: &Manifest,
    config: &Config,
    only_items: &[String],
    only_account: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Push>, PlanError> {
    if let Some(account) = only_account
        && !config.accounts.contains_key(account)
    {
        return Err(PlanError::UnknownAccount(account.into()));
    }
    let wanted: Vec<String> =
        only_items.iter().map(|i| i.trim_end_matches('/').trim_start_matches("content/").to_string()).collect();
    for key in &wanted {
        if !manifest.items.iter().any(|i| &i.key == key) {
            return Err(PlanError::UnknownItem(key.clone()));
        }
    }
    let mut groups: BTreeMap<(String, String), Vec<&ManifestItem>> = BTreeMap::new();
    for item in &manifest.items {
        let selected =
            (wanted.is_empty() || wanted.contains(&item.key)) && only_account.is_none_or(|a| a == item.account);
        if !selected || item.draft || item.publish_at.is_none() {
            continue;
        }
        let slot = item.publish_at.clone().unwrap_or_default();
        groups.entry((item.account.clone(), slot)).or_default().push(item);
    }
    let mut pushes = Vec::new();
    for ((account, slot), mut items) in groups {
        if items.len() > PUSH_MAX {
            return Err(PlanError::TooLarge { account, slot, count: items.len() });
        }
        items.sort_by(|a, b| (a.position, &a.key).cmp(&(b.position, &b.key)));
        let when = chrono::DateTime::parse_from_rfc3339(&slot).map(|t| t.with_timezone(&chrono::Utc)).unwrap_or(now);
        pushes.push(Push {
            account,
            slot,
            when,
            items: items.iter().map(|i| i.key.clone()).collect(),
            due: when <= now,
            waits_for: Vec::new(),
        });
    }
    pushes.sort_by(|a, b| (a.when, &a.account).cmp(&(b.when, &b.account)));
    Ok(pushes)
}
