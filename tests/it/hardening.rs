//! The bad inputs editors and machines really produce (#17): raw HTML the sanitizer must not let
//! swallow an article, hostile images, other encodings, pipes and devices, closed pipes, clients
//! that never finish their headers.
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::TestProject;

const HEAD: &str = "---\ntitle: 测试\naccount: service\n---\n";

fn build(project: &TestProject) -> (bool, String) {
    let output = project.wxpub().arg("build").output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn check_json(project: &TestProject) -> (Option<i32>, Vec<serde_json::Value>) {
    let output = project.wxpub().args(["check", "--format", "json"]).output().unwrap();
    let found: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), found.as_array().unwrap().clone())
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    crate::support::encode_image(&image::DynamicImage::ImageRgb8(image), image::ImageFormat::Jpeg)
}

#[test]
fn a_removed_element_removes_only_itself_and_build_and_check_warn_at_its_line() {
    let body = "第一段。\n\n<embed src=\"intro.mp4\">\n\n第二段。\n\n<iframe src=\"https://v.example\"/>\n\n\
                第三段<style/>还在。\n\n第四段 <ins>新增</ins> 与 <kbd>Ctrl</kbd>。\n\n\
                <svg viewBox=\"0 0 10 10\"><use href=\"#a\"/><foreignObject/><rect width=\"10\" height=\"10\"></rect></svg>\n\n\
                <details><summary>展开</summary>细节</details>\n\n最后一段。\n";
    let project = TestProject::with_items(&[("articles/raw", &format!("{HEAD}{body}"))]);
    let (ok, stderr) = build(&project);
    assert!(ok, "{stderr}");
    let html = project.read("dist/articles/raw/content.html");
    for text in ["第二段", "第三段", "还在", "第四段", "新增", "Ctrl", "展开", "细节", "最后一段"]
    {
        assert!(html.contains(text), "`{text}` lost: {html}");
    }
    for gone in ["<embed", "<iframe", "<style", "<use", "<foreignObject", "<ins", "<kbd", "<details"] {
        assert!(!html.contains(gone), "{gone} survived: {html}");
    }
    assert!(html.contains("<rect width=\"10\" height=\"10\"></rect></svg>"), "{html}");
    // The theme's footer and the outer section close the article.
    assert!(html.trim_end().ends_with("</section>"), "{html}");
    let expected = [
        (7, "raw <embed> removed"),
        (11, "raw <iframe> removed"),
        (13, "raw <style> removed"),
        (15, "raw <ins> unwrapped"),
        (15, "raw <kbd> unwrapped"),
        (17, "raw <use> removed"),
        (17, "raw <foreignObject> removed"),
        (19, "raw <details> unwrapped"),
        (19, "raw <summary> unwrapped"),
    ];
    for (line, message) in expected {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("index.md:{line}:")) && l.contains(&format!("[raw-html] {message}"))),
            "{message}: {stderr}"
        );
    }
    // check says the same, from the same detector.
    let (_, found) = check_json(&project);
    for (line, message) in expected {
        assert!(
            found.iter().any(|d| d["rule"] == "raw-html"
                && d["line"] == line
                && d["message"].as_str().unwrap().starts_with(message)),
            "check misses {message}: {found:?}"
        );
    }
}

#[test]
fn raw_links_become_references_raw_images_are_processed_and_generics_stay_text() {
    let body = "见 <a href=\"https://museum.example.cn/visit\">参观须知</a>。\n\n\
                <img src=\"photo.jpg\" width=\"300\" alt=\"展品\">\n\n\
                Rust 的 `Vec` 写作 Vec<T>，Option<String> 也是。\n\n\
                <!-- <img src=\"old-version.jpg\"> 旧图，<a href=\"https://old.example\">旧链接</a> -->\n";
    let project = TestProject::with_items(&[("articles/raw", &format!("{HEAD}{body}"))]);
    std::fs::write(project.path().join("content/articles/raw/photo.jpg"), jpeg(900, 600)).unwrap();
    let (ok, stderr) = build(&project);
    assert!(ok, "{stderr}");
    let html = project.read("dist/articles/raw/content.html");
    assert!(html.contains("参观须知") && html.contains("[1]"), "{html}");
    assert!(html.contains("https://museum.example.cn/visit"), "the URL is listed in the references: {html}");
    assert!(!html.contains("href=\"https://museum"), "{html}");
    let at = html.find("<img src=\"images/").expect("the raw image points at a processed file");
    let src = &html[at + 10..];
    let src = &src[..src.find('"').unwrap()];
    assert!(project.path().join("dist/articles/raw").join(src).is_file(), "{src}");
    assert!(html.contains("width=\"300\""), "{html}");
    assert!(html.contains("Vec&lt;T>") && html.contains("Option&lt;String>"), "{html}");
    assert!(!stderr.contains("[raw-html]"), "nothing was removed: {stderr}");
    assert!(!html.contains("old.example") && !html.contains("[2]"), "a commented-out link does nothing: {html}");

    // A raw image that is not there is an error at its line, like ![]().
    project.write("content/articles/raw/index.md", &format!("{HEAD}\n<img src=\"gone.jpg\">\n"));
    let (ok, stderr) = build(&project);
    assert!(!ok && stderr.contains("content/articles/raw/index.md:6") && stderr.contains("gone.jpg"), "{stderr}");
}

