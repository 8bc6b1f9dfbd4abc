//! Runs a plan against WeChat, recording each write in publish.lock before the next one starts.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use sha2::{Digest, Sha256};

use super::Push;
use super::lock::{Lock, MediaRecord, PublicationRecord, PushRecord};
use crate::commands::build::{Manifest, ManifestImage, ManifestItem};
use crate::config::{AccountKind, Config, PublishMode};
use crate::content::Comments;
use crate::wechat::types::{Article, MaterialType};
use crate::wechat::{Client, Upload, WechatError, list_all};

pub struct ExecuteOptions<'a> {
    pub project: &'a Path,
    /// The build output holding `content.html` and the processed images.
    pub dist_dir: &'a Path,
    /// Publish (or mass-send) the pushes that are due; otherwise stop at drafts.
    pub publish_due: bool,
    /// How long to wait for an asynchronous publish to finish.
    pub poll_timeout: Duration,
    /// Uploads running at once.
    pub upload_concurrency: usize,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
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
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Wechat(#[from] WechatError),
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
    #[error("{0}")]
    Other(String),
}

fn now_text() -> String {
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
    let uploaded = upload_all(pushes, manifest, lock, clients, options);
    let mut first_push_of_account = std::collections::BTreeSet::new();
    pushes
        .iter()
        .map(|push| {
            let mut outcome = PushOutcome {
                account: push.account.clone(),
                slot: push.slot.clone(),
                items: push.items.clone(),
                done: Vec::new(),
                error: None,
                article_urls: Vec::new(),
            };
            // The parallel uploads are reported with the account's first push.
            if first_push_of_account.insert(push.account.clone()) {
                outcome.done.extend(uploaded.iter().filter(|(a, _)| *a == push.account).map(|(_, step)| step.clone()));
            }
            let result = match clients.get(&push.account) {
                Some(client) => run_push(push, manifest, config, lock, client, options, &mut outcome),
                None => Err(StepError::Other(format!("no client for account {}", push.account))),
            };
            if let Err(err) = result {
                outcome.error = Some(crate::redact::redact(&err.to_string()));
            }
            outcome
        })
        .collect()
}

