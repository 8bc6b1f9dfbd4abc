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
use crate::publish::Lock;
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
}

/// Imports every publication `client`'s account lists that is neither archived nor wxpub's own.
/// `told` hears each entry as it is written.
pub fn import_account(
    client: &Client,
    archive_dir: &Path,
    account: &str,
    account_name: &str,
    lock: &Lock,
    options: &ImportOptions,
    told: &mut dyn FnMut(&str),
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary { account: account.to_string(), ..ImportSummary::default() };
    let mut listed =
        crate::wechat::list_all(|offset| client.publish_batchget(offset, 20, false).map(|p| (p.total_count, p.item)))?;
    // Oldest first, so that each year's chain has them in publishing order, run after run.
    listed.sort_by(|a, b| (a.update_time, &a.article_id).cmp(&(b.update_time, &b.article_id)));
    summary.listed = listed.len();
    let ours = published_by_wxpub(lock, account);
    let imported_before = imported_article_ids(archive_dir)?;
    let http = download_client()?;
    for item in &listed {
        let published = DateTime::from_timestamp(item.update_time, 0).unwrap_or(options.now);
        let day = (published + chrono::Duration::hours(8)).date_naive();
        if options.since.is_some_and(|s| day < s) || options.until.is_some_and(|u| day > u) {
            summary.out_of_range += 1;
            continue;
        }
        let is_ours = item.content.news_item.iter().filter_map(|a| a.url.as_deref()).any(|url| {
            ours.urls.contains(url)
                || statistics_key_of_url(url).is_some_and(|(mid, _)| ours.msg_data_ids.contains(&mid))
        });
        if is_ours || imported_before.contains(&item.article_id) {
            summary.known += 1;
            continue;
        }
        let (entry, missing) = import_one(&http, archive_dir, account, account_name, item, published, options)?;
        summary.missing_images += missing;
        told(&entry);
        summary.imported.push(entry);
    }
    Ok(summary)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("listing the published items: {0}")]
    Wechat(#[from] WechatError),
}

struct Ours {
    urls: BTreeSet<String>,
    msg_data_ids: BTreeSet<u64>,
}

/// What publish.lock records wxpub published: every account's article URLs (they name their
/// account, `__biz`), and `account`'s statistics keys (numbers another account may reuse).
fn published_by_wxpub(lock: &Lock, account: &str) -> Ours {
    let mut ours = Ours { urls: BTreeSet::new(), msg_data_ids: BTreeSet::new() };
    for (name, state) in &lock.accounts {
        for publication in state.pushes.values().filter_map(|p| p.publication.as_ref()) {
            ours.urls.extend(publication.article_urls.iter().cloned());
            if name == account {
                ours.msg_data_ids.extend(publication.msg_data_id);
                ours.msg_data_ids.extend(
                    publication.article_urls.iter().filter_map(|u| statistics_key_of_url(u)).map(|(mid, _)| mid),
                );
            }
        }
    }
    ours
}

/// The `article_id`s already imported, in any year.
fn imported_article_ids(archive_dir: &Path) -> Result<BTreeSet<String>, ArchiveError> {
    let mut ids = BTreeSet::new();
    for year in super::years(archive_dir) {
        for (_, record) in super::entries(archive_dir, &year)? {
            if let Some(imported) = record.imported {
                ids.insert(imported.article_id);
            }
        }
    }
    Ok(ids)
}

fn download_client() -> Result<reqwest::blocking::Client, ArchiveError> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("wxpub/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ArchiveError::Other(format!("cannot set up HTTP: {e}")))
}

