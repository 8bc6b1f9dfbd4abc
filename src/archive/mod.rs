//! ARCHIVE: every publication kept as evidence, tamper-evident.
//!
//! `archive/YEAR/DATE-ACCOUNT-SLUG/` holds the HTML exactly as sent, the processed images and
//! cover, and `record.json` (URLs, publish_id, account, times); its `manifest.json` lists the
//! sha256 of every file. `archive/YEAR/index.json` chains the entries: each link's hash covers
//! the previous link's hash, the entry's name and its manifest's hash, so that editing, adding or
//! deleting anything after the fact is detected by [`verify`].
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::build::{Manifest, ManifestItem};
use crate::state::ledger::{Ledger, MediaRecord, PushRecord};

pub mod import;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive: cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("archive: cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("archive: {path} is not valid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error(
        "archive: {account} push at {slot}: item {key} is no longer in the build, so what was sent cannot be archived; restore it (git) and run again"
    )]
    MissingItem { account: String, slot: String, key: String },
    #[error("archive: {0}")]
    Other(String),
}

/// `archive/YEAR/index.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Index {
    pub entries: Vec<Link>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Link {
    pub entry: String,
    pub manifest_sha256: String,
    /// The previous link's `hash` ("" for the first).
    pub previous: String,
    /// sha256 of `previous \n entry \n manifest_sha256`.
    pub hash: String,
}

fn link_hash(previous: &str, entry: &str, manifest_sha256: &str) -> String {
    hex::encode(Sha256::digest(format!("{previous}\n{entry}\n{manifest_sha256}")))
}

/// What `record.json` says about one archived push.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub account: String,
    pub account_name: String,
    pub slot: String,
    pub mode: String,
    pub publish_id: Option<String>,
    pub msg_id: Option<u64>,
    pub submitted_at: String,
    pub finished_at: Option<String>,
    /// sha256 of the articles as sent, from publish.lock, and whether the archived copy hashes
    /// the same (false: the sources changed between publishing and archiving).
    pub content_hash: Option<String>,
    pub matches_sent: bool,
    pub articles: Vec<ArchivedArticle>,
    /// The push's key in WeChat's statistics, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_data_id: Option<u64>,
    /// Set when the entry was fetched from the server later (`wxpub archive import`), not kept
    /// as sent: from where, when, which publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<import::Imported>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedArticle {
    pub key: String,
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    /// File of the HTML as sent, in the entry.
    pub html: String,
    pub images: Vec<String>,
    pub cover: Option<String>,
    /// The 1:1 cover crop, used as the thumbnail of the printed index.
    pub thumbnail: Option<String>,
    /// Imported entries: each image's WeChat address, and its file or why it is missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetched: Vec<import::FetchedImage>,
}

/// `manifest.json` of an entry: every other file and its sha256.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EntryManifest {
    pub entry: String,
    pub files: BTreeMap<String, String>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ArchiveError::Write { path: parent.to_path_buf(), source })?;
    }
    std::fs::write(path, bytes).map_err(|source| ArchiveError::Write { path: path.to_path_buf(), source })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ArchiveError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ArchiveError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|e| ArchiveError::Json { path: path.to_path_buf(), message: e.to_string() })
}

