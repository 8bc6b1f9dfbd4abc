//! Runs a plan against WeChat, recording each write in publish.lock before the next one starts.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Datelike, Utc};
use sha2::{Digest, Sha256};

use super::Push;
use super::draft_guard::{describe_changes, stored_digest, waits_for_video};
use super::settle::{self, Pace, StatusBudget};
use crate::build::{Manifest, ManifestImage, ManifestItem};
use crate::config::{AccountKind, Config, PublishMode};
use crate::content::{Comments, Format};
use crate::publish_lock::{DraftConflict, Lock, MediaRecord, PublicationRecord, PushRecord, ServerDraft};
use crate::wechat::types::{Article, DraftItem, ImageInfo, ImageListItem, MaterialType, PublishedItem, StoredDraft};
use crate::wechat::{Client, Upload, WechatError};

pub struct ExecuteOptions<'a> {
    pub project: &'a Path,
    /// The build output holding `content.html` and the processed images.
    pub dist_dir: &'a Path,
    /// Publish (or mass-send) the pushes that are due; otherwise stop at drafts.
    pub publish_due: bool,
    /// When to look at what WeChat is still doing, and until when this run waits for it.
    pub pace: Pace,
    /// Uploads running at once.
    pub upload_concurrency: usize,
    /// Told about each upload.
    pub progress: &'a dyn crate::progress::Progress,
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

