//! `wxpub sandbox`: a local emulator of the WeChat API contract (docs/wechat-contract.md) that
//! enforces the same limits and error codes, keeps its state in SQLite, serves uploaded images
//! back, answers datacube calls with deterministic plausible figures, and injects seeded faults.
//!
//! It shares only the wire types with the client (`crate::wechat::types`).
//!
//! An axum router: the API's endpoints by family under `routes/` (token, uploads, materials,
//! drafts, freepublish, mass sends, statistics), all behind the one middleware every API call
//! goes through (`middleware.rs`: latency, faults, token, quotas, counting and saving); beside
//! them, unguarded, the `/__sandbox/…` controls tests drive it with and the `/mmbiz/` files.
mod call;
pub mod datacube;
mod middleware;
mod routes;
mod state;

pub use state::ArticleRules;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;

use middleware::Fault;
pub use state::AccountState;
use state::Store;

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// SQLite file keeping the state across restarts (memory when None).
    pub state: Option<PathBuf>,
    pub appid: String,
    pub secret: String,
    /// `service` (four mass sends a month) or `subscription` (one a day).
    pub service_account: bool,
    pub latency_ms: u64,
    pub fault_rate: f64,
    pub fault_seed: u64,
    pub token_ttl: u64,
    pub publish_delay_ms: u64,
    /// The sandbox's "today" (datacube serves up to the day before). Default: today in Beijing.
    pub today: Option<NaiveDate>,
    /// Permanent image material limit (10 MB by default; older docs say 2 MB).
    pub image_material_max_bytes: usize,
    /// Make every publish end with this status (2 originality, 3 failure, 4 rejected by review).
    pub publish_fail_status: Option<i32>,
    /// Play an account that lost the freepublish endpoints (personal or unverified, since July
    /// 2025): every `freepublish/*` call answers 48001; drafts still work.
    pub may_publish: bool,
    /// Play an account without the mass-send interface (群发接口 not granted): every
    /// `message/mass/*` call answers 48001.
    pub may_mass_send: bool,
    /// Play an account without the comment permission (unverified): every `comment/*` call
    /// answers 88000.
    pub may_comment: bool,
    /// API send protection (设置-安全中心-风险操作保护): a mass send waits for an administrator,
    /// who answers after this many milliseconds — confirming it, or (`send_refused`) not.
    pub send_protection_ms: Option<u64>,
    pub send_refused: bool,
    /// The article limits enforced: the contract's by default.
    pub article_rules: state::ArticleRules,
    /// Daily quotas by endpoint path, over the contract's
    /// ([`crate::wechat::limits::DAILY_QUOTAS`]); lower them to test what a client does when one
    /// runs out.
    pub quotas: BTreeMap<String, u64>,
    /// Statistics also describe articles published without wxpub (in the web backend), as a
    /// real account's do; off by default so that tests count exactly their own.
    pub background_articles: bool,
    /// WeChat IDs and openids of people who follow the account: the only ones a preview
    /// (`message/mass/preview`) reaches; anyone else is refused with 43004.
    pub followers: Vec<String>,
    /// AppIDs of the mini programs linked to the account (小程序管理): cards of any other are
    /// removed from drafts, as WeChat does.
    pub linked_miniprograms: Vec<String>,
}

/// The mini program the example project's booking card opens, linked to every sandbox account
/// unless told otherwise.
pub const EXAMPLE_MINIPROGRAM_APPID: &str = "wx5f1a2b3c4d5e6f70";

/// Who follows every sandbox account unless told otherwise (a WeChat ID and an openid).
pub const SANDBOX_FOLLOWERS: [&str; 2] = ["wxpub-editor", "oWxpubEditor000000000000000"];

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            state: None,
            appid: "wxsandbox000000001".into(),
            secret: "sandbox-secret-change-me".into(),
            service_account: true,
            latency_ms: 0,
            fault_rate: 0.0,
            fault_seed: 1,
            token_ttl: 7200,
            publish_delay_ms: 1500,
            today: None,
            image_material_max_bytes: crate::wechat::limits::IMAGE_MATERIAL_MAX_BYTES,
            publish_fail_status: None,
            may_publish: true,
            may_mass_send: true,
            may_comment: true,
            quotas: BTreeMap::new(),
            send_protection_ms: None,
            send_refused: false,
            article_rules: state::ArticleRules::default(),
            background_articles: false,
            followers: SANDBOX_FOLLOWERS.iter().map(|f| f.to_string()).collect(),
            linked_miniprograms: vec![EXAMPLE_MINIPROGRAM_APPID.to_string()],
        }
    }
}

