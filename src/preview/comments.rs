//! The preview server's comments page (`/__comments`): readers' comments per article, the
//! unanswered first, each with a reply box (and the reply templates) and elect buttons — an
//! editor answering forty comments would rather use a page than forty commands.
//!
//! The page writes to the museum's public account, so no other website open in the same browser
//! may drive it: a change is a POST, carries the token this server put in the page (a random
//! value per server, compared in constant time), and is refused when its `Host` or `Origin` (or,
//! without one, `Referer`) is not the preview's own address.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;

use crate::audience::{self, Action};
use crate::config::Config;
use crate::metrics::store::{CommentFilter, StoredComment};
use crate::metrics::{Store, StoreTarget};
use crate::util::html::escape;

pub use crate::wechat::ClientFactory;

/// What the comments page needs besides the project.
pub struct Desk {
    project: PathBuf,
    /// The session's token: every change must carry it.
    token: String,
    /// `host:port` forms this server answers as.
    hosts: Vec<String>,
    clients: ClientFactory,
    /// Who answers, as recorded with each reply.
    by: String,
}

impl Desk {
    pub fn new(project: PathBuf, port: u16, clients: ClientFactory, by: String) -> Desk {
        let mut rng = fastrand::Rng::new();
        let token = (0..32).map(|_| format!("{:02x}", rng.u8(..))).collect();
        Desk { project, token, hosts: vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")], clients, by }
    }

    /// Whether a change request comes from this server's own page.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let value = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ours = |url: &str| {
            let rest = url.strip_prefix("http://").unwrap_or("");
            let host = rest.split('/').next().unwrap_or("");
            self.hosts.iter().any(|h| h == host)
        };
        let host_ok = value(header::HOST).is_some_and(|h| self.hosts.contains(&h));
        let origin_ok = match (value(header::ORIGIN), value(header::REFERER)) {
            (Some(origin), _) => ours(&origin),
            (None, Some(referer)) => ours(&referer),
            (None, None) => false,
        };
        host_ok && origin_ok
    }
}

pub fn routes(desk: Arc<Desk>) -> axum::Router {
    axum::Router::new()
        .route("/__comments", get(page))
        .route("/__comments/{id}/{action}", post(change))
        .with_state(desk)
}

