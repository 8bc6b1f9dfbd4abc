//! Paths no endpoint serves. Under /cgi-bin/ they are API calls all the same (through the
//! middleware, body read): 48001 in a family the account lacks, else 40066 with 200 OK, as
//! WeChat answers. Anywhere else: 404, still with WeChat's 40066.
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Ctx, endpoint, permitted};
use crate::sandbox::Sandbox;
use crate::sandbox::call::{Call, Reply};
use crate::sandbox::state::refuse;

pub fn routes() -> Router<Arc<Sandbox>> {
    // Named endpoints take precedence over the catch-all (which never matches an empty rest).
    Router::new().route("/cgi-bin/", endpoint(unknown_api)).route("/cgi-bin/{*rest}", endpoint(unknown_api))
}

fn unknown_api(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    permitted(ctx.options, &call.path)?;
    Err(refuse(40066, "invalid url"))
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"errcode": 40066, "errmsg": "invalid url"}))).into_response()
}