/// What happened to one push.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushOutcome {
    pub account: String,
    pub slot: String,
    pub items: Vec<String>,
    /// What was done, in order (empty when nothing needed doing).
    pub done: Vec<String>,
    /// Why the push stopped, if it did; what is left is everything after `done`.
    pub error: Option<String>,
    pub article_urls: Vec<String>,
    /// Items it links to that must be published first; it was drafted but not published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    /// What WeChat changed without refusing (a mini-program card it dropped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Still running at WeChat when the run stopped waiting (a publication under review, a mass
    /// send awaiting confirmation): not a failure, the next run settles it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// Drafted, not published: the draft still shows a video placeholder, to be replaced in
    /// the web backend.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waiting_for_video: bool,
    /// The draft was edited in the web backend and the build differs: nothing was written or
    /// published (the error says what differs and what to run).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum StepError {
    #[error(transparent)]
    Wechat(#[from] WechatError),
    /// 48001 from freepublish/submit: the account may not publish through the API.
    #[error("{CANNOT_PUBLISH}")]
    CannotPublish,
    /// 45009 that outlasted the retries: a daily quota is used up.
    #[error("WeChat's daily quota of {0} is used up (45009); {QUOTA_LEFT}")]
    Quota(String),
    #[error(transparent)]
    Lock(#[from] crate::publish_lock::LockError),
    /// The draft was edited in the web backend; what differs, and how to decide.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

/// The outcome of a push whose account may not publish through the API (48001): its draft is
/// made and stays; `status` shows it; `publish` exits with [`EXIT_CANNOT_PUBLISH`].
pub const CANNOT_PUBLISH: &str = "draft ready — this account cannot publish through the API (WeChat answered 48001: personal and unverified accounts lost freepublish in 2025); verify the account, or publish the draft in the web backend (mp.weixin.qq.com → 草稿箱)";

/// Exit code of `wxpub publish` when every failure is [`CANNOT_PUBLISH`]: nothing is wrong with
/// the content or the run, and rerunning will not change it.
pub const EXIT_CANNOT_PUBLISH: u8 = 4;

/// What happens to a push when a daily quota runs out.
pub const QUOTA_LEFT: &str =
    "left as it is for the next run after the quotas reset at 00:00 Beijing time (nothing is sent twice)";

pub(super) fn now_text() -> String {
    crate::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Executes every push in order; a failed push does not stop the others.
pub fn execute(
    pushes: &[Push],
    manifest: &Manifest,
    config: &Config,
    lock: &mut Lock,
    clients: &BTreeMap<String, Client>,
    options: &ExecuteOptions<'_>,
) -> Vec<PushOutcome> {
    let mut uploaded = adopt_server_materials(pushes, manifest, lock, clients, options);
    uploaded.extend(upload_all(pushes, manifest, lock, clients, options));
    let mut first_push_of_account = std::collections::BTreeSet::new();
    let mut servers: BTreeMap<String, ServerView> = BTreeMap::new();
    let outcomes = pushes
        .iter()
        .map(|push| {
            let mut outcome = PushOutcome {
                account: push.account.clone(),
                slot: push.slot.clone(),
                items: push.items.clone(),
                done: Vec::new(),
                error: None,
                article_urls: Vec::new(),
                waiting_for: Vec::new(),
                warnings: Vec::new(),
                in_progress: None,
                waiting_for_video: false,
                conflict: false,
            };
            // The parallel uploads are reported with the account's first push.
            if first_push_of_account.insert(push.account.clone()) {
                outcome.done.extend(uploaded.iter().filter(|(a, _)| *a == push.account).map(|(_, step)| step.clone()));
            }
            let result = match clients.get(&push.account) {
                Some(client) => {
                    let server = servers.entry(push.account.clone()).or_insert_with(ServerView::new);
                    run_push(push, manifest, config, lock, client, server, options, &mut outcome).map_err(|err| {
                        // A quota that ran out is not asked again in this run.
                        match err {
                            StepError::Wechat(e) if e.code() == Some(45009) => {
                                let endpoint = e.endpoint().unwrap_or("the API").to_string();
                                server.quota_spent.insert(endpoint.clone());
                                StepError::Quota(endpoint)
                            }
                            other => other,
                        }
                    })
                }
                None => Err(StepError::Other(format!("no client for account {}", push.account))),
            };
            if let Err(err) = result {
                outcome.conflict = matches!(err, StepError::Conflict(_));
                outcome.error = Some(crate::redact::redact(&err.to_string()));
            }
            outcome
        })
        .collect::<Vec<_>>();
    // Every push is submitted; now settle them together, at WeChat's pace.
    let mut outcomes = outcomes;
    settle::settle(lock, clients, &mut outcomes, options.pace, options.status_budget, options.project);
    outcomes
}

#[allow(clippy::too_many_arguments)]
fn run_push(
    push: &Push,
    manifest: &Manifest,
    config: &Config,
    lock: &mut Lock,
    client: &Client,
    server: &mut ServerView,
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    let items = items_of(push, manifest);
    let account = &config.accounts[&push.account];

    // 1. Images: body images through uploadimg, covers and posters as permanent material
    // (normally already done by the parallel upload phase; this retries what failed there).
    {
        let shared = Mutex::new(&mut *lock);
        for (dir, image, as_material) in uploads_of(&items, options.dist_dir) {
            if let Some(step) =
                ensure_uploaded(&shared, &push.account, client, &dir, image, as_material, options.project)?
            {
                outcome.done.push(step);
            }
        }
    }

    // 2. The articles as WeChat receives them.
    let media = &lock.account(&push.account).media.clone();
    let articles: Vec<Article> =
        items.iter().map(|item| article_for(item, options.dist_dir, media)).collect::<Result<_, _>>()?;
    let encoded =
        serde_json::to_vec(&articles).map_err(|e| StepError::Other(format!("cannot encode the articles: {e}")))?;
    let hash = hex::encode(Sha256::digest(encoded));

    // 3. Draft: add, update when changed, or nothing — after making sure that the lock's
    // picture of this push is the server's (never create blindly).
    let mut record = lock.account(&push.account).pushes.entry(push.slot.clone()).or_default().clone();
    let titles: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
    // The server's copy of the draft, when this run read it.
    let mut stored: Option<StoredDraft> = None;
    if record.publication.is_none() && record.pending.is_none() {
        match &record.draft_media_id {
            // No entry at all (a new push, or a stale lock): it may be drafted or published already.
            None => {
                if let Some(found) = server.published_by_titles(client, lock, push, &titles)? {
                    restore_publication(lock, push, &found, options, outcome)?;
                    return Ok(());
                }
                if let Some(id) = server.unknown_draft_by_titles(client, lock, &push.account, &titles)? {
                    outcome.done.push(format!("found draft {id} on the server; publish.lock did not have it"));
                    save_push(lock, options.project, &push.account, &push.slot, |r| {
                        r.draft_media_id = Some(id.clone());
                        r.items = push.items.clone();
                    })?;
                    // Adopted: updated in place below (its content is not known to match).
                    record.draft_media_id = Some(id);
                    record.items = push.items.clone();
                }
            }
            // A draft about to be written to or published: is it still there, and as wxpub left it?
            Some(id)
                if record.content_hash.as_deref() != Some(hash.as_str())
                    || wants_publication(push, account, options) =>
            {
                match fetch_draft(client, id)? {
                    Some(found) => stored = Some(found),
                    None => {
                        // Gone without us: deleted in the web backend, or published there by hand.
                        if let Some(found) = server.published_by_titles(client, lock, push, &titles)? {
                            restore_publication(lock, push, &found, options, outcome)?;
                            return Ok(());
                        }
                        outcome.done.push(format!(
                            "draft {id} is gone from the server (deleted in the web backend?); making it again"
                        ));
                        save_push(lock, options.project, &push.account, &push.slot, |r| {
                            r.draft_media_id = None;
                            r.content_hash = None;
                            r.drafted_at = None;
                            r.server_draft = None;
                            r.keep_server = false;
                            r.conflict = None;
                        })?;
                        record.draft_media_id = None;
                        record.content_hash = None;
                        record.keep_server = false;
                    }
                }
            }
            Some(_) => {}
        }
    }
    if let Some(publication) = &record.publication {
        let running = publication.status == "publishing" || publication.status == "sending";
        if record.content_hash.as_deref() != Some(hash.as_str()) && !running {
            outcome.done.push("already published; later changes to its items are not sent".into());
        }
        outcome.article_urls = publication.article_urls.clone();
        if let Some(reason) = publication.status.strip_prefix("failed") {
            return Err(StepError::Other(format!(
                "WeChat did not publish it earlier{reason}; not resubmitted — fix it in the admin console or publish it by hand"
            )));
        }
        // Still running: settled with the others after every push is submitted.
        return Ok(());
    }

    // 3b. The web backend shares the draft: an edit made there is never overwritten unasked.
    if let (Some(id), Some(found)) = (record.draft_media_id.clone(), stored.as_ref()) {
        let decision = web_backend_decision(push, &record, found, &articles, &hash, options);
        let changes = || describe_changes(&found.news_item, &articles);
        let current = ServerDraft { update_time: found.update_time, digest: stored_digest(&found.news_item) };
        match decision {
            WebBackend::Untouched => {}
            WebBackend::Overwrite { edited } => {
                if edited {
                    outcome.warnings.push(format!(
                        "draft {id} was edited in the web backend ({}); --overwrite-server sends the build over it, and this is lost: {}",
                        beijing(found.update_time),
                        changes().join("; ")
                    ));
                    // Written below even when the build did not change since wxpub's last write.
                    record.content_hash = None;
                }
                record.keep_server = false;
                save_push(lock, options.project, &push.account, &push.slot, |r| {
                    r.keep_server = false;
                    r.conflict = None;
                })?;
            }
            WebBackend::Keep { why } => {
                if !record.keep_server {
                    outcome.done.push(format!(
                        "keeping draft {id} as the web backend has it ({why}, {}): it is published as it is there; later changes in git are reported, not sent (`--overwrite-server` sends them)",
                        beijing(found.update_time)
                    ));
                }
                record.keep_server = true;
                save_push(lock, options.project, &push.account, &push.slot, |r| {
                    r.keep_server = true;
                    r.conflict = None;
                    r.server_draft = Some(current);
                })?;
            }
            WebBackend::EditedBuildUnchanged => {
                outcome.done.push(format!(
                    "draft {id} was edited in the web backend ({}); nothing in git changed, so it stays as it is there",
                    beijing(found.update_time)
                ));
                if record.conflict.is_some() {
                    // The source went back to what was sent: nothing left to decide.
                    save_push(lock, options.project, &push.account, &push.slot, |r| r.conflict = None)?;
                }
            }
            WebBackend::Conflict => {
                let changes = changes();
                let items = push.items.join(" ");
                save_push(lock, options.project, &push.account, &push.slot, |r| {
                    r.conflict = Some(DraftConflict {
                        detected_at: now_text(),
                        server_update_time: found.update_time,
                        changes: changes.clone(),
                    });
                })?;
                return Err(StepError::Conflict(format!(
                    "draft {id} was edited in the web backend ({}) and the build differs — not overwritten, not published this run:\n    - {}\n  decide: `wxpub publish --keep-server {items}` publishes the web backend's version; `wxpub publish --overwrite-server {items}` sends the build (the changes above are lost)",
                    beijing(found.update_time),
                    changes.join("\n    - ")
                )));
            }
        }
    }
    if record.keep_server && record.content_hash.as_deref() != Some(hash.as_str()) {
        outcome.warnings.push(format!(
            "changes in git to {} are not sent: the web backend's draft is kept (`wxpub publish --overwrite-server {}` sends them)",
            push.items.join(", "),
            push.items.join(" ")
        ));
    }

    let send_pending = matches!(record.pending.as_deref(), Some("submit" | "masssend"));
    let draft_id = match (&record.draft_media_id, &record.content_hash) {
        // A submit or send whose outcome is unknown: settle it (step 4) before anything touches
        // the draft — a new draft would be a new send.
        (Some(id), _) if send_pending => {
            if record.content_hash.as_deref() != Some(hash.as_str()) {
                outcome.done.push("an earlier run's send is being settled first; later changes wait for it".into());
            }
            id.clone()
        }
        (Some(id), _) if record.keep_server => id.clone(),
        (Some(id), Some(old)) if *old == hash => id.clone(),
        (Some(id), _) if record.items.len() == articles.len() => {
            for (index, article) in articles.iter().enumerate() {
                client.draft_update(id, index as u32, article).map_err(|e| explain_refusal(e, &items, &articles))?;
            }
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.content_hash = Some(hash.clone());
                r.items = push.items.clone();
                r.titles = articles.iter().map(|a| a.title.clone()).collect();
                r.drafted_at = Some(now_text());
            })?;
            outcome.done.push(format!("updated draft {id}"));
            stored = read_back(lock, push, client, id, &articles, options, outcome)?;
            id.clone()
        }
        (old, _) => {
            if let Some(old) = old {
                client.draft_delete(old)?;
                outcome.done.push(format!("deleted draft {old} (its articles changed)"));
            }
            let recovered = if record.pending.as_deref() == Some("draft-add") {
                server.forget_drafts();
                server.unknown_draft_by_titles(client, lock, &push.account, &titles)?
            } else {
                None
            };
            let id = match recovered {
                Some(id) => {
                    outcome.done.push(format!("found draft {id} on the server (an earlier run created it)"));
                    id
                }
                None => {
                    save_push(lock, options.project, &push.account, &push.slot, |r| {
                        r.pending = Some("draft-add".into())
                    })?;
                    match client.draft_add(&articles) {
                        Ok(added) => added.media_id,
                        // The answer was lost: look for the draft instead of adding another.
                        Err(err) if err.may_have_been_processed() => {
                            server.forget_drafts();
                            match server.unknown_draft_by_titles(client, lock, &push.account, &titles)? {
                                Some(id) => {
                                    outcome
                                        .done
                                        .push(format!("draft/add's answer was lost; found draft {id} on the server"));
                                    id
                                }
                                None => return Err(err.into()),
                            }
                        }
                        Err(err) => return Err(explain_refusal(err, &items, &articles)),
                    }
                }
            };
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.pending = None;
                r.draft_media_id = Some(id.clone());
                r.content_hash = Some(hash.clone());
                r.items = push.items.clone();
                r.titles = articles.iter().map(|a| a.title.clone()).collect();
                r.drafted_at = Some(now_text());
                r.keep_server = false;
                r.conflict = None;
            })?;
            outcome.done.push(format!("created draft {id}"));
            stored = read_back(lock, push, client, &id, &articles, options, outcome)?;
            id
        }
    };

    // 4. Publish what is due, by the account's mode — after the items it links to.
    if !(options.publish_due && push.due) {
        return Ok(());
    }
    if !push.waits_for.is_empty() && account.mode != PublishMode::Draft {
        outcome.waiting_for = push.waits_for.clone();
        outcome.done.push(format!("not published yet: waiting for {} (it links to them)", push.waits_for.join(", ")));
        return Ok(());
    }
    if account.mode == PublishMode::Draft {
        return Ok(());
    }
    // A video placeholder still in WeChat's copy: the editor has not inserted the video yet.
    if waits_for_video(&articles) || record.keep_server {
        let server_copy = match stored.take() {
            Some(found) => Some(found),
            None if send_pending => None,
            None => fetch_draft(client, &draft_id)?,
        };
        if server_copy.as_ref().is_some_and(|found| waits_for_video(&found.news_item)) {
            outcome.waiting_for_video = true;
            outcome.done.push(format!(
                "not published yet: draft {draft_id} still shows a video placeholder — insert the video in the web backend (草稿箱); the next run after that publishes it"
            ));
            return Ok(());
        }
    }
    match account.mode {
        PublishMode::Draft => {}
        PublishMode::Publish => {
            if record.refused.is_some() && !options.retry_refused {
                return Err(StepError::CannotPublish);
            }
            if record.pending.as_deref() == Some("submit") && fetch_draft(client, &draft_id)?.is_none() {
                return recover_publication(lock, push, client, server, &titles, None, options, outcome);
            }
            server.quota_left("/cgi-bin/freepublish/submit")?;
            save_push(lock, options.project, &push.account, &push.slot, |r| r.pending = Some("submit".into()))?;
            let submitted_ms = chrono::Utc::now().timestamp_millis();
            let submitted = match client.publish_submit(&draft_id) {
                Ok(submitted) => submitted,
                // The answer was lost: a submitted draft leaves the draft box.
                Err(err) if err.may_have_been_processed() => {
                    if fetch_draft(client, &draft_id)?.is_none() {
                        outcome.done.push("freepublish/submit's answer was lost; looking for the publication".into());
                        return recover_publication(
                            lock,
                            push,
                            client,
                            server,
                            &titles,
                            Some(submitted_ms),
                            options,
                            outcome,
                        );
                    }
                    return Err(StepError::Other(format!(
                        "{err}; the draft is still in the draft box, so it was not submitted — the next run submits it"
                    )));
                }
                Err(err) if err.code() == Some(48001) => {
                    save_push(lock, options.project, &push.account, &push.slot, |r| {
                        r.pending = None;
                        r.refused =
                            Some(format!("48001 at {}: the account cannot publish through the API", now_text()));
                    })?;
                    return Err(StepError::CannotPublish);
                }
                Err(err) => return Err(err.into()),
            };
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.pending = None;
                r.refused = None;
                r.publication = Some(PublicationRecord {
                    mode: "publish".into(),
                    publish_id: Some(submitted.publish_id.clone()),
                    msg_data_id: (submitted.msg_data_id != 0).then_some(submitted.msg_data_id),
                    status: "publishing".into(),
                    submitted_at: now_text(),
                    submitted_ms: Some(submitted_ms),
                    ..PublicationRecord::default()
                });
            })?;
            outcome.done.push(format!("submitted for publishing (publish_id {})", submitted.publish_id));
        }
        PublishMode::Masssend => {
            if !mass_send_allowed(lock, &push.account, account.kind) {
                return Err(StepError::Other(format!(
                    "the {} account's mass-send allowance is used up ({}); the draft is ready — send it later or switch the account to mode = \"publish\"",
                    push.account,
                    if account.kind == AccountKind::Subscription { "one a day" } else { "four a month" }
                )));
            }
            // The send's identity: the same push and draft give the same clientmsgid, so WeChat
            // answers a repeat (after a lost answer, or a run killed mid-send) with the first
            // send's msg_id instead of sending again.
            let clientmsgid = format!(
                "wxpub-{}",
                &hex::encode(Sha256::digest(format!("{}\n{}\n{draft_id}", push.account, push.slot)))[..40]
            );
            // An interrupted send whose draft left the box went out more than 24 hours ago
            // (WeChat no longer knows its clientmsgid): record it, never send twice.
            let sent = if record.pending.as_deref() == Some("masssend") && fetch_draft(client, &draft_id)?.is_none() {
                match client.mass_send_all(&draft_id, &clientmsgid) {
                    Ok(sent) => Some(sent),
                    Err(_) => {
                        outcome.done.push("an earlier run's mass send went out; recorded".into());
                        None
                    }
                }
            } else {
                save_push(lock, options.project, &push.account, &push.slot, |r| r.pending = Some("masssend".into()))?;
                Some(client.mass_send_all(&draft_id, &clientmsgid)?)
            };
            let msg_id = sent.as_ref().map(|s| s.msg_id);
            let msg_data_id = sent.as_ref().map(|s| s.msg_data_id).filter(|id| *id != 0);
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.pending = None;
                r.publication = Some(PublicationRecord {
                    mode: "masssend".into(),
                    msg_id,
                    msg_data_id,
                    // Confirmed by mass/get when settling (send protection may hold it for an
                    // administrator).
                    status: if msg_id.is_some() { "sending" } else { "sent" }.into(),
                    submitted_at: now_text(),
                    finished_at: msg_id.is_none().then(now_text),
                    submitted_ms: Some(chrono::Utc::now().timestamp_millis()),
                    ..PublicationRecord::default()
                });
            })?;
            if let Some(id) = msg_id {
                outcome.done.push(format!("mass send accepted by WeChat (msg_id {id})"));
            }
        }
    }
    Ok(())
}

