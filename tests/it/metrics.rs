//! `wxpub stats pull` and `wxpub report` against the sandbox on a loopback port, through the
//! real binary, into a real SQLite file.
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use wxpub::sandbox::{SandboxHandle, SandboxOptions};

use crate::browser::Browser;
use crate::support::TestProject;
use crate::wechat::{sandbox_state, script_faults, start};

const APPID: &str = "wxtest0000000001";
const SECRET: &str = "test-secret-0123456789";
const TABLES: [&str; 8] = [
    "user_summary",
    "user_cumulate",
    "article_summary",
    "article_total",
    "user_read",
    "user_read_hour",
    "user_share",
    "user_share_hour",
];

fn date(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

fn binary(project: &TestProject) -> Command {
    let mut command = crate::support::binary();
    command.current_dir(project.path());
    command
}

pub fn wxpub(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> (i32, String, String) {
    let output = env(binary(project), sandbox).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn env(mut command: Command, sandbox: &SandboxHandle) -> Command {
    command
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .env("WXPUB_SERVICE_APPID", APPID)
        .env("WXPUB_SERVICE_SECRET", SECRET)
        .env("WXPUB_SUBSCRIPTION_APPID", APPID)
        .env("WXPUB_SUBSCRIPTION_SECRET", SECRET)
        .env("WXPUB_RETRY_BASE_MS", "2")
        .env("WXPUB_QUIET_RETRIES", "1");
    command
}

/// The example project with both accounts publishing (not mass-sending: the sandbox's single
/// "today" would allow only one subscription mass send) and yearly targets.
pub fn example_project() -> TestProject {
    let project = TestProject::example();
    let config = project.read("publish.toml").replace("mode = \"masssend\"", "mode = \"publish\"");
    project.write(
        "publish.toml",
        &format!(
            "{config}\n[targets.2026]\n\
             pushes = {{ value = 6, weight = 20 }}\n\
             posters = {{ value = 4, weight = 10 }}\n\
             video_minutes = {{ value = 30, weight = 10 }}\n\
             service_stability = {{ value = 99, weight = 10 }}\n\
             budget = {{ value = 146.435, weight = 10, actual = 144.306, label = \"预算执行率\", level1 = \"成本指标\", level2 = \"经济成本指标\" }}\n"
        ),
    );
    project
}

/// Publishes every example item (at the end of 2026, then the new year's on 2027-01-02) on a
/// sandbox whose "today" is 2026-12-05 (the sandbox dates
/// publications by its today), then serves statistics from a sandbox on the same state whose
/// today is 2027-01-10: a year of data with the articles' reads in it.
pub fn published_example() -> (TestProject, SandboxHandle, tempfile::TempDir) {
    let project = example_project();
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("sandbox.db");
    let options = |today: &str| SandboxOptions {
        state: Some(state.clone()),
        today: Some(date(today)),
        publish_delay_ms: 50,
        appid: APPID.into(),
        secret: SECRET.into(),
        ..SandboxOptions::default()
    };
    {
        let sandbox = start(options("2026-12-05"));
        // Two runs, one in each year: the annual figures count the runs of their own year.
        for now in ["2026-12-31 09:00", "2027-01-02 09:00"] {
            let (code, out, err) = wxpub(&project, &sandbox, &["publish", "--due", "--now", now]);
            assert_eq!(code, 0, "{out}{err}");
        }
    }
    (project, start(options("2027-01-10")), state_dir)
}

fn counts(db: &Path, account: &str) -> BTreeMap<&'static str, i64> {
    let conn = Connection::open(db).unwrap();
    TABLES
        .iter()
        .map(|t| {
            let n = conn.query_row(&format!("SELECT COUNT(*) FROM {t} WHERE account = ?1"), [account], |r| r.get(0));
            (*t, n.unwrap())
        })
        .collect()
}

/// Every stored datacube row, in a stable order: what "changes nothing" compares.
fn dump(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut all = Vec::new();
    for table in TABLES {
        let mut statement = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = statement.column_count();
        let rows = statement
            .query_map([], |r| {
                let cells: Vec<String> =
                    (0..columns).map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i))).collect();
                Ok(format!("{table}|{}", cells.join("|")))
            })
            .unwrap();
        all.extend(rows.map(Result::unwrap));
    }
    all.sort();
    all
}

