//! The last build's record: every file it read and every file it left in the output, by stat
//! data. While none of them changed, building again would render, process and write exactly
//! what is already there, so `wxpub build` can say so after a stat of each, without loading
//! the project. At three years' scale that is about 18,000 stats instead of reading 60 MB of
//! sources, kept renders and manifest.
//!
//! make and cargo decide this by mtimes; the record compares size, mtime, ctime and inode, with
//! git's rule for racy timestamps ([`trusted`]). An input changed shortly before the build
//! began reading is not trusted, nor is one changed while it ran. An output changed shortly
//! before the record was taken is not trusted either. Nobody can set a ctime back, so a file
//! that changed and was put back still differs. A record that is missing or damaged, from
//! another wxpub, for another output folder, or for another choice of drafts, only means that
//! the build runs.
//!
//! What the record watches:
//! - the settings fingerprint (configuration, layouts, theme, the wxpub binary);
//! - the list of items;
//! - every item's `index.md` and every image a render planned;
//! - `publish.lock`, because links point at published articles;
//! - in the output: the folder itself, `manifest.json`, each kind's folder, and each item's
//!   folder, `images/` folder and written files. A folder's mtime moves when an entry in it is added, removed or
//!   renamed.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Build;
use crate::content::{self, Kind};
use crate::project::Project;
use crate::state::file_hashes::{Stamp, now_ns, trusted};

/// Where the record lives, under the project.
pub const RECORD_FILE: &str = ".wxpub/cache/last-build.json";
/// Bumped when the record's format or what it watches changes.
const FORMAT: u32 = 1;
/// The files an item's output folder holds besides its images (see `output.rs`).
const ITEM_FILES: [&str; 3] = ["content.html", "index.html", ".wxpub-fingerprint"];

/// What a build said about itself: kept in the record, so that a build that finds nothing to
/// do says the same.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildSummary {
    pub articles: usize,
    pub posters: usize,
    pub topics: usize,
    /// Images in the output (covers included).
    pub images: usize,
    /// The renderer's diagnostics, as printed.
    pub warnings: Vec<String>,
    /// The image pipeline's notes, as printed.
    pub notes: Vec<String>,
}

impl BuildSummary {
    pub fn of(build: &Build) -> BuildSummary {
        let items = &build.manifest.items;
        let count = |kind| items.iter().filter(|i| i.kind == kind).count();
        BuildSummary {
            articles: count(Kind::Article),
            posters: count(Kind::Poster),
            topics: count(Kind::Topic),
            images: items.iter().map(|i| i.images.len() + usize::from(i.cover.is_some())).sum(),
            warnings: build.diagnostics.iter().map(ToString::to_string).collect(),
            notes: build.image_notes.clone(),
        }
    }

    pub fn items(&self) -> usize {
        self.articles + self.posters + self.topics
    }
}

/// A file as the record saw it: its path (relative to the project, or for outputs to the
/// output folder) and its stat data, `None` when it did not exist.
type Seen = (PathBuf, Option<Stamp>);

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    format: u32,
    settings: String,
    /// The output folder, absolute and resolved.
    output_dir: PathBuf,
    drafts: bool,
    /// When the build began reading, and when the outputs were looked at (ns since the epoch).
    started_ns: i128,
    finished_ns: i128,
    /// Every item's `index.md`, in the order the project lists them.
    sources: Vec<Seen>,
    /// Every image a render planned, and `publish.lock`.
    inputs: Vec<Seen>,
    outputs: Vec<Seen>,
    summary: BuildSummary,
}

/// The build found nothing to do: what the last one said, and how much it looked at to know.
#[derive(Debug)]
pub struct UpToDate {
    pub summary: BuildSummary,
    /// As a build would name it (not resolved).
    pub output_dir: PathBuf,
    /// Files and folders whose stat data was compared.
    pub files_checked: usize,
}

/// The output folder a build of `root` writes to: `out`, or the configuration's `output_dir`.
pub fn output_dir(root: &Path, out: Option<&Path>, configured: &Path) -> PathBuf {
    out.map_or_else(|| root.join(configured), Path::to_path_buf)
}

