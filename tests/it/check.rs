//! `wxpub check`: each rule triggered and not triggered, output formats, --fix, the example.

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use predicates::prelude::*;

use crate::support::TestProject;

const NOW: &str = "2026-11-24 12:00";

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    crate::support::encode_image(&DynamicImage::ImageRgb8(image), ImageFormat::Jpeg)
}

/// An article that passes every rule; tests change one thing in it.
fn good_front() -> String {
    "title: 好标题\nauthor: 李青\ndigest: 摘要\ncover: cover.jpg\naccount: service\npublish_at: 2026-12-01 08:00\n"
        .into()
}

fn project(front: &str, body: &str) -> TestProject {
    let project = TestProject::with_items(&[("articles/a", &format!("---\n{front}---\n\n{body}"))]);
    let dir = project.path().join("content/articles/a");
    // Made once for the whole file: every case uses the same images.
    static IMAGES: std::sync::OnceLock<[(&str, Vec<u8>); 5]> = std::sync::OnceLock::new();
    let images = IMAGES.get_or_init(|| {
        [
            ("cover.jpg", jpeg(1200, 700)),
            ("photo.jpg", jpeg(800, 600)),
            ("tiny.jpg", jpeg(120, 90)),
            ("line-art.png", line_art(false)),
            ("line-art-backed.png", line_art(true)),
        ]
    });
    for (name, bytes) in images {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    project
}

/// A 600×400 drawing: dark strokes on transparency, or on an opaque white backing.
fn line_art(backed: bool) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(600, 400, |x, y| {
        let stroke = (x + y) % 40 < 6 || (x as i32 - y as i32).rem_euclid(60) < 4;
        match (stroke, backed) {
            (true, _) => image::Rgba([30, 24, 20, 255]),
            (false, true) => image::Rgba([255, 255, 255, 255]),
            (false, false) => image::Rgba([0, 0, 0, 0]),
        }
    });
    crate::support::encode_image(&DynamicImage::ImageRgba8(image), ImageFormat::Png)
}

fn rules_found(project: &TestProject) -> Vec<String> {
    let output = project.wxpub().args(["check", "--format", "json", "--now", NOW]).output().unwrap();
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    });
    found.as_array().unwrap().iter().map(|d| d["rule"].as_str().unwrap().to_string()).collect()
}

/// Front matter and body of one test item.
type Input = (String, String);

