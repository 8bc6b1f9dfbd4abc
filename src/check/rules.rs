//! The rules themselves: pure functions of an item (and its neighbours) → diagnostics.
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::CheckError;
use super::typography;
use crate::build::{Rendered, Renders};
use crate::config::Config;
use crate::content::{self, Item, Kind};
use crate::diagnostics::{Diagnostic, Rule, did_you_mean, line_col};
use crate::file_hashes::FileHashes;
use crate::images::{SourcePathProblem, check_source_path};
use crate::project::Project;
use crate::render::components::COMPONENT_NAMES;
use crate::render::{Layouts, RenderError, highlight, markdown, sanitize::is_wechat_article_url};

use crate::wechat::limits::PUSH_MAX_ARTICLES as PUSH_MAX;
use crate::wechat::limits::{
    AUTHOR_MAX_CHARS as AUTHOR_MAX, ContentSize, DIGEST_MAX_CHARS as DIGEST_MAX,
    SOURCE_URL_MAX_BYTES as SOURCE_URL_MAX, TITLE_MAX_CHARS as TITLE_MAX, UPLOADED_IMAGE_URL_CHARS,
};
const SMALL_IMAGE_WIDTH: u32 = 400;

/// A banned or discouraged word, with what to write instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Word {
    pub word: String,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    #[serde(default)]
    word: Vec<Word>,
}

impl Words {
    pub fn load(path: &Path) -> Result<Words, CheckError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CheckError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| CheckError::Words { path: path.to_path_buf(), message: e.to_string() })
    }
}

/// What every rule may look at.
pub struct Context<'a> {
    pub project: &'a Path,
    pub config: &'a Config,
    pub items: &'a [Item],
    pub now: chrono::DateTime<chrono::Utc>,
    layouts: Option<&'a Layouts>,
    /// Every item's render, in `items` order (none when the layouts cannot be loaded).
    renders: Option<&'a Renders>,
    /// Images' dimensions, remembered by their stat data.
    hashes: &'a FileHashes,
    /// What publish.lock records (empty when there is none or it cannot be read: `publish`
    /// reports a broken lock itself).
    lock: crate::publish_lock::Lock,
    /// How links name other items (the renderer's own resolution).
    links: &'a crate::render::ItemLinks,
    /// Item key → its index in `items` (links and topic cards name items by key).
    index_of: std::collections::HashMap<String, usize>,
    /// Items whose publication is settled in publish.lock (see [`crate::publish_lock::Lock::settled_items`]).
    settled: std::collections::BTreeSet<String>,
}

impl<'a> Context<'a> {
    pub fn new(
        project: &'a Project,
        renders: Option<&'a Renders>,
        hashes: &'a FileHashes,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let lock = crate::publish_lock::Lock::load(&project.root).unwrap_or_default();
        Context {
            project: &project.root,
            config: &project.config,
            items: &project.items,
            now,
            layouts: project.layouts().ok(),
            renders,
            hashes,
            settled: lock.settled_items(),
            lock,
            links: &project.links,
            index_of: project.items.iter().enumerate().map(|(i, item)| (item.key(), i)).collect(),
        }
    }

    pub fn render_of(&self, item: &Item) -> Option<&'a Result<std::sync::Arc<Rendered>, RenderError>> {
        let index = *self.index_of.get(&item.key())?;
        self.renders?.get(index)
    }

    /// Whether publish.lock records `item` as published or being published (not failed).
    fn is_published(&self, item: &Item) -> bool {
        let key = item.key();
        self.lock
            .accounts
            .values()
            .flat_map(|a| a.pushes.values())
            .any(|push| push.items.contains(&key) && push.publication.as_ref().is_some_and(|p| !p.status.is_failed()))
    }

    /// Whether publish.lock records that `item`'s push publishes the server's draft as it is
    /// (`keep_server`): what the source says is no longer what goes out.
    fn keeps_server_draft(&self, item: &Item) -> bool {
        let key = item.key();
        self.lock
            .accounts
            .values()
            .flat_map(|a| a.pushes.values())
            .any(|push| push.keep_server && push.items.contains(&key))
    }
}