#[test]
fn a_javascript_source_url_and_a_bad_cover_focus_are_errors_in_check_and_build_alike() {
    for (line, bad, words) in [
        ("source_url: javascript:alert(1)", "source_url", "not a web address"),
        ("cover_focus: NaN,inf", "cover_focus", "between 0 and 1"),
        ("cover_focus: -5,7", "cover_focus", "between 0 and 1"),
        ("cover_focus: 1e308,1e308", "cover_focus", "between 0 and 1"),
    ] {
        let head = format!("---\ntitle: 测试\naccount: service\n{line}\n---\n正文。\n");
        let project = TestProject::with_items(&[("articles/a", &head)]);
        let (ok, stderr) = build(&project);
        assert!(!ok && stderr.contains("content/articles/a/index.md:4") && stderr.contains(words), "{bad}: {stderr}");
        let (code, found) = check_json(&project);
        assert_eq!(code, Some(1));
        assert!(
            found.iter().any(|d| d["rule"] == "front-matter"
                && d["line"] == 4
                && d["message"].as_str().unwrap().contains(words)),
            "{bad}: {found:?}"
        );
    }
}

#[test]
fn a_gbk_file_is_named_with_its_encoding_and_the_other_items_are_still_checked() {
    let project = TestProject::with_items(&[("articles/good", &format!("{HEAD}正文。\n"))]);
    let (gbk, _, _) = encoding_rs::GBK.encode("---\ntitle: 青铜器\naccount: service\n---\n\n商代晚期的鼎。\n");
    std::fs::create_dir_all(project.path().join("content/articles/windows")).unwrap();
    std::fs::write(project.path().join("content/articles/windows/index.md"), &gbk).unwrap();
    // Another item's own problem is still found: check did not stop at the GBK file.
    project.write("content/articles/typo/index.md", &format!("{HEAD}开幕了!欢迎参观。\n"));
    let (code, found) = check_json(&project);
    assert_eq!(code, Some(1));
    let encoding = found.iter().find(|d| d["rule"] == "encoding").expect("an encoding error");
    assert_eq!(encoding["file"], "content/articles/windows/index.md");
    assert_eq!(encoding["line"], 2, "the first line that is not UTF-8");
    assert!(encoding["message"].as_str().unwrap().contains("GBK / GB18030"), "{encoding}");
    assert!(found.iter().any(|d| d["rule"] == "cjk-punctuation"), "{found:?}");
    let (ok, stderr) = build(&project);
    assert!(!ok && stderr.contains("content/articles/windows/index.md:2") && stderr.contains("GBK"), "{stderr}");
}

/// A GIF whose 1×1 logical screen hides a 65535×65535 frame (34 bytes).
fn gif_bomb() -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend([1, 0, 1, 0, 0, 0, 0]); // logical screen 1×1, no global colour table
    gif.extend([0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x80]); // frame 65535×65535, local table
    gif.extend([0, 0, 0, 255, 255, 255]); // two colours
    gif.extend([2, 1, 0x2C, 0, 0x3B]); // LZW: clear, end; trailer
    gif
}

