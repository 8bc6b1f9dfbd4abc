//! `/mmbiz/NAME`: the files uploaded (and those a test put there), as WeChat's image server
//! serves them; outside the API, so without the middleware.
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::sandbox::Sandbox;

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new().route("/mmbiz/", any(file)).route("/mmbiz/{*name}", any(file))
}

/// The file named by the rest of the path as sent (not percent-decoded), after its delay if a
/// test made it slow.
async fn file(State(sandbox): State<Arc<Sandbox>>, uri: Uri) -> Response {
    let name = uri.path().strip_prefix("/mmbiz/").unwrap_or_default();
    let delay = sandbox.lock().slow_files.get(name).copied();
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let file = sandbox.lock().store.file(name);
    match file {
        Some((content_type, bytes)) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        None => (StatusCode::NOT_FOUND, "no such image").into_response(),
    }
}
