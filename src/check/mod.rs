//! CHECK: lint rules over sources and rendered output → [`Diagnostic`]s with file:line:col, a
//! rule id, a severity and a hint. Editors run it before committing; CI before publishing.
pub mod output;
mod rules;
pub mod typography;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use rayon::prelude::*;

use crate::build::Renders;
use crate::config::{Config, ConfigError};
use crate::content;
use crate::images::Planning;
use crate::project::{Project, ProjectError};
use crate::state::file_hashes::FileHashes;
use crate::util::diagnostics::{Diagnostic, Severity, did_you_mean};
pub use rules::{Words, fix_typography};

pub use crate::util::diagnostics::Rule;

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
    #[error(transparent)]
    Content(content::ContentError),
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
    /// What went wrong besides the findings (a cache that could not be written).
    pub notes: Vec<String>,
}

/// Findings counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of(report: &CheckReport) -> Counts {
        let count = |s| report.diagnostics.iter().filter(|d| d.severity == s).count();
        Counts { errors: count(Severity::Error), warnings: count(Severity::Warning), infos: count(Severity::Info) }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error(s), {} warning(s), {} note(s)", self.errors, self.warnings, self.infos)
    }
}

/// Resolved `[check]` severities.
struct Severities(BTreeMap<Rule, Option<Severity>>);

impl Severities {
    fn from_config(config: &Config) -> Result<Severities, CheckError> {
        let mut map: BTreeMap<Rule, Option<Severity>> =
            Rule::ALL.iter().map(|r| (*r, Some(r.default_severity()))).collect();
        for (id, level) in &config.check.severity {
            let Some(rule) = Rule::from_id(id) else {
                let hint = did_you_mean(id, Rule::ALL.iter().map(|r| r.id()))
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
            map.insert(rule, level);
        }
        Ok(Severities(map))
    }

    fn of(&self, rule: Rule) -> Option<Severity> {
        self.0.get(&rule).copied().flatten()
    }
}

/// Every rule with its severity in a project of `config` (`[check] severity` applied; `None`:
/// turned off), in `--list-rules` order.
pub fn severities(config: &Config) -> Result<Vec<(Rule, Option<Severity>)>, CheckError> {
    let severities = Severities::from_config(config)?;
    Ok(Rule::ALL.iter().map(|rule| (*rule, severities.of(*rule))).collect())
}

/// Loads the project and runs every rule over its items (after `--fix`, when asked). The items
/// are rendered without reading any image (by path): `check` stays fast on a fresh clone.
pub fn check_project(root: &Path, options: &CheckOptions) -> Result<CheckReport, CheckError> {
    let fixed = if options.fix { fix_sources(root, &options.paths)? } else { Vec::new() };
    let (project, hashes) = Project::load_with_hashes(root);
    let project = project.map_err(|e| match e {
        ProjectError::Config(e) => CheckError::Config(e),
        ProjectError::Content(e) => CheckError::Content(e),
    })?;
    let memo = crate::build::RenderMemo::on_disk(&project.root);
    let renders = crate::build::render_all(&project, Planning::ByPath, false, Some(&memo)).ok();
    let findings = CheckMemo::on_disk(&project.root);
    let mut report = check(&project, renders.as_ref(), options, &hashes, Some(&findings))?;
    if let Err(e) = hashes.save() {
        report
            .notes
            .push(format!("the images' dimensions could not be remembered ({e}); the next check reads them again"));
    }
    report.fixed = fixed;
    Ok(report)
}

/// Applies the safe typography fixes in place to the selected items' sources.
fn fix_sources(root: &Path, paths: &[PathBuf]) -> Result<Vec<(PathBuf, usize)>, CheckError> {
    let mut fixed = Vec::new();
    for (_, _, _, index) in content::discover(root).map_err(CheckError::Content)? {
        if !is_selected(root, paths, &index) {
            continue;
        }
        let display = index.strip_prefix(root).unwrap_or(&index).to_path_buf();
        // A file in another encoding is reported by the check itself, not fixed.
        let Ok(text) = content::read_source(&index, &display) else { continue };
        let (new_text, changes) = rules::fix_typography(&text);
        if changes > 0 {
            crate::util::fs::write_atomic(&index, new_text.as_bytes())
                .map_err(|source| CheckError::Read { path: display.clone(), source })?;
            fixed.push((display, changes));
        }
    }
    Ok(fixed)
}

/// Whether the item whose source is `index` is among `paths` (all items when `paths` is empty).
fn is_selected(root: &Path, paths: &[PathBuf], index: &Path) -> bool {
    paths.is_empty()
        || paths.iter().any(|p| {
            let p = if p.is_absolute() { p.clone() } else { root.join(p) };
            index.starts_with(&p) || p.starts_with(index.parent().unwrap_or(index))
        })
}

/// Findings on items' content kept between checks: an item whose source and render are
/// unchanged, in a project whose settings and set of items are unchanged, is not checked again —
/// except for the rules on its schedule and account, which depend on the clock and publish.lock
/// and always run. Kept in memory for one process (the preview) and, when persistent, under
/// `.wxpub/cache/checks/` too, where an entry also names the item folder's listing (a render
/// planned by path does not show an image replaced by a larger one; the listing does).
#[derive(Default)]
pub struct CheckMemo {
    /// Findings by item key.
    memo: crate::util::memo::Memo<String, MemoEntry>,
}

struct MemoEntry {
    context_sha256: String,
    source_sha256: String,
    /// The render checked: kept alive, so that the same render is known by its address.
    render: std::sync::Arc<crate::build::Rendered>,
    found: Vec<Diagnostic>,
}

/// A kept entry on disk: digests of what the findings were made from, and the findings.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredFindings {
    format: u32,
    key: String,
    context_sha256: String,
    source_sha256: String,
    html_sha256: String,
    listing: String,
    found: Vec<Diagnostic>,
}