/// A running sandbox; stops when dropped.
pub type SandboxHandle = crate::util::http_server::ServerThread;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot open the sandbox state {path}: {source} (move the file away to start the sandbox afresh)")]
    State { path: String, source: rusqlite::Error },
    #[error("cannot start the sandbox runtime: {0}")]
    Runtime(std::io::Error),
}

struct Sandbox {
    options: SandboxOptions,
    base_url: String,
    inner: Mutex<Inner>,
}

struct Inner {
    /// The day set through `POST /__sandbox/today` (a test moving the sandbox's clock on).
    today: Option<NaiveDate>,
    state: AccountState,
    store: Store,
    faults: fastrand::Rng,
    /// Faults queued by a test through `POST /__sandbox/faults`, served to the next API calls
    /// (not token calls) before any random ones.
    scripted: std::collections::VecDeque<Fault>,
    /// Files under /mmbiz/ served only after this many milliseconds (a slow image server).
    slow_files: BTreeMap<String, u64>,
}

/// Starts a sandbox on 127.0.0.1 in a background thread.
pub fn spawn(options: SandboxOptions) -> Result<SandboxHandle, SandboxError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))
        .map_err(|source| SandboxError::Bind { port: options.port, source })?;
    listener.set_nonblocking(true).map_err(SandboxError::Runtime)?;
    let port = listener.local_addr().map_err(SandboxError::Runtime)?.port();
    let base_url = format!("http://127.0.0.1:{port}");
    let state_path = options.state.as_ref().map_or(":memory:".into(), |p| p.display().to_string());
    let store = Store::open(options.state.as_deref())
        .map_err(|source| SandboxError::State { path: state_path.clone(), source })?;
    let state = store.load().map_err(|source| SandboxError::State { path: state_path, source })?;
    let faults = fastrand::Rng::with_seed(options.fault_seed);
    let sandbox = Arc::new(Sandbox {
        options,
        base_url: base_url.clone(),
        inner: Mutex::new(Inner {
            today: None,
            state,
            store,
            faults,
            scripted: Default::default(),
            slow_files: BTreeMap::new(),
        }),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(SandboxError::Runtime)?;
    Ok(SandboxHandle::spawn(base_url, runtime, move |stop| async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
        crate::util::http_server::serve(listener, router(sandbox), async {
            let _ = stop.await;
        })
        .await;
    }))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Sandbox {
    fn today(&self) -> NaiveDate {
        let moved = self.lock().today;
        moved
            .or(self.options.today)
            .unwrap_or_else(|| (crate::util::clock::now() + chrono::Duration::hours(8)).date_naive())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Every route: the API's endpoint families behind the middleware every API call goes through,
/// then, beside them, the controls and the files. Any other path is 404 with WeChat's 40066.
fn router(sandbox: Arc<Sandbox>) -> axum::Router {
    let api = axum::Router::new()
        .merge(routes::token::routes())
        .merge(routes::uploads::routes())
        .merge(routes::materials::routes())
        .merge(routes::drafts::routes())
        .merge(routes::freepublish::routes())
        .merge(routes::mass::routes())
        .merge(routes::comments::routes())
        .merge(routes::statistics::routes())
        .merge(routes::unknown::routes())
        .layer(axum::middleware::from_fn_with_state(sandbox.clone(), middleware::api_call));
    axum::Router::new()
        .merge(api)
        .merge(routes::control::routes())
        .merge(routes::mmbiz::routes())
        .fallback(routes::unknown::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(sandbox)
}
