//! `wxpub archive import`: what an account published before wxpub (or beside it, in the web
//! backend), fetched from the server into the archive as evidence — marked **imported**, so that
//! the archive says plainly these were fetched later, not kept as sent.
//!
//! What the API can list: `freepublish/batchget` lists the account's **published** (发布)
//! items, with their HTML, article URLs and covers. It does not list mass sends (群发) made
//! before freepublish existed or outside it, deleted publications, or drafts; those cannot be
//! imported through the API (save them from the web backend by hand).
//!
//! Each import is one entry, written whole or not at all (staged, then renamed and chained), so
//! a killed import is simply continued by the next run, and a second run adds nothing: entries
//! are recognised by `article_id`, and items wxpub itself published by their statistics key or
//! URL in publish.lock.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ArchiveError, ArchivedArticle, Record};
use crate::state::ledger::Ledger;
use crate::wechat::types::{PublishedItem, statistics_key_of_url};
use crate::wechat::{Client, WechatError};

/// Where an imported entry came from, in its `record.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Imported {
    /// The endpoint that listed it.
    pub source: String,
    /// The day it was fetched (Beijing time).
    pub imported_on: String,
    pub article_id: String,
}

/// An image an imported article shows, fetched from its WeChat address.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FetchedImage {
    pub url: String,
    /// The file in the entry; None when it could not be kept.
    pub file: Option<String>,
    /// Why it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

pub struct ImportOptions {
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// Hosts (`host` or `host:port`) images may be fetched from beyond WeChat's own image servers
    /// (a sandbox's address); anything else in an article's HTML is recorded, not fetched.
    pub extra_image_hosts: Vec<String>,
    /// Larger images are recorded as missing (the contract's image material limit by default).
    pub max_image_bytes: usize,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    pub account: String,
    /// Publications the server listed.
    pub listed: usize,
    /// Entries written by this run.
    pub imported: Vec<String>,
    /// Published by wxpub (archived when published), or imported before.
    pub known: usize,
    /// Outside --since/--until.
    pub out_of_range: usize,
    /// Images recorded as missing in this run's entries.
    pub missing_images: usize,
    /// Publications left for the next run: an image could not be fetched for a reason that may
    /// pass (network, server error, rate limit), and an entry is sealed for good.
    pub deferred: Vec<String>,
}

/// Imports every publication `client`'s account lists that is neither archived nor wxpub's own.
/// `told` hears each entry as it is written.
pub fn import_account(
    client: &Client,
    archive_dir: &Path,
    account: &str,
    account_name: &str,
    lock: &Ledger,
    options: &ImportOptions,
    told: &mut dyn FnMut(&str),
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary { account: account.to_string(), ..ImportSummary::default() };
    remove_stale_staging(archive_dir);
    // The list without content (ids, times, URLs): small whatever the account's history; each
    // new publication's content is fetched on its own.
    let mut listed =
        crate::wechat::list_all(|offset| client.publish_batchget(offset, 20, true).map(|p| (p.total_count, p.item)))?;
    // Oldest first, so that each year's chain has them in publishing order, run after run; a
    // publication a shifting list named twice, once.
    listed.sort_by(|a, b| (a.update_time, &a.article_id).cmp(&(b.update_time, &b.article_id)));
    listed.dedup_by(|a, b| a.article_id == b.article_id);
    summary.listed = listed.len();
    let (ours, mut imported_before) = published_by_wxpub(lock, archive_dir, account)?;
    let http = download_client(&options.extra_image_hosts)?;
    for item in &listed {
        let published = DateTime::from_timestamp(item.update_time, 0).unwrap_or(options.now);
        let day = (published + chrono::Duration::hours(8)).date_naive();
        if options.since.is_some_and(|s| day < s) || options.until.is_some_and(|u| day > u) {
            summary.out_of_range += 1;
            continue;
        }
        if ours.includes(item) || imported_before.contains(&item.article_id) {
            summary.known += 1;
            continue;
        }
        let content = client.publish_getarticle(&item.article_id)?;
        let full = PublishedItem { article_id: item.article_id.clone(), content, update_time: item.update_time };
        match import_one(&http, archive_dir, account, account_name, &full, published, options)? {
            Imported1::Sealed { entry, missing } => {
                summary.missing_images += missing;
                imported_before.insert(item.article_id.clone());
                told(&entry);
                summary.imported.push(entry);
            }
            Imported1::Deferred(why) => summary.deferred.push(format!("{} ({day}): {why}", item.article_id)),
        }
    }
    Ok(summary)
}

