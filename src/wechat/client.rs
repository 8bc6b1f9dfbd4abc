//! A blocking HTTP client for the contract in docs/wechat-contract.md: token management, retries
//! with backoff, typed requests and answers, and secrets kept out of every message.
use std::fmt;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::WechatError;
use super::types::*;
use crate::util::redact::{error_chain, redact};

/// Overrides every account's `api_base` when set (point any command at a sandbox).
pub const API_BASE_ENV: &str = "WXPUB_API_BASE";

/// A secret string whose Debug and Display never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub appid: String,
    pub secret: Secret,
}

impl Credentials {
    /// Reads the AppID and AppSecret from the environment variables named in publish.toml.
    pub fn from_env(appid_env: &str, secret_env: &str) -> Result<Credentials, WechatError> {
        let read = |name: &str, what: &str| {
            std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                WechatError::Config(format!(
                    "environment variable {name} is not set; it must hold the account's {what}"
                ))
            })
        };
        Ok(Credentials { appid: read(appid_env, "AppID")?, secret: Secret::new(read(secret_env, "AppSecret")?) })
    }
}

/// How failed calls are retried: transport errors, HTTP 5xx, errcode -1 and 45009.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts, pauses from 0.5 s doubling to at most 20 s. `WXPUB_RETRY_BASE_MS` sets the
    /// first pause (tests use a few milliseconds).
    fn default() -> Self {
        let base_ms = std::env::var("WXPUB_RETRY_BASE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(base_ms), max_delay: Duration::from_secs(20) }
    }
}

/// The longest `Retry-After` honoured: a relay grant's slowest rate is one call a minute.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);

impl RetryPolicy {
    /// Exponential backoff with full jitter: a random pause up to base·2^(attempt-1), capped.
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        let half = ceiling / 2;
        half + Duration::from_nanos(fastrand::u64(0..=half.as_nanos().max(1) as u64))
    }
}

/// Told about each retry (`retrying ENDPOINT (…) in N ms`, secrets redacted); the library itself
/// prints nothing.
pub type RetryNotice = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct ClientOptions {
    /// Use `/cgi-bin/stable_token` (shared safely between processes) rather than `/cgi-bin/token`.
    pub stable_token: bool,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub on_retry: Option<RetryNotice>,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("stable_token", &self.stable_token)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("on_retry", &self.on_retry.is_some())
            .finish()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            stable_token: true,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            on_retry: None,
        }
    }
}

struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

/// Makes the client of an account, by its key in publish.toml: what long-lived servers (the
/// preview's comment desk, `wxpub mcp`) are given, so that they read credentials only when a
/// call needs them.
pub type ClientFactory = std::sync::Arc<dyn Fn(&str) -> Result<Client, WechatError> + Send + Sync>;

/// What a relay says of the token a client presented: its name in relay.toml and its scopes
/// (an older relay answers neither).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RelayGrant {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// The header a `wxpub relay` puts on an answer to a call it did not forward.
pub const RELAY_NOT_FORWARDED: &str = "x-wxpub-relay-not-forwarded";

/// How a client reaches the API.
enum Route {
    /// Straight to WeChat (or the sandbox): the client holds the AppSecret and the access token.
    Direct { credentials: Credentials, token: Mutex<Option<CachedToken>> },
    /// Through a `wxpub relay`, which holds both and adds the access token itself: the client
    /// holds only its relay token, sent as a bearer token.
    Relay { token: Secret },
}

/// One account's API client.
pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    route: Route,
    options: ClientOptions,
    /// Requests sent, by endpoint path (every attempt counts: WeChat's quotas count calls).
    usage: Mutex<std::collections::BTreeMap<String, u64>>,
    /// When the last mass sends were made: WeChat takes at most 60 a minute.
    mass_sends: Mutex<std::collections::VecDeque<std::time::Instant>>,
}

