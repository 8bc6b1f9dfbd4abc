//! `wxpub build` on the bundled example and on bad inputs.
use predicates::prelude::*;

use crate::support::{TestProject, snapshot_tree};

#[test]
fn example_builds_into_wechat_safe_html() {
    let project = TestProject::example();
    project.wxpub().arg("build").assert().success().stdout(predicate::str::contains("built 9 items"));
    let manifest: serde_json::Value = serde_json::from_str(&project.read("dist/manifest.json")).unwrap();
    let items = manifest["items"].as_array().unwrap();
    assert_eq!(items.len(), 9);
    for item in items {
        let dir = format!("dist/{}", item["key"].as_str().unwrap());
        let html = project.read(&format!("{dir}/content.html"));
        // (` id=`, not `id=`: a mini-program card's `data-miniprogram-appid=` is fine.)
        for banned in ["<style", "<script", " class=", " id=", "<div"] {
            assert!(!html.contains(banned), "{dir}: contains {banned}");
        }
        // The only links left point at WeChat articles.
        for (i, _) in html.match_indices("href=\"") {
            assert!(html[i + 6..].starts_with("https://mp.weixin.qq.com/"), "{dir}: outside link kept");
        }
        assert!(!html.contains("wxpub-image:"), "{dir}: an image placeholder was left unresolved");
        for (i, _) in html.match_indices("<img src=\"") {
            let src = &html[i + 10..];
            let src = &src[..src.find('"').unwrap()];
            assert!(project.path().join(&dir).join(src).is_file(), "{dir}: <img src={src}> has no file");
        }
        assert_eq!(item["content_chars"].as_u64().unwrap() as usize, html.chars().count());
        assert_eq!(item["content_bytes"].as_u64().unwrap() as usize, html.len());
        for image in item["images"].as_array().unwrap().iter().chain(item["cover"].as_object().map(|_| &item["cover"]))
        {
            let file = project.path().join(&dir).join("images").join(image["file"].as_str().unwrap());
            assert!(file.is_file(), "{} missing", file.display());
        }
    }
}

#[test]
fn every_outside_link_becomes_a_numbered_reference() {
    let project = TestProject::example();
    project.wxpub().arg("build").assert().success();
    let html = project.read("dist/articles/2026-12-01-bronze-exhibition/content.html");
    // Three outside links in the source: the report, the source URL is front matter (not a body link), the museum site.
    for (number, url) in
        [(1, "https://www.kaogu.example.cn/reports/qingzhou-2025"), (2, "https://www.qzmuseum.example.cn/")]
    {
        assert!(html.contains(&format!("[{number}]</sup>")), "marker {number}");
        assert!(html.contains(&format!("[{number}] ")) && html.contains(url), "reference {number} {url}");
    }
    assert!(html.contains("href=\"https://mp.weixin.qq.com/s/qzmuseum-excavation-visit\""));
}

#[test]
fn build_is_byte_for_byte_deterministic() {
    // Cold first: the images processed now must equal those the second build takes from the
    // cache (and those every other test's example starts with).
    let project = TestProject::example_cold();
    project.wxpub().args(["build", "--out", "one"]).assert().success();
    project.wxpub().args(["build", "--out", "two"]).assert().success();
    let one = snapshot_tree(&project.path().join("one"));
    let two = snapshot_tree(&project.path().join("two"));
    assert!(one.len() > 20, "expected a full tree, got {} files", one.len());
    assert!(one == two, "two builds of the same sources differ");
    // The example every other test starts from, with the suite's cache, builds the same bytes.
    let seeded = TestProject::example();
    seeded.wxpub().args(["build", "--out", "one"]).assert().success();
    assert!(snapshot_tree(&seeded.path().join("one")) == one, "a build from the suite's image cache differs");
}

const GOOD_HEAD: &str = "---\ntitle: 测试\naccount: service\n---\n";

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let project =
        TestProject::with_items(&[("articles/bad", "---\ntitle: 测试\naccount: service\ntags: [a, b\n---\nbody\n")]);
    project
        .wxpub()
        .arg("build")
        .assert()
        .failure()
        .stderr(predicate::str::is_match(r"content/articles/bad/index\.md:\d+:\d+:").unwrap());
    assert!(!project.path().join("dist").exists(), "a failed build must not leave dist/");
}

#[test]
fn unknown_front_matter_key_suggests_the_right_one() {
    let project = TestProject::with_items(&[("articles/typo", "---\ntitle: 测试\nacount: service\n---\nbody\n")]);
    project.wxpub().arg("build").assert().failure().stderr(
        predicate::str::contains("content/articles/typo/index.md:3:")
            .and(predicate::str::contains("did you mean `account`")),
    );
}

#[test]
fn missing_image_names_file_and_line() {
    let project = TestProject::with_items(&[(
        "articles/missing",
        &format!("{GOOD_HEAD}\n第一段。\n\n![没有这张图](nope.jpg)\n"),
    )]);
    project.wxpub().arg("build").assert().failure().stderr(
        predicate::str::contains("content/articles/missing/index.md:8:").and(predicate::str::contains("nope.jpg")),
    );
}

#[test]
fn image_paths_that_leave_the_item_folder_are_refused() {
    for src in ["../../../publish.toml", "/etc/passwd", "../other/x.jpg"] {
        let project = TestProject::with_items(&[("articles/escape", &format!("{GOOD_HEAD}![x]({src})\n"))]);
        project.write("content/articles/other/x.jpg", "not really an image");
        project.wxpub().arg("build").assert().failure().stderr(predicate::str::contains("leaves the item's folder"));
    }
}

#[test]
fn raw_script_iframe_style_and_handlers_are_stripped_with_a_warning() {
    let body = "正文\n\n<script>alert(1)</script>\n\n<iframe src=\"https://evil.example\"></iframe>\n\n<style>p{color:red}</style>\n\n<p onclick=\"steal()\">点我</p>\n";
    let project = TestProject::with_items(&[("articles/raw", &format!("{GOOD_HEAD}{body}"))]);
    let output = project.wxpub().arg("build").assert().success();
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).to_string();
    for (tag, line) in [("script", 7), ("iframe", 9), ("style", 11)] {
        assert!(
            stderr.contains(&format!("content/articles/raw/index.md:{line}:1: [raw-html] raw <{tag}> removed")),
            "{tag}: {stderr}"
        );
    }
    assert!(stderr.contains("index.md:13:1: [raw-html] event handler attribute `onclick`"), "{stderr}");
    let html = project.read("dist/articles/raw/content.html");
    for banned in ["<script", "alert", "<iframe", "<style", "onclick", "steal"] {
        assert!(!html.contains(banned), "{banned} survived: {html}");
    }
    assert!(html.contains("点我"));
}

#[test]
fn a_failed_build_keeps_the_previous_output() {
    let project = TestProject::example();
    project.wxpub().arg("build").assert().success();
    let before = snapshot_tree(&project.path().join("dist"));
    project.write("content/articles/2027-01-01-new-year/index.md", "---\ntitle: [broken\n---\n");
    project.wxpub().arg("build").assert().failure();
    assert!(before == snapshot_tree(&project.path().join("dist")), "dist changed after a failed build");
}
