//! `wxpub import docx` (#40) through the binary: Word manuscripts written by real Word writers —
//! python-docx (generated in the test) and LibreOffice (`fixtures/docx/libreoffice.docx`, made by
//! `fixtures/docx/make_libreoffice_fixture.sh`) — become items that build and check; pictures are
//! byte-equal to those embedded; what had no Markdown form is reported; bad input writes nothing.
use std::path::{Path, PathBuf};

use crate::support::{TestProject, repo_root};

fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/docx")
}

/// `manuscript.docx` and the pictures it embeds, written by python-docx into `dir`.
fn python_docx_manuscript(dir: &Path) -> PathBuf {
    let output = std::process::Command::new("python3")
        .arg(fixtures().join("make_fixtures.py"))
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "python-docx is needed: `bash .ci/run` installs it (pip install python-docx==1.2.0): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir.join("manuscript.docx")
}

fn import(project: &TestProject, args: &[&str]) -> (i32, String, String) {
    let output = project.wxpub().args(["import", "docx"]).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// The front matter's value of `key`, as wxpub's own parser reads the item.
fn front_matter(index: &Path) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(index).unwrap();
    let yaml = text.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")).map(|(y, _)| y).unwrap();
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn assert_same_bytes(made: &Path, embedded: &Path) {
    let (a, b) = (std::fs::read(made).unwrap(), std::fs::read(embedded).unwrap());
    assert!(a == b, "{} differs from the picture embedded ({})", made.display(), embedded.display());
}

#[test]
fn a_python_docx_manuscript_becomes_an_item_that_builds_and_checks() {
    let project = TestProject::example();
    let documents = tempfile::tempdir().unwrap();
    let manuscript = python_docx_manuscript(documents.path());
    let (code, out, err) =
        import(&project, &[manuscript.to_str().unwrap(), "--date", "2026-12-21", "--account", "subscription"]);
    assert_eq!(code, 0, "{out}{err}");
    let folder = project.path().join("content/articles/2026-12-21-qing-tong-qi-li-de-shang-dai");
    let index = folder.join("index.md");
    assert!(out.contains("content/articles/2026-12-21-qing-tong-qi-li-de-shang-dai/index.md"), "{out}");

    // Front matter from the document's properties and first paragraph, as wxpub's parser reads it.
    let meta = front_matter(&index);
    assert_eq!(meta["title"], "青铜器里的商代");
    assert_eq!(meta["author"], "王立");
    assert_eq!(
        (meta["account"].as_str(), meta["publish_at"].as_str()),
        (Some("subscription"), Some("2026-12-21 08:00"))
    );
    let digest = meta["digest"].as_str().unwrap();
    assert!(digest.starts_with("本次展览展出商代晚期青铜器，距今约 3000 年"), "normalised as the body: {digest}");
    assert_eq!(meta["cover"], "figure-01.png");

    // The body: every structure in its Markdown form, the typography normalised.
    let body = std::fs::read_to_string(&index).unwrap();
    for expected in [
        "## 展览介绍",
        "### 展品清单",
        "**粗体**",
        "*斜体*",
        "<u>下划线</u>",
        "~~删除线~~",
        "第一行\\\n第二行",
        "- 鼎\n  - 方鼎",
        "1. 第一步：清洗\n   1. 去除锈蚀",
        "| 名称 | 年代 | 尺寸 |\n| --- | --- | --- |",
        "| 尺寸为通高 | 尺寸为通高 | 尺寸为通高 |",
        "[国家博物馆网站](https://www.example.org/bronze?id=1)",
        "[^1]: 参见*殷墟发掘报告*",
        "> 器物上铸有铭文",
        "![红色的鼎](figure-01.png \"图1 后母戊鼎\")",
        "距今约 3000 年",
    ] {
        assert!(body.contains(expected), "`{expected}` in:\n{body}");
    }
    assert!(out.contains("normalised") && out.contains("typography"), "{out}");

    // The pictures, byte for byte as embedded, under readable names; one picture used twice is one file.
    let media = documents.path().join("manuscript-media");
    let mut embedded: Vec<_> = std::fs::read_dir(&media).unwrap().map(|e| e.unwrap().file_name()).collect();
    embedded.sort();
    assert_eq!(embedded.len(), 3, "{embedded:?}");
    for name in &embedded {
        assert_same_bytes(&folder.join(name), &media.join(name));
    }

    // What had no Markdown form, with where it was; the text kept where it has one.
    for reported in ["tracked change", "field (NUMPAGES", "equation", "comment (李文: 请核对页数)"] {
        assert!(out.contains(reported), "`{reported}` reported: {out}");
    }
    assert!(out.contains("paragraph ") && body.contains("新增的词") && !body.contains("删掉的词"), "{out}");

    // Checked at once: the findings are printed (the fixture's pictures are small on purpose).
    assert!(out.contains("warning[image-small]") && out.contains("checked the new item: 0 error(s)"), "{out}");
    let built = project.wxpub().arg("build").output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let html = project.read("dist/articles/2026-12-21-qing-tong-qi-li-de-shang-dai/content.html");
    for rendered in ["<figcaption", "图1 后母戊鼎", "<table", "<blockquote", "<strong", "<u"] {
        assert!(html.contains(rendered), "`{rendered}` in the built article");
    }
    let checked = project
        .wxpub()
        .args(["check", "content/articles/2026-12-21-qing-tong-qi-li-de-shang-dai", "--format", "json"])
        .output()
        .unwrap();
    assert!(checked.status.success(), "no error: {}", String::from_utf8_lossy(&checked.stdout));
}

#[test]
fn a_libreoffice_document_keeps_the_final_text_and_reports_what_word_alone_has() {
    let project = TestProject::example();
    let document = fixtures().join("libreoffice.docx");
    let (code, out, err) =
        import(&project, &[document.to_str().unwrap(), "--date", "2026-12-22", "--slug", "修复 notes!"]);
    assert_eq!(code, 0, "{out}{err}");
    let folder = project.path().join("content/articles/2026-12-22-xiu-fu-notes");
    let body = std::fs::read_to_string(folder.join("index.md")).unwrap();
    assert_eq!(front_matter(&folder.join("index.md"))["author"], "李文");
    // Tracked changes: the final text; the text box's text kept; the footnotes as footnotes.
    assert!(body.contains("（新加入的文字）") && !body.contains("已删除的句子"), "{body}");
    assert!(body.contains("文本框：修复前后对比"), "{body}");
    assert!(body.contains("[^1]: 铭文拓片藏于本馆资料室。"), "{body}");
    assert_same_bytes(&folder.join("figure-01.png"), &fixtures().join("libreoffice-media/figure-01.png"));
    for reported in ["tracked change", "comment (王立: 请核对年代)", "text box", "field (PAGE", "equation"] {
        assert!(out.contains(reported), "`{reported}` reported: {out}");
    }
    assert!(out.contains("checked the new item: 0 error(s)"), "{out}");
    let built = project.wxpub().arg("build").output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let project = TestProject::example();
    let before = crate::support::snapshot_tree(&project.path().join("content"));
    let documents = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = documents.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let png = write("photo.docx", &std::fs::read(fixtures().join("libreoffice-media/figure-01.png")).unwrap());
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(4096, 0);
    let doc = write("old.doc", &ole);
    let cases: [(&Path, &str); 4] = [
        (&png, "not a Word document (.docx): it is a PNG image"),
        (&doc, "Word 97–2003 document (.doc)"),
        (Path::new("missing.docx"), "cannot read missing.docx"),
        (&fixtures().join("make_fixtures.py"), "not a Word document"),
    ];
    for (file, says) in cases {
        let (code, out, err) = import(&project, &[file.to_str().unwrap()]);
        assert_eq!(code, 2, "{file:?}: {out}{err}");
        assert!(err.contains(says), "{file:?}: {err}");
        assert!(!err.contains("caused by"), "said once: {err}");
    }

    // A picture over [images] limits, and a folder that exists: refused, the existing one untouched.
    let document = fixtures().join("libreoffice.docx");
    let config = project.read("publish.toml");
    project.write("publish.toml", &config.replace("max_megapixels = 100", "max_megapixels = 0.0001"));
    let (code, _, err) = import(&project, &[document.to_str().unwrap(), "--date", "2026-12-22"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("picture figure-01.png") && err.contains("max_megapixels"), "{err}");
    project.write("publish.toml", &config);
    assert_eq!(crate::support::snapshot_tree(&project.path().join("content")), before, "nothing written");
    let staging = project.path().join(".wxpub/tmp");
    assert!(!staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(), "no staging left");

    let (code, out, err) = import(&project, &[document.to_str().unwrap(), "--date", "2026-12-22"]);
    assert_eq!(code, 0, "{out}{err}");
    let index = project.path().join("content/articles/2026-12-22-xiu-fu-zha-ji/index.md");
    std::fs::write(&index, "---\ntitle: 编辑改过\n---\n").unwrap();
    let (code, _, err) = import(&project, &[document.to_str().unwrap(), "--date", "2026-12-22"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists; choose another title or date"), "{err}");
    assert_eq!(std::fs::read_to_string(&index).unwrap(), "---\ntitle: 编辑改过\n---\n", "not overwritten");
}

/// Posters and topic pages import too: their own image key, typography normalised as for
/// articles (their front matter differs, the body is fixed the same way), and they build.
#[test]
fn a_manuscript_imports_as_a_poster_or_a_topic_page_too() {
    let project = TestProject::example();
    let documents = tempfile::tempdir().unwrap();
    let manuscript = python_docx_manuscript(documents.path());
    let (code, out, err) = import(&project, &[manuscript.to_str().unwrap(), "--kind", "topic", "--date", "2026-12-23"]);
    assert_eq!(code, 0, "{out}{err}");
    let topic = project.read("content/topics/2026-12-23-qing-tong-qi-li-de-shang-dai/index.md");
    assert!(topic.contains("cover: figure-01.png") && topic.contains("gather:"), "{topic}");
    assert!(topic.contains("距今约 3000 年") && out.contains("normalised"), "typography fixed in a topic: {out}");

    let document = fixtures().join("libreoffice.docx");
    let (code, out, err) = import(&project, &[document.to_str().unwrap(), "--kind", "poster", "--date", "2026-12-24"]);
    assert_eq!(code, 0, "{out}{err}");
    let poster = project.read("content/posters/2026-12-24-xiu-fu-zha-ji/index.md");
    assert!(poster.contains("image: figure-01.png"), "{poster}");
    let built = project.wxpub().arg("build").output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
}
