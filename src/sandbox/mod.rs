//! `wxpub sandbox`: a local emulator of the WeChat API contract (docs/wechat-contract.md) that
//! enforces the same limits and error codes, keeps its state in SQLite, serves uploaded images
//! back, answers datacube calls with deterministic plausible figures, and injects seeded faults.
//!
//! It shares only the wire types with the client (`crate::wechat::types`).
pub mod datacube;
mod state;

pub use state::ArticleRules;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::wechat::types::*;
pub use state::AccountState;
use state::{Draft, MassSend, Material, Publication, Refusal, Store, refuse, sniff};

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

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
enum Fault {
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
enum FaultKind {
    Busy,
    Quota,
    Drop,
    TokenExpired,
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
        let app = axum::Router::new()
            .fallback(dispatch)
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
            .with_state(sandbox);
        crate::util::http_server::serve(listener, app, async {
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

    fn quota(&self, path: &str) -> Option<u64> {
        self.options.quotas.get(path).copied().or_else(|| crate::wechat::limits::daily_quota(path))
    }

    /// Counts a call against its daily quota; 45009 once the day's quota is used up.
    fn spend_quota(&self, path: &str) -> Result<(), Refusal> {
        let Some(limit) = self.quota(path) else { return Ok(()) };
        let day = self.today().to_string();
        let mut inner = self.lock();
        let used = inner.state.quota_used.entry(day).or_default().entry(path.to_string()).or_default();
        if *used >= limit {
            return Err(refuse(45009, format!("reach max api daily quota limit ({limit} a day for {path})")));
        }
        *used += 1;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn dispatch(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let query: HashMap<String, String> =
        axum::extract::Query::try_from_uri(request.uri()).map(|q| q.0).unwrap_or_default();

    if path == "/__sandbox/state" {
        let inner = sandbox.lock();
        return axum::Json(serde_json::to_value(&inner.state).unwrap_or(Value::Null)).into_response();
    }
    if path == "/__sandbox/today" {
        // `{"today": "YYYY-MM-DD"}`: the day quotas, mass-send allowances and statistics follow.
        let body = axum::body::to_bytes(request.into_body(), 1024).await.unwrap_or_default();
        let day = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("today").and_then(Value::as_str).and_then(|d| d.parse::<NaiveDate>().ok()));
        return match day {
            Some(day) => {
                sandbox.lock().today = Some(day);
                answer(Ok(json!({ "errcode": 0, "errmsg": "ok", "today": day.to_string() })))
            }
            None => answer(Err(refuse(47001, "expected {\"today\": \"YYYY-MM-DD\"}"))),
        };
    }
    if path == "/__sandbox/faults" {
        let body = axum::body::to_bytes(request.into_body(), 1024 * 1024).await.unwrap_or_default();
        return match serde_json::from_slice::<Vec<Fault>>(&body) {
            Ok(faults) => {
                sandbox.lock().scripted.extend(faults);
                answer(Ok(json!({ "errcode": 0, "errmsg": "ok" })))
            }
            Err(e) => answer(Err(refuse(47001, format!("expected a JSON array of faults: {e}")))),
        };
    }
    if path == "/__sandbox/backend_publish" {
        // What an editor publishes in the web backend, not through the API: a publication the
        // account's lists and statistics show, which wxpub never made.
        let body = axum::body::to_bytes(request.into_body(), 32 * 1024 * 1024).await.unwrap_or_default();
        return answer(backend_publish(&sandbox, &body));
    }
    if path == "/__sandbox/backend_edit" {
        // An editor changing a draft in the web backend (草稿箱): what the API cannot do (a video,
        // a Channels card) is kept, and the draft's update_time moves on.
        let body = axum::body::to_bytes(request.into_body(), 32 * 1024 * 1024).await.unwrap_or_default();
        return answer(backend_edit(&sandbox, &body));
    }
    if path == "/__sandbox/files" {
        // `{"name", "content_type", "base64"}`: anything served at /mmbiz/NAME, so that a test
        // can put an oversize or non-image file where an article's image should be.
        let body = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024).await.unwrap_or_default();
        let file: Result<SandboxFile, _> = serde_json::from_slice(&body);
        return answer(match file {
            Ok(file) => {
                use base64::Engine;
                if let Some(delay) = file.delay_ms {
                    sandbox.lock().slow_files.insert(file.name.clone(), delay);
                }
                match base64::engine::general_purpose::STANDARD.decode(file.base64.as_bytes()) {
                    Ok(bytes) => sandbox
                        .lock()
                        .store
                        .put_file(&file.name, &file.content_type, &bytes)
                        .map(|()| json!({ "errcode": 0, "url": format!("{}/mmbiz/{}", sandbox.base_url, file.name) }))
                        .map_err(|e| refuse(-1, e.to_string())),
                    Err(e) => Err(refuse(47001, format!("base64: {e}"))),
                }
            }
            Err(e) => Err(refuse(47001, format!("expected {{\"name\", \"content_type\", \"base64\"}}: {e}"))),
        });
    }
    if let Some(name) = path.strip_prefix("/mmbiz/") {
        let delay = sandbox.lock().slow_files.get(name).copied();
        if let Some(ms) = delay {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let file = sandbox.lock().store.file(name);
        return match file {
            Some((content_type, bytes)) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
            None => (StatusCode::NOT_FOUND, "no such image").into_response(),
        };
    }
    if !(path.starts_with("/cgi-bin/") || path.starts_with("/datacube/")) {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"errcode": 40066, "errmsg": "invalid url"}))).into_response();
    }

