//! `wxpub mcp` (#41): the project served to an AI assistant over the Model Context Protocol,
//! driven by a real client — the official Python SDK (`mcp` on PyPI), unchanged — through
//! `tests/third_party/mcp_client.py`: tools and resources listed, the check, an edit whose
//! diagnostics change, bad input refused with the project untouched, `send_preview` refused
//! until publish.toml allows it and then sent to the sandbox. The answers are compared with what
//! the commands themselves say about the same project.
use std::io::{BufRead, Write};
use std::process::Stdio;

use wxpub::sandbox::SandboxOptions;

use crate::support::{APPID, NOW, SECRET, TestProject, repo_root, sandbox_env};
use crate::wechat::{sandbox_state, start};

const ITEM: &str = "articles/2026-12-12-conservation-lab";

/// The Python MCP SDK, or a failure saying how to get it (`.ci/run` installs it).
fn require_python_mcp() {
    let has_mcp = std::process::Command::new("python3").args(["-c", "import mcp"]).status().is_ok_and(|s| s.success());
    assert!(
        has_mcp,
        "the Python MCP SDK is not installed: run `bash .ci/run` (it installs it) or `python3 -m pip install mcp==2.3.0`"
    );
}

/// What a command prints on stdout, as JSON.
fn json_of(project: &TestProject, args: &[&str]) -> serde_json::Value {
    let output = project.wxpub().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn error_text<'a>(seen: &'a serde_json::Value, key: &str) -> &'a str {
    let outcome = &seen["bad"][key];
    assert_eq!(outcome["is_error"], true, "{key}: {outcome}");
    outcome["text"].as_str().unwrap()
}

/// The commands' own answers about the untouched example, for the tools to agree with.
struct Said {
    checked: serde_json::Value,
    status: serde_json::Value,
    summary: serde_json::Value,
}

#[test]
fn an_assistant_checks_edits_and_previews_through_the_python_sdk() {
    require_python_mcp();
    let project = TestProject::example();
    let said = Said {
        checked: json_of(&project, &["check", "--format", "json"]),
        status: json_of(&project, &["status", "--json"]),
        summary: json_of(&project, &["report", "summary", "--format", "json"]),
    };
    let sandbox = start(SandboxOptions { publish_delay_ms: 0, ..SandboxOptions::default() });
    let mut python = std::process::Command::new("python3");
    python
        .arg(repo_root().join("tests/third_party/mcp_client.py"))
        .arg(assert_cmd::cargo::cargo_bin("wxpub"))
        .arg(project.path())
        .arg(ITEM)
        .env("WXPUB_NOW", NOW);
    let output = sandbox_env(&mut python, &sandbox).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let seen: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    assert_tools_and_resources(&seen);
    assert_reads_agree_with_the_commands(&seen, &said, &project);
    assert_edits_change_the_diagnostics(&seen, &project);
    assert_bad_input_is_refused(&seen);
    let state = sandbox_state(&sandbox);
    assert_the_allowed_preview_went_to_the_reviewer(&seen, &state, &project);
    assert_every_call_logged_without_secrets(&seen, &state);
}

/// The server, its tools and resources: every tool of the issue, none that publishes.
fn assert_tools_and_resources(seen: &serde_json::Value) {
    assert_eq!(seen["server"]["name"], "wxpub");
    let tools = seen["tools"].as_object().unwrap();
    let listed: std::collections::BTreeSet<String> = tools.keys().cloned().collect();
    assert_eq!(listed, wxpub::mcp::tool_names().into_iter().collect());
    let issue = [
        "list_items",
        "read_item",
        "check",
        "status",
        "report",
        "contract_rules",
        "new_item",
        "update_item",
        "fix_typography",
        "build_item",
        "send_preview",
        "reply_comment",
    ];
    for name in issue {
        assert_eq!(tools[name]["schema_type"], "object", "{name} has a JSON schema");
    }
    assert!(!tools.keys().any(|t| t.contains("publish") || t.contains("mass")), "{tools:?}");
    assert_eq!(tools["update_item"]["properties"], serde_json::json!(["body", "front_matter", "item", "source"]));
    assert_eq!(tools["check"]["read_only"], true);
    assert_eq!(tools["update_item"]["read_only"], false);
    let guide = std::fs::read_to_string(repo_root().join("docs/editors-guide.md")).unwrap();
    assert_eq!(seen["guide"], guide.as_str(), "the guide resource is the editors' guide");
    assert!(guide.contains("With an AI assistant (MCP)"));
    assert_eq!(seen["rules_resource"]["rules"].as_array().unwrap().len(), wxpub::check::Rule::ALL.len());
}

