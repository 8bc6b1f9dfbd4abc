//! Snapshot tests of the renderer: representative Markdown constructs and every component,
//! rendered with the bundled layouts and museum theme (review changes with `cargo insta review`).
use std::path::PathBuf;

use wxpub::config::Config;
use wxpub::content::{Kind, parse_item};
use wxpub::render::{ImageRole, ImageSink, Layouts, RenderError};

use crate::support::repo_root;

/// Resolves every image to `images/<name>` without touching the disk.
struct NameSink;

impl ImageSink for NameSink {
    fn request(&mut self, src: &str, _line: usize, _role: ImageRole) -> Result<String, RenderError> {
        Ok(format!("images/{src}"))
    }
}

fn render(body: &str) -> String {
    let root = repo_root();
    let config = Config::load(&root).unwrap();
    let layouts = Layouts::load(&root.join("layouts"), &config).unwrap();
    let source = format!("---\ntitle: 快照\naccount: subscription\n---\n{body}");
    let item =
        parse_item(Kind::Article, "snap".into(), PathBuf::from("."), PathBuf::from("snap/index.md"), source).unwrap();
    let rendered = layouts.render_item(&item, &config, &[], &mut NameSink).unwrap();
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
        "![庭院](garden.jpg \"博物馆庭院\")\n\n行内图 ![图标](icon.png) 在文字中。\n\n```rust\nfn main() {\n    println!(\"青铜\");\n}\n```\n"
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
    let root = repo_root();
    let config = Config::load(&root).unwrap();
    let layouts = Layouts::load(&root.join("layouts"), &config).unwrap();
    let source =
        "---\ntitle: t\naccount: service\n---\n\n```artifact\nname: 鼎\nperiod: 商\nmaterail: 青铜\n```\n".to_string();
    let item = parse_item(Kind::Article, "x".into(), PathBuf::from("."), PathBuf::from("x/index.md"), source).unwrap();
    let err = layouts.render_item(&item, &config, &[], &mut NameSink).unwrap_err().to_string();
    assert!(err.starts_with("x/index.md:9:"), "{err}");
    assert!(err.contains("did you mean `material`"), "{err}");
}