    if sandbox.options.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sandbox.options.latency_ms)).await;
    }
    let is_token_call = path == "/cgi-bin/token" || path == "/cgi-bin/stable_token";
    if let Some(fault) = roll_fault(&sandbox, is_token_call) {
        sandbox.lock().state.faults_served += 1;
        return match fault {
            Fault::Code(code) => answer(Err(refuse(code, "scripted fault"))),
            Fault::Named(FaultKind::Busy) => answer(Err(refuse(-1, "system error"))),
            Fault::Named(FaultKind::Quota) => answer(Err(refuse(45009, "reach max api daily quota limit"))),
            Fault::Named(FaultKind::TokenExpired) => answer(Err(refuse(42001, "access_token expired"))),
            Fault::Named(FaultKind::Drop) | Fault::LoseAnswer { .. } => dropped_connection(),
        };
    }

    let method = request.method().clone();
    if !is_token_call {
        let now = now_ms() / 1000;
        let checked = sandbox.lock().state.check_token(query.get("access_token").map(String::as_str), now);
        if let Err(refusal) = checked {
            return answer(Err(refusal));
        }
        if let Err(refusal) = sandbox.spend_quota(&path) {
            return answer(Err(refusal));
        }
    }

    let result = if path == "/cgi-bin/media/uploadimg" || path == "/cgi-bin/material/add_material" {
        match Multipart::from_request(request, &()).await {
            Ok(multipart) => match read_multipart(multipart).await {
                Ok(fields) => handle_upload(&sandbox, &path, &query, fields),
                Err(refusal) => Err(refusal),
            },
            Err(_) => Err(refuse(41005, "media data missing: send multipart/form-data with a `media` file field")),
        }
    } else {
        match axum::body::to_bytes(request.into_body(), 32 * 1024 * 1024).await {
            Ok(body) => handle(&sandbox, &method, &path, &query, &body),
            Err(_) => Err(refuse(44002, "empty post data")),
        }
    };
    let lost = take_lost_answer(&sandbox, &path);
    if result.is_ok() {
        let mut inner = sandbox.lock();
        *inner.state.calls.entry(path.clone()).or_default() += 1;
        let Inner { state, store, .. } = &mut *inner;
        // Statistics calls change nothing but counters: not worth rewriting the state file.
        let read_only = path.starts_with("/datacube/");
        if !read_only && let Err(e) = store.save(state) {
            return answer(Err(refuse(-1, format!("sandbox state could not be saved: {e}"))));
        }
    }
    if lost {
        // Carried out and recorded; only the answer never arrives.
        sandbox.lock().state.faults_served += 1;
        return dropped_connection();
    }
    answer(result)
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

fn answer(result: Result<Value, Refusal>) -> Response {
    let body = match result {
        Ok(value) => value,
        Err((errcode, errmsg)) => json!({ "errcode": errcode, "errmsg": errmsg }),
    };
    // serde_json writes UTF-8, as WeChat does.
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

struct UploadField {
    filename: Option<String>,
    bytes: Bytes,
}

async fn read_multipart(mut multipart: Multipart) -> Result<HashMap<String, UploadField>, Refusal> {
    let mut fields = HashMap::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let filename = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.map_err(|_| refuse(41005, "media data missing"))?;
                fields.insert(name, UploadField { filename, bytes });
            }
            Ok(None) => return Ok(fields),
            Err(_) => return Err(refuse(41005, "media data missing: malformed multipart body")),
        }
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| refuse(47001, format!("data format error: {e}")))
}