/// The read tools say what the commands say about the same project.
fn assert_reads_agree_with_the_commands(seen: &serde_json::Value, said: &Said, project: &TestProject) {
    let check_all = &seen["check_all"];
    assert_eq!(check_all["is_error"], false);
    assert_eq!(check_all["value"]["diagnostics"], said.checked, "check gives `check --format json`'s diagnostics");
    assert_eq!(seen["status"]["value"]["items"], said.status);
    assert_eq!(seen["report"]["value"], said.summary);
    let limits = &seen["contract_rules"]["value"]["limits"];
    assert_eq!(limits["title_max_chars"], wxpub::wechat::limits::TITLE_MAX_CHARS);
    let listed = seen["list_items"]["value"]["items"].as_array().unwrap();
    assert_eq!(listed.len(), std::fs::read_dir(project.path().join("content/articles")).unwrap().count());
    assert!(listed.iter().all(|i| i["kind"] == "article" && i["phase"].is_string()));
    let read = &seen["read_item"]["value"];
    assert_eq!(read["front_matter"]["account"], "service");
    let markdown = read["markdown"].as_str().unwrap();
    assert!(project.read(&format!("content/{ITEM}/index.md")).contains(markdown.trim()));
}

/// Half-width punctuation: a warning, which the typography fix removes; a cover taken away: an
/// error, which blocks a preview; build_item counts what WeChat counts.
fn assert_edits_change_the_diagnostics(seen: &serde_json::Value, project: &TestProject) {
    let has = |outcome: &serde_json::Value, rule: &str| outcome["rules"].as_array().unwrap().contains(&rule.into());
    let edit = &seen["update_body"];
    assert_eq!(edit["value"]["written"], true, "{edit}");
    assert!(edit["value"]["after"]["warnings"].as_u64() > edit["value"]["before"]["warnings"].as_u64(), "{edit}");
    assert!(has(edit, "cjk-punctuation"), "{edit}");
    let markdown = seen["read_item"]["value"]["markdown"].as_str().unwrap();
    let source = seen["source_after_body"].as_str().unwrap();
    assert!(source.ends_with(&format!("{markdown}\n今天开馆,欢迎参观!\n")), "the body as given: {source}");
    let title = seen["read_item"]["value"]["front_matter"]["title"].as_str().unwrap();
    assert!(source.starts_with(&format!("---\ntitle: {title}\n")), "the front matter as it was: {source}");
    assert!(!has(&seen["fix_typography"], "cjk-punctuation"));
    assert!(project.read(&format!("content/{ITEM}/index.md")).contains("今天开馆，欢迎参观！"));

    let uncovered = &seen["update_cover"];
    assert!(has(uncovered, "required-field"), "{uncovered}");
    let errors = |when: &str| uncovered["value"][when]["errors"].as_u64().unwrap();
    assert_eq!(errors("after"), errors("before") + 1);
    let blocked = &seen["send_preview_blocked"];
    assert_eq!(blocked["is_error"], true);
    assert!(blocked["text"].as_str().unwrap().contains("[required-field]"), "{blocked}");
    assert_eq!(seen["update_restore"]["value"]["after"]["errors"], 0);

    // The visible text of the HTML the build writes is what build_item counted.
    let built = &seen["build_item"]["value"];
    project.wxpub().arg("build").assert().success();
    let html = project.read(&format!("dist/{ITEM}/content.html"));
    let size = wxpub::wechat::limits::ContentSize::of(&html);
    assert_eq!(built["size"]["visible_chars"], size.text_chars, "{}", built["size"]);
    assert_eq!(built["size"]["fits"], true);
    assert!(built["html"].as_str().unwrap().contains("今天开馆，欢迎参观！"));
}