/// WeChat's answer to a forwarded call, as it came.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Forwarded {
    /// The answer's errcode, when it is a JSON error (0 and success bodies: None).
    pub fn errcode(&self) -> Option<i64> {
        if self.body.first() != Some(&b'{') {
            return None;
        }
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        body.get("errcode").and_then(serde_json::Value::as_i64).filter(|code| *code != 0)
    }
}

/// A request that got no answer, as a [`WechatError`].
fn transport_error(endpoint: &str, error: reqwest::Error) -> WechatError {
    WechatError::Transport {
        endpoint: endpoint.to_string(),
        // Only a connection that was never made proves the request did not arrive.
        sent: !error.is_connect(),
        // reqwest errors carry the URL, and with it the access token: drop it, then redact.
        message: redact(&error_chain(&error.without_url())),
    }
}

/// A file to upload as multipart field `media`.
pub struct Upload<'a> {
    pub filename: &'a str,
    pub bytes: &'a [u8],
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // reqwest is built without a bundled provider; ring is the lighter one to compile.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The base URL to use for an account: `WXPUB_API_BASE` when set, else the account's own.
pub fn resolve_base(account_base: &str) -> String {
    std::env::var(API_BASE_ENV).ok().filter(|b| !b.is_empty()).unwrap_or_else(|| account_base.to_string())
}

impl Client {
    pub fn new(base: &str, credentials: Credentials, options: ClientOptions) -> Result<Client, WechatError> {
        Client::with_route(base, Route::Direct { credentials, token: Mutex::new(None) }, options)
    }

    /// A client whose calls go through the `wxpub relay` at `relay_url`, as its account
    /// `relay_account`, authenticated with `token`. It never sees an AppSecret or access token.
    pub fn via_relay(
        relay_url: &str,
        relay_account: &str,
        token: Secret,
        options: ClientOptions,
    ) -> Result<Client, WechatError> {
        let base = format!("{}/a/{relay_account}", relay_url.trim_end_matches('/'));
        Client::with_route(&base, Route::Relay { token }, options)
    }

    /// Whether this client goes through a relay.
    pub fn is_relayed(&self) -> bool {
        matches!(self.route, Route::Relay { .. })
    }