/// What to do about a draft whose server copy was read before writing to or publishing it.
enum WebBackend {
    /// As wxpub left it (or not known otherwise: a lock from before wxpub recorded it).
    Untouched,
    /// `--overwrite-server`: the build goes over it; `edited` when something is lost.
    Overwrite { edited: bool },
    /// The server's version is the one published: asked for, or a video placeholder replaced.
    Keep { why: &'static str },
    /// Edited there, and the build is what wxpub sent before: nothing is written.
    EditedBuildUnchanged,
    /// Edited there, and the build changed too: the editor decides.
    Conflict,
}

fn web_backend_decision(
    push: &Push,
    record: &PushRecord,
    found: &StoredDraft,
    articles: &[Article],
    hash: &str,
    options: &ExecuteOptions<'_>,
) -> WebBackend {
    let named = |list: &[String]| push.items.iter().any(|key| list.contains(key));
    let edited = record
        .server_draft
        .as_ref()
        .is_some_and(|known| known.update_time != found.update_time || known.digest != stored_digest(&found.news_item));
    if named(options.overwrite_server) {
        return WebBackend::Overwrite { edited: edited || record.keep_server };
    }
    if named(options.keep_server) {
        return WebBackend::Keep { why: "--keep-server" };
    }
    if record.keep_server {
        return WebBackend::Keep { why: "kept earlier" };
    }
    if !edited {
        return WebBackend::Untouched;
    }
    if waits_for_video(articles) && !waits_for_video(&found.news_item) {
        return WebBackend::Keep { why: "its video placeholder was replaced there" };
    }
    if record.content_hash.as_deref() == Some(hash) {
        return WebBackend::EditedBuildUnchanged;
    }
    WebBackend::Conflict
}

/// A Unix time as Beijing time, `YYYY-MM-DD HH:MM`.
fn beijing(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(
        || "at an unknown time".to_string(),
        |t| format!("changed {} Beijing time", (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M")),
    )
}

/// Reads a draft wxpub just wrote back from WeChat, once: what WeChat stored is what a later
/// run compares with (an edit in the web backend shows as a difference), and a mini-program
/// card WeChat dropped is reported. A failed read costs only the comparison: the write stands.
#[allow(clippy::too_many_arguments)]
fn read_back(
    lock: &mut Lock,
    push: &Push,
    client: &Client,
    draft_id: &str,
    articles: &[Article],
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<Option<StoredDraft>, StepError> {
    match client.draft_get(draft_id) {
        Ok(found) => {
            report_dropped_cards(draft_id, articles, &found, outcome);
            let known = ServerDraft { update_time: found.update_time, digest: stored_digest(&found.news_item) };
            save_push(lock, options.project, &push.account, &push.slot, |r| r.server_draft = Some(known))?;
            Ok(Some(found))
        }
        Err(e) => {
            outcome.warnings.push(format!(
                "could not read draft {draft_id} back, so an edit made to it in the web backend before the next write may go unnoticed: {}",
                crate::redact::redact(&e.to_string())
            ));
            save_push(lock, options.project, &push.account, &push.slot, |r| r.server_draft = None)?;
            Ok(None)
        }
    }
}

/// Uploads one image unless publish.lock already has it; returns what was done. The lock is
/// shared so that uploads can run in parallel; it is saved after every write.
fn ensure_uploaded(
    lock: &Mutex<&mut Lock>,
    account: &str,
    client: &Client,
    dir: &Path,
    image: &ManifestImage,
    as_material: bool,
    project: &Path,
) -> Result<Option<String>, StepError> {
    let sha = &image.output.sha256;
    let existing = locked(lock).account(account).media.get(sha).cloned().unwrap_or_default();
    let goes_as_material = is_material_upload(image, as_material);
    let needs_material = goes_as_material && existing.media_id.is_none();
    let needs_body = !goes_as_material && existing.body_url.is_none();
    if !needs_material && !needs_body {
        return Ok(None);
    }
    let path = dir.join(&image.output.file);
    let bytes = std::fs::read(&path)
        .map_err(|e| StepError::Other(format!("cannot read {}: {e} (run wxpub build)", path.display())))?;
    // Named by content hash, so the material list on the server maps back to publish.lock.
    let upload = Upload { filename: &image.output.file, bytes: &bytes };
    let interrupted = existing.pending.as_deref() == Some("material");
    let done;
    let mut update: MediaRecord = MediaRecord::default();
    if needs_material {
        // An earlier run may have uploaded it and died before recording: look for it by name.
        if interrupted && let Some(found) = find_material(client, &image.output.file)? {
            update.media_id = Some(found.media_id);
            update.material_url = found.url;
            done = format!("found {} on the server (an earlier run uploaded it)", image.output.file);
        } else {
            write_ahead_media(&mut locked(lock), account, sha, &image.output.file, "material", project)?;
            match client.add_material(MaterialType::Image, &upload, None) {
                Ok(added) => {
                    update.media_id = Some(added.media_id);
                    update.material_url = added.url;
                    done = format!("uploaded {} as image material", image.output.file);
                }
                // The answer was lost: look for the upload by its name rather than add a second.
                Err(err) if err.may_have_been_processed() => match find_material(client, &image.output.file)? {
                    Some(found) => {
                        update.media_id = Some(found.media_id);
                        update.material_url = found.url;
                        done = format!("add_material's answer was lost; found {} on the server", image.output.file);
                    }
                    None => return Err(err.into()),
                },
                Err(err) => return Err(err.into()),
            }
        }
    } else {
        update.body_url = Some(client.upload_image(&upload)?.url);
        done = format!("uploaded {} for article bodies", image.output.file);
    }
    let mut lock = locked(lock);
    let record = lock.account(account).media.entry(sha.clone()).or_default();
    record.file = image.output.file.clone();
    // Only the material upload has an intent to clear: a body upload of the same file (a poster
    // is both) running in parallel must not erase it.
    if update.media_id.is_some() {
        record.pending = None;
        record.media_id = update.media_id;
        record.material_url = update.material_url;
    }
    if update.body_url.is_some() {
        record.body_url = update.body_url;
    }
    lock.save(project)?;
    Ok(Some(done))
}

fn locked<'g, 'l>(lock: &'g Mutex<&'l mut Lock>) -> std::sync::MutexGuard<'g, &'l mut Lock> {
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

/// A push's items from the build manifest, in push order.
fn items_of<'m>(push: &Push, manifest: &'m Manifest) -> Vec<&'m ManifestItem> {
    push.items.iter().filter_map(|key| manifest.items.iter().find(|i| &i.key == key)).collect()
}

/// Whether an upload goes up as permanent material: covers and posters, and every GIF (animated
/// GIFs cannot go through uploadimg).
fn is_material_upload(image: &ManifestImage, as_material: bool) -> bool {
    as_material || image.output.file.ends_with(".gif")
}

/// The uploads a push needs: (folder, image, as material).
fn uploads_of<'m>(items: &[&'m ManifestItem], dist_dir: &Path) -> Vec<(std::path::PathBuf, &'m ManifestImage, bool)> {
    let mut out = Vec::new();
    for item in items {
        let dir = dist_dir.join(&item.key).join("images");
        // An image post's photos are permanent material (newspic's image_list takes media ids).
        let photos_as_material = item.format == Format::ImagePost;
        for image in &item.images {
            out.push((dir.clone(), image, photos_as_material));
        }
        // An image post has no thumb: its first photo is its cover.
        if let Some(thumb) = item.cover.as_ref().or(item.poster.as_ref())
            && !photos_as_material
        {
            out.push((dir.clone(), thumb, true));
        }
    }
    out
}

/// Uploads everything the pushes need, `concurrency` at a time, before any draft is written.
/// Failures are left for the push that needs the file to retry and report.
fn upload_all(
    pushes: &[Push],
    manifest: &Manifest,
    lock: &mut Lock,
    clients: &BTreeMap<String, Client>,
    options: &ExecuteOptions<'_>,
) -> Vec<(String, String)> {
    let mut work = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for push in pushes {
        let items = items_of(push, manifest);
        for (dir, image, as_material) in uploads_of(&items, options.dist_dir) {
            if seen.insert((push.account.clone(), image.output.sha256.clone(), as_material)) {
                work.push((push.account.clone(), dir, image, as_material));
            }
        }
    }
    let shared = Mutex::new(lock);
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let bar = options.progress;
    bar.start("uploads", work.len() as u64);
    std::thread::scope(|scope| {
        for _ in 0..options.upload_concurrency.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some((account, dir, image, as_material)) = work.get(index) else { break };
                    let Some(client) = clients.get(account) else { continue };
                    if let Ok(Some(step)) =
                        ensure_uploaded(&shared, account, client, dir, image, *as_material, options.project)
                    {
                        done.lock().unwrap_or_else(|p| p.into_inner()).push((account.clone(), step));
                    }
                    bar.advance();
                }
            });
        }
    });
    bar.finish();
    done.into_inner().unwrap_or_default()
}