/// Whether building `project_dir` into `out` (the configured folder when `None`) would change
/// nothing: the last build's record, when every file it names is as it was.
pub fn up_to_date(project_dir: &Path, out: Option<&Path>, drafts: bool) -> Option<UpToDate> {
    let root = project_dir.canonicalize().ok()?;
    let bytes = std::fs::read(root.join(RECORD_FILE)).ok()?;
    let stored: Stored = serde_json::from_slice(&bytes).ok()?;
    if stored.format != FORMAT || stored.drafts != drafts {
        return None;
    }
    let config = crate::config::Config::load(&root).ok()?;
    let shown_output = output_dir(project_dir, out, &config.site.output_dir);
    let output = shown_output.canonicalize().ok()?;
    if output != stored.output_dir || crate::project::settings_fingerprint(&root, &config) != stored.settings {
        return None;
    }
    // The same items, in the same order (an item folder added, removed or renamed).
    let discovered = content::discover(&root).ok()?;
    if discovered.len() != stored.sources.len()
        || discovered
            .iter()
            .zip(&stored.sources)
            .any(|((.., index), (path, _))| index.strip_prefix(&root).ok() != Some(path))
    {
        return None;
    }
    let unchanged = |base: &Path, seen: &[Seen], read_at_ns: i128| {
        seen.par_iter().all(|(path, kept)| match (kept, std::fs::metadata(base.join(path))) {
            (Some(kept), Ok(now)) => trusted(kept, read_at_ns, &Stamp::of(&now)),
            (None, Err(e)) => e.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        })
    };
    let (inputs, outputs) = rayon::join(
        || unchanged(&root, &stored.sources, stored.started_ns) && unchanged(&root, &stored.inputs, stored.started_ns),
        || unchanged(&output, &stored.outputs, stored.finished_ns),
    );
    (inputs && outputs).then(|| UpToDate {
        files_checked: stored.sources.len() + stored.inputs.len() + stored.outputs.len(),
        summary: stored.summary,
        output_dir: shown_output,
    })
}

/// Records `build` of `project`, which began reading at `started_ns` ([`now_ns`] before the
/// project was loaded) and was written to `output_dir`, for [`up_to_date`] to compare with later.
pub fn save(
    project: &Project,
    build: &Build,
    output_dir: &Path,
    drafts: bool,
    started_ns: i128,
) -> std::io::Result<()> {
    let finished_ns = now_ns();
    let stat = |base: &Path, path: PathBuf| -> Seen {
        let stamp = std::fs::metadata(base.join(&path)).ok().map(|m| Stamp::of(&m));
        (path, stamp)
    };
    let relative = |path: &Path| path.strip_prefix(&project.root).unwrap_or(path).to_path_buf();
    let sources: Vec<Seen> =
        project.items.par_iter().map(|item| stat(&project.root, relative(&item.dir.join("index.md")))).collect();
    let mut images = BTreeSet::new();
    for index in 0..project.items.len() {
        if let Some(Ok(rendered)) = build.renders.get(index) {
            for job in rendered.images.iter().chain(&rendered.cover).filter(|job| job.generated.is_none()) {
                images.insert(relative(&job.source_path));
            }
        }
    }
    let mut inputs: Vec<Seen> = images.into_par_iter().map(|path| stat(&project.root, path)).collect();
    inputs.push(stat(&project.root, relative(&project.lock_path())));

    let output = output_dir.canonicalize()?;
    // The folder itself: a staging folder left by a build that was killed shows in its mtime.
    // A kind's folder may be absent (no item of that kind); everything else must be there.
    let mut watched: Vec<PathBuf> = Kind::ALL.iter().map(|kind| PathBuf::from(kind.folder())).collect();
    let required_from = watched.len();
    watched.extend([PathBuf::from("."), PathBuf::from("manifest.json")]);
    for item in &build.manifest.items {
        let folder = PathBuf::from(&item.key);
        watched.extend(ITEM_FILES.iter().map(|file| folder.join(file)));
        watched.push(folder.join("images"));
        watched.push(folder);
    }
    let outputs: Vec<Seen> = watched.into_par_iter().map(|path| stat(&output, path)).collect();

    // Anything the build needs that is missing now was removed while it ran: no record.
    let complete = |seen: &[Seen]| seen.iter().all(|(_, stamp)| stamp.is_some());
    let images = &inputs[..inputs.len() - 1];
    if !complete(&sources) || !complete(images) || !complete(&outputs[required_from..]) {
        return remove(&project.root);
    }
    let stored = Stored {
        format: FORMAT,
        settings: project.settings_fingerprint.clone(),
        output_dir: output,
        drafts,
        started_ns,
        finished_ns,
        sources,
        inputs,
        outputs,
        summary: BuildSummary::of(build),
    };
    let json = serde_json::to_vec(&stored).map_err(std::io::Error::other)?;
    crate::util::fs::write_atomic(&project.root.join(RECORD_FILE), &json)
}

/// Forgets the last build's record.
fn remove(root: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(root.join(RECORD_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
