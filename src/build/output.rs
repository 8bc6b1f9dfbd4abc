//! Writing `dist/`: only what changed, one item at a time, each item swapped in whole.
//!
//! Every item folder carries a fingerprint of what it holds (`.wxpub-fingerprint`); an item whose
//! fingerprint is unchanged and whose files are all there is not touched, so an unchanged build
//! writes nothing. A changed item is written into a staging folder and swapped with the old one
//! in one step (an atomic exchange on Linux), so a build killed midway leaves every item either
//! as it was or as it is now; the manifest is replaced last. The next build repairs the rest:
//! folders whose fingerprint does not match are written again, leftovers are removed.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Marks a folder as written by wxpub (so that it may be replaced), from the first write on.
const OWNER_MARK: &str = ".wxpub-output";
const FINGERPRINT_FILE: &str = ".wxpub-fingerprint";
const STAGING_DIR: &str = ".wxpub-staging";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path} is a file, not a folder: the build is written there — move the file away or choose another --out")]
    NotAFolder { path: PathBuf },
    #[error(
        "{path} exists and was not written by wxpub (no manifest.json); refusing to replace it — choose another --out or remove it"
    )]
    NotOurs { path: PathBuf },
    #[error(
        "cannot replace {path}: {folder} is read-only — make it writable (chmod -R u+w {folder}) or choose another --out"
    )]
    ReadOnly { path: PathBuf, folder: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot write the manifest: {0}")]
    Manifest(serde_json::Error),
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Write { path: path.to_path_buf(), source }
}

/// One item's files, as they should be.
pub struct OutputItem<'a> {
    /// `articles/2026-12-01-ding`, relative to the output folder.
    pub folder: String,
    pub title: &'a str,
    pub content_html: &'a str,
    /// Processed images to place in `images/`, by their file name in the image cache.
    pub images: Vec<&'a str>,
    /// Written exactly so by an earlier build of this process, which nothing else changes: not
    /// looked at again.
    pub written_before: bool,
}

