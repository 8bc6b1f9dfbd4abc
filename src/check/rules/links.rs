//! The rules on links to other items: that the target exists, and that it goes out first so
//! that the link can carry its URL.
use std::path::{Component, Path};

use super::{Context, diag};
use crate::content::{self, Item, Kind};
use crate::util::diagnostics::{Diagnostic, Rule};

pub(super) fn internal_target_exists(ctx: &Context<'_>, item: &Item, url: &str) -> bool {
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

/// The rules on an item's links to others, which depend on those items' schedules and on
/// publish.lock: never kept between checks (see [`check_meta`](super::check_meta)).
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