/// Where persistent findings live, under the project.
pub const CHECK_CACHE_DIR: &str = ".wxpub/cache/checks";
/// Where the preview's findings live (it checks its own renders).
const PREVIEW_CHECK_CACHE_DIR: &str = ".wxpub/cache/checks-preview";
const STORED_FORMAT: u32 = 1;

impl CheckMemo {
    /// A memo kept under the project's `.wxpub/cache/checks/`, for a command that checks once
    /// (nothing is kept in memory).
    pub fn on_disk(project: &Path) -> CheckMemo {
        CheckMemo { memo: crate::util::memo::Memo::on_disk(project.join(CHECK_CACHE_DIR)) }
    }

    /// A memo kept on disk and in memory, for the preview, which checks the renders it builds
    /// (not `check`'s, so in a folder of its own): a start checks only what changed since the
    /// last preview (at three years' scale, the content rules take a second). Its files are
    /// written by [`CheckMemo::write_pending`], after the preview answers.
    pub fn for_preview(project: &Path) -> CheckMemo {
        CheckMemo { memo: crate::util::memo::Memo::on_disk_later_and_in_process(project.join(PREVIEW_CHECK_CACHE_DIR)) }
    }

    /// Writes the entries kept since the last call to disk.
    pub fn write_pending(&self) {
        self.memo.write_pending();
    }

