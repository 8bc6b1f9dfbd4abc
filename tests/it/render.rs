//! Snapshot tests of the renderer: representative Markdown constructs and every component,
//! rendered with the bundled layouts and museum theme (review changes with `cargo insta review`).
use std::path::PathBuf;

use wxpub::config::Config;
use wxpub::content::{Kind, parse_item};
use wxpub::render::{ImageRequestError, ImageRole, ImageSink, Layouts};

/// Resolves every image to `images/<name>` without touching the disk.
struct NameSink;

impl ImageSink for NameSink {
    fn request(&mut self, src: &str, _line: usize, _role: ImageRole) -> Result<String, ImageRequestError> {
        Ok(format!("images/{src}"))
    }
}

fn render(body: &str) -> String {
    let root = crate::support::example_root();
    let config = Config::load(&root).unwrap();
    let layouts = Layouts::load(&root.join("layouts"), &config).unwrap();
    let source = format!("---\ntitle: 快照\naccount: subscription\n---\n{body}");
    let item =
        parse_item(Kind::Article, "snap".into(), PathBuf::from("."), PathBuf::from("snap/index.md"), source).unwrap();
    let rendered = layouts.render_item(&item, &config, &[], &Default::default(), &mut NameSink).unwrap();
    // One tag per line, so that a change shows up as a readable diff.
    rendered.html.replace("><", ">\n<")
}

macro_rules! snapshot {
    ($name:literal, $body:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, render($body));
        });
    };
}

#[test]
fn markdown_constructs() {
    snapshot!(
        "markdown_constructs",
        r#"# 一级标题

## 二级标题

正文有 **粗体**、*斜体*、~~删除线~~、`行内代码`，
以及跨行的中文软换行；English words
keep a space.

> 引用：青铜器不只是“器”。

1. 第一步
2. 第二步
   - 嵌套一
   - 嵌套二

- [x] 已完成
- [ ] 未完成

| 左 | 中 | 右 |
| :-- | :-: | --: |
| a | b | c |

脚注引用[^a]。

---

[^a]: 脚注内容。
"#
    );
}

#[test]
fn links_become_references_except_wechat_articles() {
    snapshot!(
        "links",
        "见[考古报告](https://example.cn/report)和[往期推文](https://mp.weixin.qq.com/s/abc)，\
         再次提到[考古报告](https://example.cn/report)，站内[另一篇](../other/)，\
         以及 <https://example.org/auto>。\n"
    );
}

#[test]
fn images_and_code() {
    snapshot!(
        "images_and_code",
        "![庭院](garden.jpg \"博物馆庭院\")\n\n行内图 ![图标](icon.png) 在文字中。\n\n```rust\nfn main() {\n    println!(\"青铜\");\n}\n```\n\n\
         ```python\n# 湿度超限\ndef alerts(readings):\n\treturn [f\"{r.room}\" for r in readings if r.humidity > 60]\n```\n"
    );
}

