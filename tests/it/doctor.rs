//! `wxpub doctor` against the sandbox, and the rule that no secret ever reaches the terminal.
use predicates::prelude::*;
use wxpub::sandbox::SandboxOptions;

use crate::support::TestProject;
use crate::wechat::{sandbox_state, script_faults, start};

use crate::support::{APPID, SECRET};

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

fn probe(project: &TestProject, sandbox: &wxpub::sandbox::SandboxHandle, extra: &[&str]) -> (i32, String) {
    let output = project
        .wxpub()
        .args(["doctor", "--probe", "--account", "service"])
        .args(extra)
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .env("WXPUB_SERVICE_APPID", APPID)
        .env("WXPUB_SERVICE_SECRET", SECRET)
        .env("WXPUB_RETRY_BASE_MS", "2")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn leftovers(sandbox: &wxpub::sandbox::SandboxHandle) -> (usize, usize) {
    let state = sandbox_state(sandbox);
    (state["drafts"].as_array().unwrap().len(), state["materials"].as_array().unwrap().len())
}

#[test]
fn the_probe_agrees_with_the_sandbox_and_leaves_nothing_behind() {
    // An account with a publication two days ago, so that the article statistics have a row.
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let sandbox = start(SandboxOptions { today: Some(day(18)), ..SandboxOptions::default() });
    {
        let client = crate::wechat::client_for(&sandbox, true);
        let thumb = crate::wechat::cover(&client);
        let draft = client.draft_add(&[crate::wechat::article("馆藏故事", &thumb, "<p>正文</p>")]).unwrap().media_id;
        let submitted = client.publish_submit(&draft).unwrap();
        // Published (the comment checks list the comments of a publication the account has).
        while client.publish_get(&submitted.publish_id).unwrap().publish_status != 0 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        crate::wechat::set_sandbox_today(&sandbox, "2026-11-20");
    }
    let before = leftovers(&sandbox);
    let project = TestProject::example();
    let report = project.path().join("probe.json");
    let (code, text) =
        probe(&project, &sandbox, &["--report", report.to_str().unwrap(), "--preview-to", "wxpub-editor"]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("DIFFERS") && !text.contains("could not run"), "{text}");
    for check in [
        "credentials",
        "publish permission",
        "content: long HTML",
        "content: 20,001",
        "digest 121",
        "title 33",
        "author 17",
        "uploadimg 1.1 MB",
        "getusersummary",
        "getarticleread",
        "getarticleshare",
        "getbizsummary",
        "getarticletotaldetail",
        "mass-send permission",
        "comment/list answers",
        "count = 50 (88010)",
    ] {
        assert!(text.lines().any(|l| l.trim_start().starts_with("agrees") && l.contains(check)), "{check}: {text}");
    }
    assert_eq!(leftovers(&sandbox), before, "no draft or material left: {text}");
    // The mass-send check reached the one phone named, with a throwaway draft, and nobody else.
    let state = sandbox_state(&sandbox);
    let previews = state["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{state}");
    assert_eq!(previews[0]["to"], "wxpub-editor");
    assert!(previews[0]["titles"][0].as_str().unwrap().starts_with("wxpub-probe"), "{state}");
    assert!(state["mass_sends"].as_array().unwrap().is_empty(), "nothing mass-sent");
    let json: serde_json::Value = serde_json::from_str(&project.read("probe.json")).unwrap();
    assert!(json[0]["findings"].as_array().unwrap().iter().all(|f| f["verdict"] == "agrees"), "{json}");
    assert!(project.read("probe.txt").contains("agrees         digest 121"));
    assert_no_secrets(&text, &issued_tokens(&sandbox_state(&sandbox)), &[SECRET]);
}

#[test]
fn a_rule_that_changed_is_the_one_reported_as_different() {
    for (rules, check, expected, got) in [
        (
            wxpub::sandbox::ArticleRules { digest_max_chars: 128, ..Default::default() },
            "digest 121",
            "refused with 45004",
            "accepted",
        ),
        (
            wxpub::sandbox::ArticleRules { content_counts_html: true, ..Default::default() },
            "content: long HTML",
            "accepted",
            "refused with 45002",
        ),
    ] {
        let sandbox = start(SandboxOptions { article_rules: rules, ..SandboxOptions::default() });
        let project = TestProject::example();
        let (code, text) = probe(&project, &sandbox, &[]);
        assert_eq!(code, 1, "{text}");
        let differing: Vec<&str> = text.lines().filter(|l| l.contains("DIFFERS")).collect();
        assert_eq!(differing.len(), 1, "only {check}: {text}");
        assert!(
            differing[0].contains(check) && differing[0].contains(&format!("expected {expected}, got {got}")),
            "{text}"
        );
        assert_eq!(leftovers(&sandbox), (0, 0), "{text}");
    }
}

#[test]
fn the_mass_send_permission_is_probed_only_through_a_named_phone() {
    // Without a phone to send to, the probe says it cannot tell, and how to make it tell.
    let sandbox = start(SandboxOptions { may_mass_send: false, ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = probe(&project, &sandbox, &[]);
    assert_eq!(code, 0, "{text}");
    let line = text.lines().find(|l| l.contains("mass-send permission")).expect(&text);
    assert!(line.trim_start().starts_with("could not run") && line.contains("--preview-to"), "{text}");

    // With one, an account without the permission is the one check that differs.
    let (code, text) = probe(&project, &sandbox, &["--preview-to", "wxpub-editor"]);
    assert_eq!(code, 1, "{text}");
    let differing: Vec<&str> = text.lines().filter(|l| l.contains("DIFFERS")).collect();
    assert_eq!(differing.len(), 1, "{text}");
    assert!(differing[0].contains("mass-send permission") && differing[0].contains("got 48001"), "{text}");
    assert_eq!(leftovers(&sandbox), (0, 0), "the throwaway draft is deleted: {text}");

    // Someone who does not follow the account cannot receive it: said so, not guessed.
    let sandbox = start(SandboxOptions::default());
    let (code, text) = probe(&project, &sandbox, &["--preview-to", "someone-else"]);
    assert_eq!(code, 0, "{text}");
    let line = text.lines().find(|l| l.contains("mass-send permission")).expect(&text);
    assert!(line.contains("could not run") && line.contains("must follow the account"), "{text}");
    assert_eq!(leftovers(&sandbox), (0, 0), "{text}");
}

#[test]
fn leftovers_of_an_interrupted_probe_are_deleted_first() {
    let sandbox = start(SandboxOptions { latency_ms: 150, ..SandboxOptions::default() });
    let project = TestProject::example();
    // Killed mid-way: whatever it had made is found by its name and deleted by the next probe.
    let mut child = crate::support::binary()
        .current_dir(project.path())
        .args(["doctor", "--probe", "--account", "service"])
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .env("WXPUB_SERVICE_APPID", APPID)
        .env("WXPUB_SERVICE_SECRET", SECRET)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while leftovers(&sandbox).0 == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL, with a throwaway draft made
    child.wait().unwrap();
    let (drafts, materials) = leftovers(&sandbox);
    assert!(drafts + materials > 0, "the killed probe had made something");
    let (code, text) = probe(&project, &sandbox, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("left by an interrupted probe"), "{text}");
    assert_eq!(leftovers(&sandbox), (0, 0), "{text}");
}

#[test]
fn the_probe_asks_before_touching_a_mass_send_account() {
    let sandbox = start(SandboxOptions::default());
    let project = TestProject::example();
    let output = project
        .wxpub()
        .args(["doctor", "--probe", "--account", "subscription"])
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("add --yes to go ahead"));
}
