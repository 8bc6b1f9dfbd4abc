//! Naming items safely, and their diagnostics: what the read and write tools share.
use std::path::{Component, Path, PathBuf};

use super::ToolError;
use crate::check::{CheckOptions, CheckReport};
use crate::content::{self, Kind};

/// An item found under `content/` by the name an assistant gave.
#[derive(Debug, Clone)]
pub(super) struct Located {
    /// `articles/2026-12-01-ding-story`.
    pub key: String,
    pub kind: Kind,
    pub slug: String,
    pub dir: PathBuf,
    /// Its `index.md`.
    pub index: PathBuf,
}

/// The item `name` names — its key (`articles/2026-12-01-ding-story`), its folder name, or
/// either as a `content/` path — among the items under `root/content`. A name that could lead
/// anywhere else (`..`, an absolute path, a link out of `content/`) is refused before anything
/// is looked up.
pub(super) fn locate(root: &Path, name: &str) -> Result<Located, ToolError> {
    let name = name.trim();
    let leaves = Path::new(name)
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_)));
    if leaves || name.contains('\\') {
        return Err(ToolError::OutsideContent(name.to_string()));
    }
    let key = name.trim_start_matches("./").trim_start_matches("content/");
    let key = key.trim_end_matches('/').trim_end_matches("/index.md");
    let found: Vec<Located> = content::discover(root)?
        .into_iter()
        .filter(|(kind, slug, _, _)| key == format!("{}/{slug}", kind.folder()) || key == slug)
        .map(|(kind, slug, dir, index)| Located { key: format!("{}/{slug}", kind.folder()), kind, slug, dir, index })
        .collect();
    let located = match <[Located; 1]>::try_from(found) {
        Ok([one]) => one,
        Err(found) if found.is_empty() => return Err(ToolError::UnknownItem(name.to_string())),
        Err(found) => {
            let keys: Vec<&str> = found.iter().map(|l| l.key.as_str()).collect();
            return Err(ToolError::Arguments(format!("`{name}` names {}: give the key", keys.join(" and "))));
        }
    };
    // A folder or index.md that is a link to elsewhere is not the project's to write.
    let content_dir = root.join("content").canonicalize().map_err(|e| ToolError::Refused(e.to_string()))?;
    let real = located.index.canonicalize().map_err(|e| ToolError::Refused(e.to_string()))?;
    if !real.starts_with(&content_dir) {
        return Err(ToolError::OutsideContent(name.to_string()));
    }
    Ok(located)
}

/// `wxpub check` (with `--fix` when `fix`) over the items `keys` (every item when empty), at
/// the session's "now".
pub(super) fn check(root: &Path, keys: &[String], fix: bool) -> Result<CheckReport, ToolError> {
    let paths = keys.iter().map(|key| Path::new("content").join(key)).collect();
    let options = CheckOptions { paths, now: crate::util::clock::now(), fix };
    Ok(crate::check::check_project(root, &options)?)
}