fn sha256_file(path: &Path) -> Result<String, ArchiveError> {
    let bytes = std::fs::read(path).map_err(|source| ArchiveError::Read { path: path.to_path_buf(), source })?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Entry folder name: `2026-12-01-service-ding-story` (the slug loses its own date prefix).
pub fn entry_name(slot: &str, account: &str, lead_slug: &str) -> String {
    let date: String = slot.chars().take(10).collect();
    let slug = lead_slug.strip_prefix(&format!("{date}-")).unwrap_or(lead_slug);
    format!("{date}-{account}-{slug}")
}

/// Archives one published push into `archive_dir/YEAR/NAME` and links it into the year's
/// index. Written into a staging folder first and renamed, so an entry is whole or absent.
#[allow(clippy::too_many_arguments)]
pub fn archive_push(
    archive_dir: &Path,
    account: &str,
    account_name: &str,
    slot: &str,
    push: &PushRecord,
    manifest: &Manifest,
    dist_dir: &Path,
    media: &BTreeMap<String, MediaRecord>,
) -> Result<String, ArchiveError> {
    let publication = push.publication.as_ref().ok_or_else(|| ArchiveError::Other("not published".into()))?;
    let items: Vec<&ManifestItem> = push
        .items
        .iter()
        .map(|key| {
            manifest.items.iter().find(|i| &i.key == key).ok_or_else(|| ArchiveError::MissingItem {
                account: account.into(),
                slot: slot.into(),
                key: key.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    let year: String = slot.chars().take(4).collect();
    let name = entry_name(slot, account, &items.first().map_or(String::new(), |i| i.slug.clone()));
    let year_dir = archive_dir.join(&year);
    let final_dir = year_dir.join(&name);
    let index_path = year_dir.join("index.json");
    let index: Index = if index_path.exists() { read_json(&index_path)? } else { Index::default() };
    if index.entries.iter().any(|l| l.entry == name) && final_dir.exists() {
        return Ok(format!("{year}/{name}"));
    }

    let staging = year_dir.join(format!(".{name}.staging"));
    let _ = std::fs::remove_dir_all(&staging);
    let mut articles = Vec::new();
    let mut sent = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let article = crate::publish::article_as_sent(item, dist_dir, media)
            .map_err(|e| ArchiveError::Other(format!("{}: {e}", item.key)))?;
        let html = format!("{:02}-{}.html", index + 1, item.slug);
        write(&staging.join(&html), article.content.as_bytes())?;
        let item_dir = dist_dir.join(&item.key).join("images");
        let mut images = Vec::new();
        let files = item.images.iter().chain(&item.cover).chain(&item.poster).map(|i| i.output.file.clone());
        let crops = item.cover.as_ref().and_then(|c| c.output.crops.clone());
        let thumbnail = crops.as_ref().map(|c| c.preview_1_1.clone());
        for file in files.chain(thumbnail.clone()) {
            let bytes = std::fs::read(item_dir.join(&file))
                .map_err(|source| ArchiveError::Read { path: item_dir.join(&file), source })?;
            let relative = format!("images/{file}");
            write(&staging.join(&relative), &bytes)?;
            if !images.contains(&relative) {
                images.push(relative);
            }
        }
        articles.push(ArchivedArticle {
            key: item.key.clone(),
            kind: if item.format == crate::content::Format::ImagePost {
                "image-post".to_string()
            } else {
                item.kind.name().to_string()
            },
            title: item.title.clone(),
            url: publication.article_urls.get(index).cloned(),
            html,
            images,
            cover: item.cover.as_ref().or(item.poster.as_ref()).map(|c| format!("images/{}", c.output.file)),
            thumbnail: thumbnail.map(|t| format!("images/{t}")),
            fetched: Vec::new(),
        });
        sent.push(article);
    }
    let encode_error = |e: serde_json::Error| ArchiveError::Other(format!("cannot encode {name}: {e}"));
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(&sent).map_err(encode_error)?));
    let record = Record {
        account: account.into(),
        account_name: account_name.into(),
        slot: slot.into(),
        mode: publication.mode.as_str().to_string(),
        publish_id: publication.publish_id.clone(),
        msg_id: publication.msg_id,
        submitted_at: publication.submitted_at.clone(),
        finished_at: publication.finished_at.clone(),
        matches_sent: push.content_hash.as_deref() == Some(hash.as_str()),
        content_hash: push.content_hash.clone(),
        articles,
        msg_data_id: publication.msg_data_id,
        imported: None,
    };
    write(&staging.join("record.json"), serde_json::to_string_pretty(&record).map_err(encode_error)?.as_bytes())?;
    seal_entry(&year_dir, &name, &staging)?;
    Ok(format!("{year}/{name}"))
}

/// Makes the staged folder `staging` the entry `name` of `year_dir`: its manifest written, the
/// folder renamed into place, and the entry linked at the end of the year's chain (the index
/// replaced atomically). An entry is whole or absent, whenever the process is killed.
fn seal_entry(year_dir: &Path, name: &str, staging: &Path) -> Result<(), ArchiveError> {
    let final_dir = year_dir.join(name);
    let index_path = year_dir.join("index.json");
    let mut entry_manifest = EntryManifest { entry: name.to_string(), files: BTreeMap::new() };
    for file in walk(staging)? {
        entry_manifest.files.insert(file.clone(), sha256_file(&staging.join(&file))?);
    }
    let encode = |what: &str, result: serde_json::Result<String>| {
        result.map_err(|e| ArchiveError::Other(format!("cannot encode the {what} of {name}: {e}")))
    };
    let manifest_bytes = encode("manifest", serde_json::to_string_pretty(&entry_manifest))? + "\n";
    write(&staging.join("manifest.json"), manifest_bytes.as_bytes())?;
    let _ = std::fs::remove_dir_all(&final_dir);
    std::fs::rename(staging, &final_dir).map_err(|source| ArchiveError::Write { path: final_dir.clone(), source })?;

    let mut index: Index = if index_path.exists() { read_json(&index_path)? } else { Index::default() };
    let manifest_sha256 = hex::encode(Sha256::digest(manifest_bytes.as_bytes()));
    index.entries.retain(|l| l.entry != name);
    let previous = index.entries.last().map_or(String::new(), |l| l.hash.clone());
    let hash = link_hash(&previous, name, &manifest_sha256);
    index.entries.push(Link { entry: name.to_string(), manifest_sha256, previous, hash });
    let temp = year_dir.join(".index.json.tmp");
    write(&temp, (encode("index", serde_json::to_string_pretty(&index))? + "\n").as_bytes())?;
    std::fs::rename(&temp, &index_path).map_err(|source| ArchiveError::Write { path: index_path, source })
}

/// A year's index; empty when there is none yet (a run killed before the year's first entry was
/// sealed leaves a year folder without one). `verify` still names any entry folder beside it.
fn read_index(year_dir: &Path) -> Result<Index, ArchiveError> {
    let path = year_dir.join("index.json");
    if path.exists() { read_json(&path) } else { Ok(Index::default()) }
}

/// Files under `dir`, relative, with `/` separators, sorted.
fn walk(dir: &Path) -> Result<Vec<String>, ArchiveError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| ArchiveError::Other(format!("cannot list {}: {e}", dir.display())))?;
        if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            files.push(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        }
    }
    Ok(files)
}

