//! RELAY: `wxpub relay` — a small server for the one machine whose address is on the accounts'
//! IP allow-lists. It holds the AppIDs, AppSecrets and access tokens; CI runners hold only a
//! relay token and send their API calls here.
//!
//! A call to `/a/ACCOUNT/cgi-bin/…` (or `/datacube/…`) is checked — relay token (compared in
//! constant time, by its SHA-256), the accounts that token may use, the endpoint (only the
//! contract's) and the token's scopes (each endpoint needs one: [`Scope`]), the body size (refused from its Content-Length before it is read), the token's
//! rate — then forwarded once to WeChat with the relay's own access token, and WeChat's answer
//! goes back unchanged. The relay never retries a call (the client does, and knows which calls
//! must not be repeated); it only refreshes its token and tries again when WeChat says the token
//! was invalid, which means the call was not carried out. One token per account, fetched through
//! `stable_token`, serves every client at once: no client ever fetches one, so there is nothing
//! to fight over.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::wechat::limits::{CONTENT_MAX_BYTES, IMAGE_MATERIAL_MAX_BYTES, PUSH_MAX_ARTICLES, VIDEO_MAX_BYTES};
use crate::wechat::types::Datacube;
use crate::wechat::{Client, ClientOptions, Credentials};

pub mod config;

pub use config::{RelayConfig, RelayConfigError};

/// What a relay token may do. Every forwarded endpoint needs exactly one scope, so a token given
/// to a CI runner that publishes cannot also mass-send to every follower or delete what was
/// published: a token leaked from a CI log does only what that runner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Draft,
    Preview,
    Publish,
    Masssend,
    Delete,
    Stats,
    Comments,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::Read,
        Scope::Draft,
        Scope::Preview,
        Scope::Publish,
        Scope::Masssend,
        Scope::Delete,
        Scope::Stats,
        Scope::Comments,
    ];

    /// What the scope lets a runner do (the operators' guide, doctor and refusals say it).
    pub fn allows(self) -> &'static str {
        match self {
            Scope::Read => "read the account's materials, drafts, publications and mass sends",
            Scope::Draft => "upload images and make, update and replace drafts",
            Scope::Preview => "send drafts to reviewers' phones",
            Scope::Publish => "publish drafts",
            Scope::Masssend => "send to every follower",
            Scope::Delete => "delete publications and permanent materials",
            Scope::Stats => "pull statistics",
            Scope::Comments => "read, answer, elect and delete readers' comments, open and close them",
        }
    }

    /// The name relay.toml uses.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Draft => "draft",
            Scope::Preview => "preview",
            Scope::Publish => "publish",
            Scope::Masssend => "masssend",
            Scope::Delete => "delete",
            Scope::Stats => "stats",
            Scope::Comments => "comments",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The API endpoints the relay forwards — those of docs/wechat-contract.md that wxpub calls —
/// and the scope each needs (the operators' guide has this table). The token endpoints are not
/// among them (clients never see a token), nor is anything else.
pub const FORWARDED_ENDPOINTS: &[(&str, Scope)] = &[
    ("/cgi-bin/media/uploadimg", Scope::Draft),
    ("/cgi-bin/material/add_material", Scope::Draft),
    ("/cgi-bin/material/batchget_material", Scope::Read),
    ("/cgi-bin/material/get_materialcount", Scope::Read),
    ("/cgi-bin/material/del_material", Scope::Delete),
    ("/cgi-bin/draft/add", Scope::Draft),
    ("/cgi-bin/draft/get", Scope::Read),
    ("/cgi-bin/draft/update", Scope::Draft),
    // A draft is replaced when its articles change: part of preparing a push, not of removing
    // what readers see.
    ("/cgi-bin/draft/delete", Scope::Draft),
    ("/cgi-bin/draft/count", Scope::Read),
    ("/cgi-bin/draft/batchget", Scope::Read),
    ("/cgi-bin/freepublish/submit", Scope::Publish),
    ("/cgi-bin/freepublish/get", Scope::Read),
    ("/cgi-bin/freepublish/batchget", Scope::Read),
    ("/cgi-bin/freepublish/getarticle", Scope::Read),
    ("/cgi-bin/freepublish/delete", Scope::Delete),
    ("/cgi-bin/message/mass/sendall", Scope::Masssend),
    ("/cgi-bin/message/mass/get", Scope::Read),
    ("/cgi-bin/message/mass/preview", Scope::Preview),
    ("/cgi-bin/comment/list", Scope::Comments),
    ("/cgi-bin/comment/open", Scope::Comments),
    ("/cgi-bin/comment/close", Scope::Comments),
    ("/cgi-bin/comment/markelect", Scope::Comments),
    ("/cgi-bin/comment/unmarkelect", Scope::Comments),
    ("/cgi-bin/comment/delete", Scope::Comments),
    ("/cgi-bin/comment/reply/add", Scope::Comments),
    ("/cgi-bin/comment/reply/delete", Scope::Comments),
];

