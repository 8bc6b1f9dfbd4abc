//! CHECK: lint rules over sources and rendered output → [`Diagnostic`]s with file:line:col, a
//! rule id, a severity and a hint. Editors run it before committing; CI before publishing.
pub mod output;
mod rules;
pub mod typography;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::{Config, ConfigError};
use crate::content::{self, Item, Kind};
use crate::diagnostics::{Diagnostic, Severity, did_you_mean};
pub use rules::Words;

/// A lint rule: its id (used in `[check] severity`, in suppressions and in output), its default
/// severity, and what it checks.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub doc: &'static str,
}

const fn rule(id: &'static str, severity: Severity, doc: &'static str) -> Rule {
    Rule { id, severity, doc }
}

use Severity::{Error as E, Info as I, Warning as W};

/// Every rule, in the order `--list-rules` prints them.
pub const RULES: &[Rule] = &[
    rule("encoding", E, "index.md must be UTF-8 (a GBK / GB18030 file is named, with how to convert it)"),
    rule("front-matter", E, "front matter must be valid YAML with known keys (typos get a suggestion)"),
    rule("required-field", E, "articles and topic pages need a `cover`"),
    rule("unknown-account", E, "`account` must be a key of [accounts] in publish.toml"),
    rule("publish-time", E, "`publish_at` must be `YYYY-MM-DD HH:MM` in the site time zone"),
    rule(
        "publish-time-past",
        W,
        "`publish_at` of an unpublished item passed in the last 72 hours (it goes out at the next run)",
    ),
    rule("publish-time-old", I, "`publish_at` of an item publish.lock does not record passed more than 72 hours ago"),
    rule("title-length", E, "title at most 32 characters (WeChat limit)"),
    rule("author-length", E, "author at most 16 characters (WeChat limit)"),
    rule("digest-length", E, "digest at most 120 characters (WeChat limit since 2026)"),
    rule("source-url-length", E, "`source_url` at most 1 KB (WeChat limit)"),
    rule(
        "content-length",
        E,
        "content as sent under 20,000 visible characters and 1 MB of HTML, image URLs included (WeChat limit)",
    ),
    rule("content-html-length", I, "the HTML is 20,000 characters or more: fine, WeChat counts the visible text"),
    rule("push-size", E, "at most 8 articles in one push (same account and publish_at)"),
    rule("duplicate-title", W, "two items share a title"),
    rule("cover-size", W, "cover large enough for both crops (2.35:1 at least 900×383, 1:1 at least 300×300)"),
    rule("image-missing", E, "a referenced image file does not exist"),
    rule("image-path", E, "image paths must stay inside the item's folder and not be outside URLs"),
    rule("image-format", E, "images must be JPEG, PNG, GIF, WebP or BMP with a readable header"),
    rule("image-limit", E, "an image that cannot fit WeChat's limits (too many megapixels, animated GIF over 10 MB)"),
    rule("image-small", W, "a body image under 400 px wide looks blurry on phones"),
    rule("image-alt", W, "an image without alt text has no caption and no text for screen readers"),
    rule("link-outside", I, "an outside link becomes a numbered reference at the end (WeChat refuses outside links)"),
    rule(
        "link-internal",
        E,
        "a relative link must point at an existing item (articles/FOLDER, posters/FOLDER, topics/FOLDER)",
    ),
    rule("raw-html", W, "raw HTML WeChat strips or rejects (script, iframe, style, form, on… attributes)"),
    rule("list-depth", W, "lists nested more than two levels lose content in WeChat"),
    rule("code-language", W, "a code block's language is not one either highlighter knows (it would be shown plain)"),
    rule("cjk-spacing", W, "a space between Chinese and Latin letters or digits (fixable)"),
    rule("cjk-punctuation", W, "full-width punctuation in Chinese sentences (fixable)"),
    rule("doubled-punctuation", W, "no doubled punctuation such as ！！ or 。。 (fixable)"),
    rule("cjk-brackets", W, "full-width brackets around Chinese text (fixable)"),
    rule("banned-word", W, "a word from the [check] words list, with its suggested replacement"),
    rule(
        "dark-contrast",
        W,
        "text below WCAG AA contrast (4.5:1, large text 3:1) in light mode or after WeChat's dark-mode conversion",
    ),
    rule(
        "dark-transparent-image",
        W,
        "a transparent PNG whose visible pixels are mostly dark: it vanishes on the dark-mode background",
    ),
    rule("important", W, "`!important` in a theme or raw HTML (WeChat's dark mode and editor ignore or mangle it)"),
];

pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[derive(Debug, Error)]
pub enum CheckError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("publish.toml: [check] {0}")]
    Settings(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Words { path: PathBuf, message: String },
}

/// What `wxpub check` should do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Only items under these paths (all when empty). Other items still count for duplicates
    /// and links.
    pub paths: Vec<PathBuf>,
    /// "Now" for the publish-time rules.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Apply the safe typography fixes in place.
    pub fix: bool,
}

#[derive(Debug, Default)]
pub struct CheckReport {
    pub diagnostics: Vec<Diagnostic>,
    /// Files rewritten by `--fix`, with the number of changes in each.
    pub fixed: Vec<(PathBuf, usize)>,
    pub items_checked: usize,
}

/// Resolved `[check]` severities.
struct Severities(BTreeMap<&'static str, Option<Severity>>);

impl Severities {
    fn from_config(config: &Config) -> Result<Severities, CheckError> {
        let mut map: BTreeMap<&'static str, Option<Severity>> =
            RULES.iter().map(|r| (r.id, Some(r.severity))).collect();
        for (id, level) in &config.check.severity {
            let Some(rule) = rule_by_id(id) else {
                let hint = did_you_mean(id, RULES.iter().map(|r| r.id))
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(CheckError::Settings(format!(
                    "severity: no rule `{id}`{hint} (see wxpub check --list-rules)"
                )));
            };
            let level = match level.as_str() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "info" => Some(Severity::Info),
                "off" => None,
                other => {
                    return Err(CheckError::Settings(format!(
                        "severity.{id}: `{other}` is not error, warning, info or off"
                    )));
                }
            };
            map.insert(rule.id, level);
        }
        Ok(Severities(map))
    }

    fn of(&self, rule: &str) -> Option<Severity> {
        self.0.get(rule).copied().flatten()
    }
}

