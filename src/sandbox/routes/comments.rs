//! Readers' comments: `comment/open`, `close`, `list`, `markelect`, `unmarkelect`, `delete`,
//! `reply/add`, `reply/delete` (88000 for an account without the comment permission). Each
//! published article gets a few comments the first time they are listed; tests add more through
//! `/__sandbox/comments`.
use std::sync::Arc;

use axum::Router;
use serde_json::json;

use super::{Ctx, endpoint};
use crate::sandbox::call::{Call, Reply, parse};
use crate::sandbox::state::{AccountState, ReaderComment, Refusal, refuse};
use crate::sandbox::{Sandbox, now_ms};
use crate::wechat::limits::{COMMENT_PAGE_MAX, COMMENT_REPLY_MAX_CHARS};
use crate::wechat::types::{
    Comment, CommentArticle, CommentListRequest, CommentReply, CommentReplyRequest, CommentTarget,
};

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/cgi-bin/comment/open", endpoint(open))
        .route("/cgi-bin/comment/close", endpoint(close))
        .route("/cgi-bin/comment/list", endpoint(list))
        .route("/cgi-bin/comment/markelect", endpoint(markelect))
        .route("/cgi-bin/comment/unmarkelect", endpoint(unmarkelect))
        .route("/cgi-bin/comment/delete", endpoint(delete))
        .route("/cgi-bin/comment/reply/add", endpoint(reply_add))
        .route("/cgi-bin/comment/reply/delete", endpoint(reply_delete))
}

/// What readers write under a museum's articles.
const SEEDED: [&str; 6] = [
    "请问周一开馆吗？",
    "预约满了，还能现场排队吗？",
    "这个展览会延期吗？想带孩子去看。",
    "讲得真好，期待下一期！",
    "文物的图片能再放大一些吗？",
    "停车方便吗？",
];

/// The account may use comments (88000 otherwise), and `article` is a published article of it
/// (88001 otherwise); its comments are seeded the first time.
fn article(ctx: &mut Ctx<'_>, msg_data_id: u64, index: u32) -> Result<(), Refusal> {
    if !ctx.options.may_comment {
        return Err(refuse(88000, "without comment privilege"));
    }
    let state = &mut *ctx.state;
    let published = state
        .publications
        .iter()
        .filter(|p| !p.deleted && now_ms() >= p.ready_ms && p.msg_data_id == msg_data_id)
        .map(|p| (p.articles.len(), p.date))
        .chain(state.mass_sends.iter().filter(|m| m.msg_data_id == msg_data_id).map(|m| (m.articles.len(), m.date)))
        .next();
    let Some((articles, day)) = published else {
        return Err(refuse(88001, "msg_data_id invalid"));
    };
    if index as usize >= articles {
        return Err(refuse(88001, format!("index {index} invalid: the publication has {articles} article(s)")));
    }
    if !state.comments_seeded.contains(&(msg_data_id, index)) {
        state.comments_seeded.push((msg_data_id, index));
        let count = 2 + ((msg_data_id + u64::from(index)) % 3) as usize;
        for k in 0..count {
            let id = next_comment_id(state);
            state.comments.push(ReaderComment {
                msg_data_id,
                index,
                user_comment_id: id,
                create_time: comment_time(day, k + 1),
                content: SEEDED[(msg_data_id as usize + index as usize + k) % SEEDED.len()].to_string(),
                // Every fourth commenter has no WeChat identity for the account.
                openid: (!id.is_multiple_of(4)).then(|| format!("oReader{id:020}")),
                elected: false,
                deleted: false,
                reply: None,
            });
        }
    }
    Ok(())
}

/// When the `nth` comment on an article published on `day` was written: from 10:00 that day
/// (Beijing time), ten minutes apart — on the sandbox's own calendar, never the machine's clock,
/// so that the year a test's comments count in does not depend on when it runs.
fn comment_time(day: chrono::NaiveDate, nth: usize) -> i64 {
    let ten_in_beijing = day.and_hms_opt(2, 0, 0).map_or(0, |t| t.and_utc().timestamp());
    ten_in_beijing + 600 * nth as i64
}

fn next_comment_id(state: &mut AccountState) -> u64 {
    state.next_id += 1;
    state.next_id
}

/// The comment `target` names, not deleted: 88008 when there is none, 88004 when deleted.
fn comment<'s>(ctx: &'s mut Ctx<'_>, target: &CommentTarget) -> Result<&'s mut ReaderComment, Refusal> {
    article(ctx, target.msg_data_id, target.index)?;
    let found = ctx.state.comments.iter_mut().find(|c| {
        c.msg_data_id == target.msg_data_id && c.index == target.index && c.user_comment_id == target.user_comment_id
    });
    match found {
        None => Err(refuse(88008, "comment not exists")),
        Some(c) if c.deleted => Err(refuse(88004, "comment deleted by user")),
        Some(c) => Ok(c),
    }
}

fn ok() -> Reply {
    Ok(json!({ "errcode": 0, "errmsg": "ok" }))
}

