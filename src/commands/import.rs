//! `wxpub import docx`: a Word manuscript becomes an item; what had no Markdown form is listed,
//! then the item is checked and the findings printed.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::check::{CheckOptions, output};
use crate::cli::{ImportCommand, ImportDocxArgs};
use crate::config::Config;
use crate::import::DocxImport;

pub fn run(project: &Path, command: ImportCommand) -> Result<ExitCode> {
    match command {
        ImportCommand::Docx(args) => docx(project, &args),
    }
}

fn docx(project: &Path, args: &ImportDocxArgs) -> Result<ExitCode> {
    let config = Config::load(project)?;
    let kind = crate::content::Kind::from_name(&args.kind)
        .with_context(|| format!("`{}` is not article, poster or topic", args.kind))?;
    let now = crate::util::clock::now();
    let request = DocxImport {
        file: &args.file,
        kind,
        date: args.date,
        account: args.account.as_deref(),
        slug: args.slug.as_deref(),
        now,
    };
    let imported = crate::import::docx(project, &config, &request)?;
    let shown = imported.folder.strip_prefix(project).unwrap_or(&imported.folder);
    println!("imported {} → {}/index.md", args.file.display(), shown.display());
    println!("title: {} (from {})", imported.title, imported.title_from);
    for figure in &imported.figures {
        let caption = figure.caption.as_deref().map(|c| format!(" — {c}")).unwrap_or_default();
        let note = if figure.shown { "" } else { " (not shown: WeChat cannot display this format)" };
        println!("  {}{caption}{note}", figure.file_name);
    }
    if imported.typography_fixed > 0 {
        println!("normalised {} typography issue(s), as `wxpub check --fix` would", imported.typography_fixed);
    }
    if imported.unconverted.is_empty() {
        println!("everything in the document has a Markdown form");
    } else {
        println!(
            "{} thing(s) had no Markdown form (find them in Word by paragraph and text):",
            imported.unconverted.len()
        );
        for entry in &imported.unconverted {
            println!("  {entry}");
        }
    }
    check_item(project, shown)
}

/// Checks the new item as `wxpub check PATH` does, and prints the findings.
fn check_item(project: &Path, item: &Path) -> Result<ExitCode> {
    let options = CheckOptions { paths: vec![item.to_path_buf()], now: crate::util::clock::now(), fix: false };
    let report = crate::check::check_project(project, &options)?;
    let source_line = |d: &crate::util::diagnostics::Diagnostic| super::check::source_line(project, d);
    let mut out = std::io::stdout().lock();
    output::write(&mut out, output::Format::Human, &report.diagnostics, &source_line, false)?;
    println!("checked the new item: {} — edit it, then `wxpub preview`", crate::check::Counts::of(&report));
    Ok(ExitCode::SUCCESS)
}
