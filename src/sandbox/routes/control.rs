//! `/__sandbox/…`: what tests drive the sandbox with (outside the API, so without the
//! middleware): its state, its day, scripted faults, what an editor does in the web backend,
//! files served under /mmbiz/.
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::sandbox::call::{Reply, answer};
use crate::sandbox::middleware::Fault;
use crate::sandbox::state::{Publication, refuse};
use crate::sandbox::{Inner, Sandbox, now_ms};
use crate::wechat::types::Article;

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/__sandbox/state", any(state))
        .route("/__sandbox/today", any(today))
        .route("/__sandbox/faults", any(faults))
        .route("/__sandbox/backend_publish", any(backend_publish))
        .route("/__sandbox/backend_edit", any(backend_edit))
        .route("/__sandbox/files", any(files))
        .route("/__sandbox/comments", any(comments))
}

/// A reader comments (or deletes their comment): see [`super::comments::add_by_reader`].
async fn comments(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let body = body(request, 1024 * 1024).await;
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return answer(Err(refuse(47001, "expected a JSON object")));
    };
    let mut inner = sandbox.lock();
    let Inner { state, store, .. } = &mut *inner;
    let reply = super::comments::add_by_reader(state, &value);
    if reply.is_ok()
        && let Err(e) = store.save(state)
    {
        return answer(Err(refuse(-1, format!("sandbox state could not be saved: {e}"))));
    }
    answer(reply)
}

/// The body, up to `limit` bytes (empty past it).
async fn body(request: Request, limit: usize) -> Bytes {
    axum::body::to_bytes(request.into_body(), limit).await.unwrap_or_default()
}

async fn state(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let inner = sandbox.lock();
    axum::Json(serde_json::to_value(&inner.state).unwrap_or(Value::Null)).into_response()
}

/// `{"today": "YYYY-MM-DD"}`: the day quotas, mass-send allowances and statistics follow.
async fn today(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let body = body(request, 1024).await;
    let day = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("today").and_then(Value::as_str).and_then(|d| d.parse::<NaiveDate>().ok()));
    match day {
        Some(day) => {
            sandbox.lock().today = Some(day);
            answer(Ok(json!({ "errcode": 0, "errmsg": "ok", "today": day.to_string() })))
        }
        None => answer(Err(refuse(47001, "expected {\"today\": \"YYYY-MM-DD\"}"))),
    }
}

/// A JSON array of faults, served to the next API calls (see [`Fault`]).
async fn faults(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let body = body(request, 1024 * 1024).await;
    match serde_json::from_slice::<Vec<Fault>>(&body) {
        Ok(faults) => {
            sandbox.lock().scripted.extend(faults);
            answer(Ok(json!({ "errcode": 0, "errmsg": "ok" })))
        }
        Err(e) => answer(Err(refuse(47001, format!("expected a JSON array of faults: {e}")))),
    }
}

/// `{"articles": [ARTICLE…], "published_at": UNIX_SECONDS?}` → a publication made in the web
/// backend, published at once (at `published_at` when given).
#[derive(Deserialize)]
struct BackendPublication {
    articles: Vec<Article>,
    #[serde(default)]
    published_at: Option<i64>,
}

/// What an editor publishes in the web backend, not through the API: a publication the
/// account's lists and statistics show, which wxpub never made.
async fn backend_publish(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let body = body(request, 32 * 1024 * 1024).await;
    answer(publish_in_backend(&sandbox, &body))
}

fn publish_in_backend(sandbox: &Sandbox, body: &[u8]) -> Reply {
    let request: BackendPublication =
        serde_json::from_slice(body).map_err(|e| refuse(47001, format!("expected {{\"articles\": [...]}}: {e}")))?;
    if request.articles.is_empty() {
        return Err(refuse(47001, "a publication has at least one article"));
    }
    let today = sandbox.today();
    let mut inner = sandbox.lock();
    let Inner { state, store, .. } = &mut *inner;
    let at_ms = request.published_at.map_or_else(now_ms, |s| s * 1000);
    let date = chrono::DateTime::from_timestamp(at_ms / 1000, 0)
        .map_or(today, |t| (t + chrono::Duration::hours(8)).date_naive());
    let publish_id = state.new_id("").trim_start_matches('0').to_string();
    let msg_data_id = state.next_id + 2_247_000_000;
    let article_id = state.new_id("article");
    state.publications.push(Publication {
        publish_id,
        msg_data_id,
        draft_media_id: String::new(),
        articles: request.articles,
        submitted_ms: at_ms,
        ready_ms: at_ms,
        date,
        article_id: article_id.clone(),
        deleted: false,
    });
    store.save(state).map_err(|e| refuse(-1, format!("sandbox state could not be saved: {e}")))?;
    Ok(json!({ "errcode": 0, "article_id": article_id, "msg_data_id": msg_data_id }))
}

