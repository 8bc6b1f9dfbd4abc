//! The tools that make and change items — the project's own files, never outside `content/`,
//! never WeChat: new items, edits (read by the project's own parser before anything is written,
//! then written whole), the typography fixes of `check --fix`; and an item's HTML as WeChat would
//! receive it (rendered, written nowhere but the render cache).
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::items;
use super::read::KindArg;
use super::{Answer, Session, ToolError};
use crate::check::Counts;
use crate::content;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewItemArgs {
    pub kind: KindArg,
    /// The title (at most 32 characters: WeChat's limit).
    pub title: String,
    /// Publication day (YYYY-MM-DD), published at 08:00; default: today.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// A key of [accounts] in publish.toml; default: `service`, else the first.
    #[serde(default)]
    pub account: Option<String>,
}

/// `new_item`: as `wxpub new` — a dated folder with its front matter filled in.
pub(super) fn new_item(session: &Session, args: NewItemArgs) -> Result<Answer, ToolError> {
    let _writing = session.write_guard();
    let config = crate::config::Config::load(&session.root)?;
    let now = crate::util::clock::now();
    let created = content::new::create(
        &session.root,
        &config,
        args.kind.into(),
        &args.title,
        args.date,
        args.account.as_deref(),
        now,
    )?;
    let report = items::check(&session.root, std::slice::from_ref(&created.key), false)?;
    let summary = format!("created {}: put {} beside its index.md", created.key, created.image);
    let value = serde_json::json!({
        "key": created.key,
        "path": format!("content/{}/index.md", created.key),
        "image_to_add": created.image,
        "warnings": created.warnings,
        "counts": Counts::of(&report),
        "diagnostics": crate::check::output::json(&report.diagnostics),
    });
    Answer::new(value, summary)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateItemArgs {
    /// The item: its key (articles/2026-12-01-ding-story) or folder name.
    pub item: String,
    /// The new Markdown body (everything after the front matter), whole.
    #[serde(default)]
    pub body: Option<String>,
    /// Front-matter keys to set, each to its new value (`{"title": "…", "tags": ["…"]}`);
    /// `null` removes a key. Keys not named are kept as they are, comments too.
    #[serde(default)]
    pub front_matter: Option<Map<String, Value>>,
    /// The whole new index.md (front matter and body), instead of `body` and `front_matter`:
    /// for a front matter that does not read at all.
    #[serde(default)]
    pub source: Option<String>,
}

/// `update_item`: a new body and/or front-matter values (or a whole new source), read by the
/// project's own parser first — a front matter it refuses is the tool's error and nothing is
/// written — then written whole (atomically). Returns the item's diagnostics before and after.
pub(super) fn update_item(session: &Session, args: UpdateItemArgs) -> Result<Answer, ToolError> {
    let _writing = session.write_guard();
    let located = items::locate(&session.root, &args.item)?;
    let display = located.index.strip_prefix(&session.root).unwrap_or(&located.index).to_path_buf();
    let old = content::read_source(&located.index, &display)?;
    let new = match (&args.source, &args.body, &args.front_matter) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ToolError::Arguments("give `source`, or `body` and/or `front_matter`, not both".into()));
        }
        (None, None, None) => {
            return Err(ToolError::Arguments("nothing to change: give `body`, `front_matter` or `source`".into()));
        }
        (Some(source), None, None) => source.clone(),
        (None, body, front_matter) => edited(&old, body.as_deref(), front_matter.as_ref())?,
    };
    // The project's own parser decides, as build and check will read the file.
    content::parse_item(located.kind, located.slug.clone(), located.dir.clone(), display.clone(), new.clone())
        .map_err(|e| ToolError::FrontMatter(e.to_string()))?;
    let keys = std::slice::from_ref(&located.key);
    let before = Counts::of(&items::check(&session.root, keys, false)?);
    let written = new != old;
    if written {
        crate::util::fs::write_atomic(&located.index, new.as_bytes())
            .map_err(|source| ToolError::Write { path: display.clone(), source })?;
    }
    let report = items::check(&session.root, keys, false)?;
    let after = Counts::of(&report);
    let summary = match written {
        true => format!("wrote {}: before {before}; now {after}", display.display()),
        false => format!("{} unchanged: {after}", display.display()),
    };
    let value = serde_json::json!({
        "key": located.key,
        "path": display.to_string_lossy().replace('\\', "/"),
        "written": written,
        "before": before,
        "after": after,
        "diagnostics": crate::check::output::json(&report.diagnostics),
    });
    Answer::new(value, summary)
}

