//! The acceptance fixtures: a manuscript written by python-docx (made at test time by
//! tests/fixtures/docx/make_fixtures.py) and one saved by LibreOffice (committed).
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{fixtures, html, read, report};
use wxpub_docx::UnconvertedKind::*;
use wxpub_docx::{ImageFormat, Manuscript};

/// Generated once per test run, into Cargo's scratch folder for integration tests.
fn python_docx_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docx-fixtures");
        let script = fixtures().join("make_fixtures.py");
        let output = Command::new("python3").arg(&script).arg(&dir).output().unwrap_or_else(|e| {
            panic!("python3 could not be started ({e}): install Python 3 and `pip install python-docx`")
        });
        assert!(
            output.status.success(),
            "{} failed — is python-docx installed? `pip install python-docx`\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
}

fn python_docx() -> &'static Manuscript {
    static MANUSCRIPT: OnceLock<Manuscript> = OnceLock::new();
    MANUSCRIPT.get_or_init(|| read(&std::fs::read(python_docx_dir().join("manuscript.docx")).unwrap()))
}

fn libreoffice() -> &'static Manuscript {
    static MANUSCRIPT: OnceLock<Manuscript> = OnceLock::new();
    MANUSCRIPT.get_or_init(|| read(&std::fs::read(fixtures().join("libreoffice.docx")).unwrap()))
}

fn assert_contains(markdown: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(markdown.contains(w), "missing {w:?} in:\n{markdown}");
    }
}

#[test]
fn python_docx_properties_title_and_digest() {
    let m = python_docx();
    assert_eq!(m.title.as_deref(), Some("青铜器里的商代"));
    assert_eq!(m.author.as_deref(), Some("王立"));
    assert_eq!(m.first_heading.as_deref(), Some("青铜器里的商代"));
    // Half-width punctuation is kept: the CLI's typography fix normalises it.
    assert_eq!(m.first_paragraph.as_deref(), Some("本次展览展出商代晚期青铜器,距今约3000年.器物包括鼎(礼器)、觚和爵!"));
    // The Title paragraph repeats the title property: it is not in the body.
    assert!(!m.markdown.contains("青铜器里的商代"), "{}", m.markdown);
}

#[test]
fn python_docx_headings_formatting_and_breaks() {
    let md = &python_docx().markdown;
    assert!(md.starts_with("## 展览介绍\n\n"), "{md}");
    assert_contains(
        md,
        &[
            "\n### 展品清单\n",
            "\n#### 器物表\n",
            "格式：**粗体**、*斜体*、<u>下划线</u>、~~删除线~~、***粗斜体***和 \\*星号\\* 与 \\[方括号\\]。",
            "\n**连续粗体**之后是普通文字。\n",
            "\n第一行\\\n第二行\n",
        ],
    );
    let html = html(md);
    assert_contains(
        &html,
        &[
            "<h2>展览介绍</h2>",
            "<strong>粗体</strong>",
            "<em>斜体</em>",
            "<u>下划线</u>",
            "<del>删除线</del>",
            "<em><strong>粗斜体</strong></em>",
            "和 *星号* 与 [方括号]",
            "第一行<br />\n第二行",
        ],
    );
    assert!(!html.contains("**") && !html.contains("~~"), "a marker was not read:\n{html}");
}

#[test]
fn python_docx_lists_nest_and_keep_words_numbers() {
    let md = &python_docx().markdown;
    assert_contains(
        md,
        &[
            "\n- 鼎\n  - 方鼎\n  - 圆鼎\n- 觚\n",
            "1. 第一步：清洗\n   1. 去除锈蚀\n2. 第二步：补配\n\n列表之间的段落。\n\n",
            // Word numbers on after the paragraph; the list restarted at 5 is a list of its own.
            "\n3. 第三步：做旧\n5) 第五件\n6) 第六件\n",
        ],
    );
    let html = html(md);
    assert_contains(
        &html,
        &["<li>鼎\n<ul>\n<li>方鼎</li>", "<ol start=\"3\">\n<li>第三步：做旧</li>\n</ol>\n<ol start=\"5\">"],
    );
}