impl OutputItem<'_> {
    fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [crate::images::PIPELINE_VERSION, self.title, self.content_html] {
            hasher.update(part.len().to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let mut images = self.images.clone();
        images.sort_unstable();
        for image in images {
            hasher.update(image.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }
}

/// What writing did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteReport {
    pub items_written: usize,
    pub items_unchanged: usize,
    pub items_removed: usize,
    pub manifest_written: bool,
}

/// Brings `output_dir` to exactly `items` plus `manifest.json`, touching only what differs.
pub fn write(
    output_dir: &Path,
    items: &[OutputItem<'_>],
    manifest: &super::Manifest,
    cache_dir: &Path,
) -> Result<WriteReport, OutputError> {
    claim(output_dir)?;
    let staging_root = output_dir.join(STAGING_DIR);
    remove_if_present(&staging_root)?;

    // The manifest is serialised while the items are looked at (much of that is waiting on
    // the disk): at three years' scale each takes tens of milliseconds.
    let (manifest_json, outcomes): (_, Vec<Result<bool, OutputError>>) = rayon::join(
        || serde_json::to_string_pretty(manifest).map(|json| json + "\n").map_err(OutputError::Manifest),
        || items.par_iter().map(|item| write_or_keep(output_dir, &staging_root, item, cache_dir)).collect(),
    );
    let mut report = WriteReport::default();
    let mut first_error = None;
    for outcome in outcomes {
        match outcome {
            Ok(true) => report.items_written += 1,
            Ok(false) => report.items_unchanged += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let manifest_json = match (first_error, manifest_json) {
        (None, Ok(json)) => json,
        (Some(error), _) | (None, Err(error)) => {
            let _ = std::fs::remove_dir_all(&staging_root);
            return Err(error);
        }
    };
    let manifest_json = manifest_json.as_bytes();

    let manifest_path = output_dir.join("manifest.json");
    if std::fs::read(&manifest_path).ok().as_deref() != Some(manifest_json) {
        crate::util::fs::write_atomic(&manifest_path, manifest_json).map_err(write_error(&manifest_path))?;
        report.manifest_written = true;
    }
    report.items_removed = remove_stale(output_dir, items)?;
    remove_if_present(&staging_root)?;
    Ok(report)
}

/// Leaves `item`'s folder as it is when it already holds exactly this (`Ok(false)`), or
/// writes it anew (`Ok(true)`).
fn write_or_keep(
    output_dir: &Path,
    staging_root: &Path,
    item: &OutputItem<'_>,
    cache_dir: &Path,
) -> Result<bool, OutputError> {
    if item.written_before {
        return Ok(false);
    }
    let fingerprint = item.fingerprint();
    let dir = output_dir.join(&item.folder);
    if is_current(&dir, item, &fingerprint) {
        return Ok(false);
    }
    write_item(&dir, staging_root, item, &fingerprint, cache_dir).map(|()| true)
}

/// Refuses a path that is a file, or a folder wxpub did not write; marks the folder as ours.
fn claim(output_dir: &Path) -> Result<(), OutputError> {
    if output_dir.exists() && !output_dir.is_dir() {
        return Err(OutputError::NotAFolder { path: output_dir.to_path_buf() });
    }
    let ours = output_dir.join("manifest.json").exists() || output_dir.join(OWNER_MARK).exists();
    if output_dir.exists() && !ours {
        let empty = std::fs::read_dir(output_dir).map_err(write_error(output_dir))?.next().is_none();
        if !empty {
            return Err(OutputError::NotOurs { path: output_dir.to_path_buf() });
        }
    }
    let mark = output_dir.join(OWNER_MARK);
    if !mark.exists() {
        crate::util::fs::write_atomic(
            &mark,
            b"Written by wxpub build; every file here is replaced by the next build.\n",
        )
        .map_err(write_error(&mark))?;
    }
    Ok(())
}

/// Whether the item's folder already holds exactly this: its fingerprint matches and every
/// file is there (someone may have deleted one by hand).
fn is_current(dir: &Path, item: &OutputItem<'_>, fingerprint: &str) -> bool {
    // One listing of images/ rather than a stat per image: at year scale that is most of the
    // cost of an unchanged build.
    let present = |folder: &Path| -> std::collections::HashSet<std::ffi::OsString> {
        std::fs::read_dir(folder)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default()
    };
    if !std::fs::read_to_string(dir.join(FINGERPRINT_FILE)).is_ok_and(|f| f.trim() == fingerprint) {
        return false;
    }
    let files = present(dir);
    let images = present(&dir.join("images"));
    files.contains(std::ffi::OsStr::new("content.html"))
        && files.contains(std::ffi::OsStr::new("index.html"))
        && item.images.iter().all(|image| images.contains(std::ffi::OsStr::new(image)))
}

fn write_item(
    dir: &Path,
    staging_root: &Path,
    item: &OutputItem<'_>,
    fingerprint: &str,
    cache_dir: &Path,
) -> Result<(), OutputError> {
    let staging = staging_root.join(item.folder.replace('/', "--"));
    let images = staging.join("images");
    std::fs::create_dir_all(&images).map_err(write_error(&images))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = staging.join(name);
        std::fs::write(&path, bytes).map_err(write_error(&path))
    };
    write("content.html", item.content_html.as_bytes())?;
    write("index.html", browser_page(item.title, item.content_html).as_bytes())?;
    for image in &item.images {
        let target = images.join(image);
        if target.exists() {
            continue;
        }
        // The cache's files are named by their content and never rewritten in place, so a hard
        // link is as safe as a copy and costs no bytes; across file systems, copy.
        let cached = crate::images::cached_file(cache_dir, image);
        if std::fs::hard_link(&cached, &target).is_err() {
            std::fs::copy(&cached, &target).map_err(write_error(&target))?;
        }
    }
    write(FINGERPRINT_FILE, format!("{fingerprint}\n").as_bytes())?;
    swap_in(&staging, dir)
}

/// Puts `staging` where `dir` is, in one step when `dir` exists (Linux), and removes the old.
fn swap_in(staging: &Path, dir: &Path) -> Result<(), OutputError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(write_error(parent))?;
    let read_only = || {
        std::fs::metadata(parent)
            .is_ok_and(|m| m.permissions().readonly())
            .then(|| OutputError::ReadOnly { path: dir.to_path_buf(), folder: parent.to_path_buf() })
    };
    // A folder made read-only says "leave this alone", also to root, whom the OS would let through.
    if let Some(refused) = read_only() {
        return Err(refused);
    }
    if !dir.exists() {
        return std::fs::rename(staging, dir).map_err(|e| read_only().unwrap_or_else(|| write_error(dir)(e)));
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        if renameat_with(CWD, staging, CWD, dir, RenameFlags::EXCHANGE).is_ok() {
            // `staging` now holds the old folder.
            return std::fs::remove_dir_all(staging).map_err(write_error(staging));
        }
    }
    // Without an atomic exchange: the old folder goes aside, the new one in, the old away. A
    // build killed between the two renames leaves the item missing; the next build writes it.
    let aside = staging.with_file_name(format!(
        "{}.old",
        staging.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    std::fs::rename(dir, &aside).map_err(|e| read_only().unwrap_or_else(|| write_error(dir)(e)))?;
    if let Err(e) = std::fs::rename(staging, dir) {
        let _ = std::fs::rename(&aside, dir);
        return Err(write_error(dir)(e));
    }
    std::fs::remove_dir_all(&aside).map_err(write_error(&aside))
}

/// Removes item folders that no item produces any more (deleted or renamed items, drafts).
fn remove_stale(output_dir: &Path, items: &[OutputItem<'_>]) -> Result<usize, OutputError> {
    let wanted: BTreeSet<&str> = items.iter().map(|i| i.folder.as_str()).collect();
    let mut removed = 0;
    for kind in crate::content::Kind::ALL {
        let kind_dir = output_dir.join(kind.folder());
        let Ok(entries) = std::fs::read_dir(&kind_dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let folder = format!("{}/{}", kind.folder(), entry.file_name().to_string_lossy());
            if !wanted.contains(folder.as_str()) {
                let path = entry.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(write_error(&path))?;
                } else {
                    std::fs::remove_file(&path).map_err(write_error(&path))?;
                }
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn remove_if_present(path: &Path) -> Result<(), OutputError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_error(path)(e)),
        _ => Ok(()),
    }
}

/// `content.html` wrapped so that it opens in a browser at phone width, with nothing added that
/// could style it (the fragment must carry its own inline styles).
fn browser_page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n<body style=\"margin: 0 auto; max-width: 677px; padding: 16px;\">\n{content}\n</body>\n</html>\n",
        crate::util::html::escape(title)
    )
}