/// The scope `path` needs; None: the relay does not forward it.
pub fn scope_of(path: &str) -> Option<Scope> {
    if let Some(name) = path.strip_prefix("/datacube/") {
        return Datacube::from_name(name).map(|_| Scope::Stats);
    }
    FORWARDED_ENDPOINTS.iter().find(|(endpoint, _)| *endpoint == path).map(|(_, scope)| *scope)
}

/// Calls forwarded at once; more wait their turn (bounds the bodies held in memory).
pub const MAX_IN_FLIGHT: usize = 16;

/// Multipart framing around an upload (boundaries, headers, a video's description).
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The largest body the relay reads for `path`, from the contract's upload limits: twice the
/// limit for uploads, so that a file just over it still reaches WeChat and comes back with
/// WeChat's own refusal (40009, which `doctor --probe` checks), while anything far beyond what
/// WeChat could take is refused here without being read; for JSON, a full push of articles at
/// the content limit.
pub fn max_body_bytes(path: &str) -> usize {
    match path {
        "/cgi-bin/media/uploadimg" => 2 * crate::wechat::limits::UPLOADIMG_MAX_BYTES + MULTIPART_OVERHEAD,
        "/cgi-bin/material/add_material" => 2 * IMAGE_MATERIAL_MAX_BYTES.max(VIDEO_MAX_BYTES) + MULTIPART_OVERHEAD,
        _ => PUSH_MAX_ARTICLES * CONTENT_MAX_BYTES + MULTIPART_OVERHEAD,
    }
}

/// A relay token's rights: the SHA-256 of the token, the accounts it may use, what it may do
/// there, its rate.
#[derive(Clone)]
pub struct Grant {
    /// A name for logs (never the token).
    pub name: String,
    pub token_sha256: [u8; 32],
    pub accounts: Vec<String>,
    pub scopes: std::collections::BTreeSet<Scope>,
    pub per_minute: u32,
}

/// One line of the access log: who called what and how it went; no secret, no token.
#[derive(Debug, Clone, Serialize)]
pub struct AccessLogLine {
    pub at: String,
    /// The grant's name; None when no token matched.
    pub token: Option<String>,
    pub account: Option<String>,
    pub method: String,
    /// The path, without the query (which a careless client may have given a token in).
    pub path: String,
    /// The scope the call used (None for the relay's own check and for unknown paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    pub status: u16,
    /// WeChat's errcode, when it answered one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    /// Why the relay refused the call, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    pub bytes_in: usize,
    pub bytes_out: usize,
    pub ms: u64,
}

/// Hears each access-log line (the CLI prints them as JSON; tests collect them).
pub type AccessLog = Arc<dyn Fn(&AccessLogLine) + Send + Sync>;

