//! `wxpub build`: load the project, build it into `dist/` (only what changed), say what happened.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::build::{self, BuildOptions};
use crate::content::Kind;
use crate::file_hashes::FileHashes;
use crate::project::Project;

pub fn run(project_dir: &Path, out: Option<PathBuf>, drafts: bool, quiet: bool) -> Result<ExitCode> {
    let project = Project::load(project_dir)?;
    let hashes = FileHashes::load(project_dir);
    let bar = super::TerminalProgress::new(!quiet);
    let output_dir = out.unwrap_or_else(|| project_dir.join(&project.config.site.output_dir));
    let outcome =
        build::build(&project, &BuildOptions { output_dir, drafts, hashes: &hashes, memo: None, progress: &bar })?;
    for diagnostic in &outcome.diagnostics {
        eprintln!("{diagnostic}");
    }
    for note in &outcome.image_notes {
        eprintln!("note: {note}");
    }
    if !quiet {
        let count = |kind| outcome.manifest.items.iter().filter(|i| i.kind == kind).count();
        let images: usize =
            outcome.manifest.items.iter().map(|i| i.images.len() + usize::from(i.cover.is_some())).sum();
        let written = &outcome.written;
        println!(
            "built {} items ({} articles, {} posters, {} topic pages, {} images: {} processed, {} from cache) into {} — {} warning(s)",
            outcome.manifest.items.len(),
            count(Kind::Article),
            count(Kind::Poster),
            count(Kind::Topic),
            images,
            outcome.images_decoded,
            outcome.images_cached,
            outcome.output_dir.display(),
            outcome.diagnostics.len()
        );
        println!(
            "  {} written, {} unchanged, {} removed; {} source file(s) read to hash",
            written.items_written, written.items_unchanged, written.items_removed, outcome.files_hashed
        );
    }
    Ok(ExitCode::SUCCESS)
}