/// Materials the pushes need that publish.lock does not record, but the server has under their
/// content-hash names (a stale lock, a lost answer): recorded, never uploaded a second time. One
/// material listing per account, and only when something is missing.
fn adopt_server_materials(
    pushes: &[Push],
    manifest: &Manifest,
    lock: &mut Lock,
    clients: &BTreeMap<String, Client>,
    options: &ExecuteOptions<'_>,
) -> Vec<(String, String)> {
    let mut done = Vec::new();
    for (account, client) in clients {
        let mut missing: BTreeMap<String, String> = BTreeMap::new();
        for push in pushes.iter().filter(|p| &p.account == account) {
            let items = items_of(push, manifest);
            for (_, image, as_material) in uploads_of(&items, options.dist_dir) {
                let wants_material = is_material_upload(image, as_material);
                let recorded = lock.account(account).media.get(&image.output.sha256).and_then(|m| m.media_id.clone());
                if wants_material && recorded.is_none() {
                    missing.insert(image.output.file.clone(), image.output.sha256.clone());
                }
            }
        }
        if missing.is_empty() {
            continue;
        }
        let Ok(listed) = client.all_image_materials() else {
            // Not known either way: mark them as interrupted uploads, so that the upload step
            // looks for each on the server before it adds one.
            for (file, sha) in &missing {
                let record = lock.account(account).media.entry(sha.clone()).or_default();
                record.file = file.clone();
                record.pending = Some("material".into());
            }
            if let Err(e) = lock.save(options.project) {
                done.push((account.clone(), format!("could not record the materials to look for: {e}")));
            }
            continue;
        };
        for material in listed {
            let Some(sha) = missing.remove(&material.name) else { continue };
            let record = lock.account(account).media.entry(sha).or_default();
            record.file = material.name.clone();
            record.media_id = Some(material.media_id);
            record.material_url = material.url;
            record.pending = None;
            done.push((
                account.clone(),
                format!("found {} on the server; publish.lock did not have it", material.name),
            ));
        }
        if let Err(e) = lock.save(options.project) {
            done.push((account.clone(), format!("could not record the materials found: {e}")));
        }
    }
    done
}