    fn lookup(
        &self,
        context: &MemoContext,
        item: &content::Item,
        render: &std::sync::Arc<crate::build::Rendered>,
    ) -> Option<Vec<Diagnostic>> {
        let html = render.html.as_str();
        let in_memory = self.memo.in_memory(&item.key(), |entry| {
            (entry.context_sha256 == context.sha256 && entry.source_sha256 == item.source_sha256())
                .then(|| (std::sync::Arc::clone(&entry.render), entry.found.clone()))
        });
        // The same render (kept by the render memo) is the same HTML without comparing it.
        if let Some((checked, found)) = in_memory
            && (std::sync::Arc::ptr_eq(&checked, render) || checked.html == html)
        {
            return Some(found);
        }
        let stored = self.stored(context, item, html)?;
        let bytes = std::fs::read(self.entry_path(&item.key())?).ok()?;
        let kept: StoredFindings = serde_json::from_slice(&bytes).ok()?;
        let same = kept.format == STORED_FORMAT
            && kept.key == stored.key
            && kept.context_sha256 == stored.context_sha256
            && kept.source_sha256 == stored.source_sha256
            && kept.html_sha256 == stored.html_sha256
            && kept.listing == stored.listing;
        if !same {
            return None;
        }
        self.remember(context, item, render, &kept.found);
        Some(kept.found)
    }

    fn remember(
        &self,
        context: &MemoContext,
        item: &content::Item,
        render: &std::sync::Arc<crate::build::Rendered>,
        found: &[Diagnostic],
    ) {
        self.memo.remember(item.key(), || MemoEntry {
            context_sha256: context.sha256.clone(),
            source_sha256: item.source_sha256().to_string(),
            render: std::sync::Arc::clone(render),
            found: found.to_vec(),
        });
    }

    fn store(
        &self,
        context: &MemoContext,
        item: &content::Item,
        render: &std::sync::Arc<crate::build::Rendered>,
        found: &[Diagnostic],
    ) {
        let html = render.html.as_str();
        // A cache that cannot be written only costs the next check the rules.
        if let (Some(mut stored), Some(path)) = (self.stored(context, item, html), self.entry_path(&item.key())) {
            stored.found = found.to_vec();
            self.memo.write_file(path, move || serde_json::to_vec(&stored).ok());
        }
        self.remember(context, item, render, found);
    }

    /// What a disk entry for `item` records (without findings); `None` when not persistent or
    /// the item's folder cannot be listed.
    fn stored(&self, context: &MemoContext, item: &content::Item, html: &str) -> Option<StoredFindings> {
        use sha2::{Digest, Sha256};
        self.memo.dir()?;
        let digest = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
        Some(StoredFindings {
            format: STORED_FORMAT,
            key: item.key(),
            context_sha256: context.sha256.clone(),
            source_sha256: item.source_sha256().to_string(),
            html_sha256: digest(html.as_bytes()),
            listing: crate::build::folder_listing(&item.dir)?,
            found: Vec::new(),
        })
    }

    fn entry_path(&self, key: &str) -> Option<PathBuf> {
        Some(self.memo.dir()?.join(crate::build::cache_entry_name(key)))
    }
}

/// What an item's content findings depend on besides the item — the settings, the word list and
/// which items exist (for links between them) — as its digest, computed once per check.
struct MemoContext {
    sha256: String,
}

fn memo_context(project: &Project) -> MemoContext {
    let mut context = project.settings_fingerprint.clone();
    if let Some(path) = &project.config.check.words {
        // An unreadable list fails the check itself (Words::load); here it only has to differ.
        match std::fs::read_to_string(project.root.join(path)) {
            Ok(words) => context.push_str(&words),
            Err(e) => context.push_str(&e.to_string()),
        }
    }
    for item in &project.items {
        context.push('\n');
        context.push_str(&item.key());
    }
    use sha2::{Digest, Sha256};
    let sha256 = hex::encode(Sha256::digest(context.as_bytes()));
    MemoContext { sha256 }
}

