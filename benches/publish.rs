//! Publish speed: 100 generated articles with 5 images and a cover each, published (not just
//! drafted) against the sandbox with 50 ms latency on every call.
//!
//! Run: `cargo bench --bench publish`. Target (issue #6): ≤ 40 s wall time.
mod common;

use std::process::Command;
use std::time::Instant;

use wxpub::sandbox::{SandboxOptions, spawn};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path();
    common::project_skeleton(project);
    // A hundred pushes due at once (a backlog, not a day's work): allow a status check for each,
    // inside freepublish/get's daily quota of 100.
    let config = std::fs::read_to_string(project.join("publish.toml")).unwrap();
    std::fs::write(project.join("publish.toml"), format!("{config}\n[publish]\nstatus_checks_per_run = 100\n"))
        .unwrap();
    let articles = 100;
    for i in 0..articles {
        let item = project.join(format!("content/articles/bench-{i:03}"));
        std::fs::create_dir_all(&item).unwrap();
        let mut text = format!(
            "---\ntitle: 基准文章 {i}\nauthor: 基准\ncover: cover.jpg\naccount: service\npublish_at: 2026-11-{:02} {:02}:00\n---\n\n",
            i % 20 + 1,
            i / 20 + 8
        );
        for k in 0..6 {
            // Distinct images (the pixels depend on i and k), so nothing is deduplicated.
            let (i32v, k32) = (i as u32, k as u32);
            let image = image::RgbImage::from_fn(900, 600, |x, y| {
                image::Rgb([(x + i32v * 7) as u8, (y + k32 * 31) as u8, ((x ^ y) + i32v) as u8])
            });
            let name = if k == 0 { "cover.jpg".to_string() } else { format!("photo-{k}.jpg") };
            image::DynamicImage::ImageRgb8(image).save(item.join(&name)).unwrap();
            if k > 0 {
                text.push_str(&format!("第 {k} 张照片。\n\n![照片 {k}]({name})\n\n"));
            }
        }
        std::fs::write(item.join("index.md"), text).unwrap();
    }
    let wxpub = env!("CARGO_BIN_EXE_wxpub");
    let build = Instant::now();
    let status = Command::new(wxpub).current_dir(project).args(["build", "--quiet"]).status().unwrap();
    assert!(status.success());
    let build_seconds = build.elapsed().as_secs_f64();

    let sandbox = spawn(SandboxOptions { latency_ms: 50, publish_delay_ms: 0, ..SandboxOptions::default() }).unwrap();
    let defaults = SandboxOptions::default();
    let start = Instant::now();
    let output = Command::new(wxpub)
        .current_dir(project)
        .args(["publish", "--due", "--now", "2026-11-24 12:00", "--json"])
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .env("WXPUB_SERVICE_APPID", &defaults.appid)
        .env("WXPUB_SERVICE_SECRET", &defaults.secret)
        .output()
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    println!(
        "publish: {articles} articles × (5 images + cover), 50 ms latency per call: {seconds:.1} s wall (build with images beforehand: {build_seconds:.1} s)"
    );
}
