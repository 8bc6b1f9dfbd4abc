//! One push through its steps, each recorded in publish.lock before the next one starts:
//!
//! 1. the uploads it still lacks (the parallel upload phase normally did them);
//! 2. its articles as WeChat receives them;
//! 3. the lock's picture of the push made the server's (never create blindly), then the web
//!    backend's edits respected, then the draft written — added, updated, or left alone;
//! 4. when due, the submit or the mass send.
//!
//! What WeChat then does with a submission is settled later, with the other pushes of the run
//! (`settle.rs`).
use std::sync::Mutex;

use chrono::{Datelike, Utc};
use sha2::{Digest, Sha256};

use super::Push;
use super::articles::{article_for, items_of};
use super::draft_guard::{describe_changes, stored_digest, waits_for_video};
use super::outcome::now_text;
use super::server_view::ServerView;
use super::uploads::{ensure_uploaded, uploads_of};
use super::{ExecuteOptions, PushOutcome, StepError};
use crate::build::{Manifest, ManifestItem};
use crate::config::{Account, AccountKind, Config, PublishMode};
use crate::state::ledger::{
    DraftConflict, Ledger, PendingWrite, PublicationMode, PublicationRecord, PublicationStatus, PushRecord, ServerDraft,
};
use crate::wechat::types::{Article, PublishedItem, StoredDraft};
use crate::wechat::{Client, WechatError};

/// Runs one push's steps (see the module comment).
#[allow(clippy::too_many_arguments)]
pub(super) fn run_push(
    push: &Push,
    manifest: &Manifest,
    config: &Config,
    lock: &mut Ledger,
    client: &Client,
    server: &mut ServerView,
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    let items = items_of(push, manifest);
    let mut run = PushRun { push, account: &config.accounts[&push.account], client, server, lock, options, outcome };

    // 1. Images: body images through uploadimg, covers and posters as permanent material.
    run.upload_missing(&items)?;

    // 2. The articles as WeChat receives them.
    let media = run.lock.account(&push.account).media.clone();
    let articles: Vec<Article> =
        items.iter().map(|item| article_for(item, options.dist_dir, &media)).collect::<Result<_, _>>()?;
    let encoded =
        serde_json::to_vec(&articles).map_err(|e| StepError::Other(format!("cannot encode the articles: {e}")))?;
    let hash = hex::encode(Sha256::digest(encoded));

    // 3. The draft.
    let mut record = run.lock.account(&push.account).pushes.entry(push.slot.clone()).or_default().clone();
    let Reconciled::Continue(mut stored) = run.reconcile(&mut record, &articles, &hash)? else {
        return Ok(());
    };
    if let Some(publication) = &record.publication {
        return run.already_published(&record, publication, &hash);
    }
    if let (Some(id), Some(found)) = (record.draft_media_id.clone(), stored.as_ref()) {
        run.respect_web_backend(&mut record, &id, found, &articles, &hash)?;
    }
    if record.keep_server && record.content_hash.as_deref() != Some(hash.as_str()) {
        run.outcome.warnings.push(format!(
            "changes in git to {} are not sent: the web backend's draft is kept (`wxpub publish --overwrite-server {}` sends them)",
            push.items.join(", "),
            push.items.join(" ")
        ));
    }
    let draft_id = run.write_draft(&record, &items, &articles, &hash, &mut stored)?;

    // 4. Publish what is due, by the account's mode — after the items it links to.
    run.publish_if_due(&record, &articles, &draft_id, stored)
}

/// What a push's steps share: the push, its account and WeChat client, what this run knows of
/// the server, publish.lock, and the outcome being written.
struct PushRun<'r> {
    push: &'r Push,
    account: &'r Account,
    client: &'r Client,
    server: &'r mut ServerView,
    lock: &'r mut Ledger,
    options: &'r ExecuteOptions<'r>,
    outcome: &'r mut PushOutcome,
}

