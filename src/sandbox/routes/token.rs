//! `/cgi-bin/token` and `/cgi-bin/stable_token` (the middleware asks them for no token and no
//! quota).
use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use serde_json::json;

use super::{Ctx, endpoint};
use crate::sandbox::call::{Call, Reply, parse};
use crate::sandbox::state::{Refusal, refuse};
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::wechat::types::StableTokenRequest;

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new().route("/cgi-bin/token", endpoint(token)).route("/cgi-bin/stable_token", endpoint(stable_token))
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…` (any other method: 40002).
fn token(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let query = &call.query;
    if call.method != Method::GET || query.get("grant_type").map(String::as_str) != Some("client_credential") {
        return Err(refuse(40002, "invalid grant_type"));
    }
    check_credentials(ctx.options, query.get("appid"), query.get("secret"))?;
    let ttl = ctx.options.token_ttl;
    let token = ctx.state.issue_token(random_token(), ctx.now, ttl as i64, false);
    Ok(json!({ "access_token": token.value, "expires_in": ttl }))
}

fn stable_token(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: StableTokenRequest = parse(&call.body)?;
    if request.grant_type != "client_credential" {
        return Err(refuse(40002, "invalid grant_type"));
    }
    check_credentials(ctx.options, Some(&request.appid), Some(&request.secret))?;
    let now = ctx.now;
    if !request.force_refresh
        && let Some(token) = ctx.state.current_stable_token(now)
    {
        return Ok(json!({ "access_token": token.value, "expires_in": token.expires_at - now }));
    }
    let ttl = ctx.options.token_ttl;
    let token = ctx.state.issue_token(random_token(), now, ttl as i64, true);
    Ok(json!({ "access_token": token.value, "expires_in": ttl }))
}

fn check_credentials(options: &SandboxOptions, appid: Option<&String>, secret: Option<&String>) -> Result<(), Refusal> {
    if appid.map(String::as_str) != Some(options.appid.as_str()) {
        return Err(refuse(40013, "invalid appid"));
    }
    if secret.map(String::as_str) != Some(options.secret.as_str()) {
        return Err(refuse(40125, "invalid appsecret"));
    }
    Ok(())
}

fn random_token() -> String {
    let mut rng = fastrand::Rng::new();
    (0..96).map(|_| rng.alphanumeric()).collect()
}
