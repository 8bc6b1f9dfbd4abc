//! `wxpub relay` (#23) in front of the sandbox on loopback ports: runs whose environment holds
//! only a relay token publish, sync, pull statistics and check their set-up through it; the relay
//! refuses what it must before anything reaches the sandbox, and keeps secrets out of its log.
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wxpub::relay::{AccessLogLine, Grant, RelayHandle, RelayOptions, Scope};
use wxpub::sandbox::{SandboxHandle, SandboxOptions};
use wxpub::wechat::{ClientOptions, Credentials, RetryPolicy, Secret};

use crate::support::{APPID, Route, SECRET, TestProject};
use crate::wechat::{http, sandbox_state, start};

/// The token CI runners present: both accounts.
pub const TOKEN: &str = "relay-token-for-ci-0123456789abcdef";
/// A token limited to the service account.
const SERVICE_ONLY_TOKEN: &str = "relay-token-service-only-0123456789";
/// A token with a tiny rate.
const SLOW_TOKEN: &str = "relay-token-three-a-minute-0123456";
/// A token allowed a call a second (after a burst of 60).
const SECOND_TOKEN: &str = "relay-token-one-a-second-0123456789";
/// A token that may read, make drafts and publish — not mass-send, preview or delete.
const PUBLISHER_TOKEN: &str = "relay-token-publisher-0123456789abc";

/// A relay in front of a sandbox, and the access-log lines it wrote.
pub struct Relayed {
    pub handle: RelayHandle,
    pub log: Arc<Mutex<Vec<AccessLogLine>>>,
}

impl Relayed {
    pub fn route(&self) -> Route {
        Route::Relay { url: self.handle.base_url.clone(), token: TOKEN.into() }
    }

    fn log_text(&self) -> String {
        let lines = self.log.lock().unwrap();
        lines.iter().map(|l| serde_json::to_string(l).unwrap()).collect::<Vec<_>>().join("\n")
    }
}

/// A relay serving the example's two accounts (both the sandbox's AppID) in front of `sandbox`.
pub fn in_front_of(sandbox: &SandboxHandle) -> Relayed {
    start_relay(sandbox, None)
}

/// A relay in front of `sandbox` with three grants (below), over TLS when given a certificate
/// and key.
fn start_relay(sandbox: &SandboxHandle, tls: Option<(Vec<u8>, Vec<u8>)>) -> Relayed {
    let log: Arc<Mutex<Vec<AccessLogLine>>> = Arc::default();
    let sink = Arc::clone(&log);
    let credentials = || Credentials { appid: APPID.into(), secret: Secret::new(SECRET) };
    let scoped = |name: &str, token: &str, accounts: &[&str], scopes: &[Scope], per_minute| Grant {
        name: name.into(),
        token_sha256: wxpub::relay::token_sha256(token),
        accounts: accounts.iter().map(|a| a.to_string()).collect(),
        scopes: scopes.iter().copied().collect(),
        per_minute,
    };
    let grant =
        |name: &str, token: &str, accounts: &[&str], per_minute| scoped(name, token, accounts, &Scope::ALL, per_minute);
    let options = RelayOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        wechat_base: sandbox.base_url.clone(),
        accounts: [("service".to_string(), credentials()), ("subscription".to_string(), credentials())].into(),
        grants: vec![
            grant("ci", TOKEN, &["service", "subscription"], 100_000),
            grant("service-only", SERVICE_ONLY_TOKEN, &["service"], 100_000),
            grant("slow", SLOW_TOKEN, &["service"], 3),
            grant("one-a-second", SECOND_TOKEN, &["service"], 60),
            scoped(
                "publisher",
                PUBLISHER_TOKEN,
                &["service", "subscription"],
                &[Scope::Read, Scope::Draft, Scope::Publish],
                100_000,
            ),
        ],
        tls,
        body_timeout: Duration::from_secs(10),
        client: quick_client(None),
        log: Arc::new(move |line: &AccessLogLine| sink.lock().unwrap().push(line.clone())),
    };
    Relayed { handle: wxpub::relay::start(options).expect("relay starts"), log }
}

/// Client options for tests: three attempts, a few milliseconds apart.
fn quick_client(on_retry: Option<wxpub::wechat::RetryNotice>) -> ClientOptions {
    ClientOptions {
        stable_token: true,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
        timeout: Duration::from_secs(20),
        on_retry,
    }
}