/// A PNG header declaring `width`×`height` RGBA pixels, with an empty image stream.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend(kind);
        out.extend(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend(crc.finalize().to_be_bytes());
        out
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn hostile_images_are_refused_before_they_are_allocated() {
    for (name, bytes, words) in [
        ("bomb.gif", gif_bomb(), "more memory than [images] max_megapixels / max_side allow"),
        ("line.png", png_header(99_000_000, 1), "max_side"),
        ("huge.png", png_header(60_000, 60_000), "max_megapixels"),
    ] {
        let project = TestProject::with_items(&[("articles/a", &format!("{HEAD}![图]({name})\n"))]);
        std::fs::write(project.path().join("content/articles/a").join(name), &bytes).unwrap();
        let (ok, stderr) = build(&project);
        assert!(!ok, "{name} was accepted");
        assert!(stderr.contains("content/articles/a/index.md:5") && stderr.contains(words), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        if name != "bomb.gif" {
            // check refuses the declared size from the header alone.
            let (_, found) = check_json(&project);
            assert!(found.iter().any(|d| d["rule"] == "image-limit"), "{name}: {found:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_pipe_named_like_an_image_is_refused_without_hanging() {
    let project = TestProject::with_items(&[("articles/a", &format!("{HEAD}![图](x.jpg)\n"))]);
    let fifo = project.path().join("content/articles/a/x.jpg");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut child =
        crate::support::binary().current_dir(project.path()).arg("build").stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("build hangs on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success() && stderr.contains("not a regular file"), "{stderr}");
    let (_, found) = check_json(&project);
    assert!(
        found
            .iter()
            .any(|d| d["rule"] == "image-format" && d["message"].as_str().unwrap().contains("not a regular file"))
    );
}

#[test]
fn an_output_path_that_is_a_file_or_read_only_is_named_and_nothing_is_left_behind() {
    let project = TestProject::with_items(&[("articles/a", &format!("{HEAD}正文。\n"))]);
    project.write("dist", "a file where the build goes");
    let (ok, stderr) = build(&project);
    assert!(!ok && stderr.contains("dist is a file, not a folder"), "{stderr}");
    std::fs::remove_file(project.path().join("dist")).unwrap();

    assert!(build(&project).0);
    let articles = project.path().join("dist/articles");
    let mut permissions = std::fs::metadata(&articles).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&articles, permissions.clone()).unwrap();
    project.write("content/articles/a/index.md", &format!("{HEAD}改过的正文。\n"));
    let (ok, stderr) = build(&project);
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&articles, permissions).unwrap();
    assert!(!ok && stderr.contains("dist/articles is read-only"), "{stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(project.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".dist."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(project.read("dist/articles/a/content.html").contains("正文"), "the old output is intact");
}

#[test]
fn a_closed_pipe_ends_quietly_with_success() {
    let project = TestProject::example();
    for args in [&["check", "--now", "2036-12-01 09:00"][..], &["status"], &["completions", "bash"]] {
        let mut child = crate::support::binary()
            .current_dir(project.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn servers_close_connections_whose_headers_never_complete() {
    let sandbox = crate::wechat::start(wxpub::sandbox::SandboxOptions::default());
    let address = sandbox.base_url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.write_all(b"GET /cgi-bin/token HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    // The server hangs up (possibly with a 408) instead of waiting for ever.
    let _ = slow.read_to_end(&mut buffer);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(25), "still open after {waited:?}");
    // Meanwhile and afterwards, others are served.
    let (status, body) =
        crate::support::http_get(&format!("{}/cgi-bin/token?grant_type=client_credential", sandbox.base_url));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_preview_whose_first_build_fails_serves_the_error_and_recovers() {
    let project = TestProject::with_items(&[("articles/a", "---\ntitle: [broken\n---\n")]);
    let preview = wxpub::preview::spawn(project.path(), 0).expect("the server starts anyway");
    let (_, page) = crate::support::http_get(&preview.url);
    assert!(page.contains("content/articles/a/index.md"), "the error is shown: {page}");
    project.write("content/articles/a/index.md", &format!("{HEAD}修好了。\n"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = crate::support::http_get(&preview.url);
        if page.contains("测试") {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {page}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_absurd_video_duration_is_refused_with_its_limit() {
    let head = "---\ntitle: 测试\naccount: service\nvideos:\n  - title: 片\n    kind: video\n    duration: \"1193047:00:00\"\n---\n正文。\n";
    let project = TestProject::with_items(&[("articles/a", head)]);
    project.wxpub().arg("build").assert().failure().stderr(predicate::str::contains("at most 24 hours"));
}