/// Everything the relay needs, resolved (secrets read, files loaded).
pub struct RelayOptions {
    pub listen: SocketAddr,
    /// Where the calls go: WeChat, or a sandbox.
    pub wechat_base: String,
    pub accounts: BTreeMap<String, Credentials>,
    pub grants: Vec<Grant>,
    /// PEM certificate chain and private key: serve HTTPS. None: plain HTTP (behind a proxy).
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// How long a client may take to send its body.
    pub body_timeout: Duration,
    /// The forwarding client's settings (timeouts; retries are off: clients retry).
    pub client: ClientOptions,
    pub log: AccessLog,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the relay: {0}")]
    Runtime(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Client(#[from] crate::wechat::WechatError),
}

/// A running relay; dropping it stops the server.
pub type RelayHandle = crate::util::http_server::ServerThread;

struct Relay {
    clients: BTreeMap<String, Arc<Client>>,
    grants: Vec<Grant>,
    /// Calls left in each grant's bucket, and when it was last filled.
    buckets: Mutex<BTreeMap<String, (f64, Instant)>>,
    /// Calls being forwarded at once, at most [`MAX_IN_FLIGHT`].
    in_flight: tokio::sync::Semaphore,
    body_timeout: Duration,
    log: AccessLog,
}

/// Starts the relay on its own threads.
pub fn start(options: RelayOptions) -> Result<RelayHandle, RelayError> {
    let listener = std::net::TcpListener::bind(options.listen)
        .map_err(|source| RelayError::Bind { addr: options.listen, source })?;
    listener.set_nonblocking(true).map_err(RelayError::Runtime)?;
    let addr = listener.local_addr().map_err(RelayError::Runtime)?;
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    let base_url = format!("{scheme}://{addr}");
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let mut clients = BTreeMap::new();
    for (name, credentials) in options.accounts {
        let client = Client::new(&options.wechat_base, credentials, options.client.clone())?;
        clients.insert(name, Arc::new(client));
    }
    let relay = Arc::new(Relay {
        clients,
        grants: options.grants,
        buckets: Mutex::default(),
        in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        body_timeout: options.body_timeout,
        log: options.log,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RelayError::Runtime)?;
    Ok(RelayHandle::spawn(base_url, runtime, move |stop| async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
        // Bodies are limited per endpoint in `handle`, from the Content-Length first.
        let app =
            axum::Router::new().fallback(handle).layer(axum::extract::DefaultBodyLimit::disable()).with_state(relay);
        let shutdown = async {
            let _ = stop.await;
        };
        match tls {
            Some(acceptor) => crate::util::http_server::serve_tls(listener, acceptor, app, shutdown).await,
            None => crate::util::http_server::serve(listener, app, shutdown).await,
        }
    }))
}

fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> Result<tokio_rustls::TlsAcceptor, RelayError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| RelayError::Tls(format!("the certificate file is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(RelayError::Tls("the certificate file holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| RelayError::Tls(format!("the key file holds no PEM private key: {e}")))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| RelayError::Tls(format!("the certificate and key do not make a TLS identity: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The SHA-256 of a relay token, as the relay's configuration keeps it.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Relay {
    /// The grant whose token was presented, compared in constant time against every grant.
    fn grant_for(&self, headers: &HeaderMap) -> Option<&Grant> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, presented) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let presented = presented.trim();
        let digest = token_sha256(presented);
        let mut found = None;
        for grant in &self.grants {
            if bool::from(grant.token_sha256.ct_eq(&digest)) {
                found = Some(grant);
            }
        }
        found
    }

    /// Takes one call from the grant's bucket (refilled continuously at its rate a minute);
    /// Err: the seconds until one is free.
    fn take_call(&self, grant: &Grant) -> Result<(), u64> {
        let capacity = f64::from(grant.per_minute.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (left, filled) = buckets.entry(grant.name.clone()).or_insert((capacity, now));
        *left = (*left + now.duration_since(*filled).as_secs_f64() * capacity / 60.0).min(capacity);
        *filled = now;
        if *left >= 1.0 {
            *left -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *left) * 60.0 / capacity).ceil() as u64)
        }
    }
}

/// Refuses a call: logged with its reason.
fn refuse(line: &mut AccessLogLine, status: StatusCode, why: String) -> Response {
    let response = refusal(status, &why);
    line.refused = Some(why);
    response
}

/// What a refusal looks like to the client: an HTTP status, `{"error": why}`, and the header that
/// tells the client nothing was forwarded (so that even a create may simply be tried again).
fn refusal(status: StatusCode, why: &str) -> Response {
    let mut response = (status, axum::Json(serde_json::json!({ "error": why }))).into_response();
    response.headers_mut().insert(crate::wechat::RELAY_NOT_FORWARDED, HeaderValue::from_static("1"));
    response
}

