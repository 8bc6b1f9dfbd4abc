//! The rules on the front matter: each item's fields (WeChat's lengths, the cover, the account),
//! its schedule and what publish.lock records of it, and the rules that compare items.
use std::collections::BTreeMap;

use super::{Context, at_key, diag};
use crate::content::{self, Item, Kind};
use crate::util::diagnostics::{Diagnostic, Rule};

use crate::wechat::limits::PUSH_MAX_ARTICLES as PUSH_MAX;
use crate::wechat::limits::{
    AUTHOR_MAX_CHARS as AUTHOR_MAX, DIGEST_MAX_CHARS as DIGEST_MAX, SOURCE_URL_MAX_BYTES as SOURCE_URL_MAX,
    TITLE_MAX_CHARS as TITLE_MAX,
};

/// How long before its `publish_at` an item with a `video` block is reminded that its video is
/// still to be inserted: a working day.
const VIDEO_REMINDER: chrono::Duration = chrono::Duration::hours(24);

/// How long after its `publish_at` an unpublished item still counts as "about to go out"
/// (a warning) rather than as an old schedule (a note): a weekend without CI runs.
const RECENTLY_PAST: chrono::Duration = chrono::Duration::hours(72);

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
