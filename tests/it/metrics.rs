//! `wxpub stats pull` and `wxpub report` against the sandbox on a loopback port, through the
//! real binary, into a real SQLite file.
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use wxpub::metrics::Store;
use wxpub::metrics::store::{Cell, Param, StoreTarget};
use wxpub::sandbox::{SandboxHandle, SandboxOptions};
use wxpub::wechat::types::Datacube;

use crate::browser::Browser;
use crate::support::TestProject;
use crate::wechat::{sandbox_state, script_faults, start};

use crate::support::{APPID, SECRET};
/// The datacube tables (the store's first twelve).
const TABLES: &[&str] = wxpub::metrics::store::TABLES.split_at(12).0;

fn date(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

pub(crate) fn binary(project: &TestProject) -> Command {
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

pub(crate) fn env(mut command: Command, sandbox: &SandboxHandle) -> Command {
    crate::support::sandbox_env(&mut command, sandbox).env("WXPUB_QUIET_RETRIES", "1");
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
             publish_success = {{ value = 99, weight = 10 }}\n\
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
    {
        let sandbox = start(sandbox_options(state_dir.path(), "2026-12-05"));
        // Two runs, one in each year: the annual figures count the runs of their own year.
        for now in ["2026-12-31 09:00", "2027-01-02 09:00"] {
            let (code, out, err) = wxpub(&project, &sandbox, &["publish", "--due", "--now", now]);
            assert_eq!(code, 0, "{out}{err}");
        }
    }
    (project, start(sandbox_options(state_dir.path(), "2027-01-10")), state_dir)
}

/// A sandbox keeping its state in `state_dir`, whose today is `today`.
fn sandbox_options(state_dir: &Path, today: &str) -> SandboxOptions {
    SandboxOptions {
        state: Some(state_dir.join("sandbox.db")),
        today: Some(date(today)),
        publish_delay_ms: 50,
        appid: APPID.into(),
        secret: SECRET.into(),
        ..SandboxOptions::default()
    }
}

fn counts(target: &StoreTarget, account: &str) -> BTreeMap<&'static str, i64> {
    let store = Store::open_read_only(target).unwrap();
    TABLES
        .iter()
        .map(|t| {
            let rows = store.dump_table(t).unwrap();
            (*t, rows.iter().filter(|r| r[0] == Cell::Text(account.into())).count() as i64)
        })
        .collect()
}

/// Every stored datacube row, in a stable order: what "changes nothing" compares.
fn dump(target: &StoreTarget) -> Vec<String> {
    let store = Store::open_read_only(target).unwrap();
    let mut all = Vec::new();
    for table in TABLES {
        all.extend(store.dump_table(table).unwrap().iter().map(|row| format!("{table}|{row:?}")));
    }
    all.sort();
    all
}

/// The store a test pulls into: the project's SQLite file, or a fresh schema of the scratch
/// PostgreSQL database.
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// Points `project` at a store of `kind`; the guard drops a PostgreSQL schema at the end. None
/// when there is no scratch PostgreSQL database (outside CI): that half of the test is skipped.
fn store_of(kind: Kind, project: &TestProject, label: &str) -> Option<(StoreTarget, Option<crate::postgres::Schema>)> {
    match kind {
        Kind::Sqlite => Some((StoreTarget::Sqlite(project.path().join(".wxpub/metrics.db")), None)),
        Kind::Postgres => {
            let schema = crate::postgres::Schema::new(&wxpub::metrics::store::test_support::postgres_url()?, label);
            project.write("publish.toml", &(project.read("publish.toml") + &schema.metrics_section()));
            Some((schema.target(), Some(schema)))
        }
    }
}

fn datacube_calls(sandbox: &SandboxHandle) -> u64 {
    datacube_calls_by_path(sandbox).values().sum()
}

fn datacube_calls_by_path(sandbox: &SandboxHandle) -> BTreeMap<String, u64> {
    let state = sandbox_state(sandbox);
    state["calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.contains("/datacube/"))
        .map(|(p, n)| (p.clone(), n.as_u64().unwrap()))
        .collect()
}

pub(crate) const YEAR: [&str; 4] = ["--since", "2026-01-10", "--until", "2027-01-09"];

/// Pulls `YEAR` for both accounts of `project` into `db` and checks that every endpoint's every
/// day arrived, split to each endpoint's span; that pulling again changes nothing and fetches only
/// what WeChat may still revise; that the default range continues from what is stored; and that
/// a day beyond WeChat's last is the API's own error. Call counts are the sandbox's calls during
/// this pull, so that two projects can pull from one sandbox (the PostgreSQL comparison,
/// postgres.rs, pulls the SQLite and the PostgreSQL project this way: one year pull per store for
/// both tests).
pub(crate) fn pull_a_year_completely(project: &TestProject, sandbox: &SandboxHandle, db: &StoreTarget) {
    let calls_before = datacube_calls(sandbox);
    let (code, out, err) = wxpub(project, sandbox, &[&["stats", "pull"][..], &YEAR].concat());
    assert_eq!(code, 0, "{out}{err}");
    // 365 days, all after 2025-11-01: the 2026 endpoints, not the deprecated ones. The sandbox
    // serves 6 follower sources and 24 hours; 9 published (not mass-sent) articles, each read for
    // 30 days — which the deprecated article endpoints never show.
    let mut expected = BTreeMap::from([
        ("user_summary", 365 * 6),
        ("user_cumulate", 365),
        ("article_summary", 0),
        ("article_total", 0),
        ("user_read", 0),
        ("user_read_hour", 365 * 24),
        ("user_share", 0),
        ("user_share_hour", 365 * 24),
        ("article_read", 9 * 30),
        ("biz_summary", 365),
        ("article_total_detail", 9 * 30),
    ]);
    for account in ["service", "subscription"] {
        let mut found = counts(db, account);
        // A day on which an article found no new sharer has no getarticleshare row.
        let shares = found.remove("article_share").unwrap();
        assert!((9 * 3..=9 * 30).contains(&shares), "{account}: {shares}");
        expected.remove("article_share");
        assert_eq!(found, expected, "{account}");
    }
    // Calls were split to each endpoint's span: 7-day endpoints 53 calls, 30-day ones 13,
    // 1-day endpoints 365 each.
    let calls_after_first = datacube_calls(sandbox);
    assert_eq!(calls_after_first - calls_before, 2 * (2 * 53 + 2 * 13 + 4 * 365));
    let by_path = datacube_calls_by_path(sandbox);

    let before = dump(db);
    let (code, out, err) = wxpub(project, sandbox, &[&["stats", "pull"][..], &YEAR].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(dump(db), before, "pulling twice changes nothing");
    // Fetched again, per account: the last 3 days of the endpoints that revise silently (one call
    // for each 7-day endpoint, 3 for each hourly one), and what the 2026 ones called not final:
    // yesterday (getarticleread, getarticleshare, getbizsummary) and the publish days whose 30
    // days are not over (one getarticletotaldetail call).
    let again: BTreeMap<String, u64> =
        datacube_calls_by_path(sandbox).into_iter().map(|(p, n)| (p.clone(), n - by_path[&p])).collect();
    assert_eq!(datacube_calls(sandbox) - calls_after_first, 2 * (2 + 2 * 3 + 4), "{again:?}");

    // The default range continues from what is stored: nothing before it is fetched again.
    let (code, out, err) = wxpub(project, sandbox, &["stats", "pull", "--until", "2027-01-09", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["since"], "2026-01-10");
    assert_eq!(summary["calls"], 2 * (2 + 2 * 3 + 4));

    // Asking beyond the datacube's last day (yesterday) is the API's own error, reported per range.
    let (code, _, err) = wxpub(
        project,
        sandbox,
        &["stats", "pull", "--account", "service", "--until", "2027-01-10", "--endpoint", "getusercumulate"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("61501") && err.contains("getusercumulate"), "{err}");
    let tokens = sandbox_state(sandbox)["tokens"].as_array().unwrap().clone();
    assert!(!err.contains(SECRET) && tokens.iter().all(|t| !err.contains(t["value"].as_str().unwrap())));
}

#[test]
fn an_interrupted_pull_is_completed_by_the_next_one() {
    an_interrupted_pull_is_completed(Kind::Sqlite);
}

#[test]
fn an_interrupted_pull_into_postgres_is_completed_by_the_next_one() {
    an_interrupted_pull_is_completed(Kind::Postgres);
}

fn an_interrupted_pull_is_completed(kind: Kind) {
    let (project, sandbox, _state) = published_example();
    let Some((db, _schema)) = store_of(kind, &project, "interrupted") else { return };
    let args = [&["stats", "pull", "--account", "service"][..], &YEAR].concat();
    // 40 calls answered with a non-retryable error: those ranges fail, the rest is stored.
    script_faults(&sandbox, serde_json::json!(vec![61500; 40]));
    let (code, out, err) = wxpub(&project, &sandbox, &args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("40 range(s) could not be fetched"), "{err}");
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

    // Same data as one clean pull into a fresh SQLite database.
    let fresh = example_project();
    let (code, out, err) = wxpub(&fresh, &sandbox, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(dump(&db), dump(&StoreTarget::Sqlite(fresh.path().join(".wxpub/metrics.db"))));
}

/// `published_example` with `YEAR` pulled for both accounts. The year is published and pulled
/// once per test run; each caller gets its own copy of that project (its statistics database
/// included) and its own sandbox on a copy of that sandbox's state, so that the five tests that
/// read a pulled year do not pull it five times (the pull is what `pull_a_year_completely`
/// checks; these tests check what is made of it).
fn pulled_project() -> (TestProject, SandboxHandle, tempfile::TempDir) {
    static PULLED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let template = PULLED.get_or_init(|| {
        let (project, sandbox, state) = published_example();
        let (code, out, err) = wxpub(&project, &sandbox, &[&["stats", "pull"][..], &YEAR].concat());
        assert_eq!(code, 0, "{out}{err}");
        // Stopped before its state is copied: nothing is written while the copy is made.
        drop(sandbox);
        // Kept for the whole run in cargo's target/tmp (a static is never dropped, so a temp
        // folder would outlive the run); earlier runs' copies are removed first (those over an
        // hour old: a test process running beside this one, as under nextest, keeps its own).
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let stale = |entry: &std::fs::DirEntry| {
            let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
            entry.file_name().to_string_lossy().starts_with("pulled-year-")
                && age.is_some_and(|age| age.as_secs() > 3600)
        };
        for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten().filter(stale) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
        let kept = tmp.join(format!("pulled-year-{}", std::process::id()));
        crate::support::copy_tree(project.path(), &kept.join("project"));
        crate::support::copy_tree(state.path(), &kept.join("sandbox"));
        kept
    });
    let project = TestProject { dir: tempfile::tempdir().unwrap() };
    crate::support::copy_tree(&template.join("project"), project.path());
    let state = tempfile::tempdir().unwrap();
    crate::support::copy_tree(&template.join("sandbox"), state.path());
    let sandbox = start(sandbox_options(state.path(), "2027-01-10"));
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

/// Acceptance (#20): every item wxpub published is reported under its own key with the figures
/// WeChat's 2026 statistics give its msgid — found through publish.lock, never by title.
#[test]
fn every_published_item_is_reported_under_its_key_with_the_sandboxs_figures() {
    let (project, sandbox, _state) = pulled_project();
    let articles_in = |project: &TestProject, account: &str| -> Vec<serde_json::Value> {
        let json: serde_json::Value = serde_json::from_str(&report(
            project,
            &sandbox,
            &["articles", "--account", account, "--since", "2026-12-01", "--until", "2027-01-09", "--format", "json"],
        ))
        .unwrap();
        json["articles"].as_array().unwrap().clone()
    };
    let articles_of = |project: &TestProject| articles_in(project, "service");
    let lock: toml::Value = toml::from_str(&project.read("publish.lock")).unwrap();
    // The sandbox's own figures for each msgid, day by day.
    let client = crate::wechat::client_for(&sandbox, true);
    let mut readers: BTreeMap<String, i64> = BTreeMap::new();
    for day in date("2026-12-01").iter_days().take_while(|d| *d <= date("2027-01-09")) {
        let day = day.format("%Y-%m-%d").to_string();
        let rows: Vec<wxpub::wechat::types::ArticleReadRow> =
            client.datacube(wxpub::wechat::types::Datacube::GetArticleRead, &day, &day).unwrap();
        for row in rows {
            *readers.entry(row.msgid).or_default() += row.detail.read_user as i64;
        }
    }
    let totals: Vec<wxpub::wechat::types::ArticleTotalDetailRow> =
        client.datacube(wxpub::wechat::types::Datacube::GetArticleTotalDetail, "2026-12-05", "2026-12-05").unwrap();

    // Both publish modes: the service account's freepublished pushes and the subscription
    // account's mass sends.
    for account in ["service", "subscription"] {
        let articles = articles_in(&project, account);
        let published: std::collections::BTreeSet<&str> = lock["accounts"][account]["pushes"]
            .as_table()
            .unwrap()
            .values()
            .flat_map(|push| push["items"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()))
            .collect();
        assert!(!published.is_empty(), "{account}");
        let items: Vec<&str> = articles.iter().filter_map(|a| a["item"].as_str()).collect();
        assert_eq!(items.iter().copied().collect::<std::collections::BTreeSet<_>>(), published, "{articles:#?}");
        assert_eq!(items.len(), published.len(), "each once");
        // The test's two accounts share one sandbox, so each account's statistics also name
        // the other account's articles: to it those are made elsewhere, and reported as such.
        assert!(articles.iter().any(|a| a["item"].is_null()));
        for article in &articles {
            let msgid = article["msgid"].as_str().unwrap();
            assert!(article["read_user"].as_i64().unwrap() > 0, "{article}");
            assert_eq!(article["read_user"].as_i64(), readers.get(msgid).copied(), "{msgid}");
            assert!(article["like_user"].as_i64().unwrap() >= 0 && article["zaikan_user"].is_i64(), "{article}");
            let total = totals.iter().find(|t| t.msgid == msgid).expect("published on the sandbox's 2026-12-05");
            let last = &total.detail_list.last().unwrap().counters;
            assert_eq!(article["like_user"].as_u64(), Some(last.like_user), "{msgid}");
            assert_eq!(article["comment_count"].as_u64(), Some(last.comment_count), "{msgid}");
        }
    }
    let articles = articles_of(&project);
    let items: Vec<&str> = articles.iter().filter_map(|a| a["item"].as_str()).collect();

    // Compared by kind and by tag, over our articles only.
    let json: serde_json::Value = serde_json::from_str(&report(
        &project,
        &sandbox,
        &["articles", "--account", "service", "--since", "2026-12-01", "--until", "2027-01-09", "--format", "json"],
    ))
    .unwrap();
    let ours: Vec<&serde_json::Value> = articles.iter().filter(|a| a["item"].is_string()).collect();
    for (list, of) in [("by_kind", "kind"), ("by_tag", "tags")] {
        for group in json[list].as_array().unwrap() {
            let name = group["group"].as_str().unwrap();
            let members: Vec<&&serde_json::Value> = ours
                .iter()
                .filter(|a| a[of] == name || a[of].as_array().is_some_and(|t| t.iter().any(|t| t == name)))
                .collect();
            assert_eq!(group["articles"].as_u64(), Some(members.len() as u64), "{list} {name}");
            let readers: i64 = members.iter().map(|a| a["read_user"].as_i64().unwrap()).sum();
            assert_eq!(group["read_user"].as_i64(), Some(readers), "{list} {name}");
        }
    }
    assert!(json["by_tag"].as_array().unwrap().iter().any(|g| g["group"] == "青铜器"), "{}", json["by_tag"]);

    // The CSV has a column per reader source, adding up to the readers.
    let csv = report(
        &project,
        &sandbox,
        &["articles", "--account", "service", "--since", "2026-12-01", "--until", "2027-01-09", "--format", "csv"],
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let first_source = header.iter().position(|h| h.starts_with("read_from_")).expect("source columns");
    assert!(header.contains(&"read_from_朋友圈"), "{header:?}");
    let readers = header.iter().position(|h| *h == "read_user").unwrap();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let by_source: i64 = cells[first_source..].iter().map(|c| c.parse::<i64>().unwrap_or(0)).sum();
        assert_eq!(by_source, cells[readers].parse::<i64>().unwrap(), "{line}");
    }

    // Publications recorded without their msg_data_id (made before publish.lock, found again by
    // `wxpub sync` or after a lost answer) join through the key their article URLs carry.
    let lock_text = project.read("publish.lock");
    assert!(lock_text.contains("msg_data_id"), "{lock_text}");
    let without_keys: String =
        lock_text.lines().filter(|l| !l.trim_start().starts_with("msg_data_id")).map(|l| format!("{l}\n")).collect();
    project.write("publish.lock", &without_keys);
    let joined_by_url = articles_of(&project);
    for article in articles.iter().filter(|a| a["item"].is_string()) {
        let again = joined_by_url.iter().find(|a| a["item"] == article["item"]).expect("still under its key");
        assert_eq!((&again["msgid"], &again["read_user"]), (&article["msgid"], &article["read_user"]));
    }
    project.write("publish.lock", &lock_text);

    // Renamed in content/ after publishing: still the same item with the same figures.
    let file = format!("content/{}/index.md", items[0]);
    let source = project.read(&file);
    project.write(&file, &source.replacen("title: ", "title: 改名后的标题 ", 1));
    let again = articles_of(&project);
    let find = |list: &[serde_json::Value], item: &str| list.iter().find(|a| a["item"] == item).cloned().unwrap();
    assert_eq!(find(&again, items[0])["read_user"], find(&articles, items[0])["read_user"]);
}

/// Acceptance (#20): one item's first 30 days as a table and a curve that Chromium draws.
#[test]
fn the_item_report_draws_the_articles_thirty_day_curve() {
    let (project, sandbox, _state) = pulled_project();
    let args = ["item", "2026-12-01-bronze-exhibition", "--account", "service"];
    let json: serde_json::Value =
        serde_json::from_str(&report(&project, &sandbox, &[&args[..], &["--format", "json"]].concat())).unwrap();
    let article = &json["articles"][0];
    assert_eq!(article["item"], "articles/2026-12-01-bronze-exhibition");
    let days = article["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let readers: Vec<i64> = days.iter().map(|d| d["read_user"].as_i64().unwrap()).collect();
    assert!(readers.windows(2).all(|w| w[0] <= w[1]) && readers[0] > 0, "cumulative: {readers:?}");
    let sources: i64 = article["readers_by_source"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(sources, readers[29], "the sources add up to the readers");

    let out = project.path().join("item.html");
    report(&project, &sandbox, &[&args[..], &["--out", out.to_str().unwrap()]].concat());
    let mut browser = Browser::launch(390, 844);
    browser.open(&format!("file://{}", out.display()));
    assert_eq!(browser.errors(), Vec::<String>::new());
    let marks = browser
        .eval("document.querySelectorAll('svg#chart-article-curve polyline, svg#chart-article-curve path').length");
    assert!(marks.as_i64().unwrap() > 0, "the curve is drawn: {marks}");

    let (code, _, err) = wxpub(&project, &sandbox, &["report", "item", "no-such-item"]);
    assert!(code != 0 && err.contains("no published item matches `no-such-item`"), "{err}");
}

/// Acceptance (#20): a pull across 2025-11-01 takes the deprecated endpoints before it and the
/// 2026 ones from it, and the summary counts every day once.
#[test]
fn a_pull_across_the_first_day_of_the_new_statistics_has_no_gap_and_no_double_count() {
    a_pull_across_the_first_day(Kind::Sqlite);
}

#[test]
fn a_pull_into_postgres_across_the_first_day_of_the_new_statistics_has_no_gap_and_no_double_count() {
    a_pull_across_the_first_day(Kind::Postgres);
}

fn a_pull_across_the_first_day(kind: Kind) {
    let project = example_project();
    let Some((target, _schema)) = store_of(kind, &project, "first_day") else { return };
    // An account that publishes in the web backend too: its statistics name articles that
    // wxpub never published.
    let sandbox = start(SandboxOptions {
        today: Some(date("2025-11-21")),
        appid: APPID.into(),
        secret: SECRET.into(),
        background_articles: true,
        ..SandboxOptions::default()
    });
    let (code, out, err) =
        wxpub(&project, &sandbox, &["stats", "pull", "--since", "2025-10-20", "--until", "2025-11-20"]);
    assert_eq!(code, 0, "{out}{err}");
    let db = Store::open_read_only(&target).unwrap();
    let span = |endpoint: &str| -> (String, String) {
        let sql = "SELECT MIN(ref_date), MAX(ref_date) FROM pulled_days WHERE endpoint = ?1 AND account = 'service'";
        let row = &db.rows(sql, &[Param::Text(Some(endpoint))]).unwrap()[0];
        (row.text(0).unwrap(), row.text(1).unwrap())
    };
    assert_eq!(span("getuserread"), ("2025-10-20".into(), "2025-10-31".into()));
    assert_eq!(span("getarticlesummary"), ("2025-10-20".into(), "2025-10-31".into()));
    assert_eq!(span("getbizsummary"), ("2025-11-01".into(), "2025-11-20".into()));
    assert_eq!(span("getarticleread"), ("2025-11-01".into(), "2025-11-20".into()));
    assert_eq!(span("getusersummary"), ("2025-10-20".into(), "2025-11-20".into()));

    let sum = |sql: &str| -> i64 { db.rows(sql, &[]).unwrap()[0].int(0).unwrap() };
    let old = sum("SELECT SUM(int_page_read_user) FROM user_read WHERE user_source = 99999999 AND account = 'service'");
    let new = sum("SELECT SUM(read_user) FROM biz_summary WHERE account = 'service'");
    let summary: serde_json::Value = serde_json::from_str(&report(
        &project,
        &sandbox,
        &["summary", "--account", "service", "--since", "2025-10-20", "--until", "2025-11-20", "--format", "json"],
    ))
    .unwrap();
    let figure = |key: &str| {
        summary["figures"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap()["current"].as_i64().unwrap()
    };
    assert!(old > 0 && new > 0);
    assert_eq!(figure("read_users"), old + new, "each day from one source, none twice");

    // A row an older wxpub stored from a deprecated endpoint after the first day does not count.
    let older = serde_json::json!({"ref_date": "2025-11-05", "user_source": 99999999, "int_page_read_user": 5000,
        "int_page_read_count": 6000});
    Store::open(&target)
        .unwrap()
        .store_range("service", Datacube::GetUserRead, &[("2025-11-05".into(), true)], &[older], "older wxpub")
        .unwrap();
    let summary: serde_json::Value = serde_json::from_str(&report(
        &project,
        &sandbox,
        &["summary", "--account", "service", "--since", "2025-10-20", "--until", "2025-11-20", "--format", "json"],
    ))
    .unwrap();
    let again = summary["figures"].as_array().unwrap().iter().find(|f| f["key"] == "read_users").unwrap()["current"]
        .as_i64()
        .unwrap();
    assert_eq!(again, old + new);

    // Articles made elsewhere are reported, marked as not published by wxpub.
    let json: serde_json::Value = serde_json::from_str(&report(
        &project,
        &sandbox,
        &["articles", "--account", "service", "--since", "2025-11-01", "--until", "2025-11-20", "--format", "json"],
    ))
    .unwrap();
    let articles = json["articles"].as_array().unwrap();
    assert!(!articles.is_empty());
    assert!(articles.iter().all(|a| a["item"].is_null()), "{json}");
    assert!(articles.iter().any(|a| a["read_user"].as_i64().unwrap() > 0), "{json}");
    let table = report(
        &project,
        &sandbox,
        &["articles", "--account", "service", "--since", "2025-11-01", "--until", "2025-11-20"],
    );
    assert!(table.contains("(not published by wxpub)"), "{table}");
}

/// Acceptance (#20): the day WeChat still calls provisional is fetched again on the next pull and
/// replaced by its final figures; no final day is fetched again.
#[test]
fn a_delayed_day_is_fetched_again_and_replaced_and_nothing_else() {
    a_delayed_day_is_fetched_again(Kind::Sqlite);
}

#[test]
fn a_delayed_day_in_postgres_is_fetched_again_and_replaced_and_nothing_else() {
    a_delayed_day_is_fetched_again(Kind::Postgres);
}

fn a_delayed_day_is_fetched_again(kind: Kind) {
    let (project, _first, state) = published_example();
    let Some((db, _schema)) = store_of(kind, &project, "delayed") else { return };
    let options = |today: &str| SandboxOptions {
        state: Some(state.path().join("sandbox.db")),
        today: Some(date(today)),
        appid: APPID.into(),
        secret: SECRET.into(),
        ..SandboxOptions::default()
    };
    let args = ["stats", "pull", "--account", "service", "--since", "2026-12-01"];
    let sandbox = start(options("2026-12-09"));
    let (code, out, err) = wxpub(&project, &sandbox, &[&args[..], &["--until", "2026-12-08"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let readers_on = |day: &str| -> i64 {
        let store = Store::open_read_only(&db).unwrap();
        store.rows("SELECT SUM(read_user) FROM article_read WHERE ref_date = ?1", &[Param::Text(Some(day))]).unwrap()[0]
            .int(0)
            .unwrap()
    };
    let provisional = readers_on("2026-12-08");
    let final_days = |endpoint: &str| -> Vec<(String, bool)> {
        let store = Store::open_read_only(&db).unwrap();
        let rows = store
            .rows(
                "SELECT ref_date, final FROM pulled_days WHERE endpoint = ?1 AND ref_date >= '2026-12-06' ORDER BY 1",
                &[Param::Text(Some(endpoint))],
            )
            .unwrap();
        rows.iter().map(|r| (r.text(0).unwrap(), r.int(1).unwrap() == 1)).collect()
    };
    assert_eq!(final_days("getarticleread").last(), Some(&("2026-12-08".to_string(), false)));
    let before = datacube_calls_by_path(&sandbox);
    drop(sandbox);

    // A day later: 12-08 is final now.
    let sandbox = start(options("2026-12-10"));
    let (code, out, err) = wxpub(&project, &sandbox, &[&args[..], &["--until", "2026-12-09"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let calls = datacube_calls_by_path(&sandbox);
    // Fetched: 12-08 again and 12-09 for the first time — two one-day calls, nothing else.
    assert_eq!(calls["/datacube/getarticleread"], 2, "{calls:?} (before: {before:?})");
    assert_eq!(calls["/datacube/getbizsummary"], 1);
    assert!(readers_on("2026-12-08") > provisional, "the provisional figures were replaced by the final ones");
    assert_eq!(
        final_days("getarticleread"),
        [
            ("2026-12-06".to_string(), true),
            ("2026-12-07".to_string(), true),
            ("2026-12-08".to_string(), true),
            ("2026-12-09".to_string(), false)
        ]
    );
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
    assert_eq!(figure("service", "publish_success"), 100.0);
    assert!(figure("engagement", "read_users") > 0.0);
    // Since 2025-11-01 WeChat counts likes, 在看 and comments, and each figure names its source.
    for key in ["likes", "zaikan", "comments", "share_users"] {
        assert!(figure("engagement", key) > 0.0, "{key}");
    }
    let evidence = |key: &str| {
        json["engagement"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap()["evidence"].to_string()
    };
    assert!(evidence("likes").contains("getbizsummary") && evidence("read_users").contains("getbizsummary"));
    assert!(evidence("reads").contains("before 2025-11-01"));

    let score = |key: &str| {
        json["indicators"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap()["scored"]["score"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(score("pushes"), 20.0, "7 of 6: capped at the weight");
    assert_eq!(score("posters"), 5.0, "2 of 4 × 10");
    assert_eq!(score("video_minutes"), 9.0, "92 against 30 is 207 % over: 10 % of the weight deducted");
    assert_eq!(score("publish_success"), 10.0);
    assert_eq!(score("budget"), 9.85, "the form's own example");
    assert_eq!(json["total"], 53.85);
    assert_eq!(json["grade"][0], "良", "53.85 of 60 = 89.75 %");
    assert_eq!(json["evidence"].as_array().unwrap().len(), 8);
    assert!(json["evidence"].as_array().unwrap().iter().all(|p| p["url"].as_str().unwrap().starts_with("http")));

    let table = report(&project, &sandbox, &["annual", "--year", "2026"]);
    assert!(table.contains("预算执行率") && table.contains("target set too low"), "{table}");

    // A year with nothing published: every output figure is 0 — never "-0", which a float sum
    // over nothing is — in the JSON and in the table.
    let empty: serde_json::Value =
        serde_json::from_str(&report(&project, &sandbox, &["annual", "--year", "2025", "--format", "json"])).unwrap();
    for figure in empty["output"].as_array().unwrap() {
        assert_eq!(figure["value"].to_string(), "0.0", "{figure}");
    }
    let table = report(&project, &sandbox, &["annual", "--year", "2025"]);
    assert!(table.contains("手绘插画") && !table.contains(" -0 "), "{table}");

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

/// #25, the network report: museums side by side with totals and ranks, each museum's figures
/// exactly its own annual report's, museums without figures named; table, CSV, JSON, HTML with
/// charts (drawn in Chromium) and XLSX.
#[test]
fn the_network_report_puts_museums_side_by_side_and_names_those_without_figures() {
    let (museum, sandbox, _state) = pulled_project();
    // A second museum with the same year and a stricter target: a lower score.
    let stricter = TestProject { dir: tempfile::tempdir().unwrap() };
    crate::support::copy_tree(museum.path(), stricter.path());
    stricter
        .write("publish.toml", &stricter.read("publish.toml").replace("pushes = { value = 6", "pushes = { value = 60"));
    let network = tempfile::tempdir().unwrap();
    let toml = format!(
        "name = \"青州市文物局\"\n\
         [museums.qingzhou]\nname = \"青州市博物馆\"\nproject = \"{}\"\n\
         [museums.linqu]\nname = \"临朐县博物馆\"\nproject = \"{}\"\n\
         [museums.shouguang]\nname = \"寿光市博物馆\"\ndb = \"{}\"\n\
         [museums.changle]\nname = \"昌乐县博物馆\"\nproject = \"changle\"\n",
        museum.path().display(),
        stricter.path().display(),
        museum.path().join(".wxpub/metrics.db").display(),
    );
    let file = network.path().join("network.toml");
    std::fs::write(&file, toml).unwrap();
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "network", "--museums", file.to_str().unwrap(), "--year", "2026"];
        args.extend(extra);
        let (code, out, err) = wxpub(&museum, &sandbox, &args);
        assert_eq!(code, 0, "{out}{err}");
        out
    };

    let db = stricter.path().join(".wxpub/metrics.db");
    let untouched = || (std::fs::read(&db).unwrap(), std::fs::metadata(&db).unwrap().modified().unwrap());
    let before = untouched();
    let json: serde_json::Value = serde_json::from_str(&report(&["--format", "json"])).unwrap();
    assert!(before == untouched(), "another museum's database is read, never written");
    let museums = json["museums"].as_array().unwrap();
    let names: Vec<&str> = museums.iter().map(|m| m["name"].as_str().unwrap()).collect();
    // Ranked by score; the museum with only a database (no targets, no score) last.
    assert_eq!(names, ["青州市博物馆", "临朐县博物馆", "寿光市博物馆"], "{json}");
    assert!(museums[0]["score"].as_f64().unwrap() > museums[1]["score"].as_f64().unwrap());
    assert!(museums[2]["score"].is_null());
    let ranks: Vec<&serde_json::Value> = museums.iter().map(|m| &m["rank"]).collect();
    assert_eq!(ranks, [&serde_json::json!(1), &serde_json::json!(2), &serde_json::Value::Null], "no score, no rank");
    let missing = json["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["name"], "昌乐县博物馆");
    assert!(missing[0]["why"].as_str().unwrap().contains("no wxpub project"), "{json}");

    // Each museum's figures are its own annual report's; the totals add them up.
    let (_, own, _) = wxpub(&museum, &sandbox, &["report", "annual", "--year", "2026", "--format", "json"]);
    let own: serde_json::Value = serde_json::from_str(&own).unwrap();
    let own_value = |key: &str| {
        own["output"]
            .as_array()
            .unwrap()
            .iter()
            .chain(own["engagement"].as_array().unwrap())
            .find(|f| f["key"] == key)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    for key in ["pushes", "articles", "posters", "read_users", "new_followers"] {
        assert_eq!(museums[0]["figures"][key].as_f64(), Some(own_value(key)), "{key}");
        let sum: f64 = museums.iter().map(|m| m["figures"][key].as_f64().unwrap()).sum();
        assert_eq!(json["totals"][key].as_f64(), Some(sum), "{key}");
    }
    assert!(own_value("pushes") > 0.0 && own_value("read_users") > 0.0);

    // CSV: one row per museum with figures and the total; the table names the missing one.
    let csv = report(&["--format", "csv"]);
    assert_eq!(csv.lines().count(), 1 + 3 + 1, "{csv}");
    let table = report(&[]);
    assert!(table.contains("昌乐县博物馆") && table.contains("no wxpub project"), "{table}");

    // XLSX and HTML files.
    let xlsx = network.path().join("network.xlsx");
    report(&["--out", xlsx.to_str().unwrap()]);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    use calamine::Reader;
    let sheet = book.worksheet_range("各馆对比").unwrap();
    assert!(sheet.rows().any(|r| r.iter().any(|c| matches!(c, calamine::Data::String(s) if s == "临朐县博物馆"))));
    assert!(
        book.worksheet_range("缺少数据")
            .unwrap()
            .rows()
            .any(|r| r.iter().any(|c| matches!(c, calamine::Data::String(s) if s == "昌乐县博物馆")))
    );
    let html = network.path().join("network.html");
    report(&["--out", html.to_str().unwrap()]);
    let mut browser = Browser::launch(1024, 800);
    browser.open(&format!("file://{}", html.display()));
    assert_eq!(browser.errors(), Vec::<String>::new());
    let bars = browser.eval("document.querySelectorAll('#chart-network-scores rect').length");
    assert!(bars.as_i64().unwrap_or(0) >= 2, "the score chart has bars: {bars}");
}