/// Parses a draft body the way the draft API stores it: `\uXXXX` escapes are kept literally
/// (a title sent as `\u9752\u94dc` reads `\u9752\u94dc`, not 青铜).
fn parse_literal_escapes<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    let text = String::from_utf8_lossy(body);
    parse(text.replace("\\u", "\\\\u").as_bytes())
}

fn handle_upload(
    sandbox: &Sandbox,
    path: &str,
    query: &HashMap<String, String>,
    mut fields: HashMap<String, UploadField>,
) -> Result<Value, Refusal> {
    let Some(media) = fields.remove("media") else {
        return Err(refuse(41005, "media data missing: the file field must be named `media`"));
    };
    let filename = media
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| refuse(41005, "media data missing: no filename"))?;
    let kind = sniff(&media.bytes);
    let mut inner = sandbox.lock();
    let now = now_ms() / 1000;
    if path == "/cgi-bin/media/uploadimg" {
        let Some(ext @ ("jpg" | "png")) = kind else {
            return Err(refuse(40005, "invalid file type: uploadimg accepts jpg/png"));
        };
        if media.bytes.len() >= state::UPLOADIMG_MAX_BYTES {
            return Err(refuse(40009, "invalid image size: uploadimg takes under 1 MB"));
        }
        let id = inner.state.new_id("img");
        let name = format!("{id}.{ext}");
        inner
            .store
            .put_file(&name, crate::util::fs::media_type_of(&name), &media.bytes)
            .map_err(|e| refuse(-1, e.to_string()))?;
        let url = format!("{}/mmbiz/{name}", sandbox.base_url);
        inner.state.uploaded_urls.push(url.clone());
        return Ok(json!({ "url": url }));
    }

    let material_type = match query.get("type").map(String::as_str) {
        Some("image") => MaterialType::Image,
        Some("thumb") => MaterialType::Thumb,
        Some("voice") => MaterialType::Voice,
        Some("video") => MaterialType::Video,
        _ => return Err(refuse(40004, "invalid media type: type must be image, thumb, voice or video")),
    };
    let size = media.bytes.len();
    let (allowed, max, size_code): (&[&str], usize, i64) = match material_type {
        MaterialType::Image => (&["bmp", "png", "jpg", "gif"], sandbox.options.image_material_max_bytes, 40009),
        MaterialType::Thumb => (&["jpg"], state::THUMB_MAX_BYTES, 40009),
        MaterialType::Voice => (&["mp3", "amr", "wav"], state::VOICE_MAX_BYTES, 40006),
        MaterialType::Video => (&["mp4"], state::VIDEO_MAX_BYTES, 40006),
        MaterialType::News => unreachable!("not accepted above"),
    };
    let Some(ext) = kind.filter(|k| allowed.contains(k)) else {
        return Err(refuse(40005, format!("invalid file type for {} material", material_type.as_str())));
    };
    if size > max {
        return Err(refuse(size_code, format!("invalid {} size: at most {max} bytes", material_type.as_str())));
    }
    if material_type == MaterialType::Video {
        // The docs ask for a form field; some SDKs (wechatpy) send it in the query string.
        let description = fields
            .get("description")
            .map(|f| f.bytes.clone())
            .or_else(|| query.get("description").map(|d| Bytes::from(d.clone())))
            .unwrap_or_default();
        if serde_json::from_slice::<VideoDescription>(&description).is_err() {
            return Err(refuse(
                47001,
                "data format error: a video needs a description field {\"title\",\"introduction\"}",
            ));
        }
    }
    let media_id = inner.state.new_id("media");
    let name = format!("{media_id}.{ext}");
    inner
        .store
        .put_file(&name, crate::util::fs::media_type_of(&name), &media.bytes)
        .map_err(|e| refuse(-1, e.to_string()))?;
    let url = (material_type == MaterialType::Image).then(|| format!("{}/mmbiz/{name}", sandbox.base_url));
    inner.state.materials.push(Material {
        media_id: media_id.clone(),
        kind: material_type,
        name: filename,
        update_time: now,
        url: url.clone(),
        bytes: size,
    });
    Ok(serde_json::to_value(AddMaterialResponse { media_id, url }).unwrap_or(Value::Null))
}