/// The page, with `done` or `error` said at the top.
async fn page(State(desk): State<Arc<Desk>>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let notice =
        query.get("done").map(|d| (false, d.clone())).or_else(|| query.get("error").map(|e| (true, e.clone())));
    let rendered = tokio::task::spawn_blocking(move || render(&desk, notice)).await;
    match rendered {
        Ok(Ok(html)) => Html(html).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, Html(format!("<p>{}</p>", escape(&e)))).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn open_store(desk: &Desk) -> Result<(Config, Store), String> {
    let config = Config::load(&desk.project).map_err(|e| e.to_string())?;
    let target = StoreTarget::from_config(&desk.project, &config.metrics).map_err(|e| e.to_string())?;
    let store = Store::open(&target).map_err(|e| e.to_string())?;
    Ok((config, store))
}

const STYLE: &str = r#"
body { margin: 0; padding: 16px; font: 15px/1.6 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; color: #222; background: #f6f4f0; }
main { max-width: 860px; margin: 0 auto; }
h1 { font-size: 20px; color: #8c2f1f; } h2 { font-size: 16px; margin: 24px 0 8px; }
.comment { background: #fff; border-radius: 6px; padding: 10px 14px; margin: 8px 0; }
.meta { color: #777; font-size: 12px; } .reply { color: #3a7d44; }
.notice { padding: 8px 12px; border-radius: 6px; background: #e8f3ea; } .notice.error { background: #fbe9e7; }
textarea { width: 100%; box-sizing: border-box; min-height: 56px; font: inherit; }
form.inline { display: inline; } button { margin: 4px 4px 0 0; }
"#;

fn render(desk: &Desk, notice: Option<(bool, String)>) -> Result<String, String> {
    let (config, store) = open_store(desk)?;
    let comments = store.comments(&CommentFilter::default()).map_err(|e| e.to_string())?;
    // A broken templates file leaves the boxes without templates; `comments reply --template` says why.
    let templates = audience::reply_templates(&desk.project, &config).unwrap_or_default();
    let mut by_article: Vec<(String, Option<String>, Vec<&StoredComment>)> = Vec::new();
    for comment in &comments {
        let title = comment.title.clone().or_else(|| comment.item.clone()).unwrap_or_else(|| comment.msgid.clone());
        match by_article.iter_mut().find(|(t, _, _)| *t == title) {
            Some((_, _, list)) => list.push(comment),
            None => by_article.push((title, comment.item.clone(), vec![comment])),
        }
    }
    let token = escape(&desk.token);
    let mut body = format!("<h1>读者留言 · Comments — {}</h1>\n", escape(&config.site.name));
    if let Some((error, text)) = notice {
        body.push_str(&format!(
            "<p class=\"notice{}\" id=\"notice\">{}</p>\n",
            if error { " error" } else { "" },
            escape(&text)
        ));
    }
    let unanswered = comments.iter().filter(|c| c.reply.is_none()).count();
    body.push_str(&format!(
        "<p class=\"meta\">{} comment(s), {unanswered} unanswered — from the last <code>wxpub comments pull</code>; <a href=\"/\">all items</a></p>\n",
        comments.len()
    ));
    for (title, item, list) in &by_article {
        let link = item
            .as_deref()
            .map_or_else(|| escape(title), |key| format!("<a href=\"/{}/\">{}</a>", escape(key), escape(title)));
        body.push_str(&format!("<h2>{link}</h2>\n"));
        for c in list {
            body.push_str(&format!(
                "<div class=\"comment\" id=\"comment-{id}\" data-id=\"{id}\"><div>{}</div><div class=\"meta\">#{id} · {} · {}{}</div>",
                escape(&c.content),
                escape(&c.created_at),
                escape(&c.account),
                if c.elected { " · 精选" } else { "" },
                id = c.id
            ));
            match &c.reply {
                Some(reply) => body.push_str(&format!(
                    "<div class=\"reply\">↳ {}{}</div>",
                    escape(reply),
                    c.replied_by.as_deref().map(|b| format!(" ({})", escape(b))).unwrap_or_default()
                )),
                None => {
                    let options: String = templates
                        .iter()
                        .map(|(name, text)| format!("<option value=\"{}\">{}</option>", escape(text), escape(name)))
                        .collect();
                    let picker = if options.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "<select onchange=\"this.form.text.value = this.value\"><option value=\"\">template…</option>{options}</select>"
                        )
                    };
                    body.push_str(&format!(
                        "<form method=\"post\" action=\"/__comments/{id}/reply\" class=\"reply-form\"><input type=\"hidden\" name=\"token\" value=\"{token}\"><textarea name=\"text\" required></textarea>{picker}<button type=\"submit\">回复 Reply</button></form>",
                        id = c.id
                    ));
                }
            }
            let (action, label) =
                if c.elected { ("unelect", "取消精选 Unelect") } else { ("elect", "精选 Elect") };
            body.push_str(&format!(
                "<form method=\"post\" action=\"/__comments/{id}/{action}\" class=\"inline\"><input type=\"hidden\" name=\"token\" value=\"{token}\"><button type=\"submit\" class=\"{action}\">{label}</button></form></div>\n",
                id = c.id
            ));
        }
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Comments</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n"
    ))
}

/// A reply, an election or its undoing; refused unless it comes from this server's page.
async fn change(
    State(desk): State<Arc<Desk>>,
    UrlPath((id, action)): UrlPath<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    if !desk.same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "refused: this request does not come from the preview's own page")
            .into_response();
    }
    let given = form.get("token").map(String::as_bytes).unwrap_or_default();
    if !bool::from(given.ct_eq(desk.token.as_bytes())) {
        return (StatusCode::FORBIDDEN, "refused: wrong or missing session token; reload the comments page")
            .into_response();
    }
    let action = match action.as_str() {
        "reply" => Action::Reply(form.get("text").cloned().unwrap_or_default()),
        "elect" => Action::Elect,
        "unelect" => Action::Unelect,
        _ => return (StatusCode::NOT_FOUND, "no such action").into_response(),
    };
    let outcome = tokio::task::spawn_blocking(move || carry_out(&desk, id, &action)).await;
    let (key, text) = match outcome {
        Ok(Ok(done)) => ("done", done),
        Ok(Err(error)) => ("error", error),
        Err(e) => ("error", e.to_string()),
    };
    let location =
        format!("/__comments?{key}={}", url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>());
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn carry_out(desk: &Desk, id: i64, action: &Action) -> Result<String, String> {
    let (config, store) = open_store(desk)?;
    let comment = store
        .comment(id)
        .map_err(|e| e.to_string())?
        .filter(|c| !c.deleted)
        .ok_or_else(|| format!("no comment {id} (pull again: `wxpub comments pull`)"))?;
    if let Action::Reply(text) = action {
        let words = crate::check::Words::of_project(&desk.project, &config).map_err(|e| e.to_string())?;
        audience::check_reply(text, &words).map_err(|e| e.to_string())?;
    }
    let client = (desk.clients)(&comment.account).map_err(|e| crate::util::redact::redact(&e.to_string()))?;
    audience::act(&store, &client, &comment, action, &desk.by, config.timezone())
        .map_err(|e| crate::util::redact::redact(&e.to_string()))?;
    Ok(format!("{} comment {id}", action.done()))
}
