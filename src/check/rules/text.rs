//! The rules on the body's text: typography (and its fixes), the word list, `!important`, list
//! depth and code languages; the body's images and links are handed to their own rules.
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Parser, Tag, TagEnd};

use super::images::check_image_file;
use super::links::internal_target_exists;
use super::{Context, Words, at_offset, diag};
use crate::check::typography;
use crate::content::{self, Item};
use crate::render::components::COMPONENT_NAMES;
use crate::render::{highlight, markdown, sanitize::is_wechat_article_url};
use crate::util::diagnostics::{Diagnostic, Rule, did_you_mean, line_col};

pub(super) fn check_body(ctx: &Context<'_>, item: &Item, words: &Words) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let body = item.body();
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(body, markdown::options()).into_offset_iter().collect();
    let mut list_depth = 0;
    let mut image: Option<(String, usize, String)> = None;
    for (run, range) in text_runs(body, &events) {
        for finding in typography::find(run) {
            out.push(at_offset(item, range.start + finding.offset, finding.rule, finding.message, &finding.hint));
        }
        for word in &words.word {
            for (at, _) in run.match_indices(&word.word) {
                let hint = match (&word.replacement, &word.note) {
                    (Some(r), Some(n)) => format!("write `{r}` instead ({n})"),
                    (Some(r), None) => format!("write `{r}` instead"),
                    (None, Some(n)) => n.clone(),
                    (None, None) => "remove it or rephrase".into(),
                };
                out.push(at_offset(
                    item,
                    range.start + at,
                    Rule::BannedWord,
                    format!("`{}` is on the word list", word.word),
                    &hint,
                ));
            }
        }
    }
    for (event, range) in &events {
        if let Event::Html(html) | Event::InlineHtml(html) = event
            && let Some(at) = html.find("!important")
        {
            out.push(at_offset(
                item,
                range.start + at,
                Rule::Important,
                "`!important` in raw HTML".into(),
                "remove it: inline styles already win, and WeChat's dark mode drops or mangles it",
            ));
        }
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                out.extend(check_code_language(item, info, range.start));
            }
            Event::Start(Tag::List(_)) => {
                list_depth += 1;
                if list_depth == 5 {
                    out.push(at_offset(
                        item,
                        range.start,
                        Rule::ListDepth,
                        "list nested five levels deep".into(),
                        "each level indents further; past four levels the text is too narrow on a phone — flatten the list",
                    ));
                }
            }
            Event::End(TagEnd::List(_)) => list_depth -= 1,
            Event::Start(Tag::Image { dest_url, .. }) => {
                image = Some((dest_url.to_string(), range.start, String::new()))
            }
            Event::Text(t) if image.is_some() => {
                if let Some((_, _, alt)) = image.as_mut() {
                    alt.push_str(t);
                }
            }
            Event::End(TagEnd::Image) => {
                if let Some((src, offset, alt)) = image.take() {
                    let (line, column) = line_col(&item.source, item.body_offset + offset);
                    out.extend(check_image_file(item, &src, line, column, ctx, true));
                    if alt.trim().is_empty() {
                        out.push(diag(
                            item,
                            line,
                            column,
                            Rule::ImageAlt,
                            format!("image `{src}` has no alt text"),
                            "write a short description in ![…](file): it becomes the caption",
                        ));
                    }
                }
            }
            Event::Start(Tag::Link { link_type, dest_url, .. }) => {
                let url = dest_url.as_ref();
                if is_wechat_article_url(url) || url.starts_with('#') {
                } else if url.starts_with("http://")
                    || url.starts_with("https://")
                    || *link_type == LinkType::Email
                    || url.starts_with("mailto:")
                {
                    out.push(at_offset(
                        item,
                        range.start,
                        Rule::LinkOutside,
                        format!("outside link {url} becomes a numbered reference"),
                        "fine as is; WeChat only allows links to mp.weixin.qq.com",
                    ));
                } else if !internal_target_exists(ctx, item, url) {
                    out.push(at_offset(
                        item,
                        range.start,
                        Rule::LinkInternal,
                        format!("link `{url}` points at no item"),
                        "link to an existing item folder, e.g. ../2024-05-18-bronze/",
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// A code fence whose language neither highlighter knows is shown without colours: most often a
/// typo (`pyhton`) or a name only another tool uses.
fn check_code_language(item: &Item, info: &str, offset: usize) -> Option<Diagnostic> {
    let lang = markdown::fence_language(info);
    if COMPONENT_NAMES.contains(&lang) || highlight::knows_language(lang) {
        return None;
    }
    let names = highlight::language_names();
    let hint = match did_you_mean(&lang.to_lowercase(), names.iter().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`? (write `text` to keep it plain on purpose)"),
        None => "name a language such as python, js, ts, bash, json, html, css, sql or yaml, or write `text`".into(),
    };
    Some(at_offset(
        item,
        offset,
        Rule::CodeLanguage,
        format!("code block language `{lang}` is not known, so the block is shown without colours"),
        &hint,
    ))
}

/// Prose runs: consecutive text events outside code, as (source slice, range). Only text whose
/// source is the text itself (no escapes or entities), so offsets and fixes are exact.
pub fn text_runs<'t>(body: &'t str, events: &[(Event<'_>, Range<usize>)]) -> Vec<(&'t str, Range<usize>)> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut in_code = 0;
    for (event, range) in events {
        match event {
            Event::Start(Tag::CodeBlock(_)) | Event::Start(Tag::Link { .. }) | Event::Start(Tag::Image { .. }) => {
                in_code += 1
            }
            Event::End(TagEnd::CodeBlock) | Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => in_code -= 1,
            Event::Text(text) if in_code == 0 && body.get(range.clone()) == Some(text.as_ref()) => {
                match runs.last_mut() {
                    Some(last) if last.end == range.start => last.end = range.end,
                    _ => runs.push(range.clone()),
                }
            }
            _ => {}
        }
    }
    runs.into_iter().map(|r| (&body[r.clone()], r)).collect()
}

/// Applies the typography fixes to the body's prose (never front matter, code or links).
/// Returns the new text and the number of findings fixed.
pub fn fix_typography(source: &str) -> (String, usize) {
    // Only where the body starts: the front matter's keys differ by kind (a poster's `image:`,
    // a topic's `gather:`), and none of them is fixed.
    let body_offset = match content::split_front_matter(source) {
        Ok(split) => split.body_offset,
        Err(_) => return (source.to_string(), 0),
    };
    let body = &source[body_offset..];
    let events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_ext(body, markdown::options()).into_offset_iter().collect();
    let mut changes = 0;
    let mut out = source.to_string();
    for (run, range) in text_runs(body, &events).into_iter().rev() {
        let found = typography::find(run).len();
        if found == 0 {
            continue;
        }
        let fixed = typography::fix(run);
        if fixed != run {
            changes += found;
            out.replace_range(body_offset + range.start..body_offset + range.end, &fixed);
        }
    }
    (out, changes)
}
