//! Check speed: `wxpub check` rules over 500 generated items (typical articles with a cover).
//!
//! Run: `cargo bench --bench check`. Target (issue #4): under 2 s on this machine.
mod common;

use std::time::Instant;

use wxpub::check::{CheckOptions, check_project};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    common::project_skeleton(dir.path());
    let count = 500;
    // A real 1200×700 cover per item: the rules read its header.
    let mut cover = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(1200, 700, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    }))
    .write_to(&mut cover, image::ImageFormat::Jpeg)
    .unwrap();
    let cover = cover.into_inner();
    for i in 0..count {
        let item = dir.path().join(format!("content/articles/item-{i:04}"));
        std::fs::create_dir_all(&item).unwrap();
        let mut text = format!(
            "---\ntitle: 基准文章 {i}\nauthor: 基准\ndigest: 一段摘要\ncover: cover.jpg\naccount: service\npublish_at: 2027-01-{:02} {:02}:00\n---\n\n",
            i % 28 + 1,
            i / 28
        );
        // About 1,500 Chinese characters: a typical museum article that fits WeChat's limits.
        while text.len() < 4 * 1024 {
            text.push_str("## 展品与故事\n\n这件青铜器出土于城南遗址，器身饰有**兽面纹**与云雷纹，共 120 件展品。");
            text.push_str("见[发掘简报](https://example.cn/report)与[往期推文](https://mp.weixin.qq.com/s/abc)。\n\n");
            text.push_str("| 项目 | 数值 |\n| --- | --- |\n| 通高 | 38 cm |\n\n- 清理\n- 拼对\n\n");
        }
        std::fs::write(item.join("index.md"), text).unwrap();
        std::fs::write(item.join("cover.jpg"), &cover).unwrap();
    }
    let options = CheckOptions { paths: Vec::new(), now: chrono::Utc::now(), fix: false };
    let start = Instant::now();
    let report = check_project(dir.path(), &options).expect("check runs");
    let seconds = start.elapsed().as_secs_f64();
    let mut by_rule = std::collections::BTreeMap::new();
    for d in &report.diagnostics {
        *by_rule.entry(d.rule.id()).or_insert(0) += 1;
    }
    println!("  diagnostics by rule: {by_rule:?}");
    println!(
        "check: {} items in {seconds:.3} s ({:.0} items/s), {} diagnostics",
        report.items_checked,
        report.items_checked as f64 / seconds,
        report.diagnostics.len()
    );
}