/// (rule, input that triggers it, the same input with the cause removed).
fn cases() -> Vec<(&'static str, Input, Input)> {
    let g = good_front;
    let body = "正文。\n".to_string();
    let with = |from: &str, to: &str| g().replace(from, to);
    vec![
        (
            "title-length",
            (with("好标题", &"长".repeat(33)), body.clone()),
            (with("好标题", &"长".repeat(32)), body.clone()),
        ),
        (
            "author-length",
            (with("李青", &"作".repeat(17)), body.clone()),
            (with("李青", &"作".repeat(16)), body.clone()),
        ),
        (
            "digest-length",
            (with("摘要", &"摘".repeat(121)), body.clone()),
            (with("摘要", &"摘".repeat(120)), body.clone()),
        ),
        (
            "source-url-length",
            (format!("{}source_url: https://x.cn/{}\n", g(), "a".repeat(1100)), body.clone()),
            (format!("{}source_url: https://x.cn/a\n", g()), body.clone()),
        ),
        ("required-field", (with("cover: cover.jpg\n", ""), body.clone()), (g(), body.clone())),
        ("unknown-account", (with("account: service", "account: servise"), body.clone()), (g(), body.clone())),
        ("publish-time", (with("2026-12-01 08:00", "next friday"), body.clone()), (g(), body.clone())),
        ("publish-time-past", (with("2026-12-01 08:00", "2026-11-23 08:00"), body.clone()), (g(), body.clone())),
        ("publish-time-old", (with("2026-12-01 08:00", "2026-11-01 08:00"), body.clone()), (g(), body.clone())),
        ("front-matter", (format!("{}autor: x\n", g()), body.clone()), (g(), body.clone())),
        ("cover-size", (with("cover.jpg", "tiny.jpg"), body.clone()), (g(), body.clone())),
        ("image-missing", (g(), "![图](gone.jpg)\n".into()), (g(), "![图](photo.jpg)\n".into())),
        ("image-path", (g(), "![图](../b/photo.jpg)\n".into()), (g(), "![图](photo.jpg)\n".into())),
        ("image-format", (g(), "![图](photo.tiff)\n".into()), (g(), "![图](photo.jpg)\n".into())),
        ("image-small", (g(), "![图](tiny.jpg)\n".into()), (g(), "![图](photo.jpg)\n".into())),
        ("image-alt", (g(), "![](photo.jpg)\n".into()), (g(), "![图](photo.jpg)\n".into())),
        (
            "link-outside",
            (g(), "见[官网](https://museum.example.cn/)。\n".into()),
            (g(), "见[推文](https://mp.weixin.qq.com/s/x)。\n".into()),
        ),
        ("link-internal", (g(), "见[另一篇](../nothing-here/)。\n".into()), (g(), "见[本篇](../a/)。\n".into())),
        (
            "raw-html",
            (g(), "<iframe src=\"https://v.example\"></iframe>\n".into()),
            (g(), "<section>可以</section>\n".into()),
        ),
        (
            "list-depth",
            (g(), "- 一\n  - 二\n    - 三\n      - 四\n        - 五\n".into()),
            (g(), "- 一\n  - 二\n    - 三\n      - 四\n".into()),
        ),
        (
            "merged-lines",
            (g(), "**主讲：** 王立\n**时间：** 周六\n".into()),
            (g(), "**主讲：** 王立\\\n**时间：** 周六\n".into()),
        ),
        (
            "code-language",
            (g(), "```pyhton\nx = 1\n```\n".into()),
            (g(), "```python\nx = 1\n```\n\n```text\n原样\n```\n\n```rust\nfn f() {}\n```\n".into()),
        ),
        ("cjk-spacing", (g(), "共120件。\n".into()), (g(), "共 120 件。\n".into())),
        ("cjk-punctuation", (g(), "开幕了!欢迎参观。\n".into()), (g(), "开幕了！欢迎参观。\n".into())),
        ("doubled-punctuation", (g(), "太好了！！\n".into()), (g(), "太好了！\n".into())),
        ("cjk-brackets", (g(), "青铜鼎(商代)。\n".into()), (g(), "青铜鼎（商代）。\n".into())),
        // WeChat counts visible text: 20,002 characters are too many, however little markup.
        ("content-length", (g(), format!("{}\n", "段落".repeat(10_001))), (g(), format!("{}\n", "段落".repeat(9_000)))),
        // Markup around little text: long HTML is only a note.
        ("content-html-length", (g(), "段落。\n\n".repeat(600)), (g(), "段落。\n\n".repeat(100))),
        (
            "dark-contrast",
            (g(), "<p style=\"color: #999999\">浅灰色的说明文字。</p>\n".into()),
            (g(), "<p style=\"color: #333333\">深色的说明文字。</p>\n".into()),
        ),
        (
            "important",
            (g(), "<p style=\"color: #333333 !important\">重要。</p>\n".into()),
            (g(), "<p style=\"color: #333333\">重要。</p>\n".into()),
        ),
        (
            "dark-transparent-image",
            (g(), "![线描](line-art.png)\n".into()),
            (g(), "![线描](line-art-backed.png)\n".into()),
        ),
    ]
}

#[test]
fn every_rule_triggers_on_its_input_and_not_on_the_fixed_one() {
    for (rule, (bad_front, bad_body), (good_front, good_body)) in cases() {
        let bad = rules_found(&project(&bad_front, &bad_body));
        assert!(bad.iter().any(|r| r == rule), "{rule}: not triggered (got {bad:?})");
        let good = rules_found(&project(&good_front, &good_body));
        assert!(!good.iter().any(|r| r == rule), "{rule}: triggered on the clean input (got {good:?})");
    }
}

#[test]
fn a_misspelt_code_language_is_pointed_at_with_the_likely_name() {
    let project = project(&good_front(), "正文。\n\n```pyhton\nx = 1\n```\n");
    let output = project.wxpub().args(["check", "--format", "json", "--now", NOW]).output().unwrap();
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let diagnostic = found.as_array().unwrap().iter().find(|d| d["rule"] == "code-language").expect("reported");
    assert_eq!(diagnostic["line"], 12, "the fence's line: {diagnostic}");
    assert_eq!(diagnostic["severity"], "warning");
    assert!(diagnostic["message"].as_str().unwrap().contains("`pyhton`"), "{diagnostic}");
    assert!(diagnostic["hint"].as_str().unwrap().starts_with("did you mean `python`?"), "{diagnostic}");
}

