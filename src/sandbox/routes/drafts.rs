//! The draft box: `draft/add`, `update`, `get`, `delete`, `count`, `batchget`.
use std::sync::Arc;

use axum::Router;
use serde_json::json;

use super::{Ctx, endpoint};
use crate::sandbox::Sandbox;
use crate::sandbox::call::{Call, Reply, check_count, parse, parse_literal_escapes, to_value};
use crate::sandbox::state::{Draft, refuse};
use crate::wechat::types::{
    Article, BatchGetRequest, DraftAddRequest, DraftBatchGetResponse, DraftItem, DraftUpdateRequest, MediaId,
    NewsItems, StoredDraft,
};

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/cgi-bin/draft/add", endpoint(add))
        .route("/cgi-bin/draft/update", endpoint(update))
        .route("/cgi-bin/draft/get", endpoint(get))
        .route("/cgi-bin/draft/delete", endpoint(delete))
        .route("/cgi-bin/draft/count", endpoint(count))
        .route("/cgi-bin/draft/batchget", endpoint(batchget))
}

fn add(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: DraftAddRequest = parse_literal_escapes(&call.body)?;
    if request.articles.is_empty() || request.articles.len() > 8 {
        return Err(refuse(47001, "data format error: a draft holds 1 to 8 articles"));
    }
    let articles =
        ctx.state.accept_articles(request.articles, &ctx.options.article_rules, &ctx.options.linked_miniprograms)?;
    let media_id = ctx.state.new_id("draft");
    ctx.state.drafts.push(Draft { media_id: media_id.clone(), articles, update_time: ctx.now });
    Ok(json!({ "media_id": media_id }))
}

fn update(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: DraftUpdateRequest = parse_literal_escapes(&call.body)?;
    let index = ctx.state.draft_index(&request.media_id)?;
    if request.index as usize >= ctx.state.drafts[index].articles.len() {
        return Err(refuse(47001, "data format error: index is past the draft's last article"));
    }
    let mut accepted = ctx.state.accept_articles(
        vec![request.articles],
        &ctx.options.article_rules,
        &ctx.options.linked_miniprograms,
    )?;
    let draft = &mut ctx.state.drafts[index];
    draft.articles[request.index as usize] = accepted.remove(0);
    draft.update_time = ctx.now;
    Ok(json!({ "errcode": 0, "errmsg": "ok" }))
}

fn get(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: MediaId = parse(&call.body)?;
    let index = ctx.state.draft_index(&request.media_id)?;
    let draft = &ctx.state.drafts[index];
    Ok(to_value(&StoredDraft { news_item: with_preview_urls(ctx.base_url, draft), update_time: draft.update_time }))
}

fn delete(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: MediaId = parse(&call.body)?;
    let index = ctx.state.draft_index(&request.media_id)?;
    ctx.state.drafts.remove(index);
    Ok(json!({ "errcode": 0, "errmsg": "ok" }))
}

fn count(ctx: &mut Ctx<'_>, _: Call) -> Reply {
    Ok(json!({ "total_count": ctx.state.drafts.len() }))
}

/// The drafts, newest first.
fn batchget(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: BatchGetRequest = parse(&call.body)?;
    check_count(request.count)?;
    let total = ctx.state.drafts.len() as u32;
    let items: Vec<DraftItem> = ctx
        .state
        .drafts
        .iter()
        .rev()
        .skip(request.offset as usize)
        .take(request.count as usize)
        .map(|d| {
            let mut news_item = with_preview_urls(ctx.base_url, d);
            if request.no_content == 1 {
                news_item.iter_mut().for_each(|a| a.content.clear());
            }
            DraftItem { media_id: d.media_id.clone(), content: NewsItems { news_item }, update_time: d.update_time }
        })
        .collect();
    Ok(to_value(&DraftBatchGetResponse { total_count: total, item_count: items.len() as u32, item: items }))
}

fn with_preview_urls(base_url: &str, draft: &Draft) -> Vec<Article> {
    draft
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| Article { url: Some(format!("{base_url}/s/draft_{}_{}", draft.media_id, i + 1)), ..a.clone() })
        .collect()
}