/// `source` with its body replaced by `body` and its front matter's keys set as `front_matter`
/// says. Pure.
fn edited(source: &str, body: Option<&str>, front_matter: Option<&Map<String, Value>>) -> Result<String, ToolError> {
    let split = content::split_front_matter(source).map_err(|e| {
        ToolError::FrontMatter(format!("line {}: {}; give the whole file as `source`", e.line, e.message))
    })?;
    let (yaml_start, yaml_end) = split.yaml;
    let mut yaml = source[yaml_start..yaml_end].to_string();
    for (key, value) in front_matter.into_iter().flatten() {
        yaml = set_key(&yaml, key, value)?;
    }
    let body = match body {
        // A blank line after the closing `---`, as `wxpub new` writes it.
        Some(body) if body.starts_with('\n') => body.to_string(),
        Some(body) => format!("\n{body}"),
        None => source[split.body_offset..].to_string(),
    };
    let body = if body.ends_with('\n') { body } else { format!("{body}\n") };
    Ok(format!("{}{yaml}{}{body}", &source[..yaml_start], &source[yaml_end..split.body_offset]))
}

/// Front-matter YAML with the top-level `key` set to `value` (JSON, which YAML reads as it
/// is), or removed for `null`: the key's line and the lines under it are replaced; a key not
/// there yet takes the place of its commented-out line (`# author: …`), else goes last. Every
/// other line, comments included, stays. Pure.
fn set_key(yaml: &str, key: &str, value: &Value) -> Result<String, ToolError> {
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Err(ToolError::Arguments(format!("`{key}` is not a front-matter key (lowercase letters and _)")));
    }
    let names = |line: &str, prefix: &str| {
        line.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(key))
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    };
    let lines: Vec<&str> = yaml.lines().collect();
    let replacement = (!value.is_null()).then(|| format!("{key}: {value}"));
    let at = lines.iter().position(|line| names(line, ""));
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 1);
    match at {
        Some(start) => {
            // The key's block: its line, and the indented or `- ` lines under it.
            let under = lines[start + 1..]
                .iter()
                .take_while(|l| l.starts_with(' ') || l.starts_with('\t') || l.starts_with('-'))
                .count();
            out.extend(lines[..start].iter().map(|l| l.to_string()));
            out.extend(replacement);
            out.extend(lines[start + 1 + under..].iter().map(|l| l.to_string()));
        }
        None => {
            let commented = lines.iter().position(|line| names(line, "# ") || names(line, "#"));
            out.extend(lines.iter().map(|l| l.to_string()));
            match (commented, replacement) {
                (Some(index), Some(line)) => out[index] = line,
                (None, Some(line)) => out.push(line),
                (_, None) => {}
            }
        }
    }
    Ok(out.iter().map(|line| format!("{line}\n")).collect())
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FixArgs {
    /// Only these items (keys or folder names); every item when empty or absent.
    #[serde(default)]
    pub items: Vec<String>,
}

/// `fix_typography`: `wxpub check --fix` — the safe typography fixes (spacing, full-width
/// punctuation, brackets) written in place; then what the check still finds.
pub(super) fn fix_typography(session: &Session, args: FixArgs) -> Result<Answer, ToolError> {
    let _writing = session.write_guard();
    let keys = args
        .items
        .iter()
        .map(|name| items::locate(&session.root, name).map(|l| l.key))
        .collect::<Result<Vec<_>, _>>()?;
    let report = items::check(&session.root, &keys, true)?;
    let fixed: Vec<Value> = report
        .fixed
        .iter()
        .map(|(file, changes)| serde_json::json!({ "file": file.to_string_lossy().replace('\\', "/"), "changes": changes }))
        .collect();
    let changes: usize = report.fixed.iter().map(|(_, n)| n).sum();
    let counts = Counts::of(&report);
    let summary = format!("fixed {changes} typography issue(s) in {} file(s); now {counts}", fixed.len());
    let value = serde_json::json!({
        "fixed": fixed,
        "counts": counts,
        "diagnostics": crate::check::output::json(&report.diagnostics),
    });
    Answer::new(value, summary)
}

