//! PROJECT: everything a stage needs to know about a project — its configuration, its items,
//! its layouts and theme — loaded once and handed to every stage, as mdBook hands its `Book`
//! and Zola its `Site` around.
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::content::{self, ContentError, Item};
use crate::render::{ItemLinks, Layouts, RenderError};
use crate::state::file_hashes::FileHashes;
use crate::state::ledger::Ledger;

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
        let published = Ledger::load(root).map(|lock| lock.published_urls()).unwrap_or_default();
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

    /// This project after the files at `changed` (absolute paths, as a file watcher names them)
    /// were edited, with only the items they lie in read again — what a preview does on a save,
    /// where loading all of a three-year project costs a hundred milliseconds. `None` when that
    /// is not enough and the project must be loaded again: the configuration, a layout or a
    /// theme changed, an item folder appeared or went, an item no longer reads, or an item did
    /// not read before.
    pub fn with_items_reread(mut self, changed: &[PathBuf]) -> Option<Project> {
        if !self.unreadable.is_empty() {
            return None;
        }
        let content = self.root.join("content");
        let mut reread = std::collections::BTreeSet::new();
        for path in changed {
            let mut parts = path.strip_prefix(&content).ok()?.components();
            // `articles/SLUG/…`: a file inside an item's folder, not the folder itself.
            let (Some(kind), Some(slug), Some(_)) = (parts.next(), parts.next(), parts.next()) else { return None };
            let key = format!("{}/{}", kind.as_os_str().to_str()?, slug.as_os_str().to_str()?);
            reread.insert(self.items.iter().position(|item| item.key() == key)?);
        }
        for index in reread {
            let old = &self.items[index];
            let index_md = old.dir.join("index.md");
            let item = content::load_item(&self.root, old.kind, old.slug.clone(), old.dir.clone(), &index_md).ok()?;
            self.items[index] = item;
        }
        Some(self)
    }

    /// `publish.lock`, which links between items read (where published articles are).
    pub fn lock_path(&self) -> PathBuf {
        Ledger::path(&self.root)
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

/// See [`Project::settings_fingerprint`].
pub(crate) fn settings_fingerprint(root: &Path, config: &Config) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = "---\ntitle: 标题\naccount: service\n---\n正文。\n";

    fn project() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("publish.toml"),
            "[site]\nname = \"馆\"\n\n[accounts.service]\nname = \"服务号\"\nkind = \"service\"\nappid_env = \"A\"\nsecret_env = \"S\"\n",
        )
        .unwrap();
        for slug in ["2026-12-01-a", "2026-12-02-b"] {
            std::fs::create_dir_all(root.join("content/articles").join(slug)).unwrap();
            std::fs::write(root.join("content/articles").join(slug).join("index.md"), ITEM).unwrap();
        }
        let project = Project::load(root).unwrap();
        (dir, project)
    }

    #[test]
    fn a_save_inside_an_item_rereads_that_item_only() {
        let (_dir, project) = project();
        let a = project.root.join("content/articles/2026-12-01-a");
        std::fs::write(a.join("index.md"), ITEM.replace("标题", "新标题")).unwrap();
        std::fs::write(project.root.join("content/articles/2026-12-02-b/index.md"), ITEM.replace("标题", "未读"))
            .unwrap();
        let reread = project.with_items_reread(&[a.join("index.md"), a.join("photo.jpg")]).expect("items re-read");
        assert_eq!(reread.items[0].meta.title, "新标题");
        // The other item was not named: it is kept as it was loaded.
        assert_eq!(reread.items[1].meta.title, "标题");
    }

    #[test]
    fn anything_else_asks_for_a_full_load() {
        let (_dir, project) = project();
        let root = project.root.clone();
        let a = root.join("content/articles/2026-12-01-a");
        let cases = [
            root.join("publish.toml"),
            root.join("layouts/article.html"),
            root.join("layouts/themes/museum.toml"),
            // An item folder itself (added, removed, renamed), or one that is no item yet.
            a.clone(),
            root.join("content/articles/2026-12-03-new/index.md"),
            root.join("content/articles"),
        ];
        for changed in cases {
            let (_dir, project) = self::project();
            let changed = project.root.join(changed.strip_prefix(&root).unwrap());
            assert!(project.with_items_reread(std::slice::from_ref(&changed)).is_none(), "{}", changed.display());
        }
        // An item that no longer reads.
        std::fs::write(a.join("index.md"), "---\ntitel: x\n---\n").unwrap();
        assert!(project.with_items_reread(&[a.join("index.md")]).is_none());
    }
}
