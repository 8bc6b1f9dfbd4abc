//! `publish.lock`: what has been written to WeChat, per account. TOML with sorted keys, written
//! atomically after every successful write, meant to be committed by CI.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "publish.lock";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
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
    pub pending: Option<PendingUpload>,
}

/// An upload started and not yet recorded as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PendingUpload {
    /// material/add_material (a cover, a poster, a GIF): found again by its content-hash name.
    Material,
}

/// A write to a push started and not yet recorded as done: the next run asks the server
/// whether it happened before writing again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PendingWrite {
    /// draft/add: the draft is looked for by its titles.
    DraftAdd,
    /// draft/update: the server's draft may hold this run's write (all of it, or the first
    /// articles of the push) without publish.lock saying so — a change there is not an edit
    /// made in the web backend, and the update is made again.
    DraftUpdate,
    /// freepublish/submit: a submitted draft leaves the draft box.
    Submit,
    /// message/mass/sendall: repeated with the same clientmsgid, which WeChat answers with the
    /// first send.
    Masssend,
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
    /// A write was started and its answer not recorded: the next run reconciles with the server
    /// before writing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingWrite>,
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
    pub mode: PublicationMode,
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
    pub status: PublicationStatus,
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

/// How a push went out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicationMode {
    /// freepublish/submit: published to the account's page, no push to followers.
    #[default]
    Publish,
    /// message/mass/sendall: sent to every follower.
    Masssend,
}

impl PublicationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PublicationMode::Publish => "publish",
            PublicationMode::Masssend => "masssend",
        }
    }
}

/// Where a publication stands. publish.lock holds it as text (`published`, `failed: …`), the
/// text every released wxpub has written, so that a lock stays readable across versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PublicationStatus {
    /// Submitted to freepublish; WeChat is still at it (review, originality check).
    #[default]
    Publishing,
    Published,
    /// freepublish status 5.
    PublishedThenDeleted,
    /// freepublish status 6.
    PublishedThenBanned,
    /// Mass send accepted; with send protection on, an administrator still has to confirm it.
    Sending,
    Sent,
    /// mass/get's `DELETE`.
    SentThenDeleted,
    /// WeChat did not publish or send it; why, in a sentence.
    Failed(String),
}

impl PublicationStatus {
    const TEXTS: [(&'static str, PublicationStatus); 7] = [
        ("publishing", PublicationStatus::Publishing),
        ("published", PublicationStatus::Published),
        ("published, then deleted by the account", PublicationStatus::PublishedThenDeleted),
        ("published, then banned by the platform", PublicationStatus::PublishedThenBanned),
        ("sending", PublicationStatus::Sending),
        ("sent", PublicationStatus::Sent),
        ("sent, then deleted by the account", PublicationStatus::SentThenDeleted),
    ];

    /// Still running at WeChat: settled by a later look.
    pub fn is_running(&self) -> bool {
        matches!(self, PublicationStatus::Publishing | PublicationStatus::Sending)
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, PublicationStatus::Failed(_))
    }

    /// Published or sent and still standing (not deleted or banned since): what readers can
    /// open, and what the yearly figures and the archive count.
    pub fn is_standing(&self) -> bool {
        matches!(self, PublicationStatus::Published | PublicationStatus::Sent)
    }

    fn parse(text: &str) -> Option<PublicationStatus> {
        if let Some(reason) = text.strip_prefix("failed") {
            return Some(PublicationStatus::Failed(reason.trim_start_matches(':').trim().to_string()));
        }
        Self::TEXTS.iter().find(|(known, _)| *known == text).map(|(_, status)| status.clone())
    }
}

impl std::fmt::Display for PublicationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicationStatus::Failed(reason) if reason.is_empty() => f.write_str("failed"),
            PublicationStatus::Failed(reason) => write!(f, "failed: {reason}"),
            known => {
                let text = Self::TEXTS.iter().find(|(_, status)| status == known).map_or("", |(text, _)| text);
                f.write_str(text)
            }
        }
    }
}

impl Serialize for PublicationStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicationStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublicationStatus::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown publication status {text:?}: expected publishing, published, sending, sent, or failed: <why>"
            ))
        })
    }
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

impl Ledger {
    pub fn path(project: &Path) -> PathBuf {
        project.join(LOCK_FILE)
    }

