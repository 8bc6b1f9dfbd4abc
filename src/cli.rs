//! Command-line definitions (clap derive). The doc comments are the `--help` text.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// wxpub — build, check, publish and measure a museum's WeChat Official Account content.
///
/// Articles, posters and topic pages are Markdown + images under `content/`, styled by the Tera
/// layouts and themes under `layouts/`, configured by `publish.toml`.
#[derive(Debug, Parser)]
#[command(name = "wxpub", version, propagate_version = true)]
pub struct Cli {
    /// Project directory (the folder holding publish.toml).
    #[arg(short = 'C', long = "project", global = true, default_value = ".")]
    pub project: PathBuf,

    /// Print less: only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every item under content/ into WeChat-compatible HTML in the output directory.
    ///
    /// Output: `dist/<kind>/<slug>/content.html` (the exact HTML sent to WeChat),
    /// `dist/<kind>/<slug>/index.html` (the same, wrapped for a browser), the item's images, and
    /// `dist/manifest.json`. The previous output is replaced only when the whole build succeeds.
    ///
    /// Example: `wxpub build` or `wxpub -C path/to/project build --out /tmp/dist`
    Build {
        /// Write to this directory instead of `[site] output_dir`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Include items marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
    /// Serve the WeChat API contract locally (the bundled emulator) — not yet implemented.
    Sandbox,
    /// Lint drafts with file:line diagnostics — not yet implemented.
    Check,
    /// Upload, draft and publish due items — not yet implemented.
    Publish,
}