    fn with_route(base: &str, route: Route, options: ClientOptions) -> Result<Client, WechatError> {
        install_crypto_provider();
        let http = reqwest::blocking::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(10))
            // The API never redirects; following one could turn a POST into a GET elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wxpub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                WechatError::Config(format!("cannot set up HTTP: {}", redact(&e.without_url().to_string())))
            })?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            route,
            options,
            usage: Mutex::default(),
            mass_sends: Mutex::default(),
        })
    }

    /// Requests this client has sent, by endpoint path, for the daily-quota record.
    pub fn usage(&self) -> std::collections::BTreeMap<String, u64> {
        self.usage.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    // ---- token ----

    /// The current access token, fetched or refreshed (5 minutes or a fifth of its life ahead of
    /// expiry) as needed. Through a relay: asks the relay whether it takes this client's token
    /// for this account and reaches WeChat with it, and gives back the relay token.
    pub fn access_token(&self) -> Result<Secret, WechatError> {
        match &self.route {
            Route::Direct { .. } => self.token_with(),
            Route::Relay { token } => {
                self.relay_grant()?;
                Ok(token.clone())
            }
        }
    }

    /// Through a relay: asks it whether it takes this client's token for this account and
    /// reaches WeChat with it, and what the token may do there. Directly: None.
    pub fn relay_grant(&self) -> Result<Option<RelayGrant>, WechatError> {
        let Route::Relay { token } = &self.route else { return Ok(None) };
        let endpoint = "relay check";
        let check = || {
            let request = self.http.get(format!("{}/relay/check", self.base)).bearer_auth(token.expose());
            self.send::<RelayGrant>(endpoint, request)
        };
        self.with_retries(endpoint, check).map(Some)
    }

    /// The cached token while it is fresh, else a fetched one.
    fn token_with(&self) -> Result<Secret, WechatError> {
        self.token_fetch(|cached| cached.filter(|t| Instant::now() < t.refresh_at).map(|t| t.value.clone()), false)
    }

    /// Under the token lock: `reuse` picks a cached token to keep, or a token is fetched (with
    /// `force_refresh` when `force`).
    fn token_fetch(
        &self,
        reuse: impl FnOnce(Option<&CachedToken>) -> Option<Secret>,
        force: bool,
    ) -> Result<Secret, WechatError> {
        let (credentials, token) = match &self.route {
            Route::Direct { credentials, token } => (credentials, token),
            // The relay refreshes its own tokens.
            Route::Relay { token } => return Ok(token.clone()),
        };
        let mut cached = token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(token) = reuse(cached.as_ref()) {
            return Ok(token);
        }
        let answer = self.with_retries("token", || self.fetch_token(credentials, force))?;
        let life = Duration::from_secs(answer.expires_in);
        let margin = (life / 5).min(Duration::from_secs(300));
        let value = Secret::new(answer.access_token);
        *cached = Some(CachedToken { value: value.clone(), refresh_at: Instant::now() + life - margin });
        Ok(value)
    }

    fn fetch_token(&self, credentials: &Credentials, force: bool) -> Result<TokenResponse, WechatError> {
        let secret = credentials.secret.expose();
        if self.options.stable_token {
            let body = StableTokenRequest {
                grant_type: "client_credential".into(),
                appid: credentials.appid.clone(),
                secret: secret.to_string(),
                force_refresh: force,
            };
            let request = self.http.post(format!("{}/cgi-bin/stable_token", self.base)).json(&body);
            self.send("stable_token", request)
        } else {
            let request = self.http.get(format!("{}/cgi-bin/token", self.base)).query(&[
                ("grant_type", "client_credential"),
                ("appid", credentials.appid.as_str()),
                ("secret", secret),
            ]);
            self.send("token", request)
        }
    }

    /// Forgets the cached token (the next call fetches one).
    pub fn invalidate_token(&self) {
        if let Route::Direct { token, .. } = &self.route {
            *token.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// Adds what authenticates a call: the access token as WeChat wants it, or the relay token.
    fn authorize(&self, request: reqwest::blocking::RequestBuilder, token: &str) -> reqwest::blocking::RequestBuilder {
        match self.route {
            Route::Direct { .. } => request.query(&[("access_token", token)]),
            Route::Relay { .. } => request.bearer_auth(token),
        }
    }

    // ---- the request machinery ----

    fn send<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<T, WechatError> {
        let transport = |e: reqwest::Error| transport_error(endpoint, e);
        *self.usage.lock().unwrap_or_else(|p| p.into_inner()).entry(endpoint.to_string()).or_default() += 1;
        let response = request.send().map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            // Only an answer the relay marks as not forwarded proves nothing reached WeChat; any
            // other error status (a proxy's 502, a relay that died mid-call, WeChat's own 5xx)
            // may follow a call that was carried out.
            let not_forwarded = response.headers().get(RELAY_NOT_FORWARDED).is_some();
            if self.is_relayed() && not_forwarded {
                // Whole seconds (the relay's rate limit); an HTTP date is not sent by the relay.
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                // The relay says why in `{"error": "…"}`.
                let why = response
                    .json::<serde_json::Value>()
                    .ok()
                    .and_then(|body| body.get("error").and_then(|e| e.as_str()).map(str::to_string))
                    .unwrap_or_else(|| "no reason given".to_string());
                return Err(WechatError::Relay {
                    endpoint: endpoint.into(),
                    status: status.as_u16(),
                    message: redact(&why),
                    retry_after,
                });
            }
            return Err(WechatError::Http { endpoint: endpoint.into(), status: status.as_u16() });
        }
        let bytes = response.bytes().map_err(transport)?;
        parse_answer(endpoint, &bytes)
    }

    /// Runs `attempt` under the retry policy (transport, 5xx, -1, 45009). A create whose request
    /// may have been carried out is not repeated: the caller looks for it on the server.
    fn with_retries<T>(
        &self,
        endpoint: &str,
        mut attempt: impl FnMut() -> Result<T, WechatError>,
    ) -> Result<T, WechatError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt() {
                Err(err) if is_create(endpoint) && err.may_have_been_processed() => return Err(err),
                Err(err) if err.is_retryable() && tries < self.options.retry.max_attempts => {
                    // A relay over its rate for this token says when the next call is allowed:
                    // retrying sooner only spends the attempts.
                    let pause = match err.retry_after() {
                        Some(asked) => asked.min(RETRY_AFTER_MAX),
                        None => self.options.retry.delay(tries),
                    };
                    if let Some(notice) = &self.options.on_retry {
                        notice(&retry_message(endpoint, &err, tries, pause));
                    }
                    std::thread::sleep(pause);
                }
                other => return other,
            }
        }
    }

    /// Runs an authenticated call: retries per the policy and, on a token error, refreshes the
    /// token once and tries once more.
    fn authed<T>(&self, endpoint: &str, call: impl Fn(&str) -> Result<T, WechatError>) -> Result<T, WechatError> {
        let token = self.token_with()?;
        match self.with_retries(endpoint, || call(token.expose())) {
            Err(err) if err.is_token_error() => {
                let fresh = self.token_replacing(&token)?;
                self.with_retries(endpoint, || call(fresh.expose()))
            }
            other => other,
        }
    }

    /// A token to use instead of `stale`, which WeChat refused: the one another thread already
    /// fetched meanwhile, or a fresh one. Calls in flight together that all meet the same stale
    /// token refresh it once, not once each (each forced refresh would invalidate the others'):
    /// the check and the fetch happen under one lock.
    fn token_replacing(&self, stale: &Secret) -> Result<Secret, WechatError> {
        self.token_fetch(
            |cached| cached.filter(|t| &t.value != stale && Instant::now() < t.refresh_at).map(|t| t.value.clone()),
            true,
        )
    }

    fn post_json<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, WechatError> {
        self.post_json_query(path, &[], body)
    }

    fn post_json_query<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, WechatError> {
        // serde_json writes UTF-8, never \u escapes: the draft API would store escapes literally.
        let json = serde_json::to_vec(body).map_err(|e| WechatError::Decode {
            endpoint: path.into(),
            message: format!("cannot encode request: {e}"),
        })?;
        self.authed(path, |token| {
            let request = self
                .authorize(self.http.post(format!("{}{path}", self.base)), token)
                .query(query)
                .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(json.clone());
            self.send(path, request)
        })
    }

    fn post_multipart<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        upload: &Upload<'_>,
        extra: &[(&str, String)],
    ) -> Result<T, WechatError> {
        let mime = crate::util::fs::media_type_of(upload.filename);
        self.authed(path, |token| {
            // A form is consumed by sending, so each attempt builds its own.
            let part = reqwest::blocking::multipart::Part::bytes(upload.bytes.to_vec())
                .file_name(upload.filename.to_string())
                .mime_str(mime)
                .map_err(|e| WechatError::Config(e.to_string()))?;
            let mut form = reqwest::blocking::multipart::Form::new().part("media", part);
            for (name, value) in extra {
                form = form.text(name.to_string(), value.clone());
            }
            let request =
                self.authorize(self.http.post(format!("{}{path}", self.base)), token).query(query).multipart(form);
            self.send(path, request)
        })
    }

    // ---- the relay's forwarding ----

    /// Sends one call as a client gave it to the relay — method, endpoint path, query, body — with
    /// this client's access token, and gives back WeChat's answer unchanged. Not retried (the
    /// calling client retries, and knows what must not be repeated), except once with a fresh
    /// token when WeChat says the token was invalid: then the call was not carried out.
    pub fn forward(
        &self,
        method: &reqwest::Method,
        path: &str,
        query: &[(String, String)],
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Forwarded, WechatError> {
        let attempt = |token: &Secret| -> Result<Forwarded, WechatError> {
            let mut request = self
                .authorize(self.http.request(method.clone(), format!("{}{path}", self.base)), token.expose())
                .query(query)
                .body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header(reqwest::header::CONTENT_TYPE, content_type);
            }
            *self.usage.lock().unwrap_or_else(|p| p.into_inner()).entry(path.to_string()).or_default() += 1;
            let transport = |e: reqwest::Error| transport_error(path, e);
            let response = request.send().map_err(transport)?;
            let status = response.status().as_u16();
            let content_type =
                response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = response.bytes().map_err(transport)?.to_vec();
            Ok(Forwarded { status, content_type, body })
        };
        let token = self.token_with()?;
        let answer = attempt(&token)?;
        if answer.errcode().is_some_and(|code| matches!(code, 40001 | 40014 | 42001)) {
            return attempt(&self.token_replacing(&token)?);
        }
        Ok(answer)
    }

    // ---- images and material ----

    /// Uploads an image for use inside article bodies (jpg/png, under 1 MB); returns its URL.
    pub fn upload_image(&self, upload: &Upload<'_>) -> Result<UploadImgResponse, WechatError> {
        self.post_multipart("/cgi-bin/media/uploadimg", &[], upload, &[])
    }

    /// Adds permanent material. Videos need a description.
    pub fn add_material(
        &self,
        kind: MaterialType,
        upload: &Upload<'_>,
        video: Option<&VideoDescription>,
    ) -> Result<AddMaterialResponse, WechatError> {
        let mut extra = Vec::new();
        if let Some(description) = video {
            let json = serde_json::to_string(description).unwrap_or_default();
            extra.push(("description", json));
        }
        self.post_multipart("/cgi-bin/material/add_material", &[("type", kind.as_str())], upload, &extra)
    }

    pub fn batchget_material(
        &self,
        kind: MaterialType,
        offset: u32,
        count: u32,
    ) -> Result<BatchGetMaterialResponse, WechatError> {
        self.post_json("/cgi-bin/material/batchget_material", &BatchGetMaterialRequest { kind, offset, count })
    }

    pub fn material_count(&self) -> Result<MaterialCount, WechatError> {
        self.post_json("/cgi-bin/material/get_materialcount", &serde_json::json!({}))
    }

    pub fn del_material(&self, media_id: &str) -> Result<(), WechatError> {
        self.post_json::<_, ErrorBody>("/cgi-bin/material/del_material", &MediaId { media_id: media_id.into() })
            .map(drop)
    }

    // ---- drafts ----

    pub fn draft_add(&self, articles: &[Article]) -> Result<MediaId, WechatError> {
        self.post_json("/cgi-bin/draft/add", &serde_json::json!({ "articles": articles }))
    }

    pub fn draft_update(&self, media_id: &str, index: u32, article: &Article) -> Result<(), WechatError> {
        let body = DraftUpdateRequest { media_id: media_id.into(), index, articles: article.clone() };
        self.post_json::<_, ErrorBody>("/cgi-bin/draft/update", &body).map(drop)
    }

    pub fn draft_get(&self, media_id: &str) -> Result<StoredDraft, WechatError> {
        self.post_json("/cgi-bin/draft/get", &MediaId { media_id: media_id.into() })
    }

    pub fn draft_delete(&self, media_id: &str) -> Result<(), WechatError> {
        self.post_json::<_, ErrorBody>("/cgi-bin/draft/delete", &MediaId { media_id: media_id.into() }).map(drop)
    }

    pub fn draft_count(&self) -> Result<u32, WechatError> {
        self.post_json::<_, TotalCount>("/cgi-bin/draft/count", &serde_json::json!({})).map(|c| c.total_count)
    }

    pub fn draft_batchget(
        &self,
        offset: u32,
        count: u32,
        no_content: bool,
    ) -> Result<DraftBatchGetResponse, WechatError> {
        self.post_json("/cgi-bin/draft/batchget", &BatchGetRequest { offset, count, no_content: u8::from(no_content) })
    }

    // ---- publishing ----

    pub fn publish_submit(&self, draft_media_id: &str) -> Result<SubmitResponse, WechatError> {
        self.post_json("/cgi-bin/freepublish/submit", &MediaId { media_id: draft_media_id.into() })
    }

    pub fn publish_get(&self, publish_id: &str) -> Result<PublishStatus, WechatError> {
        self.post_json("/cgi-bin/freepublish/get", &PublishId { publish_id: publish_id.into() })
    }

    pub fn publish_batchget(
        &self,
        offset: u32,
        count: u32,
        no_content: bool,
    ) -> Result<PublishedBatchGetResponse, WechatError> {
        self.post_json(
            "/cgi-bin/freepublish/batchget",
            &BatchGetRequest { offset, count, no_content: u8::from(no_content) },
        )
    }

    pub fn publish_getarticle(&self, article_id: &str) -> Result<NewsItems, WechatError> {
        self.post_json("/cgi-bin/freepublish/getarticle", &ArticleId { article_id: article_id.into() })
    }

    pub fn publish_delete(&self, article_id: &str, index: u32) -> Result<(), WechatError> {
        let body = FreepublishDeleteRequest { article_id: article_id.into(), index };
        self.post_json::<_, ErrorBody>("/cgi-bin/freepublish/delete", &body).map(drop)
    }

    // ---- comments ----

    /// One page (at most [`crate::wechat::limits::COMMENT_PAGE_MAX`]) of an article's comments,
    /// from `begin`.
    pub fn comment_list(&self, article: CommentArticle, begin: u32, count: u32) -> Result<CommentPage, WechatError> {
        let request =
            CommentListRequest { msg_data_id: article.msg_data_id, index: article.index, begin, count, kind: 0 };
        self.post_json("/cgi-bin/comment/list", &request)
    }

    /// Replies to a comment (once: a second reply is 88005). Not repeated after a lost answer:
    /// the caller looks at the comment first.
    pub fn comment_reply(&self, target: CommentTarget, content: &str) -> Result<(), WechatError> {
        let body = CommentReplyRequest {
            msg_data_id: target.msg_data_id,
            index: target.index,
            user_comment_id: target.user_comment_id,
            content: content.into(),
        };
        self.post_json::<_, ErrorBody>("/cgi-bin/comment/reply/add", &body).map(drop)
    }

    /// `comment/markelect`, `unmarkelect`, `delete` or `reply/delete` (by `path`) on one comment.
    pub fn comment_change(&self, path: &'static str, target: CommentTarget) -> Result<(), WechatError> {
        self.post_json::<_, ErrorBody>(path, &target).map(drop)
    }

    /// Opens (or closes) an article's comments.
    pub fn comment_open(&self, article: CommentArticle, open: bool) -> Result<(), WechatError> {
        let path = if open { "/cgi-bin/comment/open" } else { "/cgi-bin/comment/close" };
        self.post_json::<_, ErrorBody>(path, &article).map(drop)
    }

    /// Sends draft `media_id` to every follower (counts against the account's allowance).
    /// Sends draft `draft_media_id` to every follower. `clientmsgid` identifies the send: a
    /// retry after a lost answer gets WeChat's 45065 with the first send's `msg_id`, which is
    /// returned here as the send's answer — it went out once.
    pub fn mass_send_all(&self, draft_media_id: &str, clientmsgid: &str) -> Result<MassSendResponse, WechatError> {
        {
            let mut sent = self.mass_sends.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(pause) = mass_send_pause(&sent, std::time::Instant::now()) {
                std::thread::sleep(pause);
            }
            sent.push_back(std::time::Instant::now());
            while sent.len() > MASS_SENDS_PER_MINUTE {
                sent.pop_front();
            }
        }
        self.post_json("/cgi-bin/message/mass/sendall", &MassSendRequest::to_all(draft_media_id, clientmsgid))
    }

    /// Every permanent image material, all pages (20 at a time).
    pub fn all_image_materials(&self) -> Result<Vec<MaterialItem>, WechatError> {
        list_all(|offset| self.batchget_material(MaterialType::Image, offset, 20).map(|p| (p.total_count, p.item)))
    }

    /// Every draft in the draft box, all pages, without content.
    pub fn all_drafts(&self) -> Result<Vec<DraftItem>, WechatError> {
        list_all(|offset| self.draft_batchget(offset, 20, true).map(|p| (p.total_count, p.item)))
    }

    /// Every published item (freepublish), all pages, without content.
    pub fn all_published(&self) -> Result<Vec<PublishedItem>, WechatError> {
        list_all(|offset| self.publish_batchget(offset, 20, true).map(|p| (p.total_count, p.item)))
    }

    /// Sends draft `draft_media_id` to one reviewer's WeChat (`message/mass/preview`, 100 a
    /// day): proofing on a phone, nothing published.
    pub fn mass_preview(&self, draft_media_id: &str, reviewer: &Reviewer) -> Result<MassPreviewResponse, WechatError> {
        self.post_json("/cgi-bin/message/mass/preview", &MassPreviewRequest::new(draft_media_id, reviewer))
    }

    /// Where mass send `msg_id` stands (SEND_SUCCESS, SENDING, SEND_FAIL, DELETE).
    pub fn mass_get(&self, msg_id: u64) -> Result<MassStatus, WechatError> {
        self.post_json("/cgi-bin/message/mass/get", &MassGetRequest { msg_id })
    }

    // ---- statistics ----

    /// Calls one datacube endpoint for `begin..=end` (`YYYY-MM-DD`). The caller splits ranges
    /// to the endpoint's [`Datacube::max_days`].
    pub fn datacube<T: DeserializeOwned>(
        &self,
        endpoint: Datacube,
        begin: &str,
        end: &str,
    ) -> Result<Vec<T>, WechatError> {
        self.datacube_answer(endpoint, begin, end).map(|answer| answer.list)
    }

    /// A datacube answer whole: its rows and `is_delay`.
    pub fn datacube_answer<T: DeserializeOwned>(
        &self,
        endpoint: Datacube,
        begin: &str,
        end: &str,
    ) -> Result<DatacubeAnswer<T>, WechatError> {
        let path = format!("/datacube/{}", endpoint.name());
        let range = DateRange { begin_date: begin.into(), end_date: end.into() };
        self.post_json::<_, DatacubeAnswer<T>>(&path, &range)
    }
}

