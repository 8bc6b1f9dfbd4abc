//! `wxpub build`: load the project, build it into `dist/` (only what changed), say what happened.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::build::{self, BuildOptions};
use crate::content::Kind;
use crate::project::Project;

pub fn run(project_dir: &Path, out: Option<PathBuf>, drafts: bool, quiet: bool) -> Result<ExitCode> {
    let (project, hashes) = Project::load_with_hashes(project_dir);
    let project = project?;
    let bar = super::TerminalProgress::new(!quiet);
    let output_dir = out.unwrap_or_else(|| project_dir.join(&project.config.site.output_dir));
    let memo = build::RenderMemo::on_disk(&project.root);
    let options = BuildOptions { output_dir, drafts, hashes: &hashes, memo: Some(&memo), progress: &bar };
    let outcome = build::build(&project, &options)?;
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
            "  {} written, {} unchanged, {} removed; {} source file(s) read to hash; {} item(s) rendered",
            written.items_written,
            written.items_unchanged,
            written.items_removed,
            outcome.files_hashed,
            outcome.items_rendered
        );
    }
    // The renders and HTML of every item are freed by the process's exit: at three years'
    // scale, dropping them one by one costs about 40 ms of an unchanged build's 0.35 s.
    std::mem::forget(outcome);
    std::mem::forget(project);
    Ok(ExitCode::SUCCESS)
}