#[test]
fn python_docx_table_writes_merged_cells_out() {
    let md = &python_docx().markdown;
    assert_contains(
        md,
        &[
            "| 名称 | 年代 | 尺寸 |\n| --- | --- | --- |\n",
            "| 后母戊鼎 | 商代晚期 | 133 cm<br>通耳高 \\| 133 cm |\n",
            "| 四羊方尊 | 商代晚期 | 58.3 cm |\n",
            // vMerge: the cell below repeats the merged text.
            "| 龙虎尊 | 商代晚期 | 50.5 cm |\n",
            // gridSpan: one cell over three columns.
            "| 尺寸为通高 | 尺寸为通高 | 尺寸为通高 |",
        ],
    );
    let html = html(md);
    assert_contains(&html, &["<th>名称</th>", "<td>133 cm<br>通耳高 | 133 cm</td>", "<td>龙虎尊</td>"]);
}

#[test]
fn python_docx_links_notes_quotes() {
    let md = &python_docx().markdown;
    assert_contains(
        md,
        &[
            "详见[国家博物馆网站](https://www.example.org/bronze?id=1)。铭文释读[^1]，年代测定[^2]。",
            "\n> 器物上铸有铭文，记录了祭祀。\n",
            "\n[^1]: 参见*殷墟发掘报告*\n",
            "\n[^2]: 碳十四测年数据。\n",
        ],
    );
    let html = html(md);
    assert_contains(
        &html,
        &["<a href=\"https://www.example.org/bronze?id=1\">国家博物馆网站</a>", "<blockquote>", "footnote-definition"],
    );
}

#[test]
fn python_docx_images_with_alt_caption_and_bytes() {
    let m = python_docx();
    let names: Vec<&str> = m.images.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(names, ["figure-01.png", "figure-02.jpg", "figure-03.png"], "the repeated image is one file");
    for figure in &m.images {
        let embedded = std::fs::read(python_docx_dir().join("manuscript-media").join(&figure.file_name)).unwrap();
        assert!(figure.bytes == embedded, "{} differs from the embedded image", figure.file_name);
    }
    assert_eq!(m.images[1].format, ImageFormat::Jpeg);
    assert_eq!(m.images[0].alt.as_deref(), Some("红色的鼎"));
    assert_eq!(m.images[0].caption.as_deref(), Some("图1 后母戊鼎"));
    assert_contains(
        &m.markdown,
        &[
            "\n![红色的鼎](figure-01.png \"图1 后母戊鼎\")\n",
            "\n![四羊方尊](figure-02.jpg \"四羊方尊的侧面\")\n",
            "\n![](figure-03.png \"Figure 3. The same image, shown again below.\")\n",
            "\n![红色的鼎（重复）](figure-01.png)\n",
        ],
    );
    // A caption becomes the figure's; it is not repeated as a paragraph.
    assert_eq!(m.markdown.matches("图1 后母戊鼎").count(), 1);
    assert_contains(&html(&m.markdown), &["<img src=\"figure-01.png\" alt=\"红色的鼎\" title=\"图1 后母戊鼎\" />"]);
}

#[test]
fn python_docx_report_lists_what_has_no_markdown_form() {
    let m = python_docx();
    assert_contains(&m.markdown, &["\n修订：新增的词。共5页。面积 S=πr<sup>2</sup>。\n"]);
    assert!(!m.markdown.contains("删掉的词"));
    let last = 41;
    assert_eq!(
        report(m),
        [
            (TrackedChange, last, true),
            (TrackedChange, last, false),
            (Field, last, true),
            (Equation, last, true),
            (Comment, last, false)
        ]
    );
    assert_eq!(m.report[0].snippet, "新增的词");
    assert_eq!(m.report[1].snippet, "删掉的词");
    assert!(m.report[2].detail.contains("NUMPAGES"), "{:?}", m.report[2]);
    assert_eq!(m.report[3].snippet, "S=πr2");
    assert_eq!(m.report[4].detail, "李文: 请核对页数");
    assert_eq!(m.report[4].to_string(), "paragraph 41: comment (李文: 请核对页数) at “。” — not in the body");
}

