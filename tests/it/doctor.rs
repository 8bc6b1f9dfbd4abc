//! `wxpub doctor` against the sandbox, and the rule that no secret ever reaches the terminal.
use predicates::prelude::*;
use wxpub::sandbox::SandboxOptions;

use crate::support::TestProject;
use crate::wechat::{sandbox_state, script_faults, start};

const APPID: &str = "wxtest0000000001";
const SECRET: &str = "test-secret-0123456789";

fn doctor(project: &TestProject, base: &str, appid: &str, secret: &str) -> (bool, String) {
    let output = project
        .wxpub()
        .args(["doctor", "--account", "service"])
        .env("WXPUB_API_BASE", base)
        .env("WXPUB_SERVICE_APPID", appid)
        .env("WXPUB_SERVICE_SECRET", secret)
        .env("WXPUB_RETRY_BASE_MS", "2")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Every token the sandbox ever issued, and the secrets: none may appear in `text`.
fn assert_no_secrets(text: &str, sandbox_tokens: &[String], secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "secret printed: {text}");
    }
    for token in sandbox_tokens {
        assert!(!text.contains(token.as_str()), "access token printed: {text}");
    }
    assert!(!text.contains("access_token=") || text.contains("access_token=***"), "{text}");
}

fn issued_tokens(state: &serde_json::Value) -> Vec<String> {
    state["tokens"].as_array().unwrap().iter().map(|t| t["value"].as_str().unwrap().to_string()).collect()
}

#[test]
fn doctor_reports_a_reachable_account() {
    let sandbox = start(SandboxOptions::default());
    let project = TestProject::example();
    let (ok, text) = doctor(&project, &sandbox.base_url, APPID, SECRET);
    assert!(ok, "{text}");
    assert!(text.contains("ok      service"), "{text}");
    assert_no_secrets(&text, &issued_tokens(&sandbox_state(&sandbox)), &[SECRET]);
}

#[test]
fn wrong_secret_is_explained_without_printing_it() {
    let sandbox = start(SandboxOptions::default());
    let project = TestProject::example();
    let (ok, text) = doctor(&project, &sandbox.base_url, APPID, "wrong-secret-value-42");
    assert!(!ok);
    assert!(text.contains("40125") && text.contains("AppSecret is invalid"), "{text}");
    assert_no_secrets(&text, &[], &["wrong-secret-value-42", SECRET]);
}

#[test]
fn dropped_connections_after_the_token_do_not_leak_it() {
    let sandbox = start(SandboxOptions::default());
    let project = TestProject::example();
    script_faults(&sandbox, serde_json::json!(["drop", "drop", "drop", "drop", "drop"]));
    let (ok, text) = doctor(&project, &sandbox.base_url, APPID, SECRET);
    assert!(!ok, "{text}");
    assert!(text.contains("no answer from WeChat"), "{text}");
    let tokens = issued_tokens(&sandbox_state(&sandbox));
    assert!(!tokens.is_empty());
    assert_no_secrets(&text, &tokens, &[SECRET]);
}

#[test]
fn unreachable_api_and_missing_variables_are_named() {
    let project = TestProject::example();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, text) = doctor(&project, &format!("http://127.0.0.1:{closed}"), APPID, SECRET);
    assert!(!ok && text.contains("could not reach WeChat"), "{text}");
    assert_no_secrets(&text, &[], &[SECRET]);

    project
        .wxpub()
        .args(["doctor", "--account", "subscription"])
        .env_remove("WXPUB_SUBSCRIPTION_SECRET")
        .env("WXPUB_SUBSCRIPTION_APPID", APPID)
        .assert()
        .failure()
        .stdout(predicate::str::contains("WXPUB_SUBSCRIPTION_SECRET is not set"));
}