/// `build_item`: the item's HTML as WeChat would receive it (images shown by their files
/// beside index.md), and its size each way WeChat counts it.
pub(super) fn build_item(session: &Session, args: super::read::ItemArgs) -> Result<Answer, ToolError> {
    use crate::wechat::limits::{CONTENT_MAX_BYTES, CONTENT_MAX_TEXT_CHARS, ContentSize};
    let located = items::locate(&session.root, &args.item)?;
    let project = crate::project::Project::load(&session.root)?;
    let Some(index) = project.items.iter().position(|item| item.key() == located.key) else {
        let problem = project.unreadable.iter().map(ToString::to_string).find(|p| p.contains(&located.key));
        return Err(ToolError::FrontMatter(problem.unwrap_or_else(|| located.key.clone())));
    };
    // Rendered by path, as `check` does: no photo is decoded, nothing is written.
    let memo = crate::build::RenderMemo::on_disk(&project.root);
    let renders = crate::build::render_all(&project, crate::images::Planning::ByPath, true, Some(&memo))?;
    let rendered = match renders.get(index) {
        Some(Ok(rendered)) => rendered,
        Some(Err(e)) => return Err(ToolError::Refused(e.to_string())),
        None => return Err(ToolError::UnknownItem(located.key)),
    };
    let size = ContentSize::of(&crate::images::as_sent(&rendered.html));
    let sources: Vec<(&str, &str)> =
        rendered.cover.iter().chain(&rendered.images).map(|job| (job.key.as_str(), job.source.as_str())).collect();
    let html = crate::images::replace_placeholders(&rendered.html, |key| {
        sources.iter().find(|(k, _)| *k == key).map(|(_, source)| source.to_string())
    });
    let summary = format!("{}: {size}{}", located.key, if size.fits() { "" } else { " — too long for WeChat" });
    let value = serde_json::json!({
        "key": located.key,
        "html": html,
        "image_post_text": rendered.text,
        "size": {
            "visible_chars": size.text_chars,
            "html_chars": size.html_chars,
            "bytes": size.bytes,
            "fits": size.fits(),
            "limit_visible_chars": CONTENT_MAX_TEXT_CHARS,
            "limit_bytes": CONTENT_MAX_BYTES,
        },
        "images": sources.iter().map(|(_, source)| source).collect::<Vec<_>>(),
        "references": rendered.references,
        "diagnostics": crate::check::output::json(&rendered.diagnostics),
    });
    Answer::new(value, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "---\ntitle: 旧标题\n# author: 作者\ncover: cover.jpg   # at least 900×383\ntags:\n- 青铜\n- 考古\naccount: service\n---\n\n正文。\n";

    fn patch(pairs: Value) -> Map<String, Value> {
        pairs.as_object().unwrap().clone()
    }

    #[test]
    fn keys_are_set_removed_and_added_and_everything_else_stays() {
        let front_matter = patch(serde_json::json!({
            "title": "新标题: \"引号\"",
            "tags": ["展览"],
            "cover": null,
            "author": "李青",
            "digest": "摘要",
        }));
        let text = edited(SOURCE, None, Some(&front_matter)).unwrap();
        assert_eq!(
            text,
            "---\ntitle: \"新标题: \\\"引号\\\"\"\nauthor: \"李青\"\ntags: [\"展览\"]\naccount: service\ndigest: \"摘要\"\n---\n\n正文。\n"
        );
        let item =
            content::parse_item(content::Kind::Article, "a".into(), "a".into(), "a/index.md".into(), text).unwrap();
        assert_eq!(item.meta.title, "新标题: \"引号\"");
        assert_eq!(item.meta.tags, ["展览"]);
        assert_eq!(item.meta.cover, None);
    }

    #[test]
    fn a_new_body_keeps_the_front_matter_as_written() {
        let text = edited(SOURCE, Some("新的正文，没有句号"), None).unwrap();
        assert_eq!(text, SOURCE.replace("\n正文。\n", "\n新的正文，没有句号\n"));
        // A key that is no key cannot smuggle YAML in.
        let bad = patch(serde_json::json!({ "title: x\naccount": "y" }));
        assert!(matches!(edited(SOURCE, None, Some(&bad)), Err(ToolError::Arguments(_))));
        // No front matter to edit: the whole file is asked for.
        assert!(matches!(edited("正文", Some("x"), None), Err(ToolError::FrontMatter(m)) if m.contains("source")));
    }
}
