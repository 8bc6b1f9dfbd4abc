//! `wxpub check`: run the lint rules and print diagnostics.
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::check::{self, CheckOptions, Rule, output};
use crate::cli::CheckArgs;

/// The source line a diagnostic points at, shown under it.
pub(super) fn source_line(project: &Path, diagnostic: &crate::util::diagnostics::Diagnostic) -> Option<String> {
    let text = std::fs::read_to_string(project.join(&diagnostic.file)).ok()?;
    text.lines().nth(diagnostic.line.checked_sub(1)?).map(str::to_string)
}

pub fn run(project: &Path, args: CheckArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.list_rules {
        for rule in Rule::ALL {
            writeln!(out, "{:<22} {:<8} {}", rule.id(), rule.default_severity(), rule.doc())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = crate::util::clock::now();
    let options = CheckOptions { paths: args.paths.clone(), now, fix: args.fix };
    let report = check::check_project(project, &options)?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for (file, changes) in &report.fixed {
        eprintln!("fixed {changes} typography issue(s) in {}", file.display());
    }
    let source_line = |d: &crate::util::diagnostics::Diagnostic| source_line(project, d);
    let color = args.format == output::Format::Human && stdout.is_terminal();
    output::write(&mut out, args.format, &report.diagnostics, &source_line, color)?;
    let counts = check::Counts::of(&report);
    eprintln!("checked {} item(s): {counts}", report.items_checked);
    let failed = counts.errors > 0 || (args.deny_warnings && counts.warnings > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