/// Runs every rule over the project's items.
pub fn check_project(project: &Path, options: &CheckOptions) -> Result<CheckReport, CheckError> {
    let config = Config::load(project)?;
    let severities = Severities::from_config(&config)?;
    let words = match &config.check.words {
        Some(path) => Words::load(&project.join(path))?,
        None => Words::default(),
    };
    let mut report = CheckReport::default();
    let mut raw = Vec::new();
    let sources = discover(project)?;
    let selected = |path: &Path| {
        options.paths.is_empty()
            || options.paths.iter().any(|p| {
                let p = if p.is_absolute() { p.clone() } else { project.join(p) };
                path.starts_with(&p) || p.starts_with(path.parent().unwrap_or(path))
            })
    };

    let mut items: Vec<(Item, bool)> = Vec::new();
    for (kind, slug, dir, display, absolute) in sources {
        let is_selected = selected(&absolute);
        let mut text = match content::read_source(&absolute, &display) {
            Ok(text) => text,
            // One item in another encoding is that item's error; the others are still checked.
            Err(content::ContentError::Encoding { path, line, message }) => {
                if is_selected {
                    raw.push(Diagnostic {
                        file: path,
                        line,
                        column: 1,
                        rule: "encoding",
                        severity: Severity::Error,
                        message,
                        hint: Some("wxpub reads Markdown as UTF-8 only".into()),
                    });
                }
                continue;
            }
            Err(content::ContentError::Read { path, source }) => return Err(CheckError::Read { path, source }),
            Err(other) => {
                return Err(CheckError::Read {
                    path: display.clone(),
                    source: std::io::Error::other(other.to_string()),
                });
            }
        };
        if options.fix && is_selected {
            let (fixed, changes) = rules::fix_typography(&text);
            if changes > 0 {
                std::fs::write(&absolute, &fixed)
                    .map_err(|source| CheckError::Read { path: display.clone(), source })?;
                report.fixed.push((display.clone(), changes));
                text = fixed;
            }
        }
        match content::parse_item(kind, slug, dir, display.clone(), text) {
            Ok(item) => items.push((item, is_selected)),
            Err(content::ContentError::FrontMatter { path, line, column, message }) if is_selected => {
                raw.push(Diagnostic {
                    file: path,
                    line,
                    column,
                    rule: "front-matter",
                    severity: Severity::Error,
                    message,
                    hint: Some("fix the YAML between the --- lines".into()),
                })
            }
            Err(_) => {}
        }
    }

    let all: Vec<&Item> = items.iter().map(|(i, _)| i).collect();
    let context = rules::Context::new(project, &config, &all, options.now);
    for (item, is_selected) in &items {
        if *is_selected {
            report.items_checked += 1;
            raw.extend(rules::check_item(&context, item, &words));
        }
    }
    raw.extend(
        rules::check_across(&context)
            .into_iter()
            .filter(|d| items.iter().any(|(i, sel)| *sel && i.source_path == d.file)),
    );

    // The theme is shared by every item: checked once, at its own file and line.
    let theme = PathBuf::from("layouts/themes").join(format!("{}.toml", config.site.theme));
    if let Ok(text) = std::fs::read_to_string(project.join(&theme)) {
        let declared = |l: &&str| !l.trim_start().starts_with('#') && l.contains("!important");
        for (index, line) in text.lines().enumerate().filter(|(_, l)| declared(l)) {
            raw.push(Diagnostic {
                file: theme.clone(),
                line: index + 1,
                column: line.find("!important").map_or(1, |c| c + 1),
                rule: "important",
                severity: Severity::Warning,
                message: "`!important` in the theme".into(),
                hint: Some("remove it: inline styles already win, and WeChat's dark mode drops or mangles it".into()),
            });
        }
    }

    // Severities from [check], then inline suppressions: `<!-- wxpub-ignore RULE -->` on the
    // line or the line before.
    let texts: BTreeMap<&Path, &str> =
        items.iter().map(|(i, _)| (i.source_path.as_path(), i.source.as_str())).collect();
    for mut diagnostic in raw {
        let Some(severity) = severities.of(diagnostic.rule) else { continue };
        diagnostic.severity = severity;
        if texts.get(diagnostic.file.as_path()).is_some_and(|t| suppressed(t, diagnostic.line, diagnostic.rule)) {
            continue;
        }
        report.diagnostics.push(diagnostic);
    }
    report.diagnostics.sort_by(|a, b| (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule)));
    report.diagnostics.dedup();
    Ok(report)
}

fn suppressed(text: &str, line: usize, rule: &str) -> bool {
    let marker = format!("wxpub-ignore {rule}");
    let lines: Vec<&str> = text.lines().collect();
    [line.checked_sub(1), line.checked_sub(2)]
        .into_iter()
        .flatten()
        .filter_map(|i| lines.get(i))
        .any(|l| l.contains(&marker))
}

type Source = (Kind, String, PathBuf, PathBuf, PathBuf);

/// Every `index.md` under content/, tolerant of broken items (they are reported, not fatal).
fn discover(project: &Path) -> Result<Vec<Source>, CheckError> {
    let mut sources = Vec::new();
    for kind in Kind::ALL {
        let kind_dir = project.join("content").join(kind.folder());
        let Ok(entries) = std::fs::read_dir(&kind_dir) else { continue };
        let mut dirs: Vec<PathBuf> =
            entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("index.md").is_file()).collect();
        dirs.sort();
        for dir in dirs {
            let absolute = dir.join("index.md");
            let display = absolute.strip_prefix(project).unwrap_or(&absolute).to_path_buf();
            let slug = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            sources.push((kind, slug, dir, display, absolute));
        }
    }
    Ok(sources)
}