fn run(project: &TestProject, route: &Route, args: &[&str]) -> (i32, String) {
    let output = route.apply(crate::support::binary().current_dir(project.path())).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn issued_tokens(sandbox: &SandboxHandle) -> Vec<String> {
    let state = sandbox_state(sandbox);
    state["tokens"].as_array().unwrap().iter().map(|t| t["value"].as_str().unwrap().to_string()).collect()
}

fn assert_no_secret_in(text: &str, sandbox: &SandboxHandle) {
    assert!(!text.contains(SECRET), "AppSecret in: {text}");
    for token in issued_tokens(sandbox) {
        assert!(!text.contains(&token), "access token in: {text}");
    }
    for token in [TOKEN, SERVICE_ONLY_TOKEN, SLOW_TOKEN, SECOND_TOKEN, PUBLISHER_TOKEN] {
        assert!(!text.contains(token), "relay token in: {text}");
    }
}

/// Calls the sandbox received, by endpoint (what "nothing forwarded" compares).
fn calls(sandbox: &SandboxHandle) -> serde_json::Value {
    sandbox_state(sandbox)["calls"].clone()
}

#[test]
fn the_example_publishes_through_the_relay_exactly_once_without_an_appsecret() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 50, ..SandboxOptions::default() });
    let relay = in_front_of(&sandbox);
    let route = relay.route();
    let project = TestProject::example();

    let (code, text) = run(&project, &route, &["doctor"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("through the relay") && text.contains("accepts this runner's token"), "{text}");

    // The service account's 1 December push (freepublish) and the subscription account's first
    // mass send (one a day) are due.
    let all_due = ["publish", "--due", "--now", "2026-12-02 09:00"];
    let (code, text) = run(&project, &route, &all_due);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    let lock = project.read("publish.lock");
    let recorded = lock.matches("status = \"published\"").count() + lock.matches("status = \"sent\"").count();
    let publications = state["publications"].as_array().unwrap().len();
    let mass_sends = state["mass_sends"].as_array().unwrap().len();
    assert_eq!((publications, mass_sends), (1, 1), "each due push once: {text}");
    assert_eq!(recorded, 2, "both recorded: {lock}");
    let mut names: Vec<&str> =
        state["materials"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    let uploaded = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), uploaded, "no material twice");

    // A rerun writes nothing; status, sync --check and a statistics pull work the same way.
    let before = calls(&sandbox);
    let (code, text) = run(&project, &route, &all_due);
    assert_eq!(code, 0, "{text}");
    for write in ["/cgi-bin/material/add_material", "/cgi-bin/draft/add", "/cgi-bin/freepublish/submit"] {
        assert_eq!(calls(&sandbox)[write], before[write], "{write} again: {text}");
    }
    // (sync --check would list the other account's materials: the test's accounts share a sandbox.)
    for args in [
        &["stats", "pull", "--since", "2026-11-10", "--until", "2026-11-18"][..],
        &["doctor", "--probe", "--account", "service"],
        &["send-preview", "articles/2026-12-12-conservation-lab", "--to", "wxpub-editor"],
    ] {
        let (code, out) = run(&project, &route, args);
        assert_eq!(code, 0, "{args:?}: {out}");
    }

    // Every call went through the relay, as the token's grant; the relay fetched the tokens.
    let log = relay.log.lock().unwrap().clone();
    assert!(log.iter().all(|l| l.token.as_deref() == Some("ci") && l.status == 200), "{}", relay.log_text());
    assert!(log.iter().any(|l| l.path.ends_with("/cgi-bin/freepublish/submit")));
    assert!(log.iter().any(|l| l.path.ends_with("/datacube/getusersummary")));
    let token_calls = calls(&sandbox)["/cgi-bin/stable_token"].as_u64().unwrap_or(0);
    assert!(token_calls <= 2, "one token per account, kept by the relay: {token_calls}");
    assert_no_secret_in(&format!("{text}\n{}", relay.log_text()), &sandbox);
}

