//! What every API call (under /cgi-bin/ and /datacube/) goes through, in this order: the
//! configured latency; a fault (scripted by a test, or rolled at the fault rate); the access
//! token and the daily quota (not for the token endpoints); then the endpoint; then, when it
//! did not refuse, the call is counted and the state saved; last, a scripted "lost answer".
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::call::{answer, query_of, refused};
use super::state::{Refusal, refuse};
use super::{Inner, Sandbox, now_ms};

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum Fault {
    /// A named fault: `busy` (-1), `quota` (45009), `drop` (connection dropped), `token_expired` (42001).
    Named(FaultKind),
    /// Any other errcode, answered once.
    Code(i64),
    /// `{"lose_answer": "/cgi-bin/draft/add"}`: the next call to that path is carried out, then
    /// its answer is lost (the connection drops mid-answer) — what a proxy that times out, or a
    /// slow answer past the client's timeout, looks like.
    LoseAnswer { lose_answer: String },
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Busy,
    Quota,
    Drop,
    TokenExpired,
}

/// The middleware of every API call (see the module's documentation).
pub async fn api_call(State(sandbox): State<Arc<Sandbox>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if sandbox.options.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sandbox.options.latency_ms)).await;
    }
    // The token endpoints need no token and spend no quota; scripted faults pass them by.
    let is_token_call = path == "/cgi-bin/token" || path == "/cgi-bin/stable_token";
    if let Some(fault) = roll_fault(&sandbox, is_token_call) {
        sandbox.lock().state.faults_served += 1;
        return fault_answer(fault);
    }
    if !is_token_call && let Err(refusal) = admit(&sandbox, &path, &request) {
        return answer(Err(refusal));
    }

    let response = next.run(request).await;
    let lost = take_lost_answer(&sandbox, &path);
    if !refused(&response)
        && let Err(refusal) = record(&sandbox, &path)
    {
        return answer(Err(refusal));
    }
    if lost {
        // Carried out and recorded; only the answer never arrives.
        sandbox.lock().state.faults_served += 1;
        return dropped_connection();
    }
    response
}

/// The access token (41001, 40001, 42001), then the daily quota (45009).
fn admit(sandbox: &Sandbox, path: &str, request: &Request) -> Result<(), Refusal> {
    let query = query_of(request.uri());
    let now = now_ms() / 1000;
    sandbox.lock().state.check_token(query.get("access_token").map(String::as_str), now)?;
    spend_quota(sandbox, path)
}

/// Counts a call against its daily quota; 45009 once the day's quota is used up.
fn spend_quota(sandbox: &Sandbox, path: &str) -> Result<(), Refusal> {
    let quota = sandbox.options.quotas.get(path).copied().or_else(|| crate::wechat::limits::daily_quota(path));
    let Some(limit) = quota else { return Ok(()) };
    let day = sandbox.today().to_string();
    let mut inner = sandbox.lock();
    let used = inner.state.quota_used.entry(day).or_default().entry(path.to_string()).or_default();
    if *used >= limit {
        return Err(refuse(45009, format!("reach max api daily quota limit ({limit} a day for {path})")));
    }
    *used += 1;
    Ok(())
}

/// Counts a call that succeeded and saves the state (-1 when it cannot be saved).
fn record(sandbox: &Sandbox, path: &str) -> Result<(), Refusal> {
    let mut inner = sandbox.lock();
    *inner.state.calls.entry(path.to_string()).or_default() += 1;
    let Inner { state, store, .. } = &mut *inner;
    // Statistics calls change nothing but counters: not worth rewriting the state file.
    let read_only = path.starts_with("/datacube/");
    if !read_only && let Err(e) = store.save(state) {
        return Err(refuse(-1, format!("sandbox state could not be saved: {e}")));
    }
    Ok(())
}

fn roll_fault(sandbox: &Sandbox, is_token_call: bool) -> Option<Fault> {
    let mut inner = sandbox.lock();
    // Scripted faults target API calls, so a test can aim them past the token fetch; a lost
    // answer waits for its own path (see `take_lost_answer`).
    if !is_token_call
        && inner.scripted.front().is_some_and(|f| !matches!(f, Fault::LoseAnswer { .. }))
        && let Some(fault) = inner.scripted.pop_front()
    {
        return Some(fault);
    }
    if sandbox.options.fault_rate <= 0.0 || inner.faults.f64() >= sandbox.options.fault_rate {
        return None;
    }
    Some(Fault::Named(match inner.faults.u8(0..4) {
        0 => FaultKind::Busy,
        1 => FaultKind::Quota,
        2 => FaultKind::Drop,
        _ if is_token_call => FaultKind::Busy,
        _ => FaultKind::TokenExpired,
    }))
}

fn fault_answer(fault: Fault) -> Response {
    match fault {
        Fault::Code(code) => answer(Err(refuse(code, "scripted fault"))),
        Fault::Named(FaultKind::Busy) => answer(Err(refuse(-1, "system error"))),
        Fault::Named(FaultKind::Quota) => answer(Err(refuse(45009, "reach max api daily quota limit"))),
        Fault::Named(FaultKind::TokenExpired) => answer(Err(refuse(42001, "access_token expired"))),
        Fault::Named(FaultKind::Drop) | Fault::LoseAnswer { .. } => dropped_connection(),
    }
}

/// Whether the answer to this call to `path` is to be lost (a scripted `lose_answer`), consuming it.
fn take_lost_answer(sandbox: &Sandbox, path: &str) -> bool {
    let mut inner = sandbox.lock();
    let at = inner.scripted.iter().position(|f| matches!(f, Fault::LoseAnswer { lose_answer } if lose_answer == path));
    at.and_then(|at| inner.scripted.remove(at)).is_some()
}

/// Headers, then a body that fails: the client sees the connection drop mid-answer.
fn dropped_connection() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by fault injection"))
        })))
        .unwrap_or_default()
}