/// Runs every rule over a loaded project's items, reading their renders (`None` when the layouts
/// cannot be loaded: then only the source rules run). Images' dimensions are read through
/// `hashes`, which remembers them (the caller saves it).
pub fn check(
    project: &Project,
    renders: Option<&Renders>,
    options: &CheckOptions,
    hashes: &FileHashes,
    memo: Option<&CheckMemo>,
) -> Result<CheckReport, CheckError> {
    let root = project.root.as_path();
    let config = &project.config;
    let severities = Severities::from_config(config)?;
    let words = Words::of_project(root, config)?;
    let mut report = CheckReport::default();
    let mut raw = Vec::new();
    let selected = |item_file: &Path| is_selected(root, &options.paths, &root.join(item_file));

    // Items that do not read or parse are one diagnostic each; the others are still checked.
    for problem in &project.unreadable {
        let (file, line, column, rule, message, hint) = match problem {
            content::ContentError::Encoding { path, line, message } => {
                (path, *line, 1, Rule::Encoding, message, "wxpub reads Markdown as UTF-8 only")
            }
            content::ContentError::FrontMatter { path, line, column, message } => {
                (path, *line, *column, Rule::FrontMatter, message, "fix the YAML between the --- lines")
            }
            _ => continue,
        };
        if selected(file) {
            raw.push(Diagnostic {
                file: file.clone(),
                line,
                column,
                rule,
                severity: Severity::Error,
                message: message.clone(),
                hint: Some(hint.into()),
            });
        }
    }

    let context = rules::Context::new(project, renders, hashes, options.now);
    let memo_context = memo.map(|_| memo_context(project));
    let check_item = |item: &content::Item| {
        let mut found = rules::check_meta(&context, item);
        found.extend(rules::check_links(&context, item));
        let render = context.render_of(item).and_then(|r| r.as_ref().ok());
        match (memo, &memo_context, render) {
            (Some(memo), Some(memo_context), Some(render)) => match memo.lookup(memo_context, item, render) {
                Some(kept) => found.extend(kept),
                None => {
                    let content = rules::check_content(&context, item, &words);
                    memo.store(memo_context, item, render, &content);
                    found.extend(content);
                }
            },
            _ => found.extend(rules::check_content(&context, item, &words)),
        }
        found
    };
    let per_item: Vec<Vec<Diagnostic>> = project
        .items
        .par_iter()
        .map(|item| if selected(&item.source_path) { check_item(item) } else { Vec::new() })
        .collect();
    report.items_checked = project.items.iter().filter(|i| selected(&i.source_path)).count();
    raw.extend(per_item.into_iter().flatten());
    raw.extend(rules::check_across(&context).into_iter().filter(|d| selected(&d.file)));

    // The theme is shared by every item: checked once, at its own file and line.
    let theme = PathBuf::from("layouts/themes").join(format!("{}.toml", config.site.theme));
    if let Ok(text) = std::fs::read_to_string(root.join(&theme)) {
        let declared = |l: &&str| !l.trim_start().starts_with('#') && l.contains("!important");
        for (index, line) in text.lines().enumerate().filter(|(_, l)| declared(l)) {
            raw.push(Diagnostic {
                file: theme.clone(),
                line: index + 1,
                column: line.find("!important").map_or(1, |c| c + 1),
                rule: Rule::Important,
                severity: Severity::Warning,
                message: "`!important` in the theme".into(),
                hint: Some("remove it: inline styles already win, and WeChat's dark mode drops or mangles it".into()),
            });
        }
    }

    // Severities from [check], then inline suppressions: `<!-- wxpub-ignore RULE -->` on the
    // line or the line before.
    let texts: BTreeMap<&Path, &str> =
        project.items.iter().map(|i| (i.source_path.as_path(), i.source.as_str())).collect();
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

fn suppressed(text: &str, line: usize, rule: Rule) -> bool {
    // Most sources have no marker at all: one fast scan instead of splitting them into lines
    // (a three-year project has thousands of findings in 18 MB of Markdown).
    if memchr::memmem::find(text.as_bytes(), b"wxpub-ignore").is_none() {
        return false;
    }
    let marker = format!("wxpub-ignore {rule}");
    text.lines().skip(line.saturating_sub(2)).take(if line >= 2 { 2 } else { line }).any(|l| l.contains(&marker))
}