fn write_ahead_media(
    lock: &mut Lock,
    account: &str,
    sha: &str,
    file: &str,
    what: &str,
    project: &Path,
) -> Result<(), StepError> {
    let record = lock
        .account(account)
        .media
        .entry(sha.to_string())
        .or_insert_with(|| MediaRecord { file: file.into(), ..MediaRecord::default() });
    record.pending = Some(what.into());
    lock.save(project)?;
    Ok(())
}

/// A permanent image material by upload name (we name uploads by content hash).
fn find_material(client: &Client, name: &str) -> Result<Option<crate::wechat::types::MaterialItem>, StepError> {
    let all = client.all_image_materials()?;
    Ok(all.into_iter().find(|m| m.name == name))
}

/// What the server holds for one account, listed at most once per run and only when a push
/// needs it (the listings are paged: a year of drafts and publications is a few dozen calls).
struct ServerView {
    drafts: Option<Vec<DraftItem>>,
    published: Option<Vec<PublishedItem>>,
    /// Endpoints whose daily quota ran out during this run.
    quota_spent: std::collections::BTreeSet<String>,
}

impl ServerView {
    fn new() -> ServerView {
        ServerView { drafts: None, published: None, quota_spent: Default::default() }
    }

    /// Refuses a call to `endpoint` when its quota ran out earlier in this run.
    fn quota_left(&self, endpoint: &str) -> Result<(), StepError> {
        if self.quota_spent.contains(endpoint) {
            return Err(StepError::Quota(endpoint.to_string()));
        }
        Ok(())
    }