/// Every page of a list endpoint (batchget_material, draft/batchget, freepublish/batchget):
/// `page(offset)` returns (total_count, items); pages of 20 are fetched until all are in.
pub fn list_all<T>(mut page: impl FnMut(u32) -> Result<(u32, Vec<T>), WechatError>) -> Result<Vec<T>, WechatError> {
    let mut all = Vec::new();
    loop {
        let (total, items) = page(all.len() as u32)?;
        let empty = items.is_empty();
        all.extend(items);
        if empty || all.len() as u32 >= total {
            return Ok(all);
        }
    }
}

/// Checks errcode before the success shape, as the contract requires.
/// WeChat's limit of `sendall` calls a minute.
const MASS_SENDS_PER_MINUTE: usize = 60;

/// How long to wait before the next mass send, given the times of the latest ones (oldest
/// first), so that no minute holds more than [`MASS_SENDS_PER_MINUTE`].
fn mass_send_pause(sent: &std::collections::VecDeque<std::time::Instant>, now: std::time::Instant) -> Option<Duration> {
    if sent.len() < MASS_SENDS_PER_MINUTE {
        return None;
    }
    let oldest = sent[sent.len() - MASS_SENDS_PER_MINUTE];
    (oldest + Duration::from_secs(60)).checked_duration_since(now)
}