#[test]
fn duplicate_titles_push_size_and_banned_words() {
    let project = TestProject::with_items(&[]);
    for i in 0..9 {
        let title = if i < 2 { "同一个标题".to_string() } else { format!("标题 {i}") };
        project.write(
            &format!("content/articles/p{i}/index.md"),
            &format!("---\ntitle: {title}\ncover: c.jpg\naccount: service\npublish_at: 2026-12-01 08:00\n---\n\n本馆是全国最好的博物馆。\n"),
        );
        std::fs::write(project.path().join(format!("content/articles/p{i}/c.jpg")), jpeg(1200, 700)).unwrap();
    }
    project.write("words.toml", "[[word]]\nword = \"最好\"\nreplacement = \"很好\"\nnote = \"广告法禁用绝对化用语\"\n");
    let config = project.read("publish.toml") + "\n[check]\nwords = \"words.toml\"\n";
    project.write("publish.toml", &config);
    let found = rules_found(&project);
    assert_eq!(found.iter().filter(|r| *r == "duplicate-title").count(), 1);
    assert_eq!(found.iter().filter(|r| *r == "push-size").count(), 9);
    assert_eq!(found.iter().filter(|r| *r == "banned-word").count(), 9);
}

#[test]
fn severity_config_and_inline_suppression() {
    let body = "共120件。\n\n太好了！！ <!-- wxpub-ignore doubled-punctuation -->\n";
    let project = project(&good_front(), body);
    let found = rules_found(&project);
    assert!(
        found.contains(&"cjk-spacing".to_string()) && !found.contains(&"doubled-punctuation".to_string()),
        "{found:?}"
    );
    let config = project.read("publish.toml") + "\n[check.severity]\ncjk-spacing = \"off\"\nimage-alt = \"error\"\n";
    project.write("publish.toml", &config);
    assert!(!rules_found(&project).contains(&"cjk-spacing".to_string()));
    // An unknown rule in [check] is refused with a suggestion.
    project.write("publish.toml", &(project.read("publish.toml") + "cjk-spaceing = \"off\"\n"));
    project.wxpub().arg("check").assert().code(2).stderr(predicate::str::contains("did you mean `cjk-spacing`"));
}

#[test]
fn json_output_has_the_exact_shape_and_exit_codes_follow_severity() {
    let project = project(&good_front(), "共120件。\n");
    let output = project.wxpub().args(["check", "--format", "json", "--now", NOW]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "warnings alone do not fail");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = serde_json::json!([
        {"file": "content/articles/a/index.md", "line": 10, "column": 2, "rule": "cjk-spacing", "severity": "warning",
         "message": "no space between `共` and `1`", "hint": "put a space between Chinese and Latin letters or digits (wxpub check --fix does it)"},
        {"file": "content/articles/a/index.md", "line": 10, "column": 5, "rule": "cjk-spacing", "severity": "warning",
         "message": "no space between `0` and `件`", "hint": "put a space between Chinese and Latin letters or digits (wxpub check --fix does it)"}
    ]);
    assert_eq!(value, expected);
    project.wxpub().args(["check", "--deny-warnings", "--now", NOW]).assert().code(1);
}

#[test]
fn github_output_is_workflow_annotations() {
    let project = project(&good_front().replace("account: service", "account: nope"), "正文。\n");
    let output = project.wxpub().args(["check", "--format", "github", "--now", NOW]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "::error file=content/articles/a/index.md,line=6,col=1,title=wxpub unknown-account::[unknown-account] account `nope` is not in publish.toml — use one of: service, subscription\n"
    );
}

#[test]
fn fix_is_idempotent_and_changes_nothing_else() {
    let body = "共120件青铜器!太好了！！\n\n青铜鼎(商代)。\n\n```python\nx=1 # 代码里的120件不动\n```\n\n[链接120件](https://mp.weixin.qq.com/s/x)\n";
    let project = project(&good_front(), body);
    let path = "content/articles/a/index.md";
    let before = project.read(path);
    project.wxpub().args(["check", "--fix", "--now", NOW]).assert().success().stderr(predicate::str::contains("fixed"));
    let once = project.read(path);
    assert!(once.contains("共 120 件青铜器！太好了！") && once.contains("青铜鼎（商代）。"), "{once}");
    assert!(once.contains("x=1 # 代码里的120件不动") && once.contains("[链接120件]"), "code and links untouched");
    assert_eq!(before.split("---").nth(1), once.split("---").nth(1), "front matter untouched");
    project.wxpub().args(["check", "--fix", "--now", NOW]).assert().success();
    assert_eq!(project.read(path), once, "a second --fix changes nothing");
    let remaining = rules_found(&project);
    assert!(!remaining.iter().any(|r| r.starts_with("cjk") || r == "doubled-punctuation"), "{remaining:?}");
}