#[test]
fn libreoffice_manuscript_converts() {
    let m = libreoffice();
    assert_eq!((m.title.as_deref(), m.author.as_deref()), (Some("修复札记"), Some("李文")));
    assert_eq!(m.first_paragraph.as_deref(), Some("这件青铜鼎出土于殷墟，修复历时三个月。"));
    let md = &m.markdown;
    assert!(md.starts_with("这件青铜鼎出土于殷墟，修复历时三个月。\n\n## 修复过程\n\n"), "{md}");
    assert_contains(
        md,
        &[
            // Tracked changes: the final text.
            "\n清洗之后（新加入的文字）开始补配。保留的句子。\n",
            // The comment is not in the body.
            "\n铸造年代为商代晚期，器身有铭文。\n",
            "\n铭文见附录[^1]，释读参考了前人研究[^2]。\n",
            // The text box follows its paragraph.
            "\n修复前后的照片如下。\n\n文本框：修复前后对比\n",
            "\n![修复后的青铜鼎](figure-01.png \"图1 修复后的青铜鼎\")\n",
            "\n本页页码：1。面积公式：S=πr<sup>2</sup>。\n",
            "\n[^1]: 铭文拓片藏于本馆资料室。\n\n[^2]: 见《殷墟青铜器》第三章。\n",
        ],
    );
    assert!(!md.contains("已删除的句子") && !md.contains("请核对年代"));
    // Word-style documents hold a text box twice (mc:Choice and mc:Fallback): once in the body.
    assert_eq!(md.matches("文本框：修复前后对比").count(), 1);
    let embedded = std::fs::read(fixtures().join("libreoffice-media/figure-01.png")).unwrap();
    assert!(m.images.len() == 1 && m.images[0].bytes == embedded);
}

#[test]
fn libreoffice_report_lists_changes_comment_text_box_field_equation() {
    let m = libreoffice();
    assert_eq!(
        report(m),
        [
            (TrackedChange, 4, true),
            (TrackedChange, 4, false),
            (Comment, 5, false),
            (TextBox, 7, true),
            (Field, 10, true),
            (Equation, 10, true)
        ]
    );
    let comment = &m.report[2];
    assert_eq!((comment.snippet.as_str(), comment.detail.as_str()), ("铸造年代为商代晚期", "王立: 请核对年代"));
    assert_eq!(m.report[3].snippet, "文本框：修复前后对比");
    assert!(m.report[4].detail.starts_with("PAGE"), "{:?}", m.report[4]);
}

/// The speed target: a 50-page manuscript with 40 photos (about 25,000 characters, 22 MB)
/// imports in under 2 s. Needs Pillow to make the photos. Run it optimised to see the reader's
/// own time: `cargo test --release --test fixtures -- --ignored --nocapture big`.
#[test]
#[ignore]
fn big_manuscript_reads_well_under_two_seconds() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docx-big");
    let output =
        Command::new("python3").arg(fixtures().join("make_fixtures.py")).arg("--big").arg(&dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bytes = std::fs::read(dir.join("big.docx")).unwrap();
    let started = std::time::Instant::now();
    let m = read(&bytes);
    let elapsed = started.elapsed();
    println!(
        "big.docx: {} MB, {} images, read in {:.0} ms",
        bytes.len() >> 20,
        m.images.len(),
        elapsed.as_secs_f64() * 1e3
    );
    assert_eq!(m.images.len(), 40);
    assert!(elapsed.as_secs_f64() < 2.0, "{elapsed:?}");
}
