//! The sandbox's routes by family. An API endpoint is a plain function of its context and its
//! call ([`endpoint`] makes it a route); the middleware has run before it.
pub mod comments;
pub mod control;
pub mod drafts;
pub mod freepublish;
pub mod mass;
pub mod materials;
pub mod mmbiz;
pub mod statistics;
pub mod token;
pub mod unknown;
pub mod uploads;

use std::sync::Arc;

use axum::extract::{FromRequest, State};
use axum::routing::{MethodRouter, any};
use chrono::NaiveDate;

use super::call::{Answer, Reply};
use super::state::{AccountState, Refusal, Store, refuse};
use super::{Inner, Sandbox, SandboxOptions, now_ms};

/// What an endpoint works on. The account stays locked for the whole call (one call is one
/// change of it); the day is read just before (it is kept under the same lock).
pub struct Ctx<'a> {
    pub options: &'a SandboxOptions,
    pub base_url: &'a str,
    pub state: &'a mut AccountState,
    pub store: &'a Store,
    /// Unix seconds.
    pub now: i64,
    /// The sandbox's day (Beijing time, or the one a test set).
    pub today: NaiveDate,
}

/// A route (for any method: an endpoint that cares looks at the method itself) calling `handler`
/// with its context and its call, `C` ([`super::call::Call`] or [`super::call::Upload`]), whose
/// extraction may refuse first.
pub fn endpoint<C>(handler: fn(&mut Ctx<'_>, C) -> Reply) -> MethodRouter<Arc<Sandbox>>
where
    C: FromRequest<Arc<Sandbox>, Rejection = Answer> + Send + 'static,
{
    any(move |State(sandbox): State<Arc<Sandbox>>, call: C| async move { Answer(run(&sandbox, handler, call)) })
}

fn run<C>(sandbox: &Sandbox, handler: fn(&mut Ctx<'_>, C) -> Reply, call: C) -> Reply {
    let now = now_ms() / 1000;
    // Before the state's lock: the day is kept under the same lock.
    let today = sandbox.today();
    let mut inner = sandbox.lock();
    let Inner { state, store, .. } = &mut *inner;
    let mut ctx = Ctx { options: &sandbox.options, base_url: &sandbox.base_url, state, store: &*store, now, today };
    handler(&mut ctx, call)
}

/// 48001 for any path of a family the account was not granted (mass sends, freepublish).
pub fn permitted(options: &SandboxOptions, path: &str) -> Result<(), Refusal> {
    if path.starts_with("/cgi-bin/message/mass/") && !options.may_mass_send {
        return Err(refuse(48001, "api unauthorized: this account has no mass-send permission"));
    }
    if path.starts_with("/cgi-bin/freepublish/") && !options.may_publish {
        return Err(refuse(
            48001,
            "api unauthorized: this account cannot use freepublish (unverified or personal account)",
        ));
    }
    Ok(())
}