/// Archives every publication in `lock` not archived yet; records each entry in the lock.
/// Returns the entries written; stops at the first failure (the next run retries).
pub fn archive_pending(
    project: &Path,
    archive_dir: &Path,
    config: &crate::config::Config,
    lock: &mut Ledger,
    manifest: &Manifest,
    dist_dir: &Path,
) -> Result<Vec<String>, ArchiveError> {
    let mut written = Vec::new();
    let accounts: Vec<String> = lock.accounts.keys().cloned().collect();
    for account in accounts {
        let state = lock.accounts[&account].clone();
        for (slot, push) in &state.pushes {
            let Some(publication) = &push.publication else { continue };
            let done = publication.status.is_standing();
            if !done || publication.archived.is_some() {
                continue;
            }
            let name = config.accounts.get(&account).map_or(account.as_str(), |a| a.name.as_str());
            let entry = archive_push(archive_dir, &account, name, slot, push, manifest, dist_dir, &state.media)?;
            if let Some(p) = lock.account(&account).pushes.get_mut(slot).and_then(|p| p.publication.as_mut()) {
                p.archived = Some(entry.clone());
            }
            lock.save(project).map_err(|e| ArchiveError::Other(e.to_string()))?;
            written.push(entry);
        }
    }
    Ok(written)
}

/// One thing `verify` found wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub year: String,
    pub entry: String,
    pub message: String,
}

/// Years present in the archive, sorted.
pub fn years(archive_dir: &Path) -> Vec<String> {
    let mut years: Vec<String> = std::fs::read_dir(archive_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name.len() == 4 && name.chars().all(|c| c.is_ascii_digit()))
        .collect();
    years.sort();
    years
}

/// Recomputes every hash and the chain of one year; returns what does not match, and the number
/// of entries checked.
pub fn verify(archive_dir: &Path, year: &str) -> Result<(Vec<Problem>, usize), ArchiveError> {
    let year_dir = archive_dir.join(year);
    let mut problems = Vec::new();
    let mut problem = |entry: &str, message: String| {
        problems.push(Problem { year: year.into(), entry: entry.into(), message });
    };
    let index = read_index(&year_dir)?;
    let mut previous = String::new();
    for link in &index.entries {
        if link.previous != previous || link.hash != link_hash(&link.previous, &link.entry, &link.manifest_sha256) {
            problem(
                &link.entry,
                "the index chain is broken here: an entry before it was removed or the index edited".into(),
            );
        }
        previous = link.hash.clone();
        let dir = year_dir.join(&link.entry);
        let manifest_path = dir.join("manifest.json");
        let Ok(manifest_bytes) = std::fs::read(&manifest_path) else {
            problem(&link.entry, "the entry folder or its manifest.json is missing".into());
            continue;
        };
        if hex::encode(Sha256::digest(&manifest_bytes)) != link.manifest_sha256 {
            problem(&link.entry, "manifest.json was changed after archiving".into());
        }
        let manifest: EntryManifest = match serde_json::from_slice(&manifest_bytes) {
            Ok(m) => m,
            Err(e) => {
                problem(&link.entry, format!("manifest.json is not valid: {e}"));
                continue;
            }
        };
        let present = walk(&dir)?;
        for (file, sha) in &manifest.files {
            match sha256_file(&dir.join(file)) {
                Ok(actual) if actual == *sha => {}
                Ok(_) => problem(&link.entry, format!("{file} was changed after archiving (sha256 differs)")),
                Err(_) => problem(&link.entry, format!("{file} is missing")),
            }
        }
        for file in present.iter().filter(|f| *f != "manifest.json" && !manifest.files.contains_key(*f)) {
            problem(&link.entry, format!("{file} was added after archiving"));
        }
    }
    let indexed: Vec<&str> = index.entries.iter().map(|l| l.entry.as_str()).collect();
    for entry in std::fs::read_dir(&year_dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_dir() && !name.starts_with('.') && !indexed.contains(&name.as_str()) {
            problem(&name, "this folder is not in index.json".into());
        }
    }
    Ok((problems, index.entries.len()))
}

