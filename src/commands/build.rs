//! `wxpub build`: load the project, build it into `dist/` (only what changed), say what happened.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::build::record::{self, BuildSummary};
use crate::build::{self, BuildOptions, WriteReport};
use crate::project::Project;

pub fn run(project_dir: &Path, out: Option<PathBuf>, drafts: bool, quiet: bool) -> Result<ExitCode> {
    // One build (or publish, which builds too) at a time: two interleaving their swaps could
    // leave an item as the one that read the older source wrote it, under the other's record.
    // Not in a folder that is no project: loading it says so, and nothing is created there.
    let _lock = match project_dir.join(crate::config::CONFIG_FILE).is_file() {
        true => super::lock_project(project_dir, "build", true)?,
        false => None,
    };
    // Before anything is read: a file changed after this is not trusted by the record.
    let started_ns = crate::state::file_hashes::now_ns();
    if let Some(fresh) = record::up_to_date(project_dir, out.as_deref(), drafts) {
        let counts = Counts {
            written: WriteReport { items_unchanged: fresh.summary.items(), ..WriteReport::default() },
            ..Counts::default()
        };
        let why = format!("nothing changed since the last build: {} files compared by stat", fresh.files_checked);
        report(&fresh.summary, quiet, &fresh.output_dir, &counts, &why);
        return Ok(ExitCode::SUCCESS);
    }
    let (project, hashes) = Project::load_with_hashes(project_dir);
    let project = project?;
    let bar = super::TerminalProgress::new(!quiet);
    let output_dir = record::output_dir(project_dir, out.as_deref(), &project.config.site.output_dir);
    let memo = build::RenderMemo::on_disk(&project.root);
    let options = BuildOptions {
        output_dir: Some(output_dir.clone()),
        drafts,
        hashes: &hashes,
        memo: Some(&memo),
        progress: &bar,
    };
    let outcome = build::build(&project, &options)?;
    let counts = Counts {
        decoded: outcome.images_decoded,
        cached: outcome.images_cached,
        written: outcome.written,
        hashed: outcome.files_hashed,
        rendered: outcome.items_rendered,
    };
    report(&BuildSummary::of(&outcome), quiet, &output_dir, &counts, "");
    if let Err(e) = record::save(&project, &outcome, &output_dir, drafts, started_ns) {
        eprintln!("note: this build could not be recorded ({e}); the next one looks at every item again");
    }
    // The renders and HTML of every item are freed by the process's exit: at three years'
    // scale, dropping them one by one costs about 40 ms of an unchanged build's 0.35 s.
    std::mem::forget(outcome);
    std::mem::forget(project);
    Ok(ExitCode::SUCCESS)
}

/// What a build did, for its summary.
#[derive(Default)]
struct Counts {
    /// Images decoded, and found in the image cache.
    decoded: usize,
    cached: usize,
    written: WriteReport,
    /// Source files read to hash them.
    hashed: usize,
    rendered: usize,
}

/// Prints the warnings and notes, and unless `quiet` the summary (`why` ends its second line).
fn report(summary: &BuildSummary, quiet: bool, output_dir: &Path, counts: &Counts, why: &str) {
    for warning in &summary.warnings {
        eprintln!("{warning}");
    }
    for note in &summary.notes {
        eprintln!("note: {note}");
    }
    if quiet {
        return;
    }
    println!(
        "built {} items ({} articles, {} posters, {} topic pages, {} images: {} processed, {} from cache) into {} — {} warning(s)",
        summary.items(),
        summary.articles,
        summary.posters,
        summary.topics,
        summary.images,
        counts.decoded,
        counts.cached,
        output_dir.display(),
        summary.warnings.len()
    );
    let written = &counts.written;
    println!(
        "  {} written, {} unchanged, {} removed; {} source file(s) read to hash; {} item(s) rendered{}{why}",
        written.items_written,
        written.items_unchanged,
        written.items_removed,
        counts.hashed,
        counts.rendered,
        if why.is_empty() { "" } else { " — " },
    );
}