    /// The lock in `project`, or an empty one when there is none yet.
    pub fn load(project: &Path) -> Result<Ledger, LockError> {
        let path = Ledger::path(project);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| LockError::Read { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(LockError::Read { path, message: e.to_string() }),
        }
    }

    /// Writes the whole lock through a temporary file and a rename: a crash leaves the old or the
    /// new lock, never half of one.
    pub fn save(&self, project: &Path) -> Result<(), LockError> {
        let path = Ledger::path(project);
        let body = toml::to_string(self)
            .map_err(|e| LockError::Write { path: path.clone(), source: std::io::Error::other(e) })?;
        let text =
            format!("# Written by wxpub publish: what has been uploaded, drafted and published. Commit it.\n{body}");
        crate::util::fs::write_atomic(&path, text.as_bytes()).map_err(|source| LockError::Write { path, source })
    }

    /// Keys of the items whose publication is settled — published or sent (even if deleted
    /// since), or failed: nothing that links to them waits any longer (their links carry a URL
    /// if WeChat gave one, else stay text).
    pub fn settled_items(&self) -> std::collections::BTreeSet<String> {
        self.accounts
            .values()
            .flat_map(|account| account.pushes.values())
            .filter(|push| push.publication.as_ref().is_some_and(|p| !p.status.is_running()))
            .flat_map(|push| push.items.iter().cloned())
            .collect()
    }

    /// Item key → the URL WeChat gave it, for every item of a finished publication.
    pub fn published_urls(&self) -> BTreeMap<String, String> {
        let mut urls = BTreeMap::new();
        for push in self.accounts.values().flat_map(|account| account.pushes.values()) {
            let Some(publication) = &push.publication else { continue };
            if publication.status.is_standing() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A publish.lock as wxpub 0.1 (before these fields were types) writes it, with every
    /// status, mode and pending write it can hold: read, and written back byte for byte.
    const WRITTEN_BY_0_1: &str = include_str!("../../tests/fixtures/publish-lock-0.1.toml");

    #[test]
    fn a_lock_written_before_the_types_reads_and_writes_back_unchanged() {
        let lock: Ledger = toml::from_str(WRITTEN_BY_0_1).unwrap();
        let service = &lock.accounts["service"];
        assert_eq!(service.media["aa"].pending, Some(PendingUpload::Material));
        let push = |account: &str, slot: &str| lock.accounts[account].pushes[slot].clone();
        let first = push("service", "2026-12-01T01:00:00Z");
        assert_eq!(first.pending, Some(PendingWrite::Submit));
        assert_eq!(first.publication.as_ref().unwrap().status, PublicationStatus::Publishing);
        let failed = push("service", "2026-12-02T01:00:00Z");
        assert_eq!(failed.pending, Some(PendingWrite::DraftAdd));
        assert_eq!(failed.publication.unwrap().status, PublicationStatus::Failed("rejected by platform review".into()));
        assert_eq!(
            push("service", "2026-12-03T01:00:00Z").publication.unwrap().status,
            PublicationStatus::PublishedThenDeleted
        );
        let sending = push("subscription", "2026-12-04T01:00:00Z");
        assert_eq!(sending.pending, Some(PendingWrite::Masssend));
        let sending = sending.publication.unwrap();
        assert_eq!((sending.mode, sending.status), (PublicationMode::Masssend, PublicationStatus::Sending));
        assert_eq!(toml::to_string(&lock).unwrap(), WRITTEN_BY_0_1);
    }

    #[test]
    fn every_status_reads_back_as_written() {
        for status in [
            PublicationStatus::Publishing,
            PublicationStatus::Published,
            PublicationStatus::PublishedThenDeleted,
            PublicationStatus::PublishedThenBanned,
            PublicationStatus::Sending,
            PublicationStatus::Sent,
            PublicationStatus::SentThenDeleted,
            PublicationStatus::Failed("originality check failed".into()),
            PublicationStatus::Failed(String::new()),
        ] {
            assert_eq!(PublicationStatus::parse(&status.to_string()), Some(status));
        }
    }

    #[test]
    fn an_unknown_status_names_the_field_and_what_is_expected() {
        let text = WRITTEN_BY_0_1.replacen("status = \"sending\"", "status = \"queued\"", 1);
        let error = toml::from_str::<Ledger>(&text).unwrap_err().to_string();
        assert!(error.contains("unknown publication status \"queued\"") && error.contains("status"), "{error}");
    }
}