/// How long before its `publish_at` an item with a `video` block is reminded that its video is
/// still to be inserted: a working day.
const VIDEO_REMINDER: chrono::Duration = chrono::Duration::hours(24);

/// How long after its `publish_at` an unpublished item still counts as "about to go out"
/// (a warning) rather than as an old schedule (a note): a weekend without CI runs.
const RECENTLY_PAST: chrono::Duration = chrono::Duration::hours(72);

fn diag(item: &Item, line: usize, column: usize, rule: Rule, message: String, hint: &str) -> Diagnostic {
    Diagnostic {
        file: item.source_path.clone(),
        line,
        column,
        rule,
        severity: rule.default_severity(),
        message,
        hint: (!hint.is_empty()).then(|| hint.to_string()),
    }
}

fn at_key(item: &Item, key: &str, rule: Rule, message: String, hint: &str) -> Diagnostic {
    diag(item, content::key_line(item, key), 1, rule, message, hint)
}

fn at_offset(item: &Item, body_offset: usize, rule: Rule, message: String, hint: &str) -> Diagnostic {
    let (line, column) = line_col(&item.source, item.body_offset + body_offset);
    diag(item, line, column, rule, message, hint)
}

/// The rules on the front matter, the schedule and the account: cheap, and dependent on the
/// clock and publish.lock, so never kept between checks.
pub fn check_meta(ctx: &Context<'_>, item: &Item) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let meta = &item.meta;
    let chars = |s: &str| s.chars().count();
    if chars(&meta.title) > TITLE_MAX {
        out.push(at_key(
            item,
            "title",
            Rule::TitleLength,
            format!("title has {} characters; WeChat allows {TITLE_MAX}", chars(&meta.title)),
            "shorten the title",
        ));
    }
    if let Some(author) = &meta.author
        && chars(author) > AUTHOR_MAX
    {
        out.push(at_key(
            item,
            "author",
            Rule::AuthorLength,
            format!("author has {} characters; WeChat allows {AUTHOR_MAX}", chars(author)),
            "shorten the author",
        ));
    }
    if let Some(digest) = &meta.digest
        && chars(digest) > DIGEST_MAX
    {
        out.push(at_key(
            item,
            "digest",
            Rule::DigestLength,
            format!("digest has {} characters; WeChat allows {DIGEST_MAX}", chars(digest)),
            "shorten the digest",
        ));
    }
    if let Some(url) = &meta.source_url
        && url.len() > SOURCE_URL_MAX
    {
        out.push(at_key(
            item,
            "source_url",
            Rule::SourceUrlLength,
            format!("source_url is {} bytes; WeChat allows 1 KB", url.len()),
            "use a shorter link",
        ));
    }
    let image_post = meta.format == content::Format::ImagePost;
    if matches!(item.kind, Kind::Article | Kind::Topic) && meta.cover.is_none() && !image_post {
        out.push(at_key(
            item,
            "title",
            Rule::RequiredField,
            "no `cover`: WeChat needs a cover image for every article".into(),
            "add `cover: FILE` (an image beside index.md)",
        ));
    }
    if !ctx.config.accounts.contains_key(&meta.account) {
        let known: Vec<&str> = ctx.config.accounts.keys().map(String::as_str).collect();
        out.push(at_key(
            item,
            "account",
            Rule::UnknownAccount,
            format!("account `{}` is not in publish.toml", meta.account),
            &format!("use one of: {}", known.join(", ")),
        ));
    }
    if let Some(when) = &meta.publish_at {
        match content::parse_publish_at(when, ctx.config.timezone()) {
            None => out.push(at_key(
                item,
                "publish_at",
                Rule::PublishTime,
                format!("`{when}` is not a time"),
                &format!("write `YYYY-MM-DD HH:MM` in {}", ctx.config.site.timezone),
            )),
            // A published item keeps its past time for good: that is history, not a problem.
            Some(time) if time.with_timezone(&chrono::Utc) < ctx.now && !meta.draft && !ctx.is_published(item) => {
                let age = ctx.now - time.with_timezone(&chrono::Utc);
                out.push(if age <= RECENTLY_PAST {
                    at_key(
                        item,
                        "publish_at",
                        Rule::PublishTimePast,
                        format!("publish_at {when} is in the past"),
                        "set a future time, or it goes out at the next `wxpub publish --due`",
                    )
                } else {
                    at_key(
                        item,
                        "publish_at",
                        Rule::PublishTimeOld,
                        format!("publish_at {when} passed {} day(s) ago and publish.lock has no publication of it", age.num_days()),
                        "the next `wxpub publish --due` publishes it; set a new time, or run `wxpub sync` if it went out by hand",
                    )
                });
            }
            Some(_) => {}
        }
    }
    out.extend(check_video_placeholders(ctx, item));
    out.extend(check_draft_conflict(ctx, item));
    out
}