/// After step 3's reconciliation: the push was found published (nothing left to do), or goes on
/// with the server's copy of its draft when it was read.
enum Reconciled {
    Done,
    Continue(Option<StoredDraft>),
}

/// Whether a submit or mass send of an earlier run has an unknown outcome: it is settled
/// before anything touches the draft — a new draft would be a new send.
fn send_pending(record: &PushRecord) -> bool {
    matches!(record.pending, Some(PendingWrite::Submit | PendingWrite::Masssend))
}

fn titles(articles: &[Article]) -> Vec<&str> {
    articles.iter().map(|a| a.title.as_str()).collect()
}

impl PushRun<'_> {
    /// Records `edit` of this push in publish.lock, on disk before the next write to WeChat.
    fn save(&mut self, edit: impl FnOnce(&mut PushRecord)) -> Result<(), StepError> {
        edit(self.lock.account(&self.push.account).pushes.entry(self.push.slot.clone()).or_default());
        self.lock.save(self.options.project)?;
        Ok(())
    }

    /// Step 1: retries what the parallel upload phase could not do.
    fn upload_missing(&mut self, items: &[&ManifestItem]) -> Result<(), StepError> {
        let shared = Mutex::new(&mut *self.lock);
        for (dir, image, as_material) in uploads_of(items, self.options.dist_dir) {
            if let Some(step) = ensure_uploaded(
                &shared,
                &self.push.account,
                self.client,
                &dir,
                image,
                as_material,
                self.options.project,
            )? {
                self.outcome.done.push(step);
            }
        }
        Ok(())
    }

    /// Step 3a: a push the lock has no entry for may be drafted or published already (a stale
    /// lock, a lost answer); a draft about to be written to or published may be gone, or
    /// changed in the web backend. Reads the server's copy when the draft will be touched.
    fn reconcile(
        &mut self,
        record: &mut PushRecord,
        articles: &[Article],
        hash: &str,
    ) -> Result<Reconciled, StepError> {
        if record.publication.is_some() || record.pending.is_some_and(|p| p != PendingWrite::DraftUpdate) {
            return Ok(Reconciled::Continue(None));
        }
        let titles = titles(articles);
        let push = self.push;
        match record.draft_media_id.clone() {
            None => {
                if let Some(found) = self.server.published_by_titles(self.client, self.lock, push, &titles)? {
                    self.restore_publication(&found)?;
                    return Ok(Reconciled::Done);
                }
                if let Some(id) = self.server.unknown_draft_by_titles(self.client, self.lock, &push.account, &titles)? {
                    self.outcome.done.push(format!("found draft {id} on the server; publish.lock did not have it"));
                    self.save(|r| {
                        r.draft_media_id = Some(id.clone());
                        r.items = push.items.clone();
                    })?;
                    // Adopted: updated in place below (its content is not known to match).
                    record.draft_media_id = Some(id);
                    record.items = push.items.clone();
                }
                Ok(Reconciled::Continue(None))
            }
            Some(id)
                if record.content_hash.as_deref() != Some(hash)
                    || wants_publication(push, self.account, self.options) =>
            {
                if let Some(found) = fetch_draft(self.client, &id)? {
                    return Ok(Reconciled::Continue(Some(found)));
                }
                // Gone without us: deleted in the web backend, or published there by hand.
                if let Some(found) = self.server.published_by_titles(self.client, self.lock, push, &titles)? {
                    self.restore_publication(&found)?;
                    return Ok(Reconciled::Done);
                }
                self.outcome
                    .done
                    .push(format!("draft {id} is gone from the server (deleted in the web backend?); making it again"));
                self.save(|r| {
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
                Ok(Reconciled::Continue(None))
            }
            Some(_) => Ok(Reconciled::Continue(None)),
        }
    }

    /// A push already submitted or sent: a failure stays one (never resubmitted); a running one
    /// is settled with the others after every push is submitted.
    fn already_published(
        &mut self,
        record: &PushRecord,
        publication: &PublicationRecord,
        hash: &str,
    ) -> Result<(), StepError> {
        if record.content_hash.as_deref() != Some(hash) && !publication.status.is_running() {
            self.outcome.done.push("already published; later changes to its items are not sent".into());
        }
        self.outcome.article_urls = publication.article_urls.clone();
        if let PublicationStatus::Failed(reason) = &publication.status {
            return Err(StepError::Other(format!(
                "WeChat did not publish it earlier: {reason}; not resubmitted — fix it in the admin console or publish it by hand"
            )));
        }
        Ok(())
    }

    /// Step 3b: the web backend shares the draft; an edit made there is never overwritten
    /// unasked.
    fn respect_web_backend(
        &mut self,
        record: &mut PushRecord,
        id: &str,
        found: &StoredDraft,
        articles: &[Article],
        hash: &str,
    ) -> Result<(), StepError> {
        let when = beijing(found.update_time);
        match web_backend_decision(self.push, record, found, articles, hash, self.options) {
            WebBackend::Untouched => {}
            WebBackend::Overwrite { edited } => {
                if edited {
                    self.outcome.warnings.push(format!(
                        "draft {id} was edited in the web backend ({when}); --overwrite-server sends the build over it, and this is lost: {}",
                        describe_changes(&found.news_item, articles).join("; ")
                    ));
                    // Written below even when the build did not change since wxpub's last write.
                    record.content_hash = None;
                }
                record.keep_server = false;
                self.save(|r| {
                    r.keep_server = false;
                    r.conflict = None;
                })?;
            }
            WebBackend::Keep { why } => {
                if !record.keep_server {
                    self.outcome.done.push(format!(
                        "keeping draft {id} as the web backend has it ({why}, {when}): it is published as it is there; later changes in git are reported, not sent (`--overwrite-server` sends them)"
                    ));
                }
                record.keep_server = true;
                let current = ServerDraft { update_time: found.update_time, digest: stored_digest(&found.news_item) };
                self.save(|r| {
                    r.keep_server = true;
                    r.conflict = None;
                    r.server_draft = Some(current);
                })?;
            }
            WebBackend::EditedBuildUnchanged => {
                self.outcome.done.push(format!(
                    "draft {id} was edited in the web backend ({when}); nothing in git changed, so it stays as it is there"
                ));
                if record.conflict.is_some() {
                    // The source went back to what was sent: nothing left to decide.
                    self.save(|r| r.conflict = None)?;
                }
            }
            WebBackend::Conflict => return Err(self.record_conflict(id, found, articles)),
        }
        Ok(())
    }

    /// Records a conflict between the web backend's draft and the build; the error says what
    /// differs and how to decide.
    fn record_conflict(&mut self, id: &str, found: &StoredDraft, articles: &[Article]) -> StepError {
        let changes = describe_changes(&found.news_item, articles);
        let conflict =
            DraftConflict { detected_at: now_text(), server_update_time: found.update_time, changes: changes.clone() };
        if let Err(err) = self.save(|r| r.conflict = Some(conflict)) {
            return err;
        }
        let items = self.push.items.join(" ");
        StepError::Conflict(format!(
            "draft {id} was edited in the web backend ({}) and the build differs — not overwritten, not published this run:\n    - {}\n  decide: `wxpub publish --keep-server {items}` publishes the web backend's version; `wxpub publish --overwrite-server {items}` sends the build (the changes above are lost)",
            beijing(found.update_time),
            changes.join("\n    - ")
        ))
    }

    /// Step 3c: the draft as the build has it — left alone when it is already there (or kept
    /// from the web backend, or an earlier send is being settled), updated in place when the
    /// articles are the same ones, otherwise made again. Returns its media_id; `stored`
    /// becomes WeChat's copy of what was written.
    fn write_draft(
        &mut self,
        record: &PushRecord,
        items: &[&ManifestItem],
        articles: &[Article],
        hash: &str,
        stored: &mut Option<StoredDraft>,
    ) -> Result<String, StepError> {
        match (&record.draft_media_id, &record.content_hash) {
            (Some(id), _) if send_pending(record) => {
                if record.content_hash.as_deref() != Some(hash) {
                    self.outcome
                        .done
                        .push("an earlier run's send is being settled first; later changes wait for it".into());
                }
                Ok(id.clone())
            }
            (Some(id), _) if record.keep_server => Ok(id.clone()),
            (Some(id), Some(old)) if old == hash => Ok(id.clone()),
            // An add whose answer was lost went after the old draft's deletion: not updated.
            (Some(id), _) if record.items.len() == articles.len() && record.pending != Some(PendingWrite::DraftAdd) => {
                self.save(|r| r.pending = Some(PendingWrite::DraftUpdate))?;
                for (index, article) in articles.iter().enumerate() {
                    self.client
                        .draft_update(id, index as u32, article)
                        .map_err(|e| explain_refusal(e, items, articles))?;
                }
                self.record_draft(id, articles, hash, false)?;
                self.outcome.done.push(format!("updated draft {id}"));
                *stored = self.read_back(id, articles)?;
                Ok(id.clone())
            }
            (old, _) => {
                if let Some(old) = old {
                    match self.client.draft_delete(old) {
                        Ok(()) => self.outcome.done.push(format!("deleted draft {old} (its articles changed)")),
                        // Deleted already (by an earlier run that stopped before recording it).
                        Err(err) if err.code() == Some(40007) => {}
                        Err(err) => return Err(err.into()),
                    }
                }
                let id = self.add_draft(record, items, articles)?;
                self.record_draft(&id, articles, hash, true)?;
                self.outcome.done.push(format!("created draft {id}"));
                *stored = self.read_back(&id, articles)?;
                Ok(id)
            }
        }
    }

    /// draft/add, exactly once: an add whose answer an earlier run (or this one) lost is looked
    /// for by its titles before another is made.
    fn add_draft(
        &mut self,
        record: &PushRecord,
        items: &[&ManifestItem],
        articles: &[Article],
    ) -> Result<String, StepError> {
        let titles = titles(articles);
        let account = &self.push.account;
        if record.pending == Some(PendingWrite::DraftAdd) {
            self.server.forget_drafts();
            if let Some(id) = self.server.unknown_draft_by_titles(self.client, self.lock, account, &titles)? {
                self.outcome.done.push(format!("found draft {id} on the server (an earlier run created it)"));
                return Ok(id);
            }
        }
        self.save(|r| r.pending = Some(PendingWrite::DraftAdd))?;
        match self.client.draft_add(articles) {
            Ok(added) => Ok(added.media_id),
            // The answer was lost: look for the draft instead of adding another.
            Err(err) if err.may_have_been_processed() => {
                self.server.forget_drafts();
                match self.server.unknown_draft_by_titles(self.client, self.lock, account, &titles)? {
                    Some(id) => {
                        self.outcome.done.push(format!("draft/add's answer was lost; found draft {id} on the server"));
                        Ok(id)
                    }
                    None => Err(err.into()),
                }
            }
            Err(err) => Err(explain_refusal(err, items, articles)),
        }
    }

    /// Records the draft `id` as holding the build's `articles`; a `made` one (draft/add)
    /// starts with no conflict and nothing kept from the web backend.
    fn record_draft(&mut self, id: &str, articles: &[Article], hash: &str, made: bool) -> Result<(), StepError> {
        let push = self.push;
        self.save(|r| {
            r.content_hash = Some(hash.to_string());
            r.items = push.items.clone();
            r.titles = articles.iter().map(|a| a.title.clone()).collect();
            r.drafted_at = Some(now_text());
            r.pending = None;
            // Known again once read back; until then (a run killed in between) nothing is
            // taken for an edit made in the web backend.
            r.server_draft = None;
            if made {
                r.draft_media_id = Some(id.to_string());
                r.keep_server = false;
                r.conflict = None;
            }
        })
    }

    /// Reads a draft wxpub just wrote back from WeChat, once: what WeChat stored is what a
    /// later run compares with (an edit in the web backend shows as a difference), and a
    /// mini-program card WeChat dropped is reported. A failed read costs only the comparison:
    /// the write stands.
    fn read_back(&mut self, draft_id: &str, articles: &[Article]) -> Result<Option<StoredDraft>, StepError> {
        match self.client.draft_get(draft_id) {
            Ok(found) => {
                report_dropped_cards(draft_id, articles, &found, self.outcome);
                let known = ServerDraft { update_time: found.update_time, digest: stored_digest(&found.news_item) };
                self.save(|r| r.server_draft = Some(known))?;
                Ok(Some(found))
            }
            Err(e) => {
                self.outcome.warnings.push(format!(
                    "could not read draft {draft_id} back, so an edit made to it in the web backend before the next write may go unnoticed: {}",
                    crate::util::redact::redact(&e.to_string())
                ));
                self.save(|r| r.server_draft = None)?;
                Ok(None)
            }
        }
    }

    /// Step 4: submits or mass-sends the draft when the push is due and nothing holds it: the
    /// items it links to, or a video placeholder still in WeChat's copy.
    fn publish_if_due(
        &mut self,
        record: &PushRecord,
        articles: &[Article],
        draft_id: &str,
        stored: Option<StoredDraft>,
    ) -> Result<(), StepError> {
        if !(self.options.publish_due && self.push.due) || self.account.mode == PublishMode::Draft {
            return Ok(());
        }
        if !self.push.waits_for.is_empty() {
            let waits_for = self.push.waits_for.clone();
            self.outcome
                .done
                .push(format!("not published yet: waiting for {} (it links to them)", waits_for.join(", ")));
            self.outcome.waiting_for = waits_for;
            return Ok(());
        }
        // A video placeholder still in WeChat's copy: the editor has not inserted the video yet.
        if waits_for_video(articles) || record.keep_server {
            let server_copy = match stored {
                Some(found) => Some(found),
                None if send_pending(record) => None,
                None => fetch_draft(self.client, draft_id)?,
            };
            if server_copy.as_ref().is_some_and(|found| waits_for_video(&found.news_item)) {
                self.outcome.waiting_for_video = true;
                self.outcome.done.push(format!(
                    "not published yet: draft {draft_id} still shows a video placeholder — insert the video in the web backend (草稿箱); the next run after that publishes it"
                ));
                return Ok(());
            }
        }
        match self.account.mode {
            PublishMode::Draft => Ok(()),
            PublishMode::Publish => self.submit(record, articles, draft_id),
            PublishMode::Masssend => self.mass_send(record, draft_id),
        }
    }

    /// freepublish/submit, exactly once: a submitted draft leaves the draft box, so a submit
    /// whose answer was lost is known by its draft being gone.
    fn submit(&mut self, record: &PushRecord, articles: &[Article], draft_id: &str) -> Result<(), StepError> {
        if record.refused.is_some() && !self.options.retry_refused {
            return Err(StepError::CannotPublish);
        }
        if record.pending == Some(PendingWrite::Submit) && fetch_draft(self.client, draft_id)?.is_none() {
            return self.recover_publication(&titles(articles), None);
        }
        self.server.quota_left("/cgi-bin/freepublish/submit")?;
        self.save(|r| r.pending = Some(PendingWrite::Submit))?;
        let submitted_ms = chrono::Utc::now().timestamp_millis();
        let submitted = match self.client.publish_submit(draft_id) {
            Ok(submitted) => submitted,
            // The answer was lost: a submitted draft leaves the draft box.
            Err(err) if err.may_have_been_processed() => {
                if fetch_draft(self.client, draft_id)?.is_none() {
                    self.outcome.done.push("freepublish/submit's answer was lost; looking for the publication".into());
                    return self.recover_publication(&titles(articles), Some(submitted_ms));
                }
                return Err(StepError::Other(format!(
                    "{err}; the draft is still in the draft box, so it was not submitted — the next run submits it"
                )));
            }
            Err(err) if err.code() == Some(48001) => {
                self.save(|r| {
                    r.pending = None;
                    r.refused = Some(format!("48001 at {}: the account cannot publish through the API", now_text()));
                })?;
                return Err(StepError::CannotPublish);
            }
            Err(err) => return Err(err.into()),
        };
        self.save(|r| {
            r.pending = None;
            r.refused = None;
            r.publication = Some(PublicationRecord {
                mode: PublicationMode::Publish,
                publish_id: Some(submitted.publish_id.clone()),
                msg_data_id: (submitted.msg_data_id != 0).then_some(submitted.msg_data_id),
                status: PublicationStatus::Publishing,
                submitted_at: now_text(),
                submitted_ms: Some(submitted_ms),
                ..PublicationRecord::default()
            });
        })?;
        self.outcome.done.push(format!("submitted for publishing (publish_id {})", submitted.publish_id));
        Ok(())
    }

    /// message/mass/sendall, exactly once: the same push and draft give the same clientmsgid,
    /// so WeChat answers a repeat (after a lost answer, or a run killed mid-send) with the
    /// first send's msg_id instead of sending again.
    fn mass_send(&mut self, record: &PushRecord, draft_id: &str) -> Result<(), StepError> {
        let account = &self.push.account;
        if !mass_send_allowed(self.lock, account, self.account.kind) {
            return Err(StepError::Other(format!(
                "the {account} account's mass-send allowance is used up ({}); the draft is ready — send it later or switch the account to mode = \"publish\"",
                if self.account.kind == AccountKind::Subscription { "one a day" } else { "four a month" }
            )));
        }
        let clientmsgid = format!(
            "wxpub-{}",
            &hex::encode(Sha256::digest(format!("{account}\n{}\n{draft_id}", self.push.slot)))[..40]
        );
        // An interrupted send whose draft left the box went out more than 24 hours ago
        // (WeChat no longer knows its clientmsgid): record it, never send twice.
        let sent = if record.pending == Some(PendingWrite::Masssend) && fetch_draft(self.client, draft_id)?.is_none() {
            match self.client.mass_send_all(draft_id, &clientmsgid) {
                Ok(sent) => Some(sent),
                Err(_) => {
                    self.outcome.done.push("an earlier run's mass send went out; recorded".into());
                    None
                }
            }
        } else {
            self.save(|r| r.pending = Some(PendingWrite::Masssend))?;
            Some(self.client.mass_send_all(draft_id, &clientmsgid)?)
        };
        let msg_id = sent.as_ref().map(|s| s.msg_id);
        let msg_data_id = sent.as_ref().map(|s| s.msg_data_id).filter(|id| *id != 0);
        self.save(|r| {
            r.pending = None;
            r.publication = Some(PublicationRecord {
                mode: PublicationMode::Masssend,
                msg_id,
                msg_data_id,
                // Confirmed by mass/get when settling (send protection may hold it for an
                // administrator).
                status: if msg_id.is_some() { PublicationStatus::Sending } else { PublicationStatus::Sent },
                submitted_at: now_text(),
                finished_at: msg_id.is_none().then(now_text),
                submitted_ms: Some(chrono::Utc::now().timestamp_millis()),
                ..PublicationRecord::default()
            });
        })?;
        if let Some(id) = msg_id {
            self.outcome.done.push(format!("mass send accepted by WeChat (msg_id {id})"));
        }
        Ok(())
    }

    /// An earlier run (or this one, whose answer was lost) submitted the draft: it left the
    /// draft box. Found among the published articles by its titles, it is recorded; otherwise
    /// it is recorded as publishing (without a publish_id) and settled with the others by the
    /// listing — never submitted again.
    fn recover_publication(&mut self, titles: &[&str], submitted_ms: Option<i64>) -> Result<(), StepError> {
        self.server.forget_published();
        if let Some(found) = self.server.published_by_titles(self.client, self.lock, self.push, titles)? {
            return self.restore_publication(&found);
        }
        let push = self.push;
        self.save(|r| {
            r.pending = None;
            r.items = push.items.clone();
            r.publication = Some(PublicationRecord {
                mode: PublicationMode::Publish,
                status: PublicationStatus::Publishing,
                submitted_at: now_text(),
                submitted_ms,
                ..PublicationRecord::default()
            });
        })?;
        self.outcome.done.push(
            "it was submitted (its draft left the draft box) and is not in the published list yet; it is settled with the others and not resubmitted".into(),
        );
        Ok(())
    }

    /// Records a publication found on the server that publish.lock did not have.
    fn restore_publication(&mut self, found: &PublishedItem) -> Result<(), StepError> {
        let urls: Vec<String> = found.content.news_item.iter().filter_map(|a| a.url.clone()).collect();
        let published_at = chrono::DateTime::from_timestamp(found.update_time, 0)
            .map_or_else(now_text, |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let push = self.push;
        self.save(|r| {
            r.pending = None;
            r.items = push.items.clone();
            r.titles = found.content.news_item.iter().map(|a| a.title.clone()).collect();
            r.publication = Some(PublicationRecord {
                mode: PublicationMode::Publish,
                publish_id: None,
                msg_id: None,
                article_id: Some(found.article_id.clone()),
                // The submit's answer was lost; the article URLs carry the statistics key.
                msg_data_id: urls
                    .first()
                    .and_then(|u| crate::wechat::types::statistics_key_of_url(u))
                    .map(|(mid, _)| mid),
                status: PublicationStatus::Published,
                article_urls: urls.clone(),
                submitted_at: published_at.clone(),
                finished_at: Some(published_at.clone()),
                ..PublicationRecord::default()
            });
        })?;
        self.outcome.article_urls = urls;
        self.outcome.done.push(format!(
            "found it published on the server (article_id {}); recorded in publish.lock, not published again",
            found.article_id
        ));
        Ok(())
    }
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
    // A draft/update interrupted before it was recorded changed the draft itself: not an edit.
    let edited = record.pending != Some(PendingWrite::DraftUpdate)
        && record.server_draft.as_ref().is_some_and(|known| {
            known.update_time != found.update_time || known.digest != stored_digest(&found.news_item)
        });
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
        |t| format!("changed {} Beijing time", crate::util::clock::beijing(t).format("%Y-%m-%d %H:%M")),
    )
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

/// Subscription accounts: one mass send a day; service accounts: four a month (Beijing dates),
/// on the same clock as the `submitted_at` it reads (the pinned one under `--now`).
fn mass_send_allowed(lock: &mut Ledger, account: &str, kind: AccountKind) -> bool {
    let today = crate::util::clock::beijing(crate::util::clock::now()).date();
    let sent: Vec<chrono::NaiveDate> = lock
        .account(account)
        .pushes
        .values()
        .filter_map(|p| p.publication.as_ref())
        .filter(|p| p.mode == PublicationMode::Masssend && !p.status.is_failed())
        .filter_map(|p| chrono::DateTime::parse_from_rfc3339(&p.submitted_at).ok())
        .map(|t| crate::util::clock::beijing(t.with_timezone(&Utc)).date())
        .collect();
    match kind {
        AccountKind::Subscription => !sent.contains(&today),
        AccountKind::Service => {
            sent.iter().filter(|d| d.year() == today.year() && d.month() == today.month()).count() < 4
        }
    }
}