fn open(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: CommentArticle = parse(&call.body)?;
    article(ctx, request.msg_data_id, request.index)?;
    ctx.state.comments_closed.retain(|a| *a != (request.msg_data_id, request.index));
    ok()
}

fn close(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: CommentArticle = parse(&call.body)?;
    article(ctx, request.msg_data_id, request.index)?;
    let key = (request.msg_data_id, request.index);
    if !ctx.state.comments_closed.contains(&key) {
        ctx.state.comments_closed.push(key);
    }
    ok()
}

fn list(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: CommentListRequest = parse(&call.body)?;
    if request.count == 0 || request.count > COMMENT_PAGE_MAX {
        return Err(refuse(88010, format!("count {} out of range (1–{COMMENT_PAGE_MAX})", request.count)));
    }
    article(ctx, request.msg_data_id, request.index)?;
    let matching: Vec<&ReaderComment> = ctx
        .state
        .comments
        .iter()
        .filter(|c| c.msg_data_id == request.msg_data_id && c.index == request.index && !c.deleted)
        .filter(|c| match request.kind {
            1 => !c.elected,
            2 => c.elected,
            _ => true,
        })
        .collect();
    let page: Vec<Comment> = matching
        .iter()
        .skip(request.begin as usize)
        .take(request.count as usize)
        .map(|c| Comment {
            user_comment_id: c.user_comment_id,
            create_time: c.create_time,
            content: c.content.clone(),
            comment_type: u32::from(c.elected),
            openid: c.openid.clone(),
            reply: c.reply.clone(),
        })
        .collect();
    Ok(json!({ "errcode": 0, "errmsg": "ok", "total": matching.len(), "comment": page }))
}

fn markelect(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let target: CommentTarget = parse(&call.body)?;
    comment(ctx, &target)?.elected = true;
    ok()
}

fn unmarkelect(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let target: CommentTarget = parse(&call.body)?;
    comment(ctx, &target)?.elected = false;
    ok()
}

fn delete(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let target: CommentTarget = parse(&call.body)?;
    comment(ctx, &target)?.deleted = true;
    ok()
}

fn reply_add(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: CommentReplyRequest = parse(&call.body)?;
    let length = request.content.trim().chars().count();
    if length == 0 || length > COMMENT_REPLY_MAX_CHARS {
        return Err(refuse(88007, format!("reply content empty or too long ({length} characters)")));
    }
    let now = ctx.now;
    let target = CommentTarget {
        msg_data_id: request.msg_data_id,
        index: request.index,
        user_comment_id: request.user_comment_id,
    };
    let found = comment(ctx, &target)?;
    if found.reply.is_some() {
        return Err(refuse(88005, "already reply"));
    }
    found.reply = Some(CommentReply { content: request.content, create_time: now });
    ok()
}

fn reply_delete(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let target: CommentTarget = parse(&call.body)?;
    let found = comment(ctx, &target)?;
    if found.reply.take().is_none() {
        return Err(refuse(88009, "reply not exists"));
    }
    ok()
}

/// `/__sandbox/comments`: a reader writes `content` under an article (what tests do to have a
/// new comment to pull; `create_time` in Unix seconds, else after the article's others), or, with `"delete_by_author": ID`, deletes their comment.
pub fn add_by_reader(state: &mut AccountState, request: &serde_json::Value) -> Reply {
    let number = |key: &str| request.get(key).and_then(serde_json::Value::as_u64);
    let Some(msg_data_id) = number("msg_data_id") else {
        return Err(refuse(47001, "expected {\"msg_data_id\": N, \"index\": 0, \"content\": \"…\"}"));
    };
    let index = number("index").unwrap_or(0) as u32;
    if let Some(id) = number("delete_by_author") {
        let found = state.comments.iter_mut().find(|c| c.msg_data_id == msg_data_id && c.user_comment_id == id);
        return match found {
            Some(c) => {
                c.deleted = true;
                ok()
            }
            None => Err(refuse(88008, "comment not exists")),
        };
    }
    let content = request.get("content").and_then(serde_json::Value::as_str).unwrap_or("").to_string();
    // After the comments the article has, on the day it was published.
    let day = state
        .publications
        .iter()
        .filter(|p| p.msg_data_id == msg_data_id)
        .map(|p| p.date)
        .chain(state.mass_sends.iter().filter(|m| m.msg_data_id == msg_data_id).map(|m| m.date))
        .next();
    let Some(day) = day else {
        return Err(refuse(88001, "msg_data_id invalid"));
    };
    let nth = state.comments.iter().filter(|c| c.msg_data_id == msg_data_id && c.index == index).count() + 1;
    let id = next_comment_id(state);
    state.comments.push(ReaderComment {
        msg_data_id,
        index,
        user_comment_id: id,
        create_time: request
            .get("create_time")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_else(|| comment_time(day, nth)),
        content,
        openid: request.get("openid").and_then(serde_json::Value::as_str).map(str::to_string),
        elected: false,
        deleted: false,
        reply: None,
    });
    Ok(json!({ "errcode": 0, "errmsg": "ok", "user_comment_id": id }))
}
