//! Metrics speed (issue #7):
//! 1. `wxpub stats pull` of one year for two accounts from the sandbox with 50 ms latency on
//!    every call (target ≤ 15 s wall);
//! 2. `wxpub report annual --format html` over three years of stored statistics and 900
//!    recorded publications (target ≤ 1 s).
//!
//! Run: `cargo bench --bench metrics`.
mod common;

use std::process::Command;
use std::time::Instant;

use wxpub::metrics::{Publication, Store};
use wxpub::sandbox::{SandboxOptions, spawn};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path();
    common::project_skeleton(project);
    let wxpub = env!("CARGO_BIN_EXE_wxpub");
    let defaults = SandboxOptions::default();
    let today: chrono::NaiveDate = "2026-11-25".parse().unwrap();
    let run = |base: &str, args: &[&str]| {
        let start = Instant::now();
        let output = Command::new(wxpub)
            .current_dir(project)
            .args(args)
            .env("WXPUB_API_BASE", base)
            .env("WXPUB_SERVICE_APPID", &defaults.appid)
            .env("WXPUB_SERVICE_SECRET", &defaults.secret)
            .env("WXPUB_SUBSCRIPTION_APPID", &defaults.appid)
            .env("WXPUB_SUBSCRIPTION_SECRET", &defaults.secret)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        (start.elapsed().as_secs_f64(), String::from_utf8_lossy(&output.stdout).into_owned())
    };

    // 1. One year, two accounts, 50 ms per call.
    let slow = spawn(SandboxOptions { latency_ms: 50, today: Some(today), ..SandboxOptions::default() }).unwrap();
    let (pull_seconds, out) = run(&slow.base_url, &["stats", "pull", "--since", "2025-11-25", "--until", "2026-11-24"]);
    println!("stats pull: one year × 2 accounts, 50 ms latency per call: {pull_seconds:.1} s wall (target ≤ 15 s)");
    print!("  {out}");
    drop(slow);

    // 2. Three years of statistics (no latency: this part times the report, not the pull) and
    // 900 publications, then the annual report as HTML.
    let fast = spawn(SandboxOptions { today: Some(today), ..SandboxOptions::default() }).unwrap();
    run(&fast.base_url, &["stats", "pull", "--since", "2023-11-25", "--until", "2026-11-24"]);
    let mut store = Store::open(&project.join(".wxpub/metrics.db")).unwrap();
    let publications: Vec<Publication> = (0..900)
        .map(|i| Publication {
            account: if i % 2 == 0 { "service" } else { "subscription" }.into(),
            item: format!("articles/bench-{i:04}"),
            slot: format!("{}-{:02}-{:02} 08:00", 2024 + i / 300, i % 12 + 1, i % 28 + 1),
            title: format!("基准文章 {i}"),
            kind: ["article", "poster", "topic"][i % 3].into(),
            mode: "publish".into(),
            pushed_at: "2026-01-01T00:00:00Z".into(),
            url: Some(format!("https://mp.weixin.qq.com/s/bench{i}")),
            illustrations: (i % 3) as u32,
            video_seconds: (i % 5 * 60) as u32,
            animation_seconds: (i % 7 * 10) as u32,
            live: i % 40 == 0,
            msgid: Some(format!("{}_{}", 2_247_000_000 + i / 2, i % 2 + 1)),
            position: (i % 2 + 1) as u32,
            tags: vec!["基准".into()],
        })
        .collect();
    store.record_publications(&publications).unwrap();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let (seconds, _) =
            run(&fast.base_url, &["report", "annual", "--year", "2025", "--format", "html", "--out", "annual.html"]);
        best = best.min(seconds);
    }
    println!(
        "report annual: 3 years stored, 900 publications, HTML: {best:.3} s best of 5, whole process (target ≤ 1 s)"
    );
}