/// Endpoints that create something visible on the server each time they are carried out: a
/// repeat after a lost answer would make a duplicate. (uploadimg is not one: its URLs are not
/// listed anywhere and an unused one costs nothing; draft/update and deletes repeat harmlessly;
/// sendall carries a `clientmsgid`, so WeChat itself detects a repeat.) A comment reply counts as
/// one: a repeat would be refused (88005) and hide whether the first went through, so the caller
/// looks at the comment instead.
pub fn is_create(endpoint: &str) -> bool {
    matches!(
        endpoint,
        "/cgi-bin/material/add_material"
            | "/cgi-bin/draft/add"
            | "/cgi-bin/freepublish/submit"
            | "/cgi-bin/comment/reply/add"
    )
}

fn parse_answer<T: DeserializeOwned>(endpoint: &str, bytes: &[u8]) -> Result<T, WechatError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| WechatError::Decode { endpoint: endpoint.into(), message: format!("not JSON: {e}") })?;
    // 45065 on sendall: this clientmsgid was sent in the last 24 hours; the answer carries that
    // send's msg_id. The send happened once, which is what the caller asked for.
    let already_sent = endpoint == "/cgi-bin/message/mass/sendall" && value.get("msg_id").is_some();
    if let Some(code) = value.get("errcode").and_then(|c| c.as_i64())
        && code != 0
        && !(code == 45065 && already_sent)
    {
        let message = value.get("errmsg").and_then(|m| m.as_str()).unwrap_or("").to_string();
        return Err(WechatError::Api { endpoint: endpoint.into(), code, message: redact(&message) });
    }
    serde_json::from_value(value).map_err(|e| WechatError::Decode { endpoint: endpoint.into(), message: e.to_string() })
}

