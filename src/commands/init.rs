//! `wxpub init` (a new project that builds at once) and `wxpub new` (a dated item folder).
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::config::Config;

/// The default layouts and theme, as shipped in this repository's `layouts/`.
const LAYOUTS: [(&str, &str); 10] = [
    ("layouts/article.html", include_str!("../../examples/museum/layouts/article.html")),
    ("layouts/poster.html", include_str!("../../examples/museum/layouts/poster.html")),
    ("layouts/topic.html", include_str!("../../examples/museum/layouts/topic.html")),
    (
        "layouts/partials/header-service.html",
        include_str!("../../examples/museum/layouts/partials/header-service.html"),
    ),
    (
        "layouts/partials/header-subscription.html",
        include_str!("../../examples/museum/layouts/partials/header-subscription.html"),
    ),
    ("layouts/partials/footer.html", include_str!("../../examples/museum/layouts/partials/footer.html")),
    ("layouts/partials/references.html", include_str!("../../examples/museum/layouts/partials/references.html")),
    ("layouts/themes/museum.toml", include_str!("../../examples/museum/layouts/themes/museum.toml")),
    ("layouts/themes/modern.toml", include_str!("../../examples/museum/layouts/themes/modern.toml")),
    ("layouts/themes/ink.toml", include_str!("../../examples/museum/layouts/themes/ink.toml")),
];

fn config_text(name: &str) -> String {
    let name = name.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"# wxpub project configuration. Every key is checked: a typo is an error with a suggestion.
# Reference: docs/operators-guide.md (accounts, secrets, CI) and docs/editors-guide.md.

[site]
name = "{name}"
timezone = "Asia/Shanghai"     # publish_at times in content/ are read in this zone
theme = "museum"               # layouts/themes/museum.toml
output_dir = "dist"

# 服务号: four mass sends a month. mode: publish (发布, no notification), masssend (群发) or draft.
[accounts.service]
name = "{name}"
kind = "service"
appid_env = "WXPUB_SERVICE_APPID"      # NAMES of environment variables, never the values
secret_env = "WXPUB_SERVICE_SECRET"
mode = "draft"
header = "partials/header-service.html"
footer = "partials/footer.html"

# 订阅号: one mass send a day.
[accounts.subscription]
name = "{name}"
kind = "subscription"
appid_env = "WXPUB_SUBSCRIPTION_APPID"
secret_env = "WXPUB_SUBSCRIPTION_SECRET"
mode = "draft"
header = "partials/header-subscription.html"
footer = "partials/footer.html"

[images]
max_width = 1080        # body images are scaled down to this width, never up

# Statistics (`wxpub stats pull`, `wxpub report`).
[metrics]
db = ".wxpub/metrics.db"
# Shared by a team or a network of museums instead (see docs/reporting-guide.md):
# db = "postgres://museum@stats.example.org/museums"   # never with a password
# schema = "our_museum"                                 # this museum's namespace there
# password_env = "WXPUB_PG_PASSWORD"                    # the variable holding the password

# The museum's WeChat services, checked by `wxpub monitor` as evidence for the yearly form
# (功能服务稳定度, 安全运行保障率; see docs/operators-guide.md).
# [monitor]
# every = "5m"
# [[monitor.check]]
# name = "预约"
# url = "https://booking.museum.example/"
# expect_text = "预约"

# `wxpub mcp` (an AI assistant's access, see docs/editors-guide.md): the tools that reach WeChat
# are off until named here; previews go to [publish] reviewers only.
# [mcp]
# allow = ["send_preview", "reply_comment"]

# Yearly targets scored by `wxpub report annual` (see docs/reporting-guide.md).
# [targets.2026]
# pushes = {{ value = 120, weight = 20 }}
"#
    )
}

const EXAMPLE_ARTICLE: &str = r#"---
title: 欢迎来到博物馆
author: 公众号编辑部
digest: 这是 wxpub 新建项目里的示例文章，可以直接修改或删除。
cover: cover.jpg
account: service
# publish_at: 2026-12-01 08:00     # when to publish (site time zone); leave out while drafting
tags: [示例]
---

这是一篇示例文章。用 Markdown 写作，`wxpub build` 把它变成公众号能用的 HTML，
`wxpub preview` 在手机宽度下实时预览。

## 可以写什么

- 小标题、列表、表格和引用
- 图片与图注（图片放在文章目录里）
- 文物卡片、展览信息等博物馆组件，写法见 docs/editors-guide.md

> 每篇文章一个目录：`index.md` 加上它用到的图片。

```artifact
name: 示例文物
period: 商代晚期
material: 青铜
number: 示例-0001
```
"#;

/// A calm generated cover (a warm gradient with a horizon), so the example builds with no
/// image of anyone else's.
fn example_cover() -> Vec<u8> {
    let (width, height) = (1080u32, 460u32);
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let t = y as f32 / height as f32;
        let horizon = (height as f32 * 0.62 + (x as f32 / 90.0).sin() * 14.0) as u32;
        if y > horizon {
            image::Rgb([(120.0 - 30.0 * t) as u8, (84.0 - 20.0 * t) as u8, (52.0 - 10.0 * t) as u8])
        } else {
            image::Rgb([(236.0 - 40.0 * t) as u8, (214.0 - 60.0 * t) as u8, (178.0 - 70.0 * t) as u8])
        }
    });
    let mut bytes = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85);
    image::DynamicImage::ImageRgb8(image).write_with_encoder(encoder).expect("encoding to memory");
    bytes
}

pub fn init(dir: &Path, name: &str) -> Result<ExitCode> {
    let today = crate::util::clock::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let article = format!("content/articles/{today}-welcome");
    let files: Vec<(String, Vec<u8>)> = [
        ("publish.toml".to_string(), config_text(name).into_bytes()),
        (".gitignore".to_string(), b".wxpub/\ndist/\n".to_vec()),
        (format!("{article}/index.md"), EXAMPLE_ARTICLE.as_bytes().to_vec()),
        (format!("{article}/cover.jpg"), example_cover()),
    ]
    .into_iter()
    .chain(LAYOUTS.iter().map(|(path, text)| (path.to_string(), text.as_bytes().to_vec())))
    .collect();
    let existing: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).filter(|p| dir.join(p).exists()).collect();
    if !existing.is_empty() {
        bail!(
            "{} already has {}; wxpub init never overwrites files — pick an empty folder",
            dir.display(),
            existing.join(", ")
        );
    }
    for (path, bytes) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("cannot write {}", target.display()))?;
    }
    let shown = if dir == Path::new(".") { String::new() } else { format!("cd {} && ", dir.display()) };
    println!("created a wxpub project in {} ({} files)", dir.display(), files.len());
    println!("next: {shown}wxpub preview    # see the example article at phone width");
    println!("      wxpub new article \"标题\" --date {today}");
    Ok(ExitCode::SUCCESS)
}

/// `wxpub new`: creates the item folder and its `index.md`; returns the folder.
pub fn new_item(
    project: &Path,
    kind: &str,
    title: &str,
    date: Option<chrono::NaiveDate>,
    account: Option<&str>,
) -> Result<PathBuf> {
    let config = Config::load(project)?;
    let kind =
        crate::content::Kind::from_name(kind).with_context(|| format!("`{kind}` is not article, poster or topic"))?;
    let now = crate::util::clock::now();
    let created = crate::content::new::create(project, &config, kind, title, date, account, now)?;
    println!("created {}", created.index.display());
    println!("next: put {} in that folder, write, then `wxpub preview`", created.image);
    for warning in &created.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(created.folder)
}
