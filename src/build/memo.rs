//! Renders remembered between runs: an item whose inputs are unchanged is not rendered again.
//!
//! An entry is reused only while everything its render read is the same: the item's source
//! (by sha256), its folder, the settings fingerprint (configuration, layouts, theme, wxpub's
//! version), the set of items, where each item it links to points, and its images — by content
//! hash through the stat cache when planned by content, by the item folder's listing (names,
//! types, sizes, mtimes) when planned by path; for a topic page, also the cards it gathers.
//!
//! Entries live in memory for one process (the preview) and, when the memo is persistent, under
//! `.wxpub/cache/renders/` too: one file per item and planning, a JSON line (everything but the
//! HTML) and then the HTML, so that a project's renders load without parsing 50 MB of JSON.
//! A missing, damaged or outdated file is a miss: the item is rendered and the file rewritten.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Rendered;
use crate::content::Item;
use crate::images::{ImageJob, ImageRequestError, ImageRole, Planning};
use crate::project::Project;
use crate::render::{LinkMode, TopicEntry};
use crate::state::file_hashes::FileHashes;
use crate::util::diagnostics::Diagnostic;
use crate::util::memo::Memo;

/// Where persistent entries live, under the project.
pub const RENDER_CACHE_DIR: &str = ".wxpub/cache/renders";
/// Bumped when the entry format changes (wxpub's version is in the settings fingerprint).
const FORMAT: u32 = 1;

/// Renders kept between builds; see the module documentation. `Default`: in memory only.
#[derive(Default)]
pub struct RenderMemo {
    memo: Memo<(Mode, String), (Inputs, Arc<Rendered>)>,
    /// See [`RenderMemo::expect_changes`].
    changed_since_last_build: std::sync::RwLock<Option<Arc<[PathBuf]>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    /// The build: images by content, links to published articles.
    Build,
    /// The preview: images by content, links to its own pages.
    Preview,
    /// `check`: images by path.
    Check,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Build, Mode::Preview, Mode::Check];

    fn of(project: &Project, planning: Planning<'_>) -> Mode {
        match (planning, project.links.mode) {
            (Planning::ByPath, _) => Mode::Check,
            (Planning::ByContent(_), LinkMode::Preview) => Mode::Preview,
            (Planning::ByContent(_), _) => Mode::Build,
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Mode::Build => "by-content",
            Mode::Preview => "by-content-preview",
            Mode::Check => "by-path",
        }
    }
}

/// What a render read, besides the items it links to and its images (kept in the render).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Inputs {
    key: String,
    settings: String,
    /// The set of items (`ItemLinks::items_fingerprint`); kept as `None` for a render that
    /// looked no link up among them, which holds whatever items are added or removed.
    items: Option<u64>,
    source_sha256: String,
    dir: PathBuf,
    /// The item folder's listing, when planned by path (see [`folder_listing`]).
    listing: Option<String>,
    /// A topic page's cards (sha256 of them), which come from the items it gathers.
    gathered: Option<String>,
}

impl RenderMemo {
    /// A memo kept under the project's `.wxpub/cache/renders/`, for a command that renders
    /// once (nothing is kept in memory).
    pub fn on_disk(project: &Path) -> RenderMemo {
        RenderMemo { memo: Memo::on_disk(project.join(RENDER_CACHE_DIR)), ..RenderMemo::default() }
    }

    /// A memo kept in memory, and on disk once [`RenderMemo::write_pending`] is called: for a
    /// process that renders again and again, and answers before it writes (the preview).
    pub fn on_disk_later_and_in_process(project: &Path) -> RenderMemo {
        RenderMemo { memo: Memo::on_disk_later_and_in_process(project.join(RENDER_CACHE_DIR)), ..RenderMemo::default() }
    }

    /// Writes the entries kept since the last call to disk.
    pub fn write_pending(&self) {
        self.memo.write_pending();
    }

    /// What changed under `content/` since the last build through this memo succeeded, as a file
    /// watcher saw it (`None`: unknown). Until the next call, an entry kept in memory is taken
    /// without a stat of its images unless one of them lies at or under one of these paths:
    /// at three years' scale that is 10,000 stats saved on every save in the preview.
    pub fn expect_changes(&self, changed: Option<&[PathBuf]>) {
        *self.changed_since_last_build.write().unwrap_or_else(|p| p.into_inner()) = changed.map(Arc::from);
    }

