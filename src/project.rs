//! PROJECT: everything a stage needs to know about a project — its configuration, its items,
//! its layouts and theme — loaded once and handed to every stage, as mdBook hands its `Book`
//! and Zola its `Site` around.
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::content::{self, ContentError, Item};
use crate::file_hashes::FileHashes;
use crate::publish::lock::Lock;
use crate::render::{ItemLinks, Layouts, RenderError};

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Content(#[from] ContentError),
}

/// A loaded project. Items that cannot be read are kept as their errors, and broken layouts as
/// theirs, so that `check` can report them while `build` refuses them.
pub struct Project {
    /// The project folder (the one holding publish.toml).
    pub root: PathBuf,
    pub config: Config,
    /// Every readable item, sorted by kind then slug.
    pub items: Vec<Item>,
    /// Items whose source could not be read or parsed (encoding, front matter).
    pub unreadable: Vec<ContentError>,
    pub layouts: Result<Layouts, RenderError>,
    /// sha256 of everything besides an item's own files that its render depends on: the
    /// configuration and every file under `layouts/`. Renders kept from an earlier build are
    /// reused only while this is unchanged.
    pub settings_fingerprint: String,
    /// What links between items resolve to: the items, and the URLs of those published
    /// (from publish.lock). A preview sets its mode to link to its own pages.
    pub links: ItemLinks,
}

impl Project {
    pub fn load(root: &Path) -> Result<Project, ProjectError> {
        // Absolute and resolved once: item folders, and the source hashes keyed by their paths,
        // are then the same whichever folder wxpub was started in.
        let root = &root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let config = Config::load(root)?;
        let (items, unreadable) = content::load_all(root)?;
        let layouts = Layouts::load(&root.join("layouts"), &config);
        let settings_fingerprint = settings_fingerprint(root, &config);
        // A lock that cannot be read leaves links as text here; `publish` and `status`, which
        // need the lock itself, report it.
        let published = Lock::load(root).map(|lock| lock.published_urls()).unwrap_or_default();
        let links = ItemLinks::new(&items, published);
        Ok(Project { root: root.to_path_buf(), config, items, unreadable, layouts, settings_fingerprint, links })
    }

    /// The project and its remembered source hashes ([`FileHashes::load`]), read at the same
    /// time: at three years' scale each takes tens of milliseconds.
    pub fn load_with_hashes(root: &Path) -> (Result<Project, ProjectError>, FileHashes) {
        std::thread::scope(|scope| {
            let hashes = scope.spawn(|| FileHashes::load(root));
            let project = Project::load(root);
            (project, hashes.join().unwrap_or_else(|_| FileHashes::load(root)))
        })
    }

    /// The item with this key (`articles/2026-12-01-ding`).
    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.key() == key)
    }

    /// The items, or the first reason they cannot all be built: an unreadable item, or none.
    pub fn buildable_items(&self) -> Result<&[Item], &ContentError> {
        if let Some(problem) = self.unreadable.first() {
            return Err(problem);
        }
        Ok(&self.items)
    }

    /// The layouts, or why they cannot be loaded.
    pub fn layouts(&self) -> Result<&Layouts, &RenderError> {
        self.layouts.as_ref()
    }
}

fn settings_fingerprint(root: &Path, config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    // Renders and findings are kept on disk under this fingerprint: a rebuilt wxpub of the same
    // version (a developer's, or a patched one) may render or check differently.
    if let Some(binary) = std::env::current_exe().ok().and_then(|exe| std::fs::metadata(exe).ok()) {
        hasher.update(format!("{} {:?}", binary.len(), binary.modified().ok()).as_bytes());
    }
    // Debug output covers every field and is stable within one wxpub version.
    hasher.update(format!("{config:?}").as_bytes());
    let layouts = root.join("layouts");
    for entry in walkdir::WalkDir::new(&layouts).sort_by_file_name().into_iter().filter_map(Result::ok) {
        if entry.file_type().is_file() {
            hasher.update(entry.path().strip_prefix(&layouts).unwrap_or(entry.path()).to_string_lossy().as_bytes());
            // An unreadable file changes the fingerprint too (and fails the layouts' own load).
            match std::fs::read(entry.path()) {
                Ok(bytes) => hasher.update(&bytes),
                Err(e) => hasher.update(e.to_string().as_bytes()),
            }
        }
    }
    hex::encode(hasher.finalize())
}
