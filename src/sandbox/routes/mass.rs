//! Mass sends: `message/mass/sendall`, `preview`, `get` (48001 for an account without them).
use std::sync::Arc;

use axum::Router;
use serde_json::json;

use super::{Ctx, endpoint, permitted};
use crate::sandbox::call::{Call, Reply, parse};
use crate::sandbox::state::{MassSend, PreviewSent, refuse};
use crate::sandbox::{Sandbox, now_ms};
use crate::wechat::types::{CLIENTMSGID_MAX_BYTES, MassGetRequest, MassPreviewRequest, MassSendRequest};

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/cgi-bin/message/mass/sendall", endpoint(sendall))
        .route("/cgi-bin/message/mass/preview", endpoint(preview))
        .route("/cgi-bin/message/mass/get", endpoint(get))
}

fn sendall(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: MassSendRequest = parse(&call.body)?;
    if request.msgtype != "mpnews" || !request.filter.is_to_all {
        return Err(refuse(47001, "data format error: wxpub's sandbox supports msgtype mpnews to all followers"));
    }
    let state = &mut *ctx.state;
    if let Some(id) = &request.clientmsgid {
        if id.len() > CLIENTMSGID_MAX_BYTES {
            return Err(refuse(45067, "clientmsgid exceeds limit"));
        }
        let day_ago = now_ms() - 24 * 3600 * 1000;
        if let Some(earlier) =
            state.mass_sends.iter().find(|m| m.clientmsgid.as_ref() == Some(id) && m.sent_ms >= day_ago)
        {
            return Ok(json!({ "errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": earlier.msg_id }));
        }
    }
    let index = state.draft_index(&request.mpnews.media_id)?;
    if !state.mass_send_allowed(ctx.options.service_account, ctx.today) {
        return Err(refuse(45028, "has no masssend quota"));
    }
    // Under send protection the draft waits in the box for the administrator's answer.
    let protection = ctx.options.send_protection_ms.map(|ms| (now_ms() + ms as i64, !ctx.options.send_refused));
    let draft = if protection.is_some() { state.drafts[index].clone() } else { state.drafts.remove(index) };
    let msg_id = 1_000_000_000 + state.next_id;
    state.next_id += 1;
    let msg_data_id = state.next_id + 2_247_000_000;
    state.mass_sends.push(MassSend {
        msg_id,
        msg_data_id,
        draft_media_id: draft.media_id,
        articles: draft.articles,
        date: ctx.today,
        clientmsgid: request.clientmsgid.clone(),
        sent_ms: now_ms(),
        protection,
    });
    Ok(json!({ "errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_data_id }))
}

/// A preview reaches a follower only (43004 for anyone else).
fn preview(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: MassPreviewRequest = parse(&call.body)?;
    if request.msgtype != "mpnews" {
        return Err(refuse(47001, "data format error: wxpub's sandbox previews msgtype mpnews"));
    }
    let to = match (&request.towxname, &request.touser) {
        (Some(name), _) => name.clone(),
        (None, Some(openid)) if openid.starts_with('o') && openid.len() == 28 => openid.clone(),
        (None, Some(_)) => return Err(refuse(40003, "invalid openid")),
        (None, None) => return Err(refuse(47001, "data format error: towxname or touser is required")),
    };
    let state = &mut *ctx.state;
    let index = state.draft_index(&request.mpnews.media_id)?;
    if !ctx.options.followers.contains(&to) {
        return Err(refuse(43004, "require subscribe"));
    }
    let msg_id = 1_000_000_000 + state.next_id;
    state.next_id += 1;
    let draft = &state.drafts[index];
    let preview = PreviewSent {
        msg_id,
        to,
        draft_media_id: draft.media_id.clone(),
        titles: draft.articles.iter().map(|a| a.title.clone()).collect(),
    };
    state.previews.push(preview);
    Ok(json!({ "errcode": 0, "errmsg": "preview success", "msg_id": msg_id }))
}

/// A send's status; under send protection, the administrator's answer once it is due.
fn get(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    let request: MassGetRequest = parse(&call.body)?;
    let state = &mut *ctx.state;
    let at = state
        .mass_sends
        .iter()
        .position(|m| m.msg_id == request.msg_id)
        .ok_or_else(|| refuse(40007, "invalid msg_id"))?;
    let status = match state.mass_sends[at].protection {
        None => "SEND_SUCCESS",
        Some((answer_ms, _)) if now_ms() < answer_ms => "SENDING",
        Some((_, true)) => {
            // Confirmed: the send goes out and its draft leaves the box.
            let draft_id = state.mass_sends[at].draft_media_id.clone();
            state.drafts.retain(|d| d.media_id != draft_id);
            "SEND_SUCCESS"
        }
        Some((_, false)) => "SEND_FAIL",
    };
    Ok(json!({ "msg_id": request.msg_id, "msg_status": status }))
}