/// WeChat's refusal of the relay's own call, passed on as a WeChat answer (HTTP 200, errcode),
/// so that the client explains it as it would explain WeChat's.
fn wechat_refusal(err: &crate::wechat::WechatError) -> Response {
    let message = format!("wxpub relay: {}", crate::util::redact::redact(&err.to_string()));
    axum::Json(serde_json::json!({ "errcode": err.code().unwrap_or(-1), "errmsg": message })).into_response()
}

async fn handle(State(relay): State<Arc<Relay>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut line = AccessLogLine {
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        token: None,
        account: None,
        method: method.to_string(),
        path: path.clone(),
        scope: None,
        status: 0,
        errcode: None,
        refused: None,
        bytes_in: 0,
        bytes_out: 0,
        ms: 0,
    };
    // In a task of its own: a client that hangs up does not cancel a call already on its way to
    // WeChat, and the call is logged all the same.
    let task = tokio::spawn(async move {
        let response = route(&relay, request, &mut line).await;
        line.status = response.status().as_u16();
        line.ms = started.elapsed().as_millis() as u64;
        (relay.log)(&line);
        response
    });
    task.await.unwrap_or_else(|_| refusal(StatusCode::INTERNAL_SERVER_ERROR, "the relay failed; see its log"))
}

/// Whether the presented token may make this call: known, for this account, within its scopes,
/// the right method, within its rate. Err: the refusal, logged in `line` (a response, as every
/// refusal here is; it is made once per refused call, so its size does not matter).
#[allow(clippy::result_large_err)]
fn authorize<'r>(
    relay: &'r Relay,
    request: &Request,
    account: &str,
    endpoint: &str,
    line: &mut AccessLogLine,
) -> Result<(&'r Grant, Arc<Client>), Response> {
    let Some(grant) = relay.grant_for(request.headers()) else {
        return Err(refuse(
            line,
            StatusCode::UNAUTHORIZED,
            "missing or unknown relay token: send `Authorization: Bearer TOKEN` with a token the relay knows".into(),
        ));
    };
    line.token = Some(grant.name.clone());
    line.account = Some(account.to_string());
    let Some(client) = relay.clients.get(account).filter(|_| grant.accounts.iter().any(|a| a == account)) else {
        return Err(refuse(
            line,
            StatusCode::FORBIDDEN,
            format!("token `{}` may not use account `{account}`", grant.name),
        ));
    };
    let check = endpoint == "/relay/check";
    let scope = scope_of(endpoint);
    if !check && scope.is_none() {
        return Err(refuse(
            line,
            StatusCode::NOT_FOUND,
            format!("{endpoint} is not an endpoint of the WeChat contract"),
        ));
    }
    line.scope = scope;
    if let Some(scope) = scope.filter(|s| !grant.scopes.contains(s)) {
        return Err(refuse(
            line,
            StatusCode::FORBIDDEN,
            format!(
                "token `{}` lacks the scope `{scope}`, which {endpoint} needs: add \"{scope}\" to tokens.{}.scopes in \
                 relay.toml if this runner should {}",
                grant.name,
                grant.name,
                scope.allows()
            ),
        ));
    }
    // The contract's endpoints are all POST; the check is a GET.
    let allowed = if check { Method::GET } else { Method::POST };
    if request.method() != allowed {
        return Err(refuse(line, StatusCode::METHOD_NOT_ALLOWED, format!("{endpoint} takes {allowed} only")));
    }
    if let Err(wait) = relay.take_call(grant) {
        let mut response = refuse(
            line,
            StatusCode::TOO_MANY_REQUESTS,
            format!("token `{}` is over its {} calls a minute; try again in {wait} s", grant.name, grant.per_minute),
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Err(response);
    }
    Ok((grant, Arc::clone(client)))
}

async fn route(relay: &Relay, request: Request, line: &mut AccessLogLine) -> Response {
    let path = line.path.clone();
    if path == "/healthz" && request.method() == Method::GET {
        return axum::Json(serde_json::json!({ "status": "ok" })).into_response();
    }
    let Some((account, endpoint)) = path.strip_prefix("/a/").and_then(|rest| rest.split_once('/')) else {
        return refuse(line, StatusCode::NOT_FOUND, format!("{path}: not a relay path (/a/ACCOUNT/cgi-bin/…)"));
    };
    let endpoint = format!("/{endpoint}");
    let (grant, client) = match authorize(relay, &request, account, &endpoint, line) {
        Ok(allowed) => allowed,
        Err(refused) => return refused,
    };
    let check = endpoint == "/relay/check";

    if check {
        let (grant_name, scopes) = (grant.name.clone(), grant.scopes.clone());
        // Whether the relay reaches WeChat as this account: a token, from its cache if it has one.
        let answer = tokio::task::spawn_blocking(move || client.access_token().map(drop)).await;
        return match answer {
            Ok(Ok(())) => axum::Json(serde_json::json!({
                "errcode": 0,
                "account": account,
                "token": grant_name,
                "scopes": scopes,
            }))
            .into_response(),
            // WeChat's refusal (40164 allow-list, 40125 secret …) goes back as WeChat said it.
            Ok(Err(err)) if err.code().is_some() => {
                line.errcode = err.code();
                line.refused = Some("WeChat refused the relay's own token request".into());
                wechat_refusal(&err)
            }
            Ok(Err(err)) => refuse(line, StatusCode::BAD_GATEWAY, crate::util::redact::redact(&err.to_string())),
            Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "the relay failed; see its log"),
        };
    }

    let limit = max_body_bytes(&endpoint);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return refuse(
            line,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{endpoint} takes at most {limit} bytes; this body has {}", declared.unwrap_or_default()),
        );
    }
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    // Of the client's query only what the contract's endpoints take (add_material's `type`);
    // never an access_token, which the relay adds itself.
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().filter(|(k, _)| k == "type").collect())
        .unwrap_or_default();
    let method = request.method().clone();
    let body = match tokio::time::timeout(relay.body_timeout, axum::body::to_bytes(request.into_body(), limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return refuse(line, StatusCode::PAYLOAD_TOO_LARGE, format!("{endpoint} takes at most {limit} bytes"));
        }
        Err(_) => return refuse(line, StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time".into()),
    };
    line.bytes_in = body.len();
    // At most this many calls at WeChat at once: bounded memory however many clients call.
    let Ok(_permit) = relay.in_flight.acquire().await else {
        return refuse(line, StatusCode::SERVICE_UNAVAILABLE, "the relay is shutting down".into());
    };
    let forwarded_endpoint = endpoint.clone();
    let answer = tokio::task::spawn_blocking(move || {
        client.forward(&method, &forwarded_endpoint, &query, content_type.as_deref(), body.to_vec())
    })
    .await;
    match answer {
        Ok(Ok(forwarded)) => {
            line.bytes_out = forwarded.body.len();
            line.errcode = forwarded.errcode();
            let mut response = Response::new(Body::from(forwarded.body));
            *response.status_mut() = StatusCode::from_u16(forwarded.status).unwrap_or(StatusCode::BAD_GATEWAY);
            if let Some(value) = forwarded.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        // WeChat refused the relay's own token request (40164: the relay's address is not on
        // the allow-list; 40125: its AppSecret is wrong): said as WeChat says it.
        Ok(Err(err)) if err.code().is_some() => {
            line.errcode = err.code();
            line.refused = Some("WeChat refused the relay's own token request".into());
            wechat_refusal(&err)
        }
        Ok(Err(err)) => {
            use crate::wechat::WechatError;
            let why = crate::util::redact::redact(&err.to_string());
            let token_call = matches!(err.endpoint(), Some("token" | "stable_token"));
            match err {
                // Sent to WeChat and no answer came: a create may have been carried out. Not
                // marked as not forwarded, so the client looks on the server before repeating it.
                WechatError::Transport { sent: true, .. } if !token_call => {
                    line.refused = Some(why.clone());
                    let mut response = refusal(StatusCode::GATEWAY_TIMEOUT, &why);
                    response.headers_mut().remove(crate::wechat::RELAY_NOT_FORWARDED);
                    response
                }
                // WeChat out of reach, or the relay's own token out of reach: nothing was sent.
                WechatError::Transport { sent: false, .. } => refuse(line, StatusCode::BAD_GATEWAY, why),
                _ => refuse(line, StatusCode::SERVICE_UNAVAILABLE, why),
            }
        }
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "the relay failed; see its log"),
    }
}
