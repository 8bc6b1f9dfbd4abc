//! The shared PostgreSQL store (issue #25): twenty museums × two accounts × one year of
//! statistics, pulled at once into one PostgreSQL database from a sandbox answering every call
//! after 50 ms; then the network report over the twenty schemas.
//!
//! Run: `source .ci/postgres.sh && cargo bench --bench network` (any scratch database named by
//! `WXPUB_TEST_PG_URL` will do; the bench creates and drops its own schemas).
//! `WXPUB_BENCH_SQLITE=1` runs the same pulls into twenty SQLite files instead, for comparison.
mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use wxpub::metrics::Store;
use wxpub::metrics::store::{StoreTarget, test_support};
use wxpub::sandbox::{SandboxOptions, spawn};
use wxpub::wechat::types::Datacube;

const MUSEUMS: usize = 20;

fn main() {
    let Ok(url) = std::env::var("WXPUB_TEST_PG_URL") else {
        eprintln!("set WXPUB_TEST_PG_URL to a scratch PostgreSQL database (`source .ci/postgres.sh` starts one)");
        std::process::exit(2);
    };
    let wxpub = env!("CARGO_BIN_EXE_wxpub");
    let defaults = SandboxOptions::default();
    let today: chrono::NaiveDate = "2026-11-25".parse().unwrap();
    let sandbox = spawn(SandboxOptions { latency_ms: 50, today: Some(today), ..SandboxOptions::default() }).unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..MUSEUMS).map(|_| tempfile::tempdir().unwrap()).collect();
    let schemas: Vec<String> = (0..MUSEUMS).map(|n| test_support::fresh_schema(&format!("bench{n:02}"))).collect();
    let sqlite = std::env::var_os("WXPUB_BENCH_SQLITE").is_some();
    for (dir, schema) in dirs.iter().zip(&schemas) {
        common::project_skeleton(dir.path());
        if sqlite {
            continue;
        }
        let config = std::fs::read_to_string(dir.path().join("publish.toml")).unwrap();
        let metrics = format!("\n[metrics]\ndb = \"{url}\"\nschema = \"{schema}\"\n");
        std::fs::write(dir.path().join("publish.toml"), config + &metrics).unwrap();
    }
    let started = Instant::now();
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            Command::new(wxpub)
                .current_dir(dir.path())
                .args(["stats", "pull", "--since", "2025-11-25", "--until", "2026-11-24"])
                .env("WXPUB_API_BASE", &sandbox.base_url)
                .env("WXPUB_SERVICE_APPID", &defaults.appid)
                .env("WXPUB_SERVICE_SECRET", &defaults.secret)
                .env("WXPUB_SUBSCRIPTION_APPID", &defaults.appid)
                .env("WXPUB_SUBSCRIPTION_SECRET", &defaults.secret)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    let targets: Vec<StoreTarget> = dirs
        .iter()
        .zip(&schemas)
        .map(|(dir, schema)| match sqlite {
            true => StoreTarget::Sqlite(dir.path().join(".wxpub/metrics.db")),
            false => StoreTarget::Postgres { url: url.clone(), schema: schema.clone(), password_env: None },
        })
        .collect();
    for target in &targets {
        let store = Store::open_read_only(target).unwrap();
        rows.push(Datacube::ALL.iter().map(|d| store.count_rows(*d, None).unwrap()).sum::<u64>());
    }
    assert!(rows.iter().all(|r| *r == rows[0] && *r > 0), "every museum has the same rows: {rows:?}");
    println!(
        "stats pull into {}: {MUSEUMS} museums × 2 accounts × one year at once, 50 ms per call: {seconds:.1} s wall, {} rows in all ({} per museum)",
        if sqlite { "twenty SQLite files" } else { "PostgreSQL" },
        rows.iter().sum::<u64>(),
        rows[0]
    );

    let network = tempfile::tempdir().unwrap();
    let mut toml = String::new();
    for (n, target) in targets.iter().enumerate() {
        toml += &match target {
            StoreTarget::Postgres { schema, .. } => {
                format!("[museums.m{n:02}]\nname = \"博物馆 {n:02}\"\ndb = \"{url}\"\nschema = \"{schema}\"\n")
            }
            StoreTarget::Sqlite(path) => {
                format!("[museums.m{n:02}]\nname = \"博物馆 {n:02}\"\ndb = \"{}\"\n", path.display())
            }
        };
    }
    std::fs::write(network.path().join("network.toml"), toml).unwrap();
    let started = Instant::now();
    let output = Command::new(wxpub)
        .current_dir(network.path())
        .args(["report", "network", "--museums", "network.toml", "--year", "2026", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    println!("report network over the {MUSEUMS} museums: {:.2} s", started.elapsed().as_secs_f64());
    for schema in &schemas {
        test_support::drop_schema(&url, schema);
    }
}