/// Staging folders of entries an interrupted run did not finish (the caller holds the project
/// lock: no other run is writing one).
fn remove_stale_staging(archive_dir: &Path) {
    for year in std::fs::read_dir(archive_dir).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(year.path()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') && name.ends_with(".staging") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

enum Imported1 {
    Sealed {
        entry: String,
        missing: usize,
    },
    /// Not written: why, to say so; the next run tries again.
    Deferred(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("listing the published items: {0}")]
    Wechat(#[from] WechatError),
}

struct Ours {
    article_ids: BTreeSet<String>,
    /// (`__biz`, `mid`, `idx`) of every article URL wxpub recorded: the same article whatever
    /// the rest of its link says (`sn`, `chksm`, `#rd`, the order of the parameters).
    articles: BTreeSet<(String, u64, u32)>,
    urls: BTreeSet<String>,
    /// This account's statistics keys (numbers another account may reuse).
    msg_data_ids: BTreeSet<u64>,
}

impl Ours {
    fn includes(&self, item: &PublishedItem) -> bool {
        self.article_ids.contains(&item.article_id)
            || item.content.news_item.iter().filter_map(|a| a.url.as_deref()).any(|url| {
                self.urls.contains(url)
                    || article_of_url(url).is_some_and(|key| self.articles.contains(&key))
                    || statistics_key_of_url(url).is_some_and(|(mid, _)| self.msg_data_ids.contains(&mid))
            })
    }
}

/// The article a WeChat link names: (`__biz`, `mid`, `idx`).
fn article_of_url(url: &str) -> Option<(String, u64, u32)> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let biz = parsed.query_pairs().find(|(k, _)| k == "__biz").map(|(_, v)| v.into_owned())?;
    let (mid, idx) = statistics_key_of_url(url)?;
    Some((biz, mid, idx))
}

/// What wxpub published: from publish.lock (every account's article ids and URLs, this account's
/// statistics keys) and from the archive's own (not imported) entries; and, from the same one
/// reading of the archive, the `article_id`s already imported (in any year).
fn published_by_wxpub(
    lock: &Ledger,
    archive_dir: &Path,
    account: &str,
) -> Result<(Ours, BTreeSet<String>), ArchiveError> {
    let mut imported = BTreeSet::new();
    let mut ours = Ours {
        article_ids: BTreeSet::new(),
        articles: BTreeSet::new(),
        urls: BTreeSet::new(),
        msg_data_ids: BTreeSet::new(),
    };
    let add_urls = |ours: &mut Ours, urls: &mut dyn Iterator<Item = &String>, same_account: bool| {
        for url in urls {
            ours.urls.insert(url.clone());
            ours.articles.extend(article_of_url(url));
            if same_account {
                ours.msg_data_ids.extend(statistics_key_of_url(url).map(|(mid, _)| mid));
            }
        }
    };
    for (name, state) in &lock.accounts {
        for publication in state.pushes.values().filter_map(|p| p.publication.as_ref()) {
            ours.article_ids.extend(publication.article_id.clone());
            add_urls(&mut ours, &mut publication.article_urls.iter(), name == account);
            if name == account {
                ours.msg_data_ids.extend(publication.msg_data_id);
            }
        }
    }
    for year in super::years(archive_dir) {
        for (_, record) in super::entries(archive_dir, &year)? {
            if let Some(entry) = record.imported {
                imported.insert(entry.article_id);
                continue;
            }
            let urls: Vec<String> = record.articles.iter().filter_map(|a| a.url.clone()).collect();
            add_urls(&mut ours, &mut urls.iter(), record.account == account);
            if record.account == account {
                ours.msg_data_ids.extend(record.msg_data_id);
            }
        }
    }
    Ok((ours, imported))
}

/// WeChat's image servers: the only hosts an imported article's images are fetched from (with
/// the sandbox's, when one is in use). Anything else an article's HTML names — an intranet
/// address, a cloud metadata service — is recorded, never fetched.
const WECHAT_IMAGE_HOSTS: [&str; 2] = ["qpic.cn", "qlogo.cn"];

fn allowed_image_host(url: &url::Url, extra: &[String]) -> bool {
    let Some(host) = url.host_str() else { return false };
    let with_port = url.port().map_or_else(|| host.to_string(), |p| format!("{host}:{p}"));
    matches!(url.scheme(), "http" | "https")
        && (WECHAT_IMAGE_HOSTS.iter().any(|h| host == *h || host.ends_with(&format!(".{h}")))
            || extra.iter().any(|e| *e == with_port || *e == host))
}

fn download_client(extra_hosts: &[String]) -> Result<reqwest::blocking::Client, ArchiveError> {
    let extra = extra_hosts.to_vec();
    // A redirect is followed only to an allowed host, at most five times.
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 || !allowed_image_host(attempt.url(), &extra) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(policy)
        .user_agent(concat!("wxpub/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ArchiveError::Other(format!("cannot set up HTTP: {e}")))
}

/// Why an image could not be kept.
enum NotKept {
    /// For good: recorded in the entry as missing.
    Permanent(String),
    /// It may pass (network, server error, rate limit): the entry waits for the next run.
    Transient(String),
}

/// Writes one publication as an imported entry, or defers it when an image could not be fetched
/// for a reason that may pass. A local write failure is an error.
fn import_one(
    http: &reqwest::blocking::Client,
    archive_dir: &Path,
    account: &str,
    account_name: &str,
    item: &PublishedItem,
    published: DateTime<Utc>,
    options: &ImportOptions,
) -> Result<Imported1, ArchiveError> {
    let beijing = published + chrono::Duration::hours(8);
    let slot = beijing.format("%Y-%m-%d %H:%M").to_string();
    // Named by a hash of the whole article_id: no two publications share a name, and nothing the
    // server sends becomes a path.
    let id_hash = &hex::encode(Sha256::digest(item.article_id.as_bytes()))[..12];
    let name = super::entry_name(&slot, account, &format!("imported-{id_hash}"));
    let year: String = slot.chars().take(4).collect();
    let year_dir = archive_dir.join(&year);
    let staging = year_dir.join(format!(".{name}.staging"));
    let _ = std::fs::remove_dir_all(&staging);

    let mut fetched: BTreeMap<String, FetchedImage> = BTreeMap::new();
    let mut articles = Vec::new();
    let mut missing = 0;
    for (index, article) in item.content.news_item.iter().enumerate() {
        let html = format!("{:02}-article.html", index + 1);
        super::write(&staging.join(&html), article.content.as_bytes())?;
        let mut images = Vec::new();
        let sources = crate::util::html::image_sources(&article.content);
        for url in sources.iter().map(String::as_str).chain(article.thumb_url.as_deref()) {
            if let Some(done) = fetched.get(url) {
                images.push(done.clone());
                continue;
            }
            let image = match download_image(http, url, options) {
                Ok((bytes, extension)) => {
                    let file = format!("images/{}.{extension}", &hex::encode(Sha256::digest(&bytes))[..16]);
                    super::write(&staging.join(&file), &bytes)?;
                    FetchedImage { url: url.to_string(), file: Some(file), missing: None }
                }
                Err(NotKept::Permanent(why)) => FetchedImage { url: url.to_string(), file: None, missing: Some(why) },
                Err(NotKept::Transient(why)) => {
                    let _ = std::fs::remove_dir_all(&staging);
                    return Ok(Imported1::Deferred(format!("{url}: {why}")));
                }
            };
            fetched.insert(url.to_string(), image.clone());
            images.push(image);
        }
        let cover = article.thumb_url.as_ref().and_then(|u| images.iter().rev().find(|i| &i.url == u)).cloned();
        let body: Vec<FetchedImage> = images.iter().filter(|i| sources.contains(&i.url)).cloned().collect();
        missing += body.iter().chain(&cover).filter(|i| i.file.is_none()).count();
        // A small square thumbnail of the cover for the printed index (a cover can be megabytes).
        let thumbnail = match cover.as_ref().and_then(|c| c.file.as_ref()) {
            Some(file) => thumbnail_of(&staging, file)?,
            None => None,
        };
        articles.push(ArchivedArticle {
            key: String::new(),
            kind: if article.article_type.as_deref() == Some("newspic") { "image-post" } else { "article" }.into(),
            title: article.title.clone(),
            url: article.url.clone(),
            html,
            images: body.iter().filter_map(|i| i.file.clone()).collect(),
            cover: cover.as_ref().and_then(|c| c.file.clone()),
            thumbnail,
            fetched: body.into_iter().chain(cover).collect(),
        });
    }
    let msg_data_id =
        item.content.news_item.iter().filter_map(|a| a.url.as_deref()).find_map(statistics_key_of_url).map(|k| k.0);
    let at = published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let record = Record {
        account: account.into(),
        account_name: account_name.into(),
        slot,
        mode: "imported".into(),
        publish_id: None,
        msg_id: None,
        submitted_at: at.clone(),
        finished_at: Some(at),
        content_hash: None,
        matches_sent: false,
        articles,
        msg_data_id,
        imported: Some(Imported {
            source: "freepublish/batchget, freepublish/getarticle".into(),
            imported_on: (options.now + chrono::Duration::hours(8)).date_naive().to_string(),
            article_id: item.article_id.clone(),
        }),
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| ArchiveError::Other(format!("cannot encode the record of {name}: {e}")))?;
    super::write(&staging.join("record.json"), json.as_bytes())?;
    super::seal_entry(&year_dir, &name, &staging)?;
    Ok(Imported1::Sealed { entry: format!("{year}/{name}"), missing })
}

/// A 112-pixel square JPEG of the cover `file` in `staging`, for the printed index; None when
/// the cover cannot be decoded (it is kept as it came all the same).
fn thumbnail_of(staging: &Path, file: &str) -> Result<Option<String>, ArchiveError> {
    let path = staging.join(file);
    let bytes = std::fs::read(&path).map_err(|source| ArchiveError::Read { path: path.clone(), source })?;
    let Ok(image) = image::load_from_memory(&bytes) else { return Ok(None) };
    let mut encoded = Vec::new();
    if image
        .thumbnail(112, 112)
        .to_rgb8()
        .write_to(&mut std::io::Cursor::new(&mut encoded), image::ImageFormat::Jpeg)
        .is_err()
    {
        return Ok(None);
    }
    let thumbnail = format!("images/thumb-{}.jpg", &hex::encode(Sha256::digest(&encoded))[..16]);
    super::write(&staging.join(&thumbnail), &encoded)?;
    Ok(Some(thumbnail))
}

/// Fetches an image: from an allowed host, at most `max_image_bytes`, an image by its content
/// type and by its bytes, with a few tries on a failure that may pass.
fn download_image(
    http: &reqwest::blocking::Client,
    url: &str,
    options: &ImportOptions,
) -> Result<(Vec<u8>, &'static str), NotKept> {
    let max_bytes = options.max_image_bytes;
    match url::Url::parse(url) {
        Ok(parsed) if allowed_image_host(&parsed, &options.extra_image_hosts) => {}
        _ => return Err(NotKept::Permanent("not a WeChat image address: not fetched".into())),
    }
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
        let response = match http.get(url).send() {
            Ok(response) => response,
            Err(e) => {
                last = format!("could not be fetched: {}", crate::util::redact::redact(&e.without_url().to_string()));
                continue;
            }
        };
        let status = response.status();
        if status.is_redirection() {
            return Err(NotKept::Permanent(format!("redirected away from WeChat's image servers (HTTP {status})")));
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            last = format!("the server answered HTTP {status}");
            continue;
        }
        if !status.is_success() {
            return Err(NotKept::Permanent(format!("the server answered HTTP {status}")));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !content_type.starts_with("image/") {
            return Err(NotKept::Permanent(format!(
                "not an image (content type `{}`)",
                if content_type.is_empty() { "none" } else { &content_type }
            )));
        }
        if let Some(length) = response.content_length().filter(|n| *n > max_bytes as u64) {
            return Err(NotKept::Permanent(format!("too large: {length} bytes, over the {max_bytes}-byte limit")));
        }
        let mut bytes = Vec::new();
        if let Err(e) = response.take(max_bytes as u64 + 1).read_to_end(&mut bytes) {
            last = format!("could not be read: {e}");
            continue;
        }
        if bytes.len() > max_bytes {
            return Err(NotKept::Permanent(format!("too large: over the {max_bytes}-byte limit")));
        }
        let extension = match image::guess_format(&bytes) {
            Ok(image::ImageFormat::Jpeg) => "jpg",
            Ok(image::ImageFormat::Png) => "png",
            Ok(image::ImageFormat::Gif) => "gif",
            Ok(image::ImageFormat::WebP) => "webp",
            Ok(image::ImageFormat::Bmp) => "bmp",
            _ => {
                return Err(NotKept::Permanent(format!(
                    "not an image: its bytes are no image format (content type `{content_type}`)"
                )));
            }
        };
        return Ok((bytes, extension));
    }
    Err(NotKept::Transient(last))
}