/// `{"media_id", "index"?, "replace"?: ["old", "new"], "append"?: "html", "title"?: "…"}`: what an
/// editor does to a draft in the web backend. `replace` changes the first occurrence of a piece
/// of the article's HTML (refused when absent), `append` adds HTML at its end. Nothing is
/// cleaned: the web backend is where videos and Channels cards are put in.
#[derive(Deserialize)]
struct BackendEdit {
    media_id: String,
    #[serde(default)]
    index: usize,
    #[serde(default)]
    replace: Option<(String, String)>,
    #[serde(default)]
    append: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// An editor changing a draft in the web backend (草稿箱): what the API cannot do (a video, a
/// Channels card) is kept, and the draft's update_time moves on.
async fn backend_edit(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let body = body(request, 32 * 1024 * 1024).await;
    answer(edit_in_backend(&sandbox, &body))
}

fn edit_in_backend(sandbox: &Sandbox, body: &[u8]) -> Reply {
    let edit: BackendEdit = serde_json::from_slice(body)
        .map_err(|e| refuse(47001, format!("expected {{\"media_id\", \"replace\"|\"append\"|\"title\"}}: {e}")))?;
    let mut inner = sandbox.lock();
    let Inner { state, store, .. } = &mut *inner;
    let index = state.draft_index(&edit.media_id)?;
    let draft = &mut state.drafts[index];
    let article =
        draft.articles.get_mut(edit.index).ok_or_else(|| refuse(47001, "index is past the draft's last article"))?;
    if let Some((old, new)) = &edit.replace {
        if !article.content.contains(old.as_str()) {
            return Err(refuse(47001, format!("the article does not contain `{old}`")));
        }
        article.content = article.content.replacen(old.as_str(), new, 1);
    }
    if let Some(html) = &edit.append {
        article.content.push_str(html);
    }
    if let Some(title) = &edit.title {
        article.title = title.clone();
    }
    // A save in the web backend is a new version, even within the second of the last one.
    draft.update_time = (now_ms() / 1000).max(draft.update_time + 1);
    let update_time = draft.update_time;
    store.save(state).map_err(|e| refuse(-1, format!("sandbox state could not be saved: {e}")))?;
    Ok(json!({ "errcode": 0, "update_time": update_time }))
}

#[derive(Deserialize)]
struct SandboxFile {
    name: String,
    content_type: String,
    base64: String,
    /// Serve it only after this long.
    #[serde(default)]
    delay_ms: Option<u64>,
}

/// `{"name", "content_type", "base64", "delay_ms"?}`: anything served at /mmbiz/NAME, so that a
/// test can put an oversize or non-image file where an article's image should be.
async fn files(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let body = body(request, 64 * 1024 * 1024).await;
    answer(put_file(&sandbox, &body))
}

fn put_file(sandbox: &Sandbox, body: &[u8]) -> Reply {
    use base64::Engine;
    let file: SandboxFile = serde_json::from_slice(body)
        .map_err(|e| refuse(47001, format!("expected {{\"name\", \"content_type\", \"base64\"}}: {e}")))?;
    if let Some(delay) = file.delay_ms {
        sandbox.lock().slow_files.insert(file.name.clone(), delay);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(file.base64.as_bytes())
        .map_err(|e| refuse(47001, format!("base64: {e}")))?;
    sandbox.lock().store.put_file(&file.name, &file.content_type, &bytes).map_err(|e| refuse(-1, e.to_string()))?;
    Ok(json!({ "errcode": 0, "url": format!("{}/mmbiz/{}", sandbox.base_url, file.name) }))
}
