//! Diagnostics for people (coloured on a terminal), for tools (JSON) and for GitHub Actions.
use std::io::Write;

use crate::util::diagnostics::{Diagnostic, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
}

/// Writes `diagnostics` in `format`. `sources` gives each file's text for the source line.
pub fn write(
    out: &mut dyn Write,
    format: Format,
    diagnostics: &[Diagnostic],
    source_line: &dyn Fn(&Diagnostic) -> Option<String>,
    color: bool,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&json(diagnostics)).map_err(std::io::Error::other)?)
        }
        Format::Github => {
            for d in diagnostics {
                let level = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "notice",
                };
                let mut message = format!("[{}] {}", d.rule, d.message);
                if let Some(hint) = &d.hint {
                    message.push_str(&format!(" — {hint}"));
                }
                writeln!(
                    out,
                    "::{level} file={},line={},col={},title=wxpub {}::{}",
                    d.file.display(),
                    d.line,
                    d.column,
                    d.rule,
                    escape_github(&message)
                )?;
            }
            Ok(())
        }
        Format::Human => {
            for d in diagnostics {
                let (code, reset) = if color {
                    (
                        match d.severity {
                            Severity::Error => "\x1b[1;31m",
                            Severity::Warning => "\x1b[1;33m",
                            Severity::Info => "\x1b[1;36m",
                        },
                        "\x1b[0m",
                    )
                } else {
                    ("", "")
                };
                writeln!(out, "{code}{}[{}]{reset}: {}", d.severity, d.rule, d.message)?;
                writeln!(out, "  --> {}:{}:{}", d.file.display(), d.line, d.column)?;
                if let Some(line) = source_line(d) {
                    let gutter = d.line.to_string();
                    writeln!(out, "{} |", " ".repeat(gutter.len()))?;
                    writeln!(out, "{gutter} | {line}")?;
                    let pad: String = line
                        .chars()
                        .take(d.column.saturating_sub(1))
                        .map(|c| {
                            if c == '\t' {
                                '\t'
                            } else if crate::util::html::is_cjk(c) {
                                '　'
                            } else {
                                ' '
                            }
                        })
                        .collect();
                    writeln!(out, "{} | {pad}{code}^{reset}", " ".repeat(gutter.len()))?;
                }
                if let Some(hint) = &d.hint {
                    writeln!(out, "  = hint: {hint}")?;
                }
                writeln!(out)?;
            }
            Ok(())
        }
    }
}

/// The diagnostics as `--format json` writes them (and `wxpub mcp`'s `check` returns them): file
/// paths with `/` on every system, each finding's rule id, severity, message and hint.
pub fn json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    diagnostics
        .iter()
        .map(|d| {
            serde_json::json!({
                "file": d.file.to_string_lossy().replace('\\', "/"),
                "line": d.line,
                "column": d.column,
                "rule": d.rule,
                "severity": d.severity,
                "message": d.message,
                "hint": d.hint,
            })
        })
        .collect()
}

/// GitHub workflow commands need %, CR and LF escaped in the message.
fn escape_github(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}