    /// Lists the drafts again at the next question (after a create whose answer was lost).
    fn forget_drafts(&mut self) {
        self.drafts = None;
    }

    fn forget_published(&mut self) {
        self.published = None;
    }

    /// A draft whose articles have exactly these titles and that publish.lock does not know.
    fn unknown_draft_by_titles(
        &mut self,
        client: &Client,
        lock: &mut Lock,
        account: &str,
        titles: &[&str],
    ) -> Result<Option<String>, StepError> {
        let drafts = match &mut self.drafts {
            Some(drafts) => drafts,
            None => self.drafts.insert(client.all_drafts()?),
        };
        let known: std::collections::BTreeSet<&String> =
            lock.account(account).pushes.values().filter_map(|p| p.draft_media_id.as_ref()).collect();
        Ok(drafts
            .iter()
            .find(|d| {
                d.content.news_item.iter().map(|a| a.title.as_str()).eq(titles.iter().copied())
                    && !known.contains(&d.media_id)
            })
            .map(|d| d.media_id.clone()))
    }

    /// A publication of `push` that publish.lock does not record: its articles have exactly
    /// these titles, it is not one the lock records (an earlier push may have used the same
    /// titles: its URLs are in the lock), and it was made no earlier than 60 days before the
    /// push's time: last year's "新年快乐" is not this year's, while a push published early by
    /// hand in the web backend still counts.
    fn published_by_titles(
        &mut self,
        client: &Client,
        lock: &mut Lock,
        push: &Push,
        titles: &[&str],
    ) -> Result<Option<PublishedItem>, StepError> {
        let account = push.account.as_str();
        let not_before = (push.when - chrono::Duration::days(60)).timestamp();
        let published = match &mut self.published {
            Some(published) => published,
            None => {
                let listed = client.all_published();
                self.published.insert(match listed {
                    Ok(listed) => listed,
                    // An account without freepublish has published nothing through it.
                    Err(err) if err.code() == Some(48001) => Vec::new(),
                    Err(err) => return Err(err.into()),
                })
            }
        };
        let recorded: std::collections::BTreeSet<&String> = lock
            .account(account)
            .pushes
            .values()
            .filter_map(|p| p.publication.as_ref())
            .flat_map(|p| &p.article_urls)
            .collect();
        Ok(published
            .iter()
            .find(|p| {
                p.update_time >= not_before
                    && p.content.news_item.iter().map(|a| a.title.as_str()).eq(titles.iter().copied())
                    && !p.content.news_item.iter().filter_map(|a| a.url.as_ref()).any(|u| recorded.contains(u))
            })
            .cloned())
    }
}