/// An item whose draft publish.lock records as in conflict with the web backend: an editor
/// changed the draft there and the source changed too, so `publish` holds it until told which
/// wins. At the front matter's first line, with what differs.
fn check_draft_conflict(ctx: &Context<'_>, item: &Item) -> Option<Diagnostic> {
    let key = item.key();
    let push = ctx.lock.accounts.values().flat_map(|a| a.pushes.values()).find(|push| push.items.contains(&key))?;
    let conflict = push.conflict.as_ref()?;
    if push.publication.is_some() {
        return None;
    }
    Some(diag(
        item,
        1,
        1,
        Rule::DraftConflict,
        format!(
            "its draft {} was edited in the web backend and the source changed too: {}",
            push.draft_media_id.as_deref().unwrap_or(""),
            conflict.changes.join("; ")
        ),
        &format!(
            "`wxpub publish --keep-server {key}` publishes the web backend's version; `wxpub publish --overwrite-server {key}` sends the source (the changes there are lost)"
        ),
    ))
}

/// An item due within [`VIDEO_REMINDER`] (or past due) and not published whose body still has a
/// `video` block: its draft waits for an editor to insert the video in the web backend, and
/// wxpub holds it back until then. One finding per block, at its fence. None once publish.lock
/// records that the push publishes the server's draft as it is (`keep_server`).
fn check_video_placeholders(ctx: &Context<'_>, item: &Item) -> Vec<Diagnostic> {
    let blocks = item.video_blocks();
    if blocks.is_empty() || item.meta.draft {
        return Vec::new();
    }
    let tz = ctx.config.timezone();
    let Some(time) = item.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz)) else {
        return Vec::new();
    };
    if time.with_timezone(&chrono::Utc) > ctx.now + VIDEO_REMINDER
        || ctx.is_published(item)
        || ctx.keeps_server_draft(item)
    {
        return Vec::new();
    }
    blocks
        .iter()
        .map(|block| {
            diag(
                item,
                block.line,
                1,
                Rule::VideoPlaceholder,
                format!(
                    "still waits for a video: insert `{}` ({}) in the web backend (草稿箱) — wxpub publishes it once the placeholder is replaced",
                    block.title, block.duration
                ),
                &format!(
                    "in the item's draft, replace the box {}{}（{}） with the video and save; until then `publish` leaves it drafted",
                    crate::render::VIDEO_PLACEHOLDER_MARKER,
                    block.title,
                    crate::render::format_duration(block.seconds)
                ),
            )
        })
        .collect()
}

/// The rules on the item's text, images, links and render: a function of its source, its
/// render, the settings and which items exist.
pub fn check_content(ctx: &Context<'_>, item: &Item, words: &Words) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let meta = &item.meta;
    if let Some(cover) = &meta.cover {
        out.extend(check_cover(item, cover, ctx));
    }
    if let Some(image) = &meta.image {
        out.extend(check_image_file(item, image, content::key_line(item, "image"), 1, ctx, false));
    }
    out.extend(check_body(ctx, item, words));
    out.extend(check_rendered(ctx, item));
    if item.meta.format == content::Format::ImagePost {
        out.extend(check_image_post(item));
    }
    out
}