/// Writes one publication as an imported entry; returns its name and how many images are missing.
fn import_one(
    http: &reqwest::blocking::Client,
    archive_dir: &Path,
    account: &str,
    account_name: &str,
    item: &PublishedItem,
    published: DateTime<Utc>,
    options: &ImportOptions,
) -> Result<(String, usize), ArchiveError> {
    let beijing = published + chrono::Duration::hours(8);
    let slot = beijing.format("%Y-%m-%d %H:%M").to_string();
    let safe_id: String =
        item.article_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(40).collect();
    let name = super::entry_name(&slot, account, &format!("imported-{safe_id}"));
    let year: String = slot.chars().take(4).collect();
    let year_dir = archive_dir.join(&year);
    let staging = year_dir.join(format!(".{name}.staging"));
    let _ = std::fs::remove_dir_all(&staging);

    let mut fetched: BTreeMap<String, FetchedImage> = BTreeMap::new();
    let mut fetch = |url: &str| -> FetchedImage {
        if let Some(done) = fetched.get(url) {
            return done.clone();
        }
        let image = match download_image(http, url, options.max_image_bytes) {
            Ok((bytes, extension)) => {
                let file = format!("images/{}.{extension}", &hex::encode(Sha256::digest(&bytes))[..16]);
                match super::write(&staging.join(&file), &bytes) {
                    Ok(()) => FetchedImage { url: url.to_string(), file: Some(file), missing: None },
                    Err(e) => FetchedImage { url: url.to_string(), file: None, missing: Some(e.to_string()) },
                }
            }
            Err(why) => FetchedImage { url: url.to_string(), file: None, missing: Some(why) },
        };
        fetched.insert(url.to_string(), image.clone());
        image
    };

    let mut articles = Vec::new();
    let mut missing = 0;
    for (index, article) in item.content.news_item.iter().enumerate() {
        let html = format!("{:02}-article.html", index + 1);
        super::write(&staging.join(&html), article.content.as_bytes())?;
        let images: Vec<FetchedImage> =
            crate::html::image_sources(&article.content).iter().map(|url| fetch(url)).collect();
        let cover = article.thumb_url.as_deref().map(&mut fetch);
        missing += images.iter().chain(&cover).filter(|i| i.file.is_none()).count();
        articles.push(ArchivedArticle {
            key: String::new(),
            kind: "article".into(),
            title: article.title.clone(),
            url: article.url.clone(),
            html,
            images: images.iter().filter_map(|i| i.file.clone()).collect(),
            cover: cover.as_ref().and_then(|c| c.file.clone()),
            thumbnail: cover.as_ref().and_then(|c| c.file.clone()),
            fetched: images.into_iter().chain(cover).collect(),
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
            source: "freepublish/batchget".into(),
            imported_on: (options.now + chrono::Duration::hours(8)).date_naive().to_string(),
            article_id: item.article_id.clone(),
        }),
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| ArchiveError::Other(format!("cannot encode the record of {name}: {e}")))?;
    super::write(&staging.join("record.json"), json.as_bytes())?;
    super::seal_entry(&year_dir, &name, &staging)?;
    Ok((format!("{year}/{name}"), missing))
}

/// Fetches an image: at most `max_bytes`, an image by its content type and by its bytes, with a
/// few tries on a transport failure or a server error. Err: why it cannot be kept.
fn download_image(
    http: &reqwest::blocking::Client,
    url: &str,
    max_bytes: usize,
) -> Result<(Vec<u8>, &'static str), String> {
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
        let response = match http.get(url).send() {
            Ok(response) => response,
            Err(e) => {
                last = format!("could not be fetched: {}", crate::redact::redact(&e.without_url().to_string()));
                continue;
            }
        };
        let status = response.status();
        if status.is_server_error() {
            last = format!("the server answered HTTP {status}");
            continue;
        }
        if !status.is_success() {
            return Err(format!("the server answered HTTP {status}"));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !content_type.starts_with("image/") {
            return Err(format!(
                "not an image (content type `{}`)",
                if content_type.is_empty() { "none" } else { &content_type }
            ));
        }
        if let Some(length) = response.content_length().filter(|n| *n > max_bytes as u64) {
            return Err(format!("too large: {length} bytes, over the {max_bytes}-byte limit"));
        }
        let mut bytes = Vec::new();
        if let Err(e) = response.take(max_bytes as u64 + 1).read_to_end(&mut bytes) {
            last = format!("could not be read: {e}");
            continue;
        }
        if bytes.len() > max_bytes {
            return Err(format!("too large: over the {max_bytes}-byte limit"));
        }
        let extension = match image::guess_format(&bytes) {
            Ok(image::ImageFormat::Jpeg) => "jpg",
            Ok(image::ImageFormat::Png) => "png",
            Ok(image::ImageFormat::Gif) => "gif",
            Ok(image::ImageFormat::WebP) => "webp",
            Ok(image::ImageFormat::Bmp) => "bmp",
            _ => return Err(format!("not an image: its bytes are no image format (content type `{content_type}`)")),
        };
        return Ok((bytes, extension));
    }
    Err(last)
}
