//! `video` blocks: a placeholder box in the draft and the preview, a `check` warning when a due
//! item still waits for its video, and the block's minutes in the yearly figures.
use crate::support::TestProject;

const ITEM: &str = "articles/2026-12-12-conservation-lab";
const SOURCE: &str = "content/articles/2026-12-12-conservation-lab/index.md";
const BLOCK: &str = "```video\ntitle: 修复过程\nduration: 3:20\nnote: 放在第二段之后\n```\n\n";

/// The example, with a `video` block in the conservation article (before its second heading);
/// returns the project and the 1-based line of the block's opening fence.
fn project_with_block(block: &str) -> (TestProject, usize) {
    let project = TestProject::example();
    let source = project.read(SOURCE);
    let at = source.find("## 再开工").expect("the second heading");
    project.write(SOURCE, &format!("{}{block}{}", &source[..at], &source[at..]));
    let line = source[..at].lines().count() + 1;
    (project, line)
}

fn check_json(project: &TestProject, now: &str) -> Vec<serde_json::Value> {
    let output = project.wxpub().args(["check", "--format", "json", "--now", now]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    });
    json.as_array().unwrap().clone()
}

fn findings<'j>(found: &'j [serde_json::Value], rule: &str) -> Vec<&'j serde_json::Value> {
    found.iter().filter(|d| d["rule"] == rule).collect()
}

#[test]
fn a_video_block_is_a_placeholder_box_in_the_draft_the_manifest_and_the_preview() {
    let (project, _) = project_with_block(BLOCK);
    project.wxpub().args(["build"]).assert().success();
    let html = project.read(&format!("dist/{ITEM}/content.html"));
    let text = "在此插入视频：修复过程（3 分 20 秒）";
    assert!(html.contains(&format!(">{text}</p>")), "{html}");
    assert!(html.contains(wxpub::render::VIDEO_PLACEHOLDER_MARKER));
    assert!(wxpub::render::has_video_placeholder(&html));
    assert!(html.contains(">放在第二段之后</p>"), "the note on its own line: {html}");
    let box_at = html.find(text).unwrap();
    let opening = &html[html[..box_at].rfind("<section").unwrap()..box_at];
    assert!(opening.contains("dashed"), "a dashed box: {opening}");
    assert!(box_at < html.find("再开工").unwrap(), "where the block was written");
    // The manifest lists it among the item's videos.
    let manifest: serde_json::Value = serde_json::from_str(&project.read("dist/manifest.json")).unwrap();
    let item = manifest["items"].as_array().unwrap().iter().find(|i| i["key"] == ITEM).unwrap();
    assert_eq!(item["videos"], serde_json::json!([{ "title": "修复过程", "duration": "3:20", "kind": "video" }]));
    // Other items have no box.
    assert!(!wxpub::render::has_video_placeholder(&project.read("dist/articles/2026-12-01-ding-story/content.html")));

    // The box passes every check (its colours too, light and dark) in each bundled theme.
    let config = project.read("publish.toml");
    for theme in ["museum", "modern", "ink"] {
        project.write("publish.toml", &config.replace("theme = \"museum\"", &format!("theme = \"{theme}\"")));
        project.wxpub().args(["check", "--deny-warnings", "--now", crate::support::NOW]).assert().success();
    }
    project.write("publish.toml", &config);

    // The preview shows the box, light and dark.
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let (status, page) = crate::support::http_get(&format!("{}{ITEM}/?mode=both", preview.url));
    assert_eq!(status, 200);
    assert_eq!(page.matches(text).count(), 2, "{page}");
}