fn retry_message(endpoint: &str, err: &WechatError, attempt: u32, pause: Duration) -> String {
    format!("retrying {endpoint} (attempt {attempt} failed: {}) in {} ms", redact(&err.to_string()), pause.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let creds = Credentials { appid: "wx1".into(), secret: Secret::new("topsecret") };
        assert!(!format!("{creds:?}").contains("topsecret"));
    }

    #[test]
    fn the_sixty_first_mass_send_in_a_minute_waits_for_the_first_to_age() {
        let start = std::time::Instant::now();
        let mut sent: std::collections::VecDeque<_> = (0..59).map(|i| start + Duration::from_millis(i * 100)).collect();
        assert_eq!(mass_send_pause(&sent, start + Duration::from_secs(6)), None, "59 in the minute: go");
        sent.push_back(start + Duration::from_secs(6));
        assert_eq!(mass_send_pause(&sent, start + Duration::from_secs(10)), Some(Duration::from_secs(50)));
        assert_eq!(mass_send_pause(&sent, start + Duration::from_secs(61)), None, "the first has aged");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..50 {
            assert!(policy.delay(1) >= Duration::from_millis(50) && policy.delay(1) <= Duration::from_millis(100));
            assert!(policy.delay(10) <= Duration::from_millis(300));
        }
    }

    #[test]
    fn errcode_is_checked_before_the_success_shape() {
        let err =
            parse_answer::<UploadImgResponse>("x", br#"{"errcode":40005,"errmsg":"invalid file type"}"#).unwrap_err();
        assert_eq!(err.code(), Some(40005));
        let ok: UploadImgResponse = parse_answer("x", br#"{"url":"http://a/b.jpg"}"#).unwrap();
        assert_eq!(ok.url, "http://a/b.jpg");
        let zero: MediaId = parse_answer("x", br#"{"errcode":0,"media_id":"m"}"#).unwrap();
        assert_eq!(zero.media_id, "m");
    }
}
