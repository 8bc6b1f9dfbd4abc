//! WeChat's pace and its web backend (#37): publications that take seconds to minutes are a
//! state, not a failure, and are settled with few status calls; a draft edited in the web
//! backend (a video inserted, a sentence fixed) is never overwritten unasked.
//!
//! Timings are WeChat's scaled down ten times: the first look at 0.4 s instead of 4 s, and
//! publications taking 0.3 s or 2 s instead of 3 s or 20 s — the ratios, which decide how many
//! status calls a run makes, are WeChat's. `cargo bench --bench publish` runs the real ones.
use std::time::Duration;

use wxpub::sandbox::{SandboxHandle, SandboxOptions};

use crate::support::TestProject;
use crate::wechat::{http, sandbox_state, start};

/// Every example push is due.
const ALL_DUE: &str = "2027-01-02 09:00";
/// WeChat's first look (4 s), scaled.
const FIRST_LOOK: &str = "400ms";
const SERVICE_DUE: [&str; 6] = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];

fn run(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> (i32, String) {
    let mut command = crate::support::binary();
    crate::support::sandbox_env(command.current_dir(project.path()), sandbox)
        .env("WXPUB_FIRST_LOOK", FIRST_LOOK)
        .args(args);
    let output = command.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

/// freepublish/get and freepublish/batchget calls so far.
fn status_calls(sandbox: &SandboxHandle) -> u64 {
    let state = sandbox_state(sandbox);
    ["/cgi-bin/freepublish/get", "/cgi-bin/freepublish/batchget"]
        .iter()
        .map(|path| state["calls"][path].as_u64().unwrap_or(0))
        .sum()
}

fn publications(sandbox: &SandboxHandle) -> Vec<serde_json::Value> {
    sandbox_state(sandbox)["publications"].as_array().cloned().unwrap_or_default()
}

fn lock_statuses(project: &TestProject) -> Vec<String> {
    let lock: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    lock["accounts"]["service"]["pushes"]
        .as_table()
        .unwrap()
        .values()
        .filter_map(|p| p.get("publication").and_then(|p| p["status"].as_str()).map(str::to_string))
        .collect()
}

/// What an editor does in the web backend, through the sandbox's route for it.
fn backend_edit(sandbox: &SandboxHandle, edit: serde_json::Value) {
    let answer: serde_json::Value =
        http().post(format!("{}/__sandbox/backend_edit", sandbox.base_url)).json(&edit).send().unwrap().json().unwrap();
    assert_eq!(answer["errcode"], 0, "{answer}");
}

/// The sandbox's drafts whose first article has this title.
fn drafts_titled(sandbox: &SandboxHandle, title: &str) -> Vec<serde_json::Value> {
    let state = sandbox_state(sandbox);
    state["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["articles"][0]["title"].as_str().is_some_and(|t| t.contains(title)))
        .cloned()
        .collect()
}

#[test]
fn publications_slower_than_the_run_are_publishing_not_failed_and_the_next_run_settles_them() {
    // WeChat taking 20 s (scaled: 2 s); the run waits 5 s (scaled: 0.5 s) after submitting.
    let sandbox = start(SandboxOptions { publish_delay_ms: 2000, ..SandboxOptions::default() });
    let project = TestProject::example();
    let wait = [&SERVICE_DUE[..], &["--wait", "500ms"]].concat();

    let (code, text) = run(&project, &sandbox, &wait);
    assert_eq!(code, 0, "still publishing is not a failure: {text}");
    assert!(!text.contains("FAILED"), "{text}");
    assert!(text.contains("publishing (submitted "), "{text}");
    assert!(text.contains("the next run confirms it"), "{text}");
    let submitted = publications(&sandbox).len();
    assert!(submitted >= 3, "{text}");
    let (_, status) = run(&project, &sandbox, &["status", "--now", ALL_DUE]);
    assert!(status.contains("publishing since "), "{status}");

    // The next run, after WeChat finished: everything settles, each push published once; the
    // topic page that waited for their URLs goes out in the run that confirmed them.
    let mut settled = false;
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(2100));
        let (code, text) = run(&project, &sandbox, &wait);
        assert_eq!(code, 0, "{text}");
        assert!(!text.contains("FAILED"), "{text}");
        if lock_statuses(&project).iter().all(|s| s == "published") && !text.contains("drafted, waiting") {
            settled = true;
            break;
        }
    }
    assert!(settled, "{}", project.read("publish.lock"));
    let published = publications(&sandbox);
    let mut titles: Vec<String> = published.iter().map(|p| p["articles"][0]["title"].to_string()).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), published.len(), "each push published once: {titles:?}");
    let calls = status_calls(&sandbox) as f64 / published.len() as f64;
    assert!(calls <= 2.0, "{calls:.2} status calls per publication (goal: at most 2)");
}