/// An image post (贴图) is 1–20 photos and short plain text: what cannot be plain text is named
/// at its line, before anything is uploaded.
fn check_image_post(item: &Item) -> Vec<Diagnostic> {
    use crate::wechat::limits::{NEWSPIC_MAX_IMAGES, NEWSPIC_MAX_TEXT_CHARS};
    let mut out = Vec::new();
    let mut photos = usize::from(item.meta.image.is_some());
    let plain = "an image post is photos and plain text";
    for (event, range) in Parser::new_ext(item.body(), markdown::options()).into_offset_iter() {
        let problem = match &event {
            Event::Start(Tag::Image { .. }) => {
                photos += 1;
                None
            }
            Event::Html(_) | Event::InlineHtml(_) => Some("raw HTML"),
            Event::Start(Tag::Table(_)) => Some("a table"),
            Event::Start(Tag::CodeBlock(_)) => Some("a code block or component"),
            Event::Start(Tag::FootnoteDefinition(_)) => Some("a footnote"),
            _ => None,
        };
        if let Some(what) = problem {
            out.push(at_offset(
                item,
                range.start,
                Rule::ImagePost,
                format!("{what} in an image post: WeChat takes its text as plain text only"),
                &format!("{plain}: remove it, or make this item an article (drop `format: image-post`)"),
            ));
        }
    }
    if photos == 0 || photos > NEWSPIC_MAX_IMAGES {
        out.push(at_key(
            item,
            "format",
            Rule::ImagePost,
            format!("an image post takes 1 to {NEWSPIC_MAX_IMAGES} photos; this one has {photos}"),
            "put the photos in the body as ![caption](photo.jpg) (a poster's `image` comes first), or split it",
        ));
    }
    let text = markdown::plain_text(item.body());
    if crate::html::has_markup(&text) {
        out.push(at_key(
            item,
            "format",
            Rule::ImagePost,
            "the image post's text would contain something WeChat reads as a tag (`<b>` in code or escaped)".into(),
            "write it without angle brackets, or use 〈〉",
        ));
    }
    let chars = text.chars().count();
    if chars > NEWSPIC_MAX_TEXT_CHARS {
        out.push(at_key(
            item,
            "format",
            Rule::ImagePost,
            format!("an image post's text is {chars} characters; WeChat takes {NEWSPIC_MAX_TEXT_CHARS}"),
            "shorten the text, or make this item an article",
        ));
    }
    out
}

fn check_cover(item: &Item, cover: &str, ctx: &Context<'_>) -> Vec<Diagnostic> {
    let line = content::key_line(item, "cover");
    let mut out = check_image_file(item, cover, line, 1, ctx, false);
    if out.is_empty()
        && let Some((w, h)) = image_size(ctx, &item.dir.join(cover))
    {
        let wide_w = (w as f64).min(h as f64 * 2.35);
        let square = w.min(h);
        if wide_w < 900.0 || wide_w / 2.35 < 383.0 || square < 300 {
            out.push(diag(
                item,
                line,
                1,
                Rule::CoverSize,
                format!("cover is {w}×{h}: too small for a sharp 2.35:1 crop (900×383) and 1:1 crop (300×300)"),
                "use a larger cover image",
            ));
        }
    }
    out
}

/// An image's dimensions from its header (read again only when the file changed).
fn image_size(ctx: &Context<'_>, path: &Path) -> Option<(u32, u32)> {
    let metadata = std::fs::metadata(path).ok()?;
    ctx.hashes.dimensions(path, &metadata, read_dimensions)
}

fn read_dimensions(path: &Path) -> Option<(u32, u32)> {
    image::ImageReader::open(path).ok()?.with_guessed_format().ok()?.into_dimensions().ok()
}