/// WeChat keeps a mini-program card only when the mini program is linked to the account, and
/// drops it silently otherwise: the stored draft says so.
/// Only a warning either way: the draft itself was written and recorded.
fn report_dropped_cards(draft_id: &str, articles: &[Article], stored: &StoredDraft, outcome: &mut PushOutcome) {
    const CARD: &str = "<mp-miniprogram";
    let sent: usize = articles.iter().map(|a| a.content.matches(CARD).count()).sum();
    let kept: usize = stored.news_item.iter().map(|a| a.content.matches(CARD).count()).sum();
    if kept < sent {
        outcome.warnings.push(format!(
            "WeChat removed {} of {sent} mini-program card(s) from draft {draft_id}: link the mini program to the account (web backend → 小程序管理), or readers get no booking card",
            sent - kept
        ));
    }
}

/// Whether this run means to publish (or mass-send) the push.
fn wants_publication(push: &Push, account: &crate::config::Account, options: &ExecuteOptions<'_>) -> bool {
    options.publish_due && push.due && push.waits_for.is_empty() && account.mode != PublishMode::Draft
}

/// The draft as WeChat holds it, or None when it left the draft box (published, mass-sent, or
/// deleted in the web backend).
fn fetch_draft(client: &Client, media_id: &str) -> Result<Option<StoredDraft>, StepError> {
    match client.draft_get(media_id) {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.code() == Some(40007) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// One article exactly as sent to WeChat: built HTML with image URLs from publish.lock (for the
/// archive, which keeps what was published).
pub fn article_as_sent(
    item: &ManifestItem,
    dist_dir: &Path,
    media: &BTreeMap<String, MediaRecord>,
) -> Result<Article, String> {
    article_for(item, dist_dir, media).map_err(|e| e.to_string())
}

fn article_for(
    item: &ManifestItem,
    dist_dir: &Path,
    media: &BTreeMap<String, MediaRecord>,
) -> Result<Article, StepError> {
    if item.format == Format::ImagePost {
        return image_post_for(item, media);
    }
    let path = dist_dir.join(&item.key).join("content.html");
    let mut content =
        std::fs::read_to_string(&path).map_err(|e| StepError::Other(format!("cannot read {}: {e}", path.display())))?;
    for image in &item.images {
        let record = media.get(&image.output.sha256);
        let url = record.and_then(|r| r.body_url.clone().or(r.material_url.clone()));
        let Some(url) = url else {
            return Err(StepError::Other(format!("{}: image {} was not uploaded", item.key, image.output.file)));
        };
        content = content.replace(&format!("images/{}", image.output.file), &url);
    }
    let thumb = item.cover.as_ref().or(item.poster.as_ref());
    let thumb_media_id = thumb.and_then(|t| media.get(&t.output.sha256)).and_then(|r| r.media_id.clone());
    let crops = item.cover.as_ref().and_then(|c| c.output.crops.clone());
    Ok(Article {
        title: item.title.clone(),
        author: item.author.clone(),
        digest: item.digest.clone(),
        content,
        content_source_url: item.source_url.clone(),
        thumb_media_id,
        need_open_comment: u8::from(item.comments != Comments::Closed),
        only_fans_can_comment: u8::from(item.comments == Comments::Fans),
        pic_crop_235_1: crops.as_ref().map(|c| c.pic_crop_235_1.clone()),
        pic_crop_1_1: crops.as_ref().map(|c| c.pic_crop_1_1.clone()),
        ..Article::default()
    })
}

/// An image post (贴图, `newspic`): its photos (a poster's image first) as permanent material,
/// its text as plain-text content, its first photo's crops for the lists.
fn image_post_for(item: &ManifestItem, media: &BTreeMap<String, MediaRecord>) -> Result<Article, StepError> {
    let poster_sha = item.poster.as_ref().map(|p| &p.output.sha256);
    let photos = item.poster.iter().chain(item.images.iter().filter(|i| Some(&i.output.sha256) != poster_sha));
    let mut image_list = Vec::new();
    for photo in photos {
        let Some(media_id) = media.get(&photo.output.sha256).and_then(|r| r.media_id.clone()) else {
            return Err(StepError::Other(format!("{}: photo {} was not uploaded", item.key, photo.output.file)));
        };
        image_list.push(ImageListItem { image_media_id: media_id });
    }
    let crops = item.cover.as_ref().and_then(|c| c.output.crops.clone());
    Ok(Article {
        title: item.title.clone(),
        author: item.author.clone(),
        digest: item.digest.clone(),
        content: item.text.clone().unwrap_or_default(),
        content_source_url: item.source_url.clone(),
        article_type: Some("newspic".into()),
        image_info: Some(ImageInfo { image_list }),
        need_open_comment: u8::from(item.comments != Comments::Closed),
        only_fans_can_comment: u8::from(item.comments == Comments::Fans),
        pic_crop_235_1: crops.as_ref().map(|c| c.pic_crop_235_1.clone()),
        pic_crop_1_1: crops.as_ref().map(|c| c.pic_crop_1_1.clone()),
        ..Article::default()
    })
}

/// A 45002 ("content too long") with each article's three figures, so that the editor knows
/// which one to cut and by how much (WeChat says only that one is too long).
fn explain_refusal(err: WechatError, items: &[&ManifestItem], articles: &[Article]) -> StepError {
    if err.code() != Some(45002) {
        return err.into();
    }
    let sizes: Vec<String> = items
        .iter()
        .zip(articles)
        .map(|(item, article)| format!("{}: {}", item.key, crate::wechat::limits::ContentSize::of(&article.content)))
        .collect();
    StepError::Other(format!("{err}\n  {}", sizes.join("\n  ")))
}

fn save_push(
    lock: &mut Lock,
    project: &Path,
    account: &str,
    slot: &str,
    edit: impl FnOnce(&mut PushRecord),
) -> Result<(), StepError> {
    edit(lock.account(account).pushes.entry(slot.to_string()).or_default());
    lock.save(project)?;
    Ok(())
}

/// An earlier run (or this one, whose answer was lost) submitted the draft: it left the draft
/// box. Found among the published articles by its titles, it is recorded; otherwise it is
/// recorded as publishing (without a publish_id) and settled with the others by the listing —
/// never submitted again.
#[allow(clippy::too_many_arguments)]
fn recover_publication(
    lock: &mut Lock,
    push: &Push,
    client: &Client,
    server: &mut ServerView,
    titles: &[&str],
    submitted_ms: Option<i64>,
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    server.forget_published();
    if let Some(found) = server.published_by_titles(client, lock, push, titles)? {
        return restore_publication(lock, push, &found, options, outcome);
    }
    save_push(lock, options.project, &push.account, &push.slot, |r| {
        r.pending = None;
        r.items = push.items.clone();
        r.publication = Some(PublicationRecord {
            mode: "publish".into(),
            status: "publishing".into(),
            submitted_at: now_text(),
            submitted_ms,
            ..PublicationRecord::default()
        });
    })?;
    outcome.done.push(
        "it was submitted (its draft left the draft box) and is not in the published list yet; it is settled with the others and not resubmitted".into(),
    );
    Ok(())
}

/// Records a publication found on the server that publish.lock did not have.
fn restore_publication(
    lock: &mut Lock,
    push: &Push,
    found: &PublishedItem,
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    let urls: Vec<String> = found.content.news_item.iter().filter_map(|a| a.url.clone()).collect();
    let published_at = chrono::DateTime::from_timestamp(found.update_time, 0)
        .map_or_else(now_text, |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    save_push(lock, options.project, &push.account, &push.slot, |r| {
        r.pending = None;
        r.items = push.items.clone();
        r.titles = found.content.news_item.iter().map(|a| a.title.clone()).collect();
        r.publication = Some(PublicationRecord {
            mode: "publish".into(),
            publish_id: None,
            msg_id: None,
            article_id: Some(found.article_id.clone()),
            // The submit's answer was lost; the article URLs carry the statistics key.
            msg_data_id: urls.first().and_then(|u| crate::wechat::types::statistics_key_of_url(u)).map(|(mid, _)| mid),
            status: "published".into(),
            article_urls: urls.clone(),
            submitted_at: published_at.clone(),
            finished_at: Some(published_at.clone()),
            ..PublicationRecord::default()
        });
    })?;
    outcome.article_urls = urls;
    outcome.done.push(format!(
        "found it published on the server (article_id {}); recorded in publish.lock, not published again",
        found.article_id
    ));
    Ok(())
}

/// Subscription accounts: one mass send a day; service accounts: four a month (Beijing dates),
/// on the same clock as the `submitted_at` it reads (the pinned one under `--now`).
fn mass_send_allowed(lock: &mut Lock, account: &str, kind: AccountKind) -> bool {
    let today = (crate::clock::now() + chrono::Duration::hours(8)).date_naive();
    let sent: Vec<chrono::NaiveDate> = lock
        .account(account)
        .pushes
        .values()
        .filter_map(|p| p.publication.as_ref())
        .filter(|p| p.mode == "masssend" && !p.status.starts_with("failed"))
        .filter_map(|p| chrono::DateTime::parse_from_rfc3339(&p.submitted_at).ok())
        .map(|t| (t.with_timezone(&Utc) + chrono::Duration::hours(8)).date_naive())
        .collect();
    match kind {
        AccountKind::Subscription => !sent.contains(&today),
        AccountKind::Service => {
            sent.iter().filter(|d| d.year() == today.year() && d.month() == today.month()).count() < 4
        }
    }
}