    /// The kept render of `item`, if everything it read is unchanged.
    pub(super) fn lookup(
        &self,
        project: &Project,
        item: &Item,
        planning: Planning<'_>,
        gathered: Option<&[TopicEntry]>,
    ) -> Lookup {
        let mode = Mode::of(project, planning);
        let Some(inputs) = inputs_of(project, item, mode, gathered) else { return Lookup::Miss(None) };
        let changed = self.changed_since_last_build.read().unwrap_or_else(|p| p.into_inner()).clone();
        let still_valid = |rendered: &Rendered, changed: Option<&[PathBuf]>| {
            links_unchanged(project, rendered)
                && match planning {
                    Planning::ByContent(hashes) => images_unchanged(project, rendered, hashes, changed),
                    Planning::ByPath => true, // the folder listing is part of the inputs
                }
        };
        let key = (mode, item.key());
        // Cloned out, so that the lock is not held while images are looked at.
        let in_memory = self.memo.in_memory(&key, |(kept, r)| kept.hold_for(&inputs).then(|| Arc::clone(r)));
        if let Some(rendered) = in_memory
            && still_valid(&rendered, changed.as_deref())
        {
            return Lookup::Hit(rendered);
        }
        // The preview renders as the build does but for links (they open preview pages), so
        // the build's entry serves an item whose links point where they do in the preview:
        // one with no link (`still_valid` compares the targets). A preview started after a
        // build then renders only the items with links, and the topic pages.
        let from_disk = |dir: &Path| {
            read_entry(&entry_path(dir, mode, &key.1), &inputs).or_else(|| {
                (mode == Mode::Preview && gathered.is_none())
                    .then(|| read_entry(&entry_path(dir, Mode::Build, &key.1), &inputs))
                    .flatten()
            })
        };
        if let Some(rendered) = self.memo.dir().and_then(from_disk)
            && still_valid(&rendered, None)
        {
            let rendered = Arc::new(rendered);
            self.memo.remember(key, || (inputs, Arc::clone(&rendered)));
            return Lookup::Hit(rendered);
        }
        Lookup::Miss(Some(inputs))
    }

    /// Keeps `rendered` for `item`, read from `inputs` (from [`RenderMemo::lookup`]'s miss).
    pub(super) fn store(
        &self,
        project: &Project,
        planning: Planning<'_>,
        mut inputs: Inputs,
        rendered: &Arc<Rendered>,
    ) {
        let mode = Mode::of(project, planning);
        if !rendered.looked_up_items {
            inputs.items = None;
        }
        // An image made by the build (a QR code) has no file to compare: render it each time.
        if rendered.images.iter().chain(&rendered.cover).any(|job| job.generated.is_some()) {
            return;
        }
        // A cache that cannot be written (or a path that is not UTF-8) only costs a render.
        if let Some(dir) = self.memo.dir() {
            let (path, inputs, rendered) = (entry_path(dir, mode, &inputs.key), inputs.clone(), Arc::clone(rendered));
            self.memo.write_file(path, move || entry_bytes(&inputs, &rendered));
        }
        self.memo.remember((mode, inputs.key.clone()), || (inputs, Arc::clone(rendered)));
    }

    /// Removes the files of items that no longer exist.
    pub(super) fn prune(&self, project: &Project) {
        let Some(dir) = self.memo.dir() else { return };
        for mode in Mode::ALL {
            let folder = dir.join(mode.folder());
            let Ok(listing) = std::fs::read_dir(&folder) else { continue };
            let names: Vec<std::ffi::OsString> = listing.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
            if names.len() <= project.items.len() {
                continue; // nothing can be left over
            }
            let current: HashSet<std::ffi::OsString> =
                project.items.iter().map(|item| entry_name(&item.key()).into()).collect();
            for name in names.into_iter().filter(|name| !current.contains(name)) {
                let _ = std::fs::remove_file(folder.join(name));
            }
        }
    }
}

/// What [`RenderMemo::lookup`] found.
pub(super) enum Lookup {
    Hit(Arc<Rendered>),
    /// Not kept, or outdated: render it, then store it under these inputs (`None`: it cannot
    /// be kept, as when its folder cannot be listed).
    Miss(Option<Inputs>),
}

impl Inputs {
    /// Whether a render kept with these inputs is the render of `current` ones.
    fn hold_for(&self, current: &Inputs) -> bool {
        // Destructured: a field added later cannot be forgotten here.
        let Inputs { key, settings, items, source_sha256, dir, listing, gathered } = self;
        *key == current.key
            && *settings == current.settings
            && items.is_none_or(|items| Some(items) == current.items)
            && *source_sha256 == current.source_sha256
            && *dir == current.dir
            && *listing == current.listing
            && *gathered == current.gathered
    }
}

fn inputs_of(project: &Project, item: &Item, mode: Mode, gathered: Option<&[TopicEntry]>) -> Option<Inputs> {
    let listing = match mode {
        Mode::Build | Mode::Preview => None,
        Mode::Check => Some(folder_listing(&item.dir)?),
    };
    Some(Inputs {
        key: item.key(),
        settings: project.settings_fingerprint.clone(),
        items: Some(project.links.items_fingerprint),
        source_sha256: item.source_sha256().to_string(),
        dir: item.dir.clone(),
        listing,
        gathered: match gathered {
            Some(entries) => Some(hex::encode(Sha256::digest(serde_json::to_vec(entries).ok()?))),
            None => None,
        },
    })
}

/// Every item it links to still points where it did (one was published meanwhile, say).
fn links_unchanged(project: &Project, rendered: &Rendered) -> bool {
    rendered.linked.iter().map(|key| project.links.href(key)).eq(rendered.link_targets.iter().cloned())
}