fn datacube_calls(sandbox: &SandboxHandle) -> u64 {
    let state = sandbox_state(sandbox);
    state["calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.contains("/datacube/"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

const YEAR: [&str; 4] = ["--since", "2026-01-10", "--until", "2027-01-09"];

#[test]
fn a_year_for_both_accounts_is_pulled_completely_and_a_second_pull_changes_nothing() {
    let (project, sandbox, _state) = published_example();
    let (code, out, err) = wxpub(&project, &sandbox, &[&["stats", "pull"][..], &YEAR].concat());
    assert_eq!(code, 0, "{out}{err}");
    let db = project.path().join(".wxpub/metrics.db");
    // 365 days. The sandbox serves 6 follower sources, 6 read sources (5 + "all"), 24 hours,
    // 3 share scenes; 9 published articles, each read for 30 days, with 7 days of totals.
    let expected = BTreeMap::from([
        ("user_summary", 365 * 6),
        ("user_cumulate", 365),
        ("article_summary", 9 * 30),
        ("article_total", 9 * 7),
        ("user_read", 365 * 6),
        ("user_read_hour", 365 * 24),
        ("user_share", 365 * 3),
        ("user_share_hour", 365 * 24),
    ]);
    for account in ["service", "subscription"] {
        assert_eq!(counts(&db, account), expected, "{account}");
    }
    // Calls were split to each endpoint's span: 7-day endpoints 53 calls, getuserread 122,
    // 1-day endpoints 365 each.
    let calls_after_first = datacube_calls(&sandbox);
    assert_eq!(calls_after_first, 2 * (3 * 53 + 122 + 4 * 365));

    let before = dump(&db);
    let (code, out, err) = wxpub(&project, &sandbox, &[&["stats", "pull"][..], &YEAR].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(dump(&db), before, "pulling twice changes nothing");
    // Only the last 3 days were fetched again: 3 one-call ranges for the 7- and 3-day
    // endpoints (4 of them) and 3 calls for each 1-day endpoint (4 of them), per account.
    assert_eq!(datacube_calls(&sandbox) - calls_after_first, 2 * (4 + 4 * 3));

    // The default range continues from what is stored: nothing before it is fetched again.
    let (code, out, err) = wxpub(&project, &sandbox, &["stats", "pull", "--until", "2027-01-09", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["since"], "2026-01-10");
    assert_eq!(summary["calls"], 2 * (4 + 4 * 3));

    // Asking beyond the datacube's last day (yesterday) is the API's own error, reported per range.
    let (code, _, err) = wxpub(
        &project,
        &sandbox,
        &["stats", "pull", "--account", "service", "--until", "2027-01-10", "--endpoint", "getusercumulate"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("61501") && err.contains("getusercumulate"), "{err}");
    let tokens = sandbox_state(&sandbox)["tokens"].as_array().unwrap().clone();
    assert!(!err.contains(SECRET) && tokens.iter().all(|t| !err.contains(t["value"].as_str().unwrap())));
}

#[test]
fn an_interrupted_pull_is_completed_by_the_next_one() {
    let (project, sandbox, _state) = published_example();
    let args = [&["stats", "pull", "--account", "service"][..], &YEAR].concat();
    // 40 calls answered with a non-retryable error: those ranges fail, the rest is stored.
    script_faults(&sandbox, serde_json::json!(vec![61500; 40]));
    let (code, out, err) = wxpub(&project, &sandbox, &args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("40 range(s) could not be fetched"), "{err}");
    let db = project.path().join(".wxpub/metrics.db");
    let partial: i64 = counts(&db, "service").values().sum();

    // Killed mid-pull: what was stored stays stored.
    let mut child = env(binary(&project), &sandbox)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(counts(&db, "service").values().sum::<i64>() >= partial);

    let (code, out, err) = wxpub(&project, &sandbox, &args);
    assert_eq!(code, 0, "{out}{err}");

    // Same data as one clean pull into a fresh database.
    let config = project.read("publish.toml") + "\n[metrics]\ndb = \".wxpub/clean.db\"\n";
    let fresh = example_project();
    fresh.write("publish.toml", &config);
    let (code, out, err) = wxpub(&fresh, &sandbox, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(dump(&db), dump(&fresh.path().join(".wxpub/clean.db")));
}

fn pulled_project() -> (TestProject, SandboxHandle, tempfile::TempDir) {
    let (project, sandbox, state) = published_example();
    let (code, out, err) = wxpub(&project, &sandbox, &[&["stats", "pull"][..], &YEAR].concat());
    assert_eq!(code, 0, "{out}{err}");
    (project, sandbox, state)
}

fn report(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> String {
    let (code, out, err) = wxpub(project, sandbox, &[&["report"][..], args].concat());
    assert_eq!(code, 0, "{out}{err}");
    out
}

#[test]
fn reports_in_every_format_agree_with_the_database() {
    let (project, sandbox, _state) = pulled_project();
    let db = Connection::open(project.path().join(".wxpub/metrics.db")).unwrap();

    // Followers CSV: header, and each row's figures against the stored rows.
    let csv =
        report(&project, &sandbox, &["followers", "--since", "2026-12-01", "--until", "2026-12-31", "--format", "csv"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..5], ["date", "new_user", "cancel_user", "net_user", "cumulate_user"]);
    assert!(header.contains(&"new_from_qr_scan") && header.contains(&"new_from_search"), "{header:?}");
    let rows: Vec<Vec<i64>> = lines.map(|l| l.split(',').skip(1).map(|c| c.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 31);
    let stored_new: i64 =
        db.query_row("SELECT SUM(new_user) FROM user_summary WHERE ref_date = '2026-12-05'", [], |r| r.get(0)).unwrap();
    assert_eq!(rows[4][0], stored_new);
    for pair in rows.windows(2) {
        assert_eq!(pair[1][2], pair[1][0] - pair[1][1], "net = new − cancelled");
        assert_eq!(pair[1][3] - pair[0][3], pair[1][2], "cumulative grows by the day's net gain");
    }
    let by_source: i64 = rows[4][4..].iter().sum();
    assert_eq!(by_source, rows[4][0], "sources add up to the day's new followers");

    // Articles JSON: shape, order, and read rate.
    let json: serde_json::Value = serde_json::from_str(&report(
        &project,
        &sandbox,
        &["articles", "--account", "service", "--since", "2026-12-01", "--until", "2026-12-31", "--format", "json"],
    ))
    .unwrap();
    let articles = json["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 9);
    let reads: Vec<i64> = articles.iter().map(|a| a["read_user"].as_i64().unwrap()).collect();
    assert!(reads.windows(2).all(|w| w[0] >= w[1]), "most read first: {reads:?}");
    let first = &articles[0];
    let rate = first["read_rate"].as_f64().unwrap();
    assert!((rate - first["read_user"].as_f64().unwrap() / first["target_user"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(json["reads_by_hour"].as_array().unwrap().len(), 24);

    // Summary table on a terminal-like stdout, and JSON comparing with the previous period.
    let table = report(&project, &sandbox, &["summary", "--period", "month", "--until", "2026-12-31"]);
    assert!(table.contains("2026-12-01 to 2026-12-31") && table.contains("net_followers"), "{table}");
    let summary: serde_json::Value = serde_json::from_str(&report(
        &project,
        &sandbox,
        &["summary", "--period", "month", "--until", "2026-12-31", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(summary["previous"]["since"], "2026-11-01");
    assert_eq!(summary["previous"]["until"], "2026-11-30");
    let articles_line = summary["figures"].as_array().unwrap().iter().find(|f| f["key"] == "articles").unwrap();
    assert_eq!(articles_line["current"], 18, "9 articles seen by each of the two accounts");
    assert_eq!(articles_line["previous"], 0);

    // HTML: one self-contained file whose charts render in Chromium without errors.
    let out = project.path().join("summary.html");
    report(
        &project,
        &sandbox,
        &["summary", "--period", "month", "--until", "2026-12-31", "--out", out.to_str().unwrap()],
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src=\"http"), "self-contained");
    let mut browser = Browser::launch(390, 844);
    browser.open(&format!("file://{}", out.display()));
    assert_eq!(browser.errors(), Vec::<String>::new());
    let charts = browser.eval(
        "[...document.querySelectorAll('svg.chart')].map(s => [s.id, s.querySelectorAll('rect,polyline,path').length, s.getBoundingClientRect().width])",
    );
    let charts = charts.as_array().unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c[0].as_str().unwrap()).collect();
    assert_eq!(ids, ["chart-followers", "chart-net", "chart-top", "chart-hours"]);
    for chart in charts {
        assert!(chart[1].as_i64().unwrap() > 5, "chart has marks: {chart}");
        assert!(chart[2].as_f64().unwrap() <= 390.0, "chart fits a phone: {chart}");
    }
    let overflow = browser.eval("document.documentElement.scrollWidth <= window.innerWidth");
    assert_eq!(overflow, true, "no sideways scrolling of the page on a phone");
    let shot = std::env::var_os("WXPUB_KEEP_SCREENSHOTS")
        .map_or_else(|| project.path().join("summary.png"), |d| Path::new(&d).join("report-summary.png"));
    assert!(browser.screenshot(&shot) > 10_000);
}

#[test]
fn the_annual_report_counts_the_example_content_and_scores_the_targets() {
    let (project, sandbox, _state) = pulled_project();
    let json: serde_json::Value =
        serde_json::from_str(&report(&project, &sandbox, &["annual", "--year", "2026", "--format", "json"])).unwrap();
    let figure = |list: &str, key: &str| {
        json[list].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap_or_else(|| panic!("{key}"))["value"]
            .as_f64()
            .unwrap()
    };
    // From content/: in 2026 the service account pushed on 12-01 (2 articles), 12-12, 12-20
    // (poster) and 12-31 (topic); the subscription account on 12-01 (poster), 12-03 and 12-08.
    // The 2027-01-01 greeting belongs to 2027.
    assert_eq!(figure("output", "pushes"), 7.0);
    assert_eq!(figure("output", "articles"), 5.0);
    assert_eq!(figure("output", "posters"), 2.0);
    assert_eq!(figure("output", "topics"), 1.0);
    assert_eq!(figure("output", "illustrations"), 2.0);
    // The lecture replay is 1:32:00; the bronze animation 2:40; one item is tagged 直播.
    assert_eq!(figure("output", "video_minutes"), 92.0);
    assert_eq!(figure("output", "animation_seconds"), 160.0);
    assert_eq!(figure("output", "live_streams"), 1.0);
    assert_eq!(figure("engagement", "service_stability"), 100.0);
    assert!(figure("engagement", "reads") > 0.0);

    let score = |key: &str| {
        json["indicators"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap()["scored"]["score"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(score("pushes"), 20.0, "7 of 6: capped at the weight");
    assert_eq!(score("posters"), 5.0, "2 of 4 × 10");
    assert_eq!(score("video_minutes"), 9.0, "92 against 30 is 207 % over: 10 % of the weight deducted");
    assert_eq!(score("service_stability"), 10.0);
    assert_eq!(score("budget"), 9.85, "the form's own example");
    assert_eq!(json["total"], 53.85);
    assert_eq!(json["grade"][0], "良", "53.85 of 60 = 89.75 %");
    assert_eq!(json["evidence"].as_array().unwrap().len(), 8);
    assert!(json["evidence"].as_array().unwrap().iter().all(|p| p["url"].as_str().unwrap().starts_with("http")));

    let table = report(&project, &sandbox, &["annual", "--year", "2026"]);
    assert!(table.contains("预算执行率") && table.contains("target set too low"), "{table}");

    // The HTML form prints on A4 and reads on a phone: no errors, charts and evidence links.
    let out = project.path().join("annual-2026.html");
    report(&project, &sandbox, &["annual", "--year", "2026", "--out", out.to_str().unwrap()]);
    let mut browser = Browser::launch(390, 844);
    browser.open(&format!("file://{}", out.display()));
    assert_eq!(browser.errors(), Vec::<String>::new());
    assert_eq!(browser.eval("document.querySelectorAll('svg.chart').length"), 3);
    assert_eq!(browser.eval("document.querySelectorAll('a[href^=\"https://mp.weixin.qq.com/\"]').length"), 8);

    // An indicator wxpub cannot measure and that has no `actual` is named, with the known ones.
    let config = project.read("publish.toml") + "visitors = { value = 100000, weight = 10 }\n";
    project.write("publish.toml", &config);
    let (code, _, err) = wxpub(&project, &sandbox, &["report", "annual", "--year", "2026"]);
    assert_ne!(code, 0);
    assert!(err.contains("targets.2026.visitors") && err.contains("pushes"), "{err}");
}