#[test]
fn bundled_example_passes_with_no_error_and_rules_are_listed() {
    let project = TestProject::example();
    project.wxpub().args(["check", "--deny-warnings", "--now", NOW]).assert().success();
    project
        .wxpub()
        .args(["check", "--list-rules"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cjk-spacing").and(predicate::str::contains("push-size")));
}

#[test]
fn a_title_already_published_is_a_duplicate() {
    let project = project(&good_front(), "正文。\n");
    let lock = |key: &str| {
        format!(
            "[accounts.service.pushes.\"2026-11-01T08:00:00+08:00\"]\nitems = [\"{key}\"]\ntitles = [\"好标题\"]\n\n\
             [accounts.service.pushes.\"2026-11-01T08:00:00+08:00\".publication]\nmode = \"publish\"\nstatus = \"published\"\n\
             article_urls = []\nsubmitted_at = \"2026-11-01T00:00:00Z\"\n"
        )
    };
    project.write("publish.lock", &lock("articles/old-one"));
    assert!(rules_found(&project).contains(&"duplicate-title".to_string()));
    project.write("publish.lock", &lock("articles/a"));
    assert!(!rules_found(&project).contains(&"duplicate-title".to_string()), "its own publication is not a duplicate");
}

#[test]
fn the_example_checks_clean_with_the_clock_ten_years_ahead() {
    let project = TestProject::example();
    // Through the environment, as CI's pinned clock or an operator's WXPUB_NOW would set it.
    let output =
        project.wxpub().args(["check", "--deny-warnings"]).env("WXPUB_NOW", "2036-11-20 09:00").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    // Old schedules are notes that say what the next publish run would do, never warnings.
    assert!(stdout.contains("publish-time-old") && stdout.contains("the next `wxpub publish --due` publishes it"));
    assert!(!stdout.contains("publish-time-past"), "{stdout}");
    // An unreadable moment is refused with the accepted forms.
    let bad = project.wxpub().args(["check"]).env("WXPUB_NOW", "tomorrow").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`tomorrow` is not a moment"));
}

#[test]
fn a_past_publish_time_is_a_warning_only_while_it_is_recent_and_unpublished() {
    let project = project(&good_front(), "正文。\n");
    let found = |now: &str| {
        let output = project.wxpub().args(["check", "--format", "json", "--now", now]).output().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        value.as_array().unwrap().iter().filter_map(|d| d["rule"].as_str().map(str::to_string)).collect::<Vec<_>>()
    };
    assert!(found("2026-12-01 20:00").contains(&"publish-time-past".to_string()));
    assert!(found("2026-12-09 20:00").contains(&"publish-time-old".to_string()));
    // Once publish.lock records its publication, a past time is history: nothing to say.
    project.write(
        "publish.lock",
        "[accounts.service.pushes.\"2026-12-01 08:00\"]\nitems = [\"articles/a\"]\n\n\
         [accounts.service.pushes.\"2026-12-01 08:00\".publication]\nmode = \"publish\"\nstatus = \"published\"\n\
         article_urls = []\nsubmitted_at = \"2026-12-01T00:00:00Z\"\n",
    );
    for now in ["2026-12-01 20:00", "2036-12-01 20:00"] {
        let rules = found(now);
        assert!(!rules.iter().any(|r| r.starts_with("publish-time")), "{rules:?}");
    }
}

/// A booking block names a mini program of publish.toml, with a real AppID: said at its line.
#[test]
fn booking_cards_name_a_configured_mini_program_with_a_valid_appid() {
    let body = "正文。\n\n```booking\nprogram: tickets\nimage: photo.jpg\n```\n";
    let project = project(&good_front(), body);
    let output = project.wxpub().args(["check", "--now", NOW]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("index.md:13"), "at the block's first line: {text}");
    assert!(text.contains("no mini program `tickets`") && text.contains("one of: booking"), "{text}");

    let config = project.read("publish.toml").replace("wx5f1a2b3c4d5e6f70", "wx-not-an-appid");
    project.write("publish.toml", &config);
    project.write(
        "content/articles/a/index.md",
        &format!("---\n{}---\n\n{}", good_front(), body.replace("program: tickets\n", "")),
    );
    let output = project.wxpub().args(["check", "--now", NOW]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("is not a mini program AppID"), "{text}");
}