fn handle(
    sandbox: &Sandbox,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Value, Refusal> {
    let now = now_ms() / 1000;
    // Before the state's lock: the day is kept under the same lock.
    let today = sandbox.today();
    let mut guard = sandbox.lock();
    let state = &mut guard.state;
    match path {
        "/cgi-bin/token" => {
            if method != Method::GET || query.get("grant_type").map(String::as_str) != Some("client_credential") {
                return Err(refuse(40002, "invalid grant_type"));
            }
            check_credentials(sandbox, query.get("appid"), query.get("secret"))?;
            let token = state.issue_token(random_token(), now, sandbox.options.token_ttl as i64, false);
            Ok(json!({ "access_token": token.value, "expires_in": sandbox.options.token_ttl }))
        }
        "/cgi-bin/stable_token" => {
            let request: StableTokenRequest = parse(body)?;
            if request.grant_type != "client_credential" {
                return Err(refuse(40002, "invalid grant_type"));
            }
            check_credentials(sandbox, Some(&request.appid), Some(&request.secret))?;
            if !request.force_refresh
                && let Some(token) = state.current_stable_token(now)
            {
                return Ok(json!({ "access_token": token.value, "expires_in": token.expires_at - now }));
            }
            let token = state.issue_token(random_token(), now, sandbox.options.token_ttl as i64, true);
            Ok(json!({ "access_token": token.value, "expires_in": sandbox.options.token_ttl }))
        }
        "/cgi-bin/material/batchget_material" => {
            let request: BatchGetMaterialRequest = parse(body)?;
            check_count(request.count)?;
            let mut items: Vec<&Material> = state.materials.iter().filter(|m| m.kind == request.kind).collect();
            items.reverse();
            let total = items.len() as u32;
            let page: Vec<MaterialItem> = items
                .into_iter()
                .skip(request.offset as usize)
                .take(request.count as usize)
                .map(|m| MaterialItem {
                    media_id: m.media_id.clone(),
                    name: m.name.clone(),
                    update_time: m.update_time,
                    url: m.url.clone(),
                })
                .collect();
            Ok(to_value(&BatchGetMaterialResponse { total_count: total, item_count: page.len() as u32, item: page }))
        }
        "/cgi-bin/material/get_materialcount" => {
            let count = |kind| state.materials.iter().filter(|m| m.kind == kind).count() as u32;
            Ok(to_value(&MaterialCount {
                voice_count: count(MaterialType::Voice),
                video_count: count(MaterialType::Video),
                image_count: count(MaterialType::Image),
                news_count: 0,
            }))
        }
        "/cgi-bin/material/del_material" => {
            let request: MediaId = parse(body)?;
            let before = state.materials.len();
            state.materials.retain(|m| m.media_id != request.media_id);
            if state.materials.len() == before {
                return Err(refuse(40007, "invalid media_id"));
            }
            Ok(json!({ "errcode": 0, "errmsg": "ok" }))
        }
        "/cgi-bin/draft/add" => {
            let request: DraftAddRequest = parse_literal_escapes(body)?;
            if request.articles.is_empty() || request.articles.len() > 8 {
                return Err(refuse(47001, "data format error: a draft holds 1 to 8 articles"));
            }
            let articles = state.accept_articles(
                request.articles,
                &sandbox.options.article_rules,
                &sandbox.options.linked_miniprograms,
            )?;
            let media_id = state.new_id("draft");
            state.drafts.push(Draft { media_id: media_id.clone(), articles, update_time: now });
            Ok(json!({ "media_id": media_id }))
        }
        "/cgi-bin/draft/update" => {
            let request: DraftUpdateRequest = parse_literal_escapes(body)?;
            let index = state.draft_index(&request.media_id)?;
            if request.index as usize >= state.drafts[index].articles.len() {
                return Err(refuse(47001, "data format error: index is past the draft's last article"));
            }
            let mut accepted = state.accept_articles(
                vec![request.articles],
                &sandbox.options.article_rules,
                &sandbox.options.linked_miniprograms,
            )?;
            let draft = &mut state.drafts[index];
            draft.articles[request.index as usize] = accepted.remove(0);
            draft.update_time = now;
            Ok(json!({ "errcode": 0, "errmsg": "ok" }))
        }
        "/cgi-bin/draft/get" => {
            let request: MediaId = parse(body)?;
            let index = state.draft_index(&request.media_id)?;
            let draft = &state.drafts[index];
            Ok(to_value(&StoredDraft { news_item: with_preview_urls(sandbox, draft), update_time: draft.update_time }))
        }
        "/cgi-bin/draft/delete" => {
            let request: MediaId = parse(body)?;
            let index = state.draft_index(&request.media_id)?;
            state.drafts.remove(index);
            Ok(json!({ "errcode": 0, "errmsg": "ok" }))
        }
        "/cgi-bin/draft/count" => Ok(json!({ "total_count": state.drafts.len() })),
        "/cgi-bin/draft/batchget" => {
            let request: BatchGetRequest = parse(body)?;
            check_count(request.count)?;
            let total = state.drafts.len() as u32;
            let items: Vec<DraftItem> = state
                .drafts
                .iter()
                .rev()
                .skip(request.offset as usize)
                .take(request.count as usize)
                .map(|d| {
                    let mut news_item = with_preview_urls(sandbox, d);
                    if request.no_content == 1 {
                        news_item.iter_mut().for_each(|a| a.content.clear());
                    }
                    DraftItem {
                        media_id: d.media_id.clone(),
                        content: NewsItems { news_item },
                        update_time: d.update_time,
                    }
                })
                .collect();
            Ok(to_value(&DraftBatchGetResponse { total_count: total, item_count: items.len() as u32, item: items }))
        }
        _ if path.starts_with("/cgi-bin/message/mass/") && !sandbox.options.may_mass_send => {
            Err(refuse(48001, "api unauthorized: this account has no mass-send permission"))
        }
        _ if path.starts_with("/cgi-bin/freepublish/") && !sandbox.options.may_publish => {
            Err(refuse(48001, "api unauthorized: this account cannot use freepublish (unverified or personal account)"))
        }
        "/cgi-bin/freepublish/submit" => {
            let request: MediaId = parse(body)?;
            let index = state.draft_index(&request.media_id)?;
            // A submitted draft leaves the draft box.
            let draft = state.drafts.remove(index);
            let publish_id = state.new_id("").trim_start_matches('0').to_string();
            let msg_data_id = state.next_id + 2_247_000_000;
            let article_id = state.new_id("article");
            state.publications.push(Publication {
                publish_id: publish_id.clone(),
                msg_data_id,
                draft_media_id: draft.media_id,
                articles: draft.articles,
                submitted_ms: now_ms(),
                ready_ms: now_ms() + sandbox.options.publish_delay_ms as i64,
                date: today,
                article_id,
                deleted: false,
            });
            Ok(json!({ "errcode": 0, "errmsg": "ok", "publish_id": publish_id, "msg_data_id": msg_data_id }))
        }
        "/cgi-bin/freepublish/get" => {
            let request: PublishId = parse(body)?;
            let publication = state
                .publications
                .iter()
                .find(|p| p.publish_id == request.publish_id)
                .ok_or_else(|| refuse(40007, "invalid publish_id"))?;
            Ok(to_value(&publish_status(publication, sandbox.options.publish_fail_status)))
        }
        "/cgi-bin/freepublish/batchget" => {
            let request: BatchGetRequest = parse(body)?;
            check_count(request.count)?;
            // Only successful publications, newest first by when they were published.
            let failing = sandbox.options.publish_fail_status.is_some();
            let mut done: Vec<&Publication> =
                state.publications.iter().filter(|p| !p.deleted && !failing && is_published(p)).collect();
            done.sort_by_key(|p| std::cmp::Reverse(p.ready_ms));
            let items: Vec<PublishedItem> = done
                .iter()
                .skip(request.offset as usize)
                .take(request.count as usize)
                .map(|p| {
                    let mut news_item = with_article_urls(p, &state.materials);
                    if request.no_content == 1 {
                        news_item.iter_mut().for_each(|a| a.content.clear());
                    }
                    PublishedItem {
                        article_id: p.article_id.clone(),
                        content: NewsItems { news_item },
                        update_time: p.ready_ms / 1000,
                    }
                })
                .collect();
            Ok(to_value(&PublishedBatchGetResponse {
                total_count: done.len() as u32,
                item_count: items.len() as u32,
                item: items,
            }))
        }
        "/cgi-bin/freepublish/getarticle" => {
            let request: ArticleId = parse(body)?;
            let publication = state
                .publications
                .iter()
                .find(|p| p.article_id == request.article_id && !p.deleted && is_published(p))
                .ok_or_else(|| refuse(40007, "invalid article_id"))?;
            Ok(to_value(&NewsItems { news_item: with_article_urls(publication, &state.materials) }))
        }
        "/cgi-bin/freepublish/delete" => {
            let request: FreepublishDeleteRequest = parse(body)?;
            let publication = state
                .publications
                .iter_mut()
                .find(|p| p.article_id == request.article_id && !p.deleted)
                .ok_or_else(|| refuse(40007, "invalid article_id"))?;
            publication.deleted = true;
            Ok(json!({ "errcode": 0, "errmsg": "ok" }))
        }
        "/cgi-bin/message/mass/sendall" => {
            let request: MassSendRequest = parse(body)?;
            if request.msgtype != "mpnews" || !request.filter.is_to_all {
                return Err(refuse(
                    47001,
                    "data format error: wxpub's sandbox supports msgtype mpnews to all followers",
                ));
            }
            if let Some(id) = &request.clientmsgid {
                if id.len() > crate::wechat::types::CLIENTMSGID_MAX_BYTES {
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
            if !state.mass_send_allowed(sandbox.options.service_account, today) {
                return Err(refuse(45028, "has no masssend quota"));
            }
            // Under send protection the draft waits in the box for the administrator's answer.
            let protection =
                sandbox.options.send_protection_ms.map(|ms| (now_ms() + ms as i64, !sandbox.options.send_refused));
            let draft = if protection.is_some() { state.drafts[index].clone() } else { state.drafts.remove(index) };
            let msg_id = 1_000_000_000 + state.next_id;
            state.next_id += 1;
            let msg_data_id = state.next_id + 2_247_000_000;
            state.mass_sends.push(MassSend {
                msg_id,
                msg_data_id,
                draft_media_id: draft.media_id,
                articles: draft.articles,
                date: today,
                clientmsgid: request.clientmsgid.clone(),
                sent_ms: now_ms(),
                protection,
            });
            Ok(
                json!({ "errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_data_id }),
            )
        }
        "/cgi-bin/message/mass/preview" => {
            let request: crate::wechat::types::MassPreviewRequest = parse(body)?;
            if request.msgtype != "mpnews" {
                return Err(refuse(47001, "data format error: wxpub's sandbox previews msgtype mpnews"));
            }
            let to = match (&request.towxname, &request.touser) {
                (Some(name), _) => name.clone(),
                (None, Some(openid)) if openid.starts_with('o') && openid.len() == 28 => openid.clone(),
                (None, Some(_)) => return Err(refuse(40003, "invalid openid")),
                (None, None) => return Err(refuse(47001, "data format error: towxname or touser is required")),
            };
            let index = state.draft_index(&request.mpnews.media_id)?;
            if !sandbox.options.followers.contains(&to) {
                return Err(refuse(43004, "require subscribe"));
            }
            let msg_id = 1_000_000_000 + state.next_id;
            state.next_id += 1;
            let draft = &state.drafts[index];
            let preview = state::PreviewSent {
                msg_id,
                to,
                draft_media_id: draft.media_id.clone(),
                titles: draft.articles.iter().map(|a| a.title.clone()).collect(),
            };
            state.previews.push(preview);
            Ok(json!({ "errcode": 0, "errmsg": "preview success", "msg_id": msg_id }))
        }
        "/cgi-bin/message/mass/get" => {
            let request: crate::wechat::types::MassGetRequest = parse(body)?;
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
        _ if path.starts_with("/datacube/") => {
            let name = &path["/datacube/".len()..];
            let endpoint = Datacube::from_name(name).ok_or_else(|| refuse(40066, "invalid url"))?;
            let range: DateRange = parse(body)?;
            let date = |text: &str| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| refuse(61500, "date format error"))
            };
            let (begin, end) = (date(&range.begin_date)?, date(&range.end_date)?);
            let yesterday = today.pred_opt().unwrap_or(begin);
            let span = (end - begin).num_days() + 1;
            if begin > end || span > endpoint.max_days() || end > yesterday || begin < datacube::data_epoch() {
                return Err(refuse(
                    61501,
                    format!(
                        "date range error: {} takes at most {} day(s), ending yesterday",
                        endpoint.name(),
                        endpoint.max_days()
                    ),
                ));
            }
            let mut articles = state.published_articles();
            // Follower figures depend on publish days only through wxpub's own publications (and
            // their running totals are memoised per set of them).
            if sandbox.options.background_articles
                && !matches!(endpoint, Datacube::GetUserSummary | Datacube::GetUserCumulate)
            {
                articles.extend(datacube::background_articles(begin - chrono::Days::new(30), end));
            }
            Ok(state::datacube_rows(endpoint, begin, end, yesterday, &articles))
        }
        _ => Err(refuse(40066, "invalid url")),
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn check_credentials(sandbox: &Sandbox, appid: Option<&String>, secret: Option<&String>) -> Result<(), Refusal> {
    if appid.map(String::as_str) != Some(sandbox.options.appid.as_str()) {
        return Err(refuse(40013, "invalid appid"));
    }
    if secret.map(String::as_str) != Some(sandbox.options.secret.as_str()) {
        return Err(refuse(40125, "invalid appsecret"));
    }
    Ok(())
}

fn check_count(count: u32) -> Result<(), Refusal> {
    if (1..=20).contains(&count) { Ok(()) } else { Err(refuse(47001, "data format error: count must be 1 to 20")) }
}

fn random_token() -> String {
    let mut rng = fastrand::Rng::new();
    (0..96).map(|_| rng.alphanumeric()).collect()
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

/// `{"articles": [ARTICLE…], "published_at": UNIX_SECONDS?}` → a publication made in the web
/// backend, published at once (at `published_at` when given).
#[derive(Deserialize)]
struct BackendPublication {
    articles: Vec<Article>,
    #[serde(default)]
    published_at: Option<i64>,
}

fn backend_publish(sandbox: &Sandbox, body: &[u8]) -> Result<Value, Refusal> {
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

fn backend_edit(sandbox: &Sandbox, body: &[u8]) -> Result<Value, Refusal> {
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

fn is_published(publication: &Publication) -> bool {
    now_ms() >= publication.ready_ms
}

fn publish_status(publication: &Publication, fail_status: Option<i32>) -> PublishStatus {
    if !is_published(publication) {
        return PublishStatus {
            publish_id: publication.publish_id.clone(),
            publish_status: 1,
            article_id: None,
            article_detail: None,
            fail_idx: Vec::new(),
        };
    }
    if let Some(status) = fail_status {
        return PublishStatus {
            publish_id: publication.publish_id.clone(),
            publish_status: status,
            article_id: None,
            article_detail: None,
            fail_idx: (1..=publication.articles.len() as u32).collect(),
        };
    }
    let urls = with_article_urls(publication, &[]);
    PublishStatus {
        publish_id: publication.publish_id.clone(),
        publish_status: if publication.deleted { 5 } else { 0 },
        article_id: Some(publication.article_id.clone()),
        article_detail: Some(ArticleDetail {
            count: urls.len() as u32,
            item: urls
                .iter()
                .enumerate()
                .map(|(i, a)| ArticleUrl { idx: i as u32 + 1, article_url: a.url.clone().unwrap_or_default() })
                .collect(),
        }),
        fail_idx: Vec::new(),
    }
}

/// The account's `__biz` in article links (base64 of a decimal account number, as WeChat's).
const SANDBOX_BIZ: &str = "MzkxMDAwMDAwMQ==";

/// The published articles with their links, in WeChat's long form: `mid` is the push's
/// `msg_data_id` and `idx` the 1-based position (what the statistics key on), `sn` a signature.
fn with_article_urls(publication: &Publication, materials: &[Material]) -> Vec<Article> {
    use sha2::Digest;
    publication
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let signature = sha2::Sha256::digest(format!("{}/{}", publication.article_id, i + 1));
            let url = format!(
                "https://mp.weixin.qq.com/s?__biz={SANDBOX_BIZ}&mid={}&idx={}&sn={}#rd",
                publication.msg_data_id,
                i + 1,
                &hex::encode(signature)[..32]
            );
            // The cover's address, as freepublish lists give it.
            let thumb_url = a
                .thumb_media_id
                .as_ref()
                .and_then(|id| materials.iter().find(|m| &m.media_id == id))
                .and_then(|m| m.url.clone());
            Article { url: Some(url), thumb_url, ..a.clone() }
        })
        .collect()
}

fn with_preview_urls(sandbox: &Sandbox, draft: &Draft) -> Vec<Article> {
    draft
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| Article {
            url: Some(format!("{}/s/draft_{}_{}", sandbox.base_url, draft.media_id, i + 1)),
            ..a.clone()
        })
        .collect()
}