/// The entries of a year with their records, in index order.
pub fn entries(archive_dir: &Path, year: &str) -> Result<Vec<(String, Record)>, ArchiveError> {
    let year_dir = archive_dir.join(year);
    let index = read_index(&year_dir)?;
    index
        .entries
        .iter()
        .map(|l| Ok((l.entry.clone(), read_json(&year_dir.join(&l.entry).join("record.json"))?)))
        .collect()
}

/// A printable, self-contained HTML index of a year: date, account, title, link, thumbnail.
pub fn index_html(archive_dir: &Path, year: &str, site_name: &str) -> Result<String, ArchiveError> {
    use crate::util::html::escape;
    use base64::Engine;
    let mut rows = String::new();
    for (entry, record) in entries(archive_dir, year)? {
        for article in &record.articles {
            let thumbnail = match &article.thumbnail {
                Some(file) => {
                    let path = archive_dir.join(year).join(&entry).join(file);
                    let bytes = std::fs::read(&path).map_err(|source| ArchiveError::Read { path, source })?;
                    let mime = crate::util::fs::media_type_of(file);
                    format!(
                        "<img src=\"data:{mime};base64,{}\" alt=\"\">",
                        base64::engine::general_purpose::STANDARD.encode(bytes)
                    )
                }
                None => String::new(),
            };
            let link =
                article.url.as_deref().map_or_else(String::new, |u| format!("<a href=\"{0}\">{0}</a>", escape(u)));
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"link\">{}</td><td>{}</td></tr>\n",
                thumbnail,
                escape(&record.slot.chars().take(10).collect::<String>()),
                escape(&record.account_name),
                escape(&article.title),
                link,
                match &record.imported {
                    // Said on the page: fetched from the server later, not kept as sent.
                    Some(imported) => format!(
                        "<code>{}</code><br><span class=\"imported\">导入 imported {} from {}</span>",
                        escape(&entry),
                        escape(&imported.imported_on),
                        escape(&imported.source)
                    ),
                    None => format!("<code>{}</code>", escape(&entry)),
                },
            ));
        }
    }
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · {year} 推送存档目录</title>
<style>
body {{ font: 13px/1.5 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; color: #222; margin: 24px; }}
h1 {{ font-size: 20px; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 6px; text-align: left; vertical-align: middle; }}
img {{ width: 56px; height: 56px; object-fit: cover; border-radius: 3px; }}
td.link {{ word-break: break-all; }}
.imported {{ color: #a15c00; font-size: 12px; }}
@media print {{ body {{ margin: 0; }} tr {{ break-inside: avoid; }} a {{ color: #222; }} }}
</style>
</head>
<body>
<h1>{name} · {year} 年推送存档目录</h1>
<p>Every entry is verified by <code>wxpub archive verify --year {year}</code> (sha256 of every file, chained index).</p>
<table>
<thead><tr><th></th><th>日期</th><th>账号</th><th>标题</th><th>链接</th><th>存档</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
</body>
</html>
"#,
        name = escape(site_name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_drop_the_repeated_date() {
        assert_eq!(entry_name("2026-12-01 08:00", "service", "2026-12-01-ding-story"), "2026-12-01-service-ding-story");
        assert_eq!(
            entry_name("2026-12-03 18:00", "subscription", "2026-12-05-lecture"),
            "2026-12-03-subscription-2026-12-05-lecture"
        );
    }

    #[test]
    fn each_link_covers_the_one_before() {
        let a = link_hash("", "e1", "m1");
        let b = link_hash(&a, "e2", "m2");
        assert_ne!(b, link_hash("", "e2", "m2"), "a link depends on its predecessor");
        assert_eq!(a.len(), 64);
    }
}