#[test]
fn the_relay_refuses_before_forwarding_and_says_why() {
    let sandbox = start(SandboxOptions::default());
    let relay = in_front_of(&sandbox);
    let base = &relay.handle.base_url;
    let client = http();
    let post = |path: &str, token: Option<&str>| {
        let mut request = client.post(format!("{base}{path}")).json(&serde_json::json!({}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.text().unwrap())
    };
    let before = calls(&sandbox);

    assert_eq!(client.get(format!("{base}/healthz")).send().unwrap().status().as_u16(), 200);
    let (status, body) = post("/a/service/cgi-bin/draft/count", None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("relay token"), "{body}");
    assert_eq!(post("/a/service/cgi-bin/draft/count", Some("wrong-token-0123456789abcdef")).0, 401);
    let (status, body) = post("/a/subscription/cgi-bin/draft/count", Some(SERVICE_ONLY_TOKEN));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("may not use account `subscription`"), "{body}");
    assert_eq!(post("/a/nobody/cgi-bin/draft/count", Some(TOKEN)).0, 403);
    for outside in [
        "/a/service/cgi-bin/stable_token",
        "/a/service/cgi-bin/token",
        "/a/service/cgi-bin/user/get",
        "/a/service/cgi-bin/draft/../stable_token",
        "/a/service/cgi-bin/draft/count/../../stable_token",
        "/a/service/cgi-bin%2Fstable_token",
        "/a/service//cgi-bin/draft/count",
        "/a/service/datacube/getnothing",
    ] {
        let (status, body) = post(outside, Some(TOKEN));
        assert_eq!(status, 404, "{outside}: {body}");
    }
    // Only POST is forwarded; a refusal says that nothing was.
    let response = client.get(format!("{base}/a/service/cgi-bin/draft/count")).bearer_auth(TOKEN).send().unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(response.headers().contains_key(wxpub::wechat::RELAY_NOT_FORWARDED));
    assert_eq!(post("/cgi-bin/draft/count", Some(TOKEN)).0, 404, "outside /a/ACCOUNT/");
    assert_eq!(calls(&sandbox), before, "nothing was forwarded");

    // An access_token the client slips into the query is dropped: the relay's own is used.
    let response = client
        .post(format!("{base}/a/service/cgi-bin/draft/count?access_token=SMUGGLED"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .unwrap();
    let answer: serde_json::Value = response.json().unwrap();
    assert_eq!(answer["total_count"], 0, "{answer}");
    let before = calls(&sandbox);

    // An oversize body is refused from its Content-Length, before a byte of it is sent.
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "POST /a/service/cgi-bin/media/uploadimg HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n\r\n"
    )
    .unwrap();
    let mut answer = [0u8; 512];
    let read = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("at most"), "{answer}");
    assert_eq!(calls(&sandbox), before, "nothing was forwarded");

    // A token over its rate waits; the client is told when to come back.
    let statuses: Vec<u16> = (0..3).map(|_| post("/a/service/cgi-bin/draft/count", Some(SLOW_TOKEN)).0).collect();
    assert_eq!(statuses, [200, 200, 200]);
    let forwarded = calls(&sandbox);
    let over = client
        .post(format!("{base}/a/service/cgi-bin/draft/count"))
        .bearer_auth(SLOW_TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .unwrap();
    assert_eq!(over.status().as_u16(), 429);
    let wait: u64 = over.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "three a minute: the next in about 20 s, not {wait}");
    assert_eq!(calls(&sandbox), forwarded, "the call over the rate was not forwarded");

    // A wrong token, as a wxpub run sees it: named, with what to do.
    let project = TestProject::example();
    let wrong = Route::Relay { url: base.clone(), token: "not-the-token-0123456789".into() };
    let (code, text) = run(&project, &wrong, &["doctor", "--account", "service"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("does not accept the token in WXPUB_RELAY_TOKEN"), "{text}");
    let limited = Route::Relay { url: base.clone(), token: SERVICE_ONLY_TOKEN.into() };
    let (code, text) = run(&project, &limited, &["doctor", "--account", "subscription"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not for account `subscription`"), "{text}");

    let log = relay.log_text();
    assert!(
        log.contains("\"status\":401") && log.contains("\"status\":413") && log.contains("\"status\":429"),
        "{log}"
    );
    assert_no_secret_in(&log, &sandbox);
}

#[test]
fn two_projects_publishing_through_one_relay_at_once_both_finish_without_token_fights() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 50, latency_ms: 5, ..SandboxOptions::default() });
    let relay = in_front_of(&sandbox);
    let route = relay.route();
    let museum = TestProject::example();
    let other = TestProject::example();
    let spawn = |project: &TestProject, account: &str, now: &str| {
        route
            .apply(crate::support::binary().current_dir(project.path()))
            .args(["publish", "--due", "--now", now, "--account", account])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn(&museum, "service", "2027-01-02 09:00");
    let second = spawn(&other, "subscription", "2026-12-02 09:00");
    for (name, child) in [("service", first), ("subscription", second)] {
        let output = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{name}: {text}");
    }
    let log = relay.log.lock().unwrap().clone();
    let token_errors: Vec<&AccessLogLine> =
        log.iter().filter(|l| matches!(l.errcode, Some(40001 | 40014 | 42001))).collect();
    assert!(token_errors.is_empty(), "token fights: {token_errors:?}");
    // The relay healed nothing behind the log's back: one token per account, never forced.
    let token_calls = calls(&sandbox)["/cgi-bin/stable_token"].as_u64().unwrap_or(0);
    assert!((1..=2).contains(&token_calls), "stable_token called {token_calls} times");
    assert!(log.iter().all(|l| l.status == 200), "{}", relay.log_text());
    let state = sandbox_state(&sandbox);
    assert!(
        !state["publications"].as_array().unwrap().is_empty() && !state["mass_sends"].as_array().unwrap().is_empty()
    );
}

#[test]
fn the_relay_serves_https_with_a_given_certificate() {
    let sandbox = start(SandboxOptions::default());
    let fixture =
        |name: &str| std::fs::read(crate::support::repo_root().join("tests/fixtures/relay-tls").join(name)).unwrap();
    let relay = start_relay(&sandbox, Some((fixture("cert.pem"), fixture("key.pem")))).handle;
    assert!(relay.base_url.starts_with("https://"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(&fixture("ca.pem")).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap();
    assert_eq!(drafts_through(&client, &relay.base_url.replace("127.0.0.1", "localhost")), 0);
    // Plain HTTP to the TLS port gets nothing.
    let plain = http().get(format!("{}/healthz", relay.base_url.replace("https://", "http://"))).send();
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[test]
fn wxpub_relay_runs_from_its_configuration_and_names_what_is_missing() {
    let sandbox = start(SandboxOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nwechat_base = \"{}\"\n\n[accounts.service]\nappid_env = \"RELAY_TEST_APPID\"\n\
             secret_env = \"RELAY_TEST_SECRET\"\n\n[tokens.ci]\nsha256 = \"{}\"\naccounts = [\"service\"]\n\
             scopes = [\"read\", \"draft\"]\n",
            sandbox.base_url,
            hex_of(&wxpub::relay::token_sha256(TOKEN))
        ),
    )
    .unwrap();
    let relay = || {
        let mut command = crate::support::binary();
        command.args(["relay", "--config", config.to_str().unwrap()]);
        command
    };

    // `--hash-token` prints what goes into `sha256 = "…"`.
    let mut hash = relay()
        .arg("--hash-token")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    hash.stdin.take().unwrap().write_all(TOKEN.as_bytes()).unwrap();
    let printed = String::from_utf8(hash.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(printed.trim(), hex_of(&wxpub::relay::token_sha256(TOKEN)));

    // Without the account's secret in its environment, it says which variable and does not start.
    let output = relay().env("RELAY_TEST_APPID", APPID).env_remove("RELAY_TEST_SECRET").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("accounts.service") && text.contains("RELAY_TEST_SECRET is not set"), "{text}");

    // A token without `scopes` is not taken to mean "everything": the relay does not start.
    let unscoped = dir.path().join("unscoped.toml");
    std::fs::write(
        &unscoped,
        std::fs::read_to_string(&config).unwrap().replace("scopes = [\"read\", \"draft\"]\n", ""),
    )
    .unwrap();
    let output = crate::support::binary()
        .args(["relay", "--config", unscoped.to_str().unwrap()])
        .env("RELAY_TEST_APPID", APPID)
        .env("RELAY_TEST_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("tokens.ci has no `scopes`") && text.contains("masssend"), "{text}");
    let misspelt = dir.path().join("misspelt.toml");
    std::fs::write(&misspelt, std::fs::read_to_string(&config).unwrap().replace("\"draft\"]", "\"drafts\"]")).unwrap();
    let output = crate::support::binary().args(["relay", "--config", misspelt.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("drafts") && text.contains("line 11"), "an unknown scope, with its line: {text}");

    // With it: serves, logs each call as a JSON line on stdout, no secret in it.
    let mut child = relay()
        .env("RELAY_TEST_APPID", APPID)
        .env("RELAY_TEST_SECRET", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stderr.take().unwrap()), &mut banner).unwrap();
    let url = banner.split_whitespace().find(|w| w.starts_with("http://")).expect(&banner).to_string();
    assert_eq!(drafts_through(&http(), &url), 0);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let logged: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!((logged["token"].as_str(), logged["status"].as_u64()), (Some("ci"), Some(200)), "{line}");
    assert_eq!(logged["scope"], "read", "the access log records the scope used: {line}");
    assert_no_secret_in(&line, &sandbox);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The service account's draft count, asked through the relay at `base`.
fn drafts_through(client: &reqwest::blocking::Client, base: &str) -> i64 {
    let answer: serde_json::Value = client
        .post(format!("{base}/a/service/cgi-bin/draft/count"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["total_count"].as_i64().unwrap_or_else(|| panic!("{answer}"))
}

/// A client over its token's rate waits as long as the relay's `Retry-After` says, then goes
/// on, instead of spending its attempts within milliseconds of backoff.
#[test]
fn a_client_over_its_rate_waits_as_the_relay_says_and_goes_on() {
    let sandbox = start(SandboxOptions::default());
    let relay = in_front_of(&sandbox);
    let notices: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&notices);
    // Its backoff is far shorter than the relay's second: only Retry-After can carry the run.
    let options = quick_client(Some(Arc::new(move |notice: &str| sink.lock().unwrap().push(notice.to_string()))));
    let client =
        wxpub::wechat::Client::via_relay(&relay.handle.base_url, "service", Secret::new(SECOND_TOKEN), options)
            .unwrap();
    // The burst of 60 is spent, then each call waits for the next second.
    for call in 0..200 {
        client.draft_count().unwrap_or_else(|e| panic!("call {call}: {e}"));
        if notices.lock().unwrap().len() >= 2 {
            break;
        }
    }
    let notices = notices.lock().unwrap();
    assert!(notices.len() >= 2, "the rate was never reached: {notices:?}");
    for notice in notices.iter() {
        assert!(notice.contains("(HTTP 429)") && notice.contains("in 1000 ms"), "{notice}");
        assert!(!notice.contains(SECOND_TOKEN), "{notice}");
    }
}

/// #39: a token does what its scopes allow and nothing else. A token for a runner that publishes
/// (read, draft, publish) publishes the example's freepublish push; its mass send and a
/// publication's deletion are refused with 403 naming the scope, before anything reaches WeChat.
#[test]
fn a_relay_token_does_only_what_its_scopes_allow() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 50, ..SandboxOptions::default() });
    let relay = in_front_of(&sandbox);
    let route = Route::Relay { url: relay.handle.base_url.clone(), token: PUBLISHER_TOKEN.into() };
    let project = TestProject::example();

    let (code, text) = run(&project, &route, &["doctor", "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("token `publisher`") && text.contains("scopes: read, draft, publish"), "{text}");

    let due = ["publish", "--due", "--now", "2026-12-02 09:00", "--account", "service"];
    let (code, text) = run(&project, &route, &due);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    assert_eq!(state["publications"].as_array().unwrap().len(), 1, "{text}");

    // The subscription account mass-sends: its draft is made, the send itself is refused.
    let due = ["publish", "--due", "--now", "2026-12-02 09:00", "--account", "subscription"];
    let (code, text) = run(&project, &route, &due);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("lacks the scope `masssend`"), "{text}");
    assert_eq!(sandbox_state(&sandbox)["mass_sends"].as_array().unwrap().len(), 0, "{text}");

    let before = calls(&sandbox);
    let client = http();
    let base = &relay.handle.base_url;
    for (endpoint, scope) in [
        ("/cgi-bin/message/mass/sendall", "masssend"),
        ("/cgi-bin/freepublish/delete", "delete"),
        ("/cgi-bin/material/del_material", "delete"),
        ("/cgi-bin/message/mass/preview", "preview"),
        ("/datacube/getusersummary", "stats"),
        ("/cgi-bin/comment/list", "comments"),
    ] {
        let response = client
            .post(format!("{base}/a/service{endpoint}"))
            .bearer_auth(PUBLISHER_TOKEN)
            .json(&serde_json::json!({ "article_id": "x", "media_id": "x" }))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{endpoint}");
        assert!(response.headers().contains_key(wxpub::wechat::RELAY_NOT_FORWARDED));
        let body = response.text().unwrap();
        assert!(body.contains(&format!("lacks the scope `{scope}`")), "{endpoint}: {body}");
        assert!(body.contains("tokens.publisher.scopes"), "says where to add it: {body}");
    }
    assert_eq!(calls(&sandbox), before, "nothing was forwarded");

    let log = relay.log.lock().unwrap().clone();
    let scope_of = |path: &str| log.iter().find(|l| l.path.ends_with(path) && l.status == 200).and_then(|l| l.scope);
    assert_eq!(scope_of("/cgi-bin/freepublish/submit"), Some(Scope::Publish));
    assert_eq!(scope_of("/cgi-bin/draft/add"), Some(Scope::Draft));
    assert_eq!(scope_of("/cgi-bin/material/get_materialcount"), Some(Scope::Read));
    let refused = log.iter().find(|l| l.path.ends_with("/freepublish/delete")).unwrap();
    assert_eq!((refused.status, refused.scope), (403, Some(Scope::Delete)));
    assert_no_secret_in(&format!("{text}\n{}", relay.log_text()), &sandbox);
}