fn run_push(
    push: &Push,
    manifest: &Manifest,
    config: &Config,
    lock: &mut Lock,
    client: &Client,
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    let items: Vec<&ManifestItem> =
        push.items.iter().filter_map(|key| manifest.items.iter().find(|i| &i.key == key)).collect();
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
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(&articles).unwrap_or_default()));

    // 3. Draft: add, update when changed, or nothing.
    let record = lock.account(&push.account).pushes.entry(push.slot.clone()).or_default().clone();
    if let Some(publication) = &record.publication {
        if record.content_hash.as_deref() != Some(hash.as_str()) && publication.status != "publishing" {
            outcome.done.push("already published; later changes to its items are not sent".into());
        }
        outcome.article_urls = publication.article_urls.clone();
        if publication.status == "publishing"
            && let Some(publish_id) = publication.publish_id.clone()
        {
            poll_publication(lock, push, client, &publish_id, options, outcome)?;
        } else if let Some(reason) = publication.status.strip_prefix("failed") {
            return Err(StepError::Other(format!(
                "WeChat did not publish it earlier{reason}; not resubmitted — fix it in the admin console or publish it by hand"
            )));
        }
        return Ok(());
    }
    let draft_id = match (&record.draft_media_id, &record.content_hash) {
        (Some(id), Some(old)) if *old == hash => id.clone(),
        (Some(id), _) if record.items.len() == articles.len() => {
            for (index, article) in articles.iter().enumerate() {
                client.draft_update(id, index as u32, article)?;
            }
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.content_hash = Some(hash.clone());
                r.items = push.items.clone();
                r.titles = articles.iter().map(|a| a.title.clone()).collect();
                r.drafted_at = Some(now_text());
            })?;
            outcome.done.push(format!("updated draft {id}"));
            id.clone()
        }
        (old, _) => {
            if let Some(old) = old {
                client.draft_delete(old)?;
                outcome.done.push(format!("deleted draft {old} (its articles changed)"));
            }
            let titles: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
            let known: Vec<String> =
                lock.account(&push.account).pushes.values().filter_map(|p| p.draft_media_id.clone()).collect();
            let recovered = if record.pending.as_deref() == Some("draft-add") {
                find_draft(client, &titles, &known)?
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
                    client.draft_add(&articles)?.media_id
                }
            };
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.pending = None;
                r.draft_media_id = Some(id.clone());
                r.content_hash = Some(hash.clone());
                r.items = push.items.clone();
                r.titles = articles.iter().map(|a| a.title.clone()).collect();
                r.drafted_at = Some(now_text());
            })?;
            outcome.done.push(format!("created draft {id}"));
            id
        }
    };

    // 4. Publish what is due, by the account's mode.
    if !(options.publish_due && push.due) {
        return Ok(());
    }
    match account.mode {
        PublishMode::Draft => {}
        PublishMode::Publish => {
            if record.pending.as_deref() == Some("submit") && !draft_exists(client, &draft_id)? {
                return recover_publication(lock, push, client, &articles, options, outcome);
            }
            save_push(lock, options.project, &push.account, &push.slot, |r| r.pending = Some("submit".into()))?;
            let submitted = client.publish_submit(&draft_id)?;
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.pending = None;
                r.publication = Some(PublicationRecord {
                    mode: "publish".into(),
                    publish_id: Some(submitted.publish_id.clone()),
                    msg_id: None,
                    status: "publishing".into(),
                    article_urls: Vec::new(),
                    submitted_at: now_text(),
                    finished_at: None,
                    archived: None,
                });
            })?;
            outcome.done.push(format!("submitted for publishing (publish_id {})", submitted.publish_id));
            poll_publication(lock, push, client, &submitted.publish_id, options, outcome)?;
        }
        PublishMode::Masssend => {
            if !mass_send_allowed(lock, &push.account, account.kind) {
                return Err(StepError::Other(format!(
                    "the {} account's mass-send allowance is used up ({}); the draft is ready — send it later or switch the account to mode = \"publish\"",
                    push.account,
                    if account.kind == AccountKind::Subscription { "one a day" } else { "four a month" }
                )));
            }
            // An interrupted send whose draft left the box went out: record it, never send twice.
            let msg_id = if record.pending.as_deref() == Some("masssend") && !draft_exists(client, &draft_id)? {
                outcome.done.push("an earlier run's mass send went out; recorded".into());
                None
            } else {
                save_push(lock, options.project, &push.account, &push.slot, |r| r.pending = Some("masssend".into()))?;
                Some(client.mass_send_all(&draft_id)?.msg_id)
            };
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                r.pending = None;
                r.publication = Some(PublicationRecord {
                    mode: "masssend".into(),
                    publish_id: None,
                    msg_id,
                    status: "sent".into(),
                    article_urls: Vec::new(),
                    submitted_at: now_text(),
                    finished_at: Some(now_text()),
                    archived: None,
                });
            })?;
            if let Some(id) = msg_id {
                outcome.done.push(format!("mass-sent to all followers (msg_id {id})"));
            }
        }
    }
    Ok(())
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
    let is_gif = image.output.file.ends_with(".gif");
    let needs_material = (as_material || is_gif) && existing.media_id.is_none();
    let needs_body = !as_material && !is_gif && existing.body_url.is_none();
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
            let added = client.add_material(MaterialType::Image, &upload, None)?;
            update.media_id = Some(added.media_id);
            update.material_url = added.url;
            done = format!("uploaded {} as image material", image.output.file);
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