#[test]
fn publications_of_a_few_seconds_settle_in_the_same_run_with_few_status_calls() {
    // WeChat taking 3 s (scaled: 0.3 s).
    let sandbox = start(SandboxOptions { publish_delay_ms: 300, ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = run(&project, &sandbox, &SERVICE_DUE);
    assert_eq!(code, 0, "{text}");
    assert!(lock_statuses(&project).iter().all(|s| s == "published"), "{text}");
    let published = publications(&sandbox).len();
    let calls = status_calls(&sandbox) as f64 / published as f64;
    assert!(calls <= 1.2, "{calls:.2} status calls per publication (goal: at most 1.2): {text}");
    // Successful publications are settled by the list, never one by one.
    assert_eq!(sandbox_state(&sandbox)["calls"]["/cgi-bin/freepublish/get"].as_u64().unwrap_or(0), 0, "{text}");
}

#[test]
fn a_publication_rejected_in_review_is_still_a_failure_and_is_not_resubmitted() {
    let sandbox =
        start(SandboxOptions { publish_delay_ms: 100, publish_fail_status: Some(4), ..SandboxOptions::default() });
    let project = TestProject::example();
    // One push: the 1 December service push.
    let args = ["publish", "--due", "--now", "2026-12-02 09:00", "--account", "service", "--wait", "20s"];
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("rejected by platform review"), "{text}");
    assert!(text.contains("FAILED"), "{text}");
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 1, "{text}");
    assert_eq!(sandbox_state(&sandbox)["calls"]["/cgi-bin/freepublish/submit"], 1, "not resubmitted: {text}");
}

const LAB: &str = "content/articles/2026-12-12-conservation-lab/index.md";
const LAB_TITLE: &str = "走进修复室";

#[test]
fn a_draft_edited_in_the_web_backend_is_never_overwritten_unasked() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 100, ..SandboxOptions::default() });
    let project = TestProject::example();
    // Drafts only (nothing due yet).
    let (code, text) = run(&project, &sandbox, &["publish", "--now", "2026-12-10 09:00", "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let draft = drafts_titled(&sandbox, LAB_TITLE).remove(0);
    let media_id = draft["media_id"].as_str().unwrap().to_string();

    // An editor inserts a video in the web backend; another fixes a sentence in git.
    let video = r#"<mpvideo data-vid="wxv_restoration" data-title="修复过程"></mpvideo>"#;
    backend_edit(&sandbox, serde_json::json!({ "media_id": media_id, "append": video }));
    project.write(LAB, &project.read(LAB).replace("早上八点半", "早上八点"));
    let (code, text) =
        run(&project, &sandbox, &["publish", "--now", "2026-12-12 09:30", "--account", "service", "--due"]);
    assert_eq!(code, 1, "a conflict is named and fails the run: {text}");
    assert!(text.contains("CONFLICT"), "{text}");
    assert!(text.contains("a video was added in the web backend"), "what changed: {text}");
    assert!(text.contains("Beijing time"), "when: {text}");
    assert!(text.contains("--keep-server articles/2026-12-12-conservation-lab"), "what to run: {text}");
    let after = drafts_titled(&sandbox, LAB_TITLE);
    assert_eq!(after.len(), 1, "{text}");
    assert!(after[0]["articles"][0]["content"].as_str().unwrap().contains(video), "the video is kept: {text}");
    assert!(
        !publications(&sandbox).iter().any(|p| p["articles"][0]["title"].as_str().unwrap().contains(LAB_TITLE)),
        "not published while in conflict: {text}"
    );
    let (_, status) = run(&project, &sandbox, &["status", "--now", "2026-12-12 09:30"]);
    assert!(status.contains("CONFLICT"), "{status}");
    let (_, check) = run(&project, &sandbox, &["check", "--now", "2026-12-12 09:30"]);
    assert!(check.contains("draft-conflict") && check.contains("a video was added"), "{check}");
    // Neither side wins by itself: the next run says the same.
    let (code, text) =
        run(&project, &sandbox, &["publish", "--now", "2026-12-12 09:30", "--account", "service", "--due"]);
    assert_eq!(code, 1, "{text}");
    assert!(drafts_titled(&sandbox, LAB_TITLE)[0]["articles"][0]["content"].as_str().unwrap().contains(video));

    // The editor keeps the web backend's version: it is published as it is there, video included.
    let item = "articles/2026-12-12-conservation-lab";
    let keep = ["publish", "--now", "2026-12-12 09:30", "--account", "service", "--due", "--keep-server", item];
    let (code, text) = run(&project, &sandbox, &keep);
    assert_eq!(code, 0, "{text}");
    let published = publications(&sandbox);
    let lab = published.iter().find(|p| p["articles"][0]["title"].as_str().unwrap().contains(LAB_TITLE));
    let lab = lab.unwrap_or_else(|| panic!("published: {text}"));
    let content = lab["articles"][0]["content"].as_str().unwrap();
    assert!(content.contains(video), "the web backend's version went out: {text}");
    assert!(content.contains("早上八点半"), "not the git change: {text}");
}

#[test]
fn overwrite_server_sends_the_build_and_says_what_is_lost() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 100, ..SandboxOptions::default() });
    let project = TestProject::example();
    let drafts = ["publish", "--now", "2026-12-10 09:00", "--account", "service"];
    assert_eq!(run(&project, &sandbox, &drafts).0, 0);
    let media_id = drafts_titled(&sandbox, LAB_TITLE)[0]["media_id"].as_str().unwrap().to_string();
    backend_edit(&sandbox, serde_json::json!({ "media_id": media_id, "replace": ["早上八点半", "上午八点半"] }));
    project.write(LAB, &project.read(LAB).replace("看数据", "看数据和日志"));
    let item = "articles/2026-12-12-conservation-lab";
    let (code, text) = run(&project, &sandbox, &[&drafts[..], &["--overwrite-server", item]].concat());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("--overwrite-server sends the build over it"), "{text}");
    assert!(text.contains("上午八点半"), "the lost sentence is shown: {text}");
    let content = drafts_titled(&sandbox, LAB_TITLE)[0]["articles"][0]["content"].as_str().unwrap().to_string();
    assert!(content.contains("看数据和日志") && content.contains("早上八点半"), "the build was sent: {text}");
}