/// Bad input: a tool error with the reason, and the project untouched.
fn assert_bad_input_is_refused(seen: &serde_json::Value) {
    assert!(error_text(seen, "unknown_item").contains("no item `articles/2026-01-01-no-such-item`"));
    for outside in ["parent_path", "absolute_path", "escaping_key"] {
        assert!(error_text(seen, outside).contains("outside content/"), "{outside}");
    }
    assert!(error_text(seen, "invalid_front_matter").contains("did you mean `title`"));
    assert!(error_text(seen, "wrong_value").contains("`sometimes`"));
    assert!(error_text(seen, "unknown_argument").contains("bodyy"));
    assert!(error_text(seen, "send_preview_off").contains(r#"[mcp] allow = ["send_preview"]"#));
    assert!(error_text(seen, "reply_comment_off").contains(r#"[mcp] allow = ["reply_comment"]"#));
    assert_eq!(seen["bad_left_project_unchanged"], true);
}

/// Allowed, send_preview sends the push's draft to the configured reviewer, records the draft
/// for `publish`, and publishes nothing.
fn assert_the_allowed_preview_went_to_the_reviewer(
    seen: &serde_json::Value,
    state: &serde_json::Value,
    project: &TestProject,
) {
    let sent = &seen["send_preview"];
    assert_eq!(sent["is_error"], false, "{sent}");
    let previews = state["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{state}");
    assert_eq!(previews[0]["to"], "wxpub-editor");
    assert_eq!(sent["value"]["sent"][0]["draft"], previews[0]["draft_media_id"]);
    assert!(project.read("publish.lock").contains(previews[0]["draft_media_id"].as_str().unwrap()));
    assert!(state["publications"].as_array().unwrap().is_empty());
    assert!(state["mass_sends"].as_array().unwrap().is_empty());
}

/// Every call left one line on stderr, long texts cut, no secret.
fn assert_every_call_logged_without_secrets(seen: &serde_json::Value, state: &serde_json::Value) {
    let log = seen["stderr"].as_str().unwrap();
    let calls: Vec<&str> =
        log.lines().filter(|l| l.starts_with("mcp: ") && !l.starts_with("mcp: resources/")).collect();
    assert_eq!(calls.len() as u64, seen["calls"].as_u64().unwrap(), "{log}");
    assert!(calls.iter().any(|l| l.starts_with("mcp: update_item") && l.contains("characters)")), "{log}");
    assert!(!log.contains(SECRET) && !log.contains(APPID), "{log}");
    for token in state["tokens"].as_array().unwrap() {
        assert!(!log.contains(token["value"].as_str().unwrap()), "a token in the log");
    }
}

/// stdout is the protocol's: every line the server writes there is a JSON-RPC message, even
/// while tools run checks and builds.
#[test]
fn nothing_but_protocol_reaches_stdout() {
    let project = TestProject::example();
    let mut server = crate::support::binary()
        .args(["mcp", "--project"])
        .arg(project.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let messages = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "check", "arguments": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "build_item", "arguments": {"item": ITEM}}}),
    ];
    for message in &messages {
        writeln!(stdin, "{message}").unwrap();
    }
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < 3 {
        let line = lines.next().expect("an answer").unwrap();
        let message: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON-RPC on stdout: {line:?} ({e})"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        answered.insert(message["id"].as_u64().unwrap());
        if message["id"] == 3 {
            assert_eq!(message["result"]["isError"], false, "{line}");
        }
    }
    drop(stdin);
    assert!(lines.all(|line| serde_json::from_str::<serde_json::Value>(&line.unwrap()).is_ok()));
    assert!(server.wait().unwrap().success(), "the server ends when its client closes stdin");
}

/// `wxpub mcp --help` shows the snippet a client's configuration takes, and it is valid JSON
/// that starts this very command.
#[test]
fn the_help_shows_a_client_configuration_that_works() {
    let output = crate::support::binary().args(["mcp", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    let snippet = help.lines().map(str::trim).find(|l| l.starts_with("{\"mcpServers\"")).expect("a JSON snippet");
    let config: serde_json::Value = serde_json::from_str(snippet).unwrap();
    let server = &config["mcpServers"]["wxpub"];
    assert_eq!(server["command"], "wxpub");
    assert_eq!(server["args"][0], "mcp");
    assert_eq!(server["args"][1], "--project");
    for tool in wxpub::mcp::tool_names() {
        assert!(help.contains(&tool), "--help names {tool}");
    }
}
