//! Publishing: `freepublish/submit`, `get`, `batchget`, `getarticle`, `delete` (48001 for an
//! account without them).
use std::sync::Arc;

use axum::Router;
use serde_json::json;

use super::{Ctx, endpoint, permitted};
use crate::sandbox::call::{Call, Reply, check_count, parse, to_value};
use crate::sandbox::state::{Material, Publication, refuse};
use crate::sandbox::{Sandbox, now_ms};
use crate::wechat::types::{
    Article, ArticleDetail, ArticleId, ArticleUrl, BatchGetRequest, FreepublishDeleteRequest, MediaId, NewsItems,
    PublishId, PublishStatus, PublishedBatchGetResponse, PublishedItem,
};

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/cgi-bin/freepublish/submit", endpoint(submit))
        .route("/cgi-bin/freepublish/get", endpoint(get))
        .route("/cgi-bin/freepublish/batchget", endpoint(batchget))
        .route("/cgi-bin/freepublish/getarticle", endpoint(getarticle))
        .route("/cgi-bin/freepublish/delete", endpoint(delete))
}

fn submit(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: MediaId = parse(&call.body)?;
    let state = &mut *ctx.state;
    let index = state.draft_index(&request.media_id)?;
    // A submitted draft leaves the draft box.
    let draft = state.drafts.remove(index);
    let publish_id = state.new_id("").trim_start_matches('0').to_string();
    let msg_data_id = state.next_id + 2_247_000_000;
    let article_id = state.new_id("article");
    state.publications.push(Publication {
        publish_id: publish_id.clone(),
        msg_data_id,
        draft_media_id: draft.media_id,
        articles: draft.articles,
        submitted_ms: now_ms(),
        ready_ms: now_ms() + ctx.options.publish_delay_ms as i64,
        date: ctx.today,
        article_id,
        deleted: false,
    });
    Ok(json!({ "errcode": 0, "errmsg": "ok", "publish_id": publish_id, "msg_data_id": msg_data_id }))
}

fn get(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: PublishId = parse(&call.body)?;
    let publication = ctx
        .state
        .publications
        .iter()
        .find(|p| p.publish_id == request.publish_id)
        .ok_or_else(|| refuse(40007, "invalid publish_id"))?;
    Ok(to_value(&publish_status(publication, ctx.options.publish_fail_status)))
}

/// Only successful publications, newest first by when they were published.
fn batchget(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: BatchGetRequest = parse(&call.body)?;
    check_count(request.count)?;
    let failing = ctx.options.publish_fail_status.is_some();
    let state = &*ctx.state;
    let mut done: Vec<&Publication> =
        state.publications.iter().filter(|p| !p.deleted && !failing && is_published(p)).collect();
    done.sort_by_key(|p| std::cmp::Reverse(p.ready_ms));
    let items: Vec<PublishedItem> = done
        .iter()
        .skip(request.offset as usize)
        .take(request.count as usize)
        .map(|p| {
            let mut news_item = with_article_urls(p, &state.materials);
            if request.no_content == 1 {
                news_item.iter_mut().for_each(|a| a.content.clear());
            }
            PublishedItem {
                article_id: p.article_id.clone(),
                content: NewsItems { news_item },
                update_time: p.ready_ms / 1000,
            }
        })
        .collect();
    Ok(to_value(&PublishedBatchGetResponse {
        total_count: done.len() as u32,
        item_count: items.len() as u32,
        item: items,
    }))
}

fn getarticle(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: ArticleId = parse(&call.body)?;
    let publication = ctx
        .state
        .publications
        .iter()
        .find(|p| p.article_id == request.article_id && !p.deleted && is_published(p))
        .ok_or_else(|| refuse(40007, "invalid article_id"))?;
    Ok(to_value(&NewsItems { news_item: with_article_urls(publication, &ctx.state.materials) }))
}

fn delete(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: FreepublishDeleteRequest = parse(&call.body)?;
    let publication = ctx
        .state
        .publications
        .iter_mut()
        .find(|p| p.article_id == request.article_id && !p.deleted)
        .ok_or_else(|| refuse(40007, "invalid article_id"))?;
    publication.deleted = true;
    Ok(json!({ "errcode": 0, "errmsg": "ok" }))
}

fn is_published(publication: &Publication) -> bool {
    now_ms() >= publication.ready_ms
}

fn publish_status(publication: &Publication, fail_status: Option<i32>) -> PublishStatus {
    if !is_published(publication) {
        return PublishStatus {
            publish_id: publication.publish_id.clone(),
            publish_status: 1,
            article_id: None,
            article_detail: None,
            fail_idx: Vec::new(),
        };
    }
    if let Some(status) = fail_status {
        return PublishStatus {
            publish_id: publication.publish_id.clone(),
            publish_status: status,
            article_id: None,
            article_detail: None,
            fail_idx: (1..=publication.articles.len() as u32).collect(),
        };
    }
    let urls = with_article_urls(publication, &[]);
    PublishStatus {
        publish_id: publication.publish_id.clone(),
        publish_status: if publication.deleted { 5 } else { 0 },
        article_id: Some(publication.article_id.clone()),
        article_detail: Some(ArticleDetail {
            count: urls.len() as u32,
            item: urls
                .iter()
                .enumerate()
                .map(|(i, a)| ArticleUrl { idx: i as u32 + 1, article_url: a.url.clone().unwrap_or_default() })
                .collect(),
        }),
        fail_idx: Vec::new(),
    }
}

/// The account's `__biz` in article links (base64 of a decimal account number, as WeChat's).
const SANDBOX_BIZ: &str = "MzkxMDAwMDAwMQ==";

/// The published articles with their links, in WeChat's long form: `mid` is the push's
/// `msg_data_id` and `idx` the 1-based position (what the statistics key on), `sn` a signature.
fn with_article_urls(publication: &Publication, materials: &[Material]) -> Vec<Article> {
    use sha2::Digest;
    publication
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let signature = sha2::Sha256::digest(format!("{}/{}", publication.article_id, i + 1));
            let url = format!(
                "https://mp.weixin.qq.com/s?__biz={SANDBOX_BIZ}&mid={}&idx={}&sn={}#rd",
                publication.msg_data_id,
                i + 1,
                &hex::encode(signature)[..32]
            );
            // The cover's address, as freepublish lists give it.
            let thumb_url = a
                .thumb_media_id
                .as_ref()
                .and_then(|id| materials.iter().find(|m| &m.media_id == id))
                .and_then(|m| m.url.clone());
            Article { url: Some(url), thumb_url, ..a.clone() }
        })
        .collect()
}
