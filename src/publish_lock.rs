//! `publish.lock`: what has been written to WeChat, per account. TOML with sorted keys, written
//! atomically after every successful write, meant to be committed by CI.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "publish.lock";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountLock>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountLock {
    /// Uploaded files by the sha256 of the processed file.
    #[serde(default)]
    pub media: BTreeMap<String, MediaRecord>,
    /// Pushes by slot (`publish_at` as written).
    #[serde(default)]
    pub pushes: BTreeMap<String, PushRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaRecord {
    pub file: String,
    /// From media/uploadimg: usable inside article bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_url: Option<String>,
    /// From material/add_material (covers, posters): usable as thumb_media_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material_url: Option<String>,
    /// An upload was started and its answer not recorded (the run was interrupted): the next
    /// run looks for it on the server before uploading again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushRecord {
    /// Item keys, in push order.
    pub items: Vec<String>,
    /// Their titles as sent (so that `wxpub check` can spot a new item reusing a published title).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_media_id: Option<String>,
    /// sha256 of the articles as sent to draft/add or draft/update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<PublicationRecord>,
    /// WeChat refused to publish it for a reason a rerun does not change (48001: the account may
    /// not publish through the API). Runs leave it alone; naming the item retries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// A write was started and its answer not recorded (`draft-add`, `submit`, `masssend`): the
    /// next run reconciles with the server before writing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// What WeChat stored after wxpub's last write to the draft (read back once): its
    /// `update_time` and a digest of the stored articles. A draft that differs from this was
    /// edited in the web backend, and is never overwritten without being asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_draft: Option<ServerDraft>,
    /// The editor chose the server's draft (`publish --keep-server ITEM`, or a video placeholder
    /// replaced in the web backend): it is published as it is there; changes in git are reported,
    /// not sent, until `--overwrite-server`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_server: bool,
    /// The draft was edited in the web backend and the build differs: nothing is written or
    /// published until the editor decides (`--keep-server` or `--overwrite-server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<DraftConflict>,
}

/// A draft as WeChat stored it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerDraft {
    /// `update_time` from draft/get (Unix seconds); 0 when WeChat did not give one.
    pub update_time: i64,
    /// sha256 of the stored articles (see `publish::draft_guard::stored_digest`).
    pub digest: String,
}

/// A draft edited in the web backend that the build would overwrite.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftConflict {
    /// When wxpub noticed it.
    pub detected_at: String,
    /// The server draft's `update_time` then (Unix seconds).
    pub server_update_time: i64,
    /// What differs between the server's draft and the build, in a few lines.
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublicationRecord {
    /// `publish` (freepublish) or `masssend`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    /// The key of the publication's articles in WeChat's statistics (`msgid` =
    /// `<msg_data_id>_<index>`), from freepublish/submit or sendall. None for publications made
    /// before wxpub recorded it, or found again after a lost answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_data_id: Option<u64>,
    /// freepublish's `article_id` of the published push (what its lists key on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    /// `publishing`, `published`, `sent`, or `failed: …` with WeChat's meaning.
    pub status: String,
    #[serde(default)]
    pub article_urls: Vec<String>,
    pub submitted_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The archive entry (`YEAR/NAME`) holding what was published; None until archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<String>,
    /// When it was submitted by this machine's clock (Unix milliseconds; not the pinned `--now`):
    /// how long WeChat has been at it, and the earliest `update_time` its listing can show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_ms: Option<i64>,
    /// freepublish/get calls spent on it so far (each counts against WeChat's 100 a day): the
    /// next one is due later the more were spent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub status_checks: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl Lock {
    pub fn path(project: &Path) -> PathBuf {
        project.join(LOCK_FILE)
    }

    /// The lock in `project`, or an empty one when there is none yet.
    pub fn load(project: &Path) -> Result<Lock, LockError> {
        let path = Lock::path(project);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| LockError::Read { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            Err(e) => Err(LockError::Read { path, message: e.to_string() }),
        }
    }

    /// Writes the whole lock through a temporary file and a rename: a crash leaves the old or the
    /// new lock, never half of one.
    pub fn save(&self, project: &Path) -> Result<(), LockError> {
        let path = Lock::path(project);
        let body = toml::to_string(self)
            .map_err(|e| LockError::Write { path: path.clone(), source: std::io::Error::other(e) })?;
        let text =
            format!("# Written by wxpub publish: what has been uploaded, drafted and published. Commit it.\n{body}");
        crate::fs_util::write_atomic(&path, text.as_bytes()).map_err(|source| LockError::Write { path, source })
    }

    /// Keys of the items whose publication is settled — published or sent (even if deleted
    /// since), or failed: nothing that links to them waits any longer (their links carry a URL
    /// if WeChat gave one, else stay text).
    pub fn settled_items(&self) -> std::collections::BTreeSet<String> {
        let finished = |status: &str| status != "publishing" && status != "sending";
        self.accounts
            .values()
            .flat_map(|account| account.pushes.values())
            .filter(|push| push.publication.as_ref().is_some_and(|p| finished(&p.status)))
            .flat_map(|push| push.items.iter().cloned())
            .collect()
    }

    /// Item key → the URL WeChat gave it, for every item of a finished publication.
    pub fn published_urls(&self) -> BTreeMap<String, String> {
        let mut urls = BTreeMap::new();
        for push in self.accounts.values().flat_map(|account| account.pushes.values()) {
            let Some(publication) = &push.publication else { continue };
            if publication.status == "published" || publication.status == "sent" {
                for (key, url) in push.items.iter().zip(&publication.article_urls) {
                    urls.insert(key.clone(), url.clone());
                }
            }
        }
        urls
    }

    pub fn account(&mut self, name: &str) -> &mut AccountLock {
        self.accounts.entry(name.to_string()).or_default()
    }
}