#[test]
fn a_video_placeholder_is_drafted_held_and_published_once_the_video_is_in() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 100, ..SandboxOptions::default() });
    let project = TestProject::example();
    let block = "\n```video\ntitle: 修复过程\nduration: 3:20\n```\n";
    project.write(LAB, &(project.read(LAB) + block));
    let due = ["publish", "--now", "2026-12-12 09:30", "--account", "service", "--due"];

    // The API strips videos: what wxpub sends is a placeholder, and it waits for the video.
    let (code, text) = run(&project, &sandbox, &due);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("waiting for its video"), "{text}");
    let draft = drafts_titled(&sandbox, LAB_TITLE).remove(0);
    let content = draft["articles"][0]["content"].as_str().unwrap();
    assert!(content.contains("在此插入视频：修复过程"), "{content}");
    assert!(!publications(&sandbox).iter().any(|p| p["articles"][0]["title"].as_str().unwrap().contains(LAB_TITLE)));
    let (code, check) = {
        let mut command = crate::support::binary();
        let output = command.current_dir(project.path()).args(["check", "--now", "2026-12-12 09:30"]).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    assert!(check.contains("video-placeholder"), "{code:?} {check}");

    // A video sent through the API is stripped by WeChat, as the real one does.
    let media_id = draft["media_id"].as_str().unwrap().to_string();
    let client = crate::wechat::client_with(&sandbox, crate::support::APPID, crate::support::SECRET);
    let mut article = crate::wechat::article("视频测试", &crate::wechat::cover(&client), "<p>x</p>");
    article.content.push_str(r#"<mpvideo data-vid="x"></mpvideo>"#);
    let probe = client.draft_add(&[article]).unwrap().media_id;
    assert!(!client.draft_get(&probe).unwrap().news_item[0].content.contains("mpvideo"));

    // An editor replaces the placeholder with the video in the web backend: wxpub keeps that
    // version and publishes it, with the video.
    let video = r#"<mpvideo data-vid="wxv_restoration"></mpvideo>"#;
    backend_edit(&sandbox, serde_json::json!({ "media_id": media_id, "replace": ["在此插入视频：", video] }));
    let (code, text) = run(&project, &sandbox, &due);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("its video placeholder was replaced there"), "{text}");
    let published = publications(&sandbox);
    let lab = published.iter().find(|p| p["articles"][0]["title"].as_str().unwrap().contains(LAB_TITLE));
    let lab = lab.unwrap_or_else(|| panic!("published after the video went in: {text}"));
    assert!(lab["articles"][0]["content"].as_str().unwrap().contains("wxv_restoration"));
}