#[test]
fn components() {
    snapshot!(
        "components",
        r#"```artifact
name: 兽面纹青铜鼎
period: 商代晚期
material: 青铜
dimensions: 通高 38 厘米
number: QZM-2024-0032
image: ding.jpg
description: 立耳，深腹。
```

```exhibition
title: 青铜时代
dates: 2026.12.01—2027.03.31
venue: 一号展厅
booking: 免费预约
```

```gallery
columns: 3
images:
  - { src: a.jpg, caption: 正面 }
  - { src: b.jpg, caption: 背面 }
  - { src: c.jpg }
```

```note
第一段。

第二段。
```
"#
    );
}

#[test]
fn raw_html_is_sanitized() {
    snapshot!(
        "raw_html",
        "<section class=\"x\" id=\"y\" style=\"color: red; position: absolute\" onclick=\"a()\">保留<script>alert(1)</script></section>\n\n<div>div 被展开</div>\n"
    );
}

#[test]
fn component_errors_point_at_the_line() {
    let root = crate::support::example_root();
    let config = Config::load(&root).unwrap();
    let layouts = Layouts::load(&root.join("layouts"), &config).unwrap();
    let source =
        "---\ntitle: t\naccount: service\n---\n\n```artifact\nname: 鼎\nperiod: 商\nmaterail: 青铜\n```\n".to_string();
    let item = parse_item(Kind::Article, "x".into(), PathBuf::from("."), PathBuf::from("x/index.md"), source).unwrap();
    let err = layouts.render_item(&item, &config, &[], &Default::default(), &mut NameSink).unwrap_err().to_string();
    assert!(err.starts_with("x/index.md:9:"), "{err}");
    assert!(err.contains("did you mean `material`"), "{err}");
}

#[test]
fn interactive_components() {
    snapshot!(
        "interactive_components",
        r#"```reveal
cover: seal.jpg
title: 这枚印章刻的是谁的名字？
text: |
  答案：西汉齐王刘肥。印文“齐王之印”，篆书，白文。
image: seal-face.jpg
```

```reveal
title: 猜一猜
text: 这件器物用来温酒。
hint: 点这里看答案
```

```compare
before: before.jpg
after: after.jpg
aspect: "4:3"
```

```fold
title: 修复日记
text: |
  第一周：清理表面浮土，记录每一处锈色。
  第二周：拼对碎片，按纹饰走向确定位置。
  第三周：用可逆材料补配缺失部分。
  第四周：做旧，远看一致、近看可辨。
  第五周：入库前最后一次检查。
teaser_lines: 2
images:
  - src: day1.jpg
    caption: 第一天
```
"#
    );
}

fn render_error(body: &str) -> String {
    let root = crate::support::example_root();
    let config = Config::load(&root).unwrap();
    let layouts = Layouts::load(&root.join("layouts"), &config).unwrap();
    let source = format!("---\ntitle: t\naccount: service\n---\n\n{body}");
    let item = parse_item(Kind::Article, "x".into(), PathBuf::from("."), PathBuf::from("x/index.md"), source).unwrap();
    layouts.render_item(&item, &config, &[], &Default::default(), &mut NameSink).unwrap_err().to_string()
}

#[test]
fn interactive_component_errors_are_clear() {
    // An unknown option names the accepted ones.
    let err = render_error("```reveal\ntitle: t\ntext: x\nduration: 2s\n```\n");
    assert!(err.starts_with("x/index.md:9:") && err.contains("cover, title, image, text, hint"), "{err}");
    // A nested component is refused.
    let err = render_error("```reveal\ntitle: t\ntext: |\n  ```compare\n  before: a.jpg\n```\n");
    assert!(err.contains("cannot be nested"), "{err}");
    // Nothing to reveal, or a bad aspect.
    assert!(render_error("```reveal\ntitle: t\n```\n").contains("give what is revealed"));
    assert!(render_error("```compare\nbefore: a.jpg\nafter: b.jpg\naspect: wide\n```\n").contains("width:height"));
    // fold: nothing to fold, an unknown option, a teaser as long as the content, nesting.
    assert!(render_error("```fold\ntitle: t\n```\n").contains("give what is folded"));
    let err = render_error("```fold\ntext: x\nlines: 2\n```\n");
    assert!(err.contains("teaser_lines"), "{err}");
    let err = render_error("```fold\ntext: 只有一行。\n```\n");
    assert!(err.contains("no longer than its teaser"), "{err}");
    let err = render_error("```fold\ntext: |\n  ```reveal\n  title: t\n```\n");
    assert!(err.contains("cannot be nested"), "{err}");
}

#[test]
fn the_static_fallback_shows_every_state() {
    let html = render("```reveal\ntitle: 猜一猜\ntext: 温酒器。\n```\n").replace(">\n<", "><");
    let fallback = wxpub::render::components::static_fallback(&html);
    assert_eq!(fallback.matches("<svg").count(), 2, "cover, then what it reveals");
    assert!(!fallback.contains("<animate"));
    assert_eq!(fallback.matches("猜一猜").count(), 1, "the cover's title appears in the first state only");
    assert_eq!(fallback.matches("温酒器").count(), 2);

    // A fold: the teaser (folded height, hint), then the whole (open height, no teaser layer).
    let text = (1..=8).map(|n| format!("  第 {n} 段：修复记录。\n")).collect::<String>();
    let html = render(&format!("```fold\ntext: |\n{text}```\n")).replace(">\n<", "><");
    let folded: u32 = attribute(&html, "<svg data-wxpub=\"fold\"", "height").parse().unwrap();
    let open: u32 = attribute(&html, "<animate attributeName=\"height\"", "to").parse().unwrap();
    assert!(folded < open, "{folded} < {open}");
    let fallback = wxpub::render::components::static_fallback(&html);
    assert!(!fallback.contains("<animate") && !fallback.contains("<set"));
    let states: Vec<&str> = fallback.match_indices("<svg data-wxpub=\"fold\"").map(|(at, _)| &fallback[at..]).collect();
    assert_eq!(states.len(), 2, "teaser, then the whole");
    assert_eq!(attribute(states[0], "<svg", "height"), folded.to_string());
    assert_eq!(attribute(states[1], "<svg", "height"), open.to_string());
    assert_eq!(fallback.matches("展开全文").count(), 1, "the hint belongs to the folded state only");
    assert!(!states[1].contains("data-wxpub=\"teaser\""), "no teaser layer over the open state");
}

/// The value of `name` in the first tag starting with `tag`.
fn attribute<'h>(html: &'h str, tag: &str, name: &str) -> &'h str {
    let start = html.find(tag).unwrap_or_else(|| panic!("no {tag} in {html}"));
    let element = &html[start..start + html[start..].find('>').unwrap()];
    let value = &element[element.find(&format!(" {name}=\"")).unwrap() + name.len() + 3..];
    &value[..value.find('"').unwrap()]
}