/// The uploads a push needs: (folder, image, as material).
fn uploads_of<'m>(items: &[&'m ManifestItem], dist_dir: &Path) -> Vec<(std::path::PathBuf, &'m ManifestImage, bool)> {
    let mut out = Vec::new();
    for item in items {
        let dir = dist_dir.join(&item.key).join("images");
        for image in &item.images {
            out.push((dir.clone(), image, false));
        }
        if let Some(thumb) = item.cover.as_ref().or(item.poster.as_ref()) {
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
        let items: Vec<&ManifestItem> =
            push.items.iter().filter_map(|k| manifest.items.iter().find(|i| &i.key == k)).collect();
        for (dir, image, as_material) in uploads_of(&items, options.dist_dir) {
            if seen.insert((push.account.clone(), image.output.sha256.clone(), as_material)) {
                work.push((push.account.clone(), dir, image, as_material));
            }
        }
    }
    let shared = Mutex::new(lock);
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let bar = if options.progress {
        indicatif::ProgressBar::new(work.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
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
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    done.into_inner().unwrap_or_default()
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
    let all =
        list_all(|offset| client.batchget_material(MaterialType::Image, offset, 20).map(|p| (p.total_count, p.item)))?;
    Ok(all.into_iter().find(|m| m.name == name))
}

/// A draft in the draft box whose articles have exactly these titles.
fn find_draft(client: &Client, titles: &[&str], known: &[String]) -> Result<Option<String>, StepError> {
    let all = list_all(|offset| client.draft_batchget(offset, 20, true).map(|p| (p.total_count, p.item)))?;
    Ok(all
        .into_iter()
        .find(|d| {
            d.content.news_item.iter().map(|a| a.title.as_str()).eq(titles.iter().copied())
                && !known.contains(&d.media_id)
        })
        .map(|d| d.media_id))
}

/// Whether a draft is still in the draft box (it leaves it once published or mass-sent).
fn draft_exists(client: &Client, media_id: &str) -> Result<bool, StepError> {
    match client.draft_get(media_id) {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some(40007) => Ok(false),
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

/// An earlier run submitted the draft and died before recording the publish_id: find the
/// publication among the published articles by its titles.
fn recover_publication(
    lock: &mut Lock,
    push: &Push,
    client: &Client,
    articles: &[Article],
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    let titles: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
    let published = list_all(|offset| client.publish_batchget(offset, 20, true).map(|p| (p.total_count, p.item)))?;
    let Some(found) =
        published.iter().find(|p| p.content.news_item.iter().map(|a| a.title.as_str()).eq(titles.iter().copied()))
    else {
        return Err(StepError::Other(
            "an earlier run submitted this push and it is not in the published list yet; the next run looks again (it is not resubmitted)".into(),
        ));
    };
    let urls: Vec<String> = found.content.news_item.iter().filter_map(|a| a.url.clone()).collect();
    save_push(lock, options.project, &push.account, &push.slot, |r| {
        r.pending = None;
        r.publication = Some(PublicationRecord {
            mode: "publish".into(),
            publish_id: None,
            msg_id: None,
            status: "published".into(),
            article_urls: urls.clone(),
            submitted_at: now_text(),
            finished_at: Some(now_text()),
            archived: None,
        });
    })?;
    outcome.article_urls = urls;
    outcome.done.push(format!("found the publication of an earlier run (article_id {})", found.article_id));
    Ok(())
}

/// Polls freepublish/get with backoff until a final status, and records it.
fn poll_publication(
    lock: &mut Lock,
    push: &Push,
    client: &Client,
    publish_id: &str,
    options: &ExecuteOptions<'_>,
    outcome: &mut PushOutcome,
) -> Result<(), StepError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        let status = client.publish_get(publish_id)?;
        if status.publish_status != 1 {
            let urls: Vec<String> =
                status.article_detail.map(|d| d.item.into_iter().map(|i| i.article_url).collect()).unwrap_or_default();
            let text = match status.publish_status {
                0 => "published".to_string(),
                5 => "published, then deleted by the account".to_string(),
                6 => "published, then banned by the platform".to_string(),
                2 => "failed: originality check failed".to_string(),
                3 => "failed: WeChat reported an ordinary failure".to_string(),
                4 => "failed: rejected by platform review".to_string(),
                other => format!("failed: unknown status {other}"),
            };
            save_push(lock, options.project, &push.account, &push.slot, |r| {
                if let Some(p) = r.publication.as_mut() {
                    p.status = text.clone();
                    p.article_urls = urls.clone();
                    p.finished_at = Some(now_text());
                }
            })?;
            outcome.article_urls = urls;
            if text.starts_with("failed") {
                return Err(StepError::Other(format!("publish_id {publish_id}: {text}; not resubmitted")));
            }
            outcome.done.push(text);
            return Ok(());
        }
        if started.elapsed() > options.poll_timeout {
            return Err(StepError::Other(format!(
                "publish_id {publish_id} still publishing after {} s; the next run checks it again",
                options.poll_timeout.as_secs()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 3 / 2).min(Duration::from_secs(10));
    }
}

/// Subscription accounts: one mass send a day; service accounts: four a month (Beijing dates).
/// Always the real clock, not `--now`: WeChat counts the allowance in real days.
fn mass_send_allowed(lock: &mut Lock, account: &str, kind: AccountKind) -> bool {
    let today = (crate::clock::now() + chrono::Duration::hours(8)).date_naive();
    let sent: Vec<chrono::NaiveDate> = lock
        .account(account)
        .pushes
        .values()
        .filter_map(|p| p.publication.as_ref())
        .filter(|p| p.mode == "masssend")
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