#[test]
fn a_bad_video_block_is_an_error_at_its_line() {
    let (project, line) = project_with_block("```video\ntitle: 修复过程\nduration: 3 分钟\n```\n\n");
    let found = check_json(&project, crate::support::NOW);
    let errors: Vec<_> = found.iter().filter(|d| d["severity"] == "error").collect();
    assert_eq!(errors.len(), 1, "{found:?}");
    assert_eq!(errors[0]["file"], SOURCE);
    assert_eq!(errors[0]["line"], line + 2, "the duration's line: {found:?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("mm:ss or h:mm:ss"), "{found:?}");
    let (project, line) = project_with_block("```video\nduration: 3:20\n```\n\n");
    let found = check_json(&project, crate::support::NOW);
    let error = found.iter().find(|d| d["severity"] == "error").unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(error["line"], line + 1, "{found:?}");
    assert!(error["message"].as_str().unwrap().contains("title"), "{found:?}");
    project.wxpub().args(["build"]).assert().failure();
}

#[test]
fn check_warns_when_a_due_item_still_waits_for_its_video() {
    let (project, line) = project_with_block(BLOCK);
    // Three weeks before its publish_at (2026-12-12 09:00): nothing to say yet.
    assert_eq!(
        findings(&check_json(&project, crate::support::NOW), "video-placeholder"),
        Vec::<&serde_json::Value>::new()
    );
    // Within 24 hours of it, and after it: a warning at the block's line.
    for now in ["2026-12-11 10:00", "2026-12-13 09:00"] {
        let found = check_json(&project, now);
        let warned = findings(&found, "video-placeholder");
        assert_eq!(warned.len(), 1, "{now}: {found:?}");
        assert_eq!(warned[0]["file"], SOURCE);
        assert_eq!(warned[0]["line"], line, "the block's fence");
        assert_eq!(warned[0]["severity"], "warning");
        assert_eq!(
            warned[0]["message"],
            "still waits for a video: insert `修复过程` (3:20) in the web backend (草稿箱) — wxpub publishes it once the placeholder is replaced"
        );
    }
    // The human output names file:line too.
    let output = project.wxpub().args(["check", "--now", "2026-12-11 10:00"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let warning =
        &text[text.find("warning[video-placeholder]: still waits for a video").unwrap_or_else(|| panic!("{text}"))..];
    assert!(warning.lines().nth(1).unwrap().ends_with(&format!("--> {SOURCE}:{line}:1")), "{warning}");

    // The push publishes the server's draft as it is (the video was inserted there): no warning.
    let lock = format!("[accounts.service.pushes.\"2026-12-12 09:00\"]\nitems = [\"{ITEM}\"]\n");
    project.write("publish.lock", &format!("{lock}keep_server = true\n"));
    assert!(findings(&check_json(&project, "2026-12-11 10:00"), "video-placeholder").is_empty());
    // Drafted, not kept: still waiting.
    project.write("publish.lock", &format!("{lock}draft_media_id = \"m1\"\n"));
    assert_eq!(findings(&check_json(&project, "2026-12-11 10:00"), "video-placeholder").len(), 1);
    // Published: done.
    project.write("publish.lock", &published_lock());
    assert!(findings(&check_json(&project, "2026-12-13 09:00"), "video-placeholder").is_empty());
}

/// publish.lock recording the conservation article as published on its day.
fn published_lock() -> String {
    format!(
        "[accounts.service.pushes.\"2026-12-12 09:00\"]\nitems = [\"{ITEM}\"]\ntitles = [\"走进修复室：文物“医生”的一天\"]\n\n\
         [accounts.service.pushes.\"2026-12-12 09:00\".publication]\nmode = \"publish\"\nstatus = \"published\"\n\
         article_urls = []\nsubmitted_at = \"2026-12-12T01:00:00Z\"\nfinished_at = \"2026-12-12T01:00:30Z\"\n"
    )
}

fn video_minutes(project: &TestProject) -> f64 {
    let output = project.wxpub().args(["report", "annual", "--year", "2026", "--format", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["output"].as_array().unwrap().iter().find(|f| f["key"] == "video_minutes").unwrap()["value"].as_f64().unwrap()
}

#[test]
fn the_yearly_figures_count_a_video_blocks_minutes_once() {
    let (project, _) = project_with_block(BLOCK);
    project.write("publish.lock", &published_lock());
    assert_eq!(video_minutes(&project), 3.33, "3:20 of video");

    // The same video named in the front matter too is one video, as the front matter says.
    let source = project.read(SOURCE);
    project.write(
        SOURCE,
        &source.replacen(
            "tags: [",
            "videos:\n  - { title: 修复过程, duration: \"3:30\", kind: video }\n  - { title: 开箱, duration: \"1:00\", kind: video }\ntags: [",
            1,
        ),
    );
    std::fs::remove_dir_all(project.path().join(".wxpub")).ok();
    assert_eq!(video_minutes(&project), 4.5, "3:30 and 1:00, not 3:20 more");
}