/// Path, existence, format and limits of one image reference.
fn check_image_file(
    item: &Item,
    src: &str,
    line: usize,
    column: usize,
    ctx: &Context<'_>,
    body: bool,
) -> Vec<Diagnostic> {
    let d = |rule, message: String, hint: &str| vec![diag(item, line, column, rule, message, hint)];
    match check_source_path(src) {
        Ok(()) => {}
        Err(SourcePathProblem::Outside) => {
            return d(
                Rule::ImagePath,
                format!("outside image `{src}`"),
                "WeChat removes images not uploaded through it: save the file beside index.md",
            );
        }
        Err(SourcePathProblem::LeavesFolder) => {
            return d(
                Rule::ImagePath,
                format!("image path `{src}` leaves the item's folder"),
                "put the image beside index.md",
            );
        }
        Err(SourcePathProblem::Format(extension)) => {
            return d(
                Rule::ImageFormat,
                format!("`{src}`: `.{extension}` is not a supported image format"),
                "use JPEG, PNG, GIF, WebP or BMP",
            );
        }
    }
    let relative = Path::new(src);
    let extension = relative.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    let path = item.dir.join(relative);
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => metadata,
        Ok(_) => {
            return d(
                Rule::ImageFormat,
                format!("`{src}` is not a regular file (a folder, pipe or device)"),
                "put the image file itself there",
            );
        }
        Err(_) => {
            return d(
                Rule::ImageMissing,
                format!("image `{src}` not found"),
                "check the file name (it is case-sensitive) and that the file is committed",
            );
        }
    };
    let Some((w, h)) = ctx.hashes.dimensions(&path, &metadata, read_dimensions) else {
        return d(
            Rule::ImageFormat,
            format!("`{src}` has no readable image header"),
            "re-export the image; the file may be damaged or mislabelled",
        );
    };
    let settings = &ctx.config.images;
    if let Some(refusal) = crate::images::refuse_dimensions(w, h, settings) {
        return d(Rule::ImageLimit, format!("`{src}`: {refusal}"), "scale it down before adding it");
    }
    if extension == "gif" {
        let size = metadata.len();
        if size > settings.material_max_bytes {
            return d(
                Rule::ImageLimit,
                format!(
                    "GIF `{src}` is {:.1} MB, over the {:.0} MB material limit",
                    size as f64 / 1048576.0,
                    settings.material_max_bytes as f64 / 1048576.0
                ),
                "shorten it, reduce colours or size, or publish it as a video",
            );
        }
    }
    if extension == "png"
        && let Some(share) = dark_on_transparent(&path, settings)
    {
        return d(
            Rule::DarkTransparentImage,
            format!(
                "`{src}` is transparent and {:.0} % of its visible pixels are dark: it vanishes in dark mode",
                share * 100.0
            ),
            "flatten it onto a white (or light) background before adding it",
        );
    }
    if body && w < SMALL_IMAGE_WIDTH {
        return d(
            Rule::ImageSmall,
            format!("`{src}` is only {w} px wide"),
            "use an image at least 400 px wide (1080 px is ideal)",
        );
    }
    Vec::new()
}