/// Every image still has the content it had (a stat each, through the remembered hashes) —
/// or, when `changed` names what changed since the entry was last found valid, lies in the
/// project's `content/` (which the watcher sees) and under none of those paths.
fn images_unchanged(project: &Project, rendered: &Rendered, hashes: &FileHashes, changed: Option<&[PathBuf]>) -> bool {
    let content = project.root.join("content");
    rendered.images.iter().chain(&rendered.cover).all(|job| {
        let untouched = |changed: &[PathBuf]| {
            job.source_path.starts_with(&content) && !changed.iter().any(|path| job.source_path.starts_with(path))
        };
        job.generated.is_none()
            && (changed.is_some_and(untouched)
                || std::fs::metadata(&job.source_path)
                    .and_then(|metadata| hashes.sha256(&job.source_path, &metadata))
                    .is_ok_and(|sha256| sha256 == job.source_sha256))
    })
}

/// A digest of everything under an item's folder — relative path, type, size and mtime — which
/// decides what a render planned by path finds (missing, oversized or non-regular images).
/// `None` when the folder cannot be listed, or holds a link (whose target may change unseen).
pub fn folder_listing(dir: &Path) -> Option<String> {
    let mut hasher = Sha256::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.ok()?;
        if entry.path_is_symlink() {
            return None;
        }
        let metadata = entry.metadata().ok()?;
        let mtime = metadata.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
        let kind = if metadata.is_file() {
            'f'
        } else if metadata.is_dir() {
            'd'
        } else {
            'o'
        };
        let relative = entry.path().strip_prefix(dir).ok()?;
        hasher.update(format!("{}\0{kind}\0{}\0{mtime}\n", relative.display(), metadata.len()).as_bytes());
    }
    Some(hex::encode(hasher.finalize()))
}

/// The file name of `key`'s entry in a cache folder (renders, findings).
pub fn entry_name(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..16])
}

fn entry_path(dir: &Path, mode: Mode, key: &str) -> PathBuf {
    dir.join(mode.folder()).join(entry_name(key))
}

/// One image of a kept render (every field: [`ImageJob`]'s own serialization is the manifest's).
#[derive(Serialize, Deserialize)]
struct StoredJob {
    source: String,
    source_path: PathBuf,
    item_file: PathBuf,
    line: usize,
    role: ImageRole,
    source_sha256: String,
    key: String,
}

impl StoredJob {
    fn of(job: &ImageJob) -> StoredJob {
        StoredJob {
            source: job.source.clone(),
            source_path: job.source_path.clone(),
            item_file: job.item_file.clone(),
            line: job.line,
            role: job.role.clone(),
            source_sha256: job.source_sha256.clone(),
            key: job.key.clone(),
        }
    }

    fn into_job(self) -> ImageJob {
        ImageJob {
            source: self.source,
            source_path: self.source_path,
            item_file: self.item_file,
            line: self.line,
            role: self.role,
            source_sha256: self.source_sha256,
            key: self.key,
            generated: None,
        }
    }
}

/// An entry's first line: the inputs and the render without its HTML.
#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    inputs: Inputs,
    references: usize,
    text: Option<String>,
    linked: Vec<String>,
    link_targets: Vec<Option<String>>,
    diagnostics: Vec<Diagnostic>,
    cover: Option<StoredJob>,
    images: Vec<StoredJob>,
    image_problems: Vec<ImageRequestError>,
}

fn entry_bytes(inputs: &Inputs, rendered: &Rendered) -> Option<Vec<u8>> {
    let header = Header {
        format: FORMAT,
        inputs: inputs.clone(),
        references: rendered.references,
        text: rendered.text.clone(),
        linked: rendered.linked.clone(),
        link_targets: rendered.link_targets.clone(),
        diagnostics: rendered.diagnostics.clone(),
        cover: rendered.cover.as_ref().map(StoredJob::of),
        images: rendered.images.iter().map(StoredJob::of).collect(),
        image_problems: rendered.image_problems.clone(),
    };
    // Compact JSON escapes every newline inside strings: the first b'\n' ends the header.
    let mut bytes = serde_json::to_vec(&header).ok()?;
    bytes.push(b'\n');
    bytes.extend_from_slice(rendered.html.as_bytes());
    Some(bytes)
}

fn read_entry(path: &Path, inputs: &Inputs) -> Option<Rendered> {
    let bytes = std::fs::read(path).ok()?;
    let newline = memchr::memchr(b'\n', &bytes)?;
    let header: Header = serde_json::from_slice(&bytes[..newline]).ok()?;
    if header.format != FORMAT || !header.inputs.hold_for(inputs) {
        return None;
    }
    let html = std::str::from_utf8(&bytes[newline + 1..]).ok()?.to_string();
    Some(Rendered {
        html,
        references: header.references,
        text: header.text,
        linked: header.linked,
        link_targets: header.link_targets,
        looked_up_items: header.inputs.items.is_some(),
        diagnostics: header.diagnostics,
        cover: header.cover.map(StoredJob::into_job),
        images: header.images.into_iter().map(StoredJob::into_job).collect(),
        image_problems: header.image_problems,
    })
}