fn check_body(ctx: &Context<'_>, item: &Item, words: &Words) -> Vec<Diagnostic> {
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
    let body_offset =
        match content::parse_item(Kind::Article, String::new(), PathBuf::new(), PathBuf::new(), source.to_string()) {
            Ok(item) => item.body_offset,
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

fn internal_target_exists(ctx: &Context<'_>, item: &Item, url: &str) -> bool {
    let path = url.split(['#', '?']).next().unwrap_or("").trim_end_matches('/');
    if path.is_empty() {
        return true;
    }
    // Relative to the item folder (../other-slug, ../../posters/slug), or a key (articles/slug).
    let mut resolved = item.dir.clone();
    for part in Path::new(path).components() {
        match part {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(p) => resolved.push(p),
            _ => {}
        }
    }
    let target = resolved.join("index.md");
    target.is_file()
        || ctx.links.target(&item.dir, url).is_some()
        || ctx.project.join("content").join(path).join("index.md").is_file()
}

/// Rules that compare items: duplicate titles, push size.
pub fn check_across(ctx: &Context<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut titles: BTreeMap<&str, &Item> = BTreeMap::new();
    for item in ctx.items {
        if let Some(first) = titles.get(item.meta.title.as_str()) {
            out.push(at_key(
                item,
                "title",
                Rule::DuplicateTitle,
                format!("title also used by {}", first.source_path.display()),
                "give each item its own title",
            ));
        } else {
            titles.insert(&item.meta.title, item);
        }
    }
    // Titles already published (from publish.lock) by items other than the one checked.
    {
        for push in ctx.lock.accounts.values().flat_map(|a| a.pushes.values()).filter(|p| p.publication.is_some()) {
            for (key, title) in push.items.iter().zip(&push.titles) {
                for item in ctx.items.iter().filter(|i| &i.meta.title == title && &i.key() != key) {
                    out.push(at_key(
                        item,
                        "title",
                        Rule::DuplicateTitle,
                        format!("title already published by {key}"),
                        "give each item its own title",
                    ));
                }
            }
        }
    }
    let mut pushes: BTreeMap<(&str, &str), Vec<&Item>> = BTreeMap::new();
    for item in ctx.items.iter().filter(|i| !i.meta.draft) {
        if let Some(when) = &item.meta.publish_at {
            pushes.entry((&item.meta.account, when)).or_default().push(item);
        }
    }
    for ((account, when), items) in pushes {
        if items.len() > PUSH_MAX {
            for item in items {
                out.push(at_key(
                    item,
                    "publish_at",
                    Rule::PushSize,
                    format!(
                        "{account} push at {when} has {} items; WeChat allows {PUSH_MAX}",
                        ctx.items
                            .iter()
                            .filter(|i| i.meta.account == account && i.meta.publish_at.as_deref() == Some(when))
                            .count()
                    ),
                    "move some items to another time",
                ));
            }
        }
    }
    out
}

/// Text whose colours fail WCAG AA in light mode or after WeChat's dark-mode conversion. One
/// finding per distinct style, located at the theme key or the source line that sets it.
fn check_contrast(ctx: &Context<'_>, item: &Item, html: &str) -> Vec<Diagnostic> {
    use crate::render::darkmode::text_samples;
    let theme = ctx.layouts.map(|l| l.theme());
    let squash = |s: &str| s.replace([' ', ';'], "").to_ascii_lowercase();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for sample in text_samples(html) {
        let needed = sample.required_contrast();
        let (light, dark) = (sample.light_contrast(), sample.dark_contrast());
        if light >= needed && dark >= needed {
            continue;
        }
        if !seen.insert((sample.style.clone(), sample.light_bg.css())) {
            continue;
        }
        let key = theme.and_then(|t| {
            t.styles()
                .iter()
                .find(|(_, v)| !sample.style.is_empty() && squash(v) == squash(&sample.style))
                .map(|(k, _)| k.clone())
        });
        let (mode, ratio, fg, bg) = if light < needed {
            ("light", light, sample.light_fg, sample.light_bg)
        } else {
            ("dark", dark, sample.dark_fg, sample.dark_bg)
        };
        let light_fg = sample.light_fg.css();
        let measured = format!(
            "{} on {} is {ratio:.2}:1 in {mode} mode (needs {needed}:1; light {light:.2}:1, dark {dark:.2}:1)",
            fg.css(),
            bg.css()
        );
        let mut finding = match &key {
            // A theme style: reported once, at the theme's line for that key.
            Some(key) => {
                let theme_file =
                    std::path::PathBuf::from("layouts/themes").join(format!("{}.toml", ctx.config.site.theme));
                let text = std::fs::read_to_string(ctx.project.join(&theme_file)).unwrap_or_default();
                let line =
                    text.lines().position(|l| l.trim_start().starts_with(&format!("{key} "))).map_or(1, |i| i + 1);
                let mut d = diag(item, line, 1, Rule::DarkContrast, format!("theme style `{key}`: {measured}"), "");
                d.file = theme_file;
                d
            }
            None => {
                let line =
                    item.source.lines().position(|l| l.to_ascii_lowercase().contains(&light_fg)).map_or(1, |i| i + 1);
                diag(
                    item,
                    line,
                    1,
                    Rule::DarkContrast,
                    format!("“{}…” (style `{}`): {measured}", sample.text, sample.style),
                    "",
                )
            }
        };
        finding.hint = Some(
            if mode == "light" {
                "darken the text colour (or lighten its background)"
            } else {
                "WeChat recolours it in dark mode: pick a text colour further from the background, or put the background on the container"
            }
            .to_string(),
        );
        out.push(finding);
    }
    out
}

/// A PNG with transparency whose visible pixels are mostly dark: on WeChat's dark background
/// (#191919) it all but disappears.
pub fn dark_on_transparent(path: &Path, settings: &crate::config::Images) -> Option<f64> {
    let bytes = std::fs::read(path).ok()?;
    if !bytes.starts_with(b"\x89PNG") {
        return None;
    }
    let image = crate::images::decode_limited(&bytes, image::ImageFormat::Png, settings).ok()?;
    if !image.color().has_alpha() {
        return None;
    }
    let rgba = image.to_rgba8();
    let (mut transparent, mut visible, mut dark) = (0u64, 0u64, 0u64);
    for pixel in rgba.pixels() {
        let [r, g, b, a] = pixel.0;
        if a < 128 {
            transparent += 1;
            continue;
        }
        visible += 1;
        let brightness = (f64::from(r) * 299.0 + f64::from(g) * 587.0 + f64::from(b) * 114.0) / 1000.0;
        // Less than the 65 brightness steps the dark-mode text rule asks for over #191919.
        if brightness < 25.0 + 65.0 {
            dark += 1;
        }
    }
    let total = transparent + visible;
    (total > 0 && transparent * 10 >= total && visible > 0 && dark * 2 > visible).then(|| dark as f64 / visible as f64)
}

/// Measures the item's render against the content limits, each image counted as the uploadimg
/// URL it will be in the HTML sent, and checks its colours.
fn check_rendered(ctx: &Context<'_>, item: &Item) -> Vec<Diagnostic> {
    let Some(render) = ctx.render_of(item) else { return Vec::new() };
    match render {
        Ok(rendered) => {
            let mut out: Vec<Diagnostic> =
                rendered.diagnostics.iter().filter(|d| d.rule != Rule::ListDepth).cloned().collect();
            out.extend(check_contrast(ctx, item, &rendered.html));
            let size = ContentSize::of(&as_sent(&rendered.html));
            if !size.fits() {
                out.push(diag(
                    item,
                    1,
                    1,
                    Rule::ContentLength,
                    format!("the content as sent is {size}"),
                    "split the article into two pushes, or move long tables and lists into images",
                ));
            } else if size.html_chars >= crate::wechat::limits::CONTENT_MAX_TEXT_CHARS {
                // What other tools refuse, and WeChat does not: say why it is fine.
                out.push(diag(
                    item,
                    1,
                    1,
                    Rule::ContentHtmlLength,
                    format!(
                        "the HTML is {} characters; WeChat counts the {} visible ones against its 20,000",
                        size.html_chars, size.text_chars
                    ),
                    "nothing to do",
                ));
            }
            out
        }
        Err(RenderError::Source { line, column, message, .. }) => {
            vec![diag(item, *line, *column, Rule::FrontMatter, message.clone(), "fix this block")]
        }
        Err(_) => Vec::new(),
    }
}

/// The rules on an item's links to others, which depend on those items' schedules and on
/// publish.lock: never kept between checks (see [`check_meta`]).
pub fn check_links(ctx: &Context<'_>, item: &Item) -> Vec<Diagnostic> {
    match ctx.render_of(item) {
        Some(Ok(rendered)) => check_link_order(ctx, item, &rendered.linked),
        _ => Vec::new(),
    }
}

/// Links to other items carry their published URLs, so an item goes out after the items it
/// links to. Says where that cannot work: a target in the same push or never scheduled (the
/// link stays text), or one scheduled later (this item waits for it).
fn check_link_order(ctx: &Context<'_>, item: &Item, linked: &[String]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if item.meta.draft || item.meta.publish_at.is_none() {
        return out;
    }
    let settled = &ctx.settled;
    let tz = ctx.config.timezone();
    let when = |i: &Item| i.meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz));
    let mode = |i: &Item| ctx.config.accounts.get(&i.meta.account).map(|a| a.mode);
    for key in linked.iter().filter(|key| !settled.contains(*key)) {
        let Some(&index) = ctx.index_of.get(key) else { continue };
        let target = &ctx.items[index];
        let links_back = ctx
            .renders
            .and_then(|r| r.get(index))
            .and_then(|r| r.as_ref().ok())
            .is_some_and(|r| r.linked.contains(&item.key()));
        // A topic's card for such an item just shows it without a link: that is not worth a
        // warning per card; a link written in the text is.
        let no_url =
            matches!(mode(target), Some(crate::config::PublishMode::Masssend | crate::config::PublishMode::Draft));
        let problem = if no_url && item.kind == Kind::Topic {
            None
        } else if mode(target) == Some(crate::config::PublishMode::Masssend) {
            Some((
                format!(
                    "links to {key}, which goes out as a mass send: WeChat gives a mass send no URL, so the link stays text"
                ),
                "link to a published (freepublish) article, or write its mp.weixin.qq.com URL once it is sent",
            ))
        } else if mode(target) == Some(crate::config::PublishMode::Draft) {
            Some((
                format!(
                    "links to {key}, whose account stops at drafts: wxpub never learns its URL, so the link stays text"
                ),
                "write its mp.weixin.qq.com URL once it is published by hand",
            ))
        } else if links_back && when(target) >= when(item) {
            Some((
                format!(
                    "links to {key}, which links back: one of the two must go first, so this item's link stays text"
                ),
                "keep only one of the two links, or publish one item earlier and link to it from the later one",
            ))
        } else if target.meta.draft || target.meta.publish_at.is_none() {
            Some((
                format!("links to {key}, which is not scheduled: the link stays text until it is published"),
                "schedule it (publish_at) before this item, or link to a published article's mp.weixin.qq.com URL",
            ))
        } else if target.meta.account == item.meta.account && when(target) == when(item) {
            Some((
                format!(
                    "links to {key} in the same push: its URL exists only after both are published, so the link stays text"
                ),
                "publish it earlier (an earlier publish_at) so that this item can link to its URL",
            ))
        } else if when(target) > when(item) {
            Some((
                format!("links to {key}, scheduled later: this item waits for it and goes out after it"),
                "schedule the linked item first, or remove the link",
            ))
        } else {
            None
        };
        if let Some((message, hint)) = problem {
            // The first line naming the target's folder (a topic's gather list, a Markdown link).
            let slug = key.rsplit('/').next().unwrap_or(key);
            let line = item.source.lines().position(|l| l.contains(slug)).map_or(1, |i| i + 1);
            out.push(diag(item, line, 1, Rule::LinkOrder, message, hint));
        }
    }
    out
}

/// The HTML with each image placeholder replaced by an uploadimg URL of the length WeChat's are.
fn as_sent(html: &str) -> std::borrow::Cow<'_, str> {
    use crate::images::PLACEHOLDER;
    const KEY_CHARS: usize = 64;
    if !html.contains(PLACEHOLDER) {
        return std::borrow::Cow::Borrowed(html);
    }
    const PREFIX: &str = "https://mmbiz.qpic.cn/mmbiz_jpg/";
    const SUFFIX: &str = "/0?wx_fmt=jpeg";
    let url = format!("{PREFIX}{}{SUFFIX}", "0".repeat(UPLOADED_IMAGE_URL_CHARS - PREFIX.len() - SUFFIX.len()));
    let mut out = String::with_capacity(html.len() + 1024);
    let mut rest = html;
    while let Some(at) = rest.find(PLACEHOLDER) {
        out.push_str(&rest[..at]);
        out.push_str(&url);
        let after = &rest[at + PLACEHOLDER.len()..];
        let key_len = after.bytes().take(KEY_CHARS).take_while(u8::is_ascii_hexdigit).count();
        rest = &after[key_len..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}
