//! #25: the statistics store on PostgreSQL — the same pull, the same reports byte for byte, many
//! museums writing at once, and a pull that survives losing its connection. Real PostgreSQL
//! (`WXPUB_TEST_PG_URL`, started by `.ci/run`), the real binary, the sandbox on a loopback port.
use std::process::Stdio;

use wxpub::metrics::store::{Cell, StoreTarget, TABLES, test_support};
use wxpub::metrics::{PublishRun, Store};
use wxpub::sandbox::SandboxHandle;

use crate::metrics::{YEAR, binary, env, published_example, pull_a_year_completely, wxpub};
use crate::support::TestProject;

/// A museum's schema in the scratch database, dropped at the end of the test.
pub(crate) struct Schema {
    url: String,
    name: String,
}

impl Schema {
    pub(crate) fn new(url: &str, label: &str) -> Schema {
        Schema { url: url.to_string(), name: test_support::fresh_schema(label) }
    }

    pub(crate) fn target(&self) -> StoreTarget {
        StoreTarget::Postgres { url: self.url.clone(), schema: self.name.clone(), password_env: None }
    }

    pub(crate) fn metrics_section(&self) -> String {
        format!("\n[metrics]\ndb = \"{}\"\nschema = \"{}\"\n", self.url, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        test_support::drop_schema(&self.url, &self.name);
    }
}

/// A copy of `project` (content, publish.lock, archive) whose statistics go to `schema`.
fn copy_into(project: &TestProject, schema: &Schema) -> TestProject {
    let copy = TestProject { dir: tempfile::tempdir().unwrap() };
    crate::support::copy_tree(project.path(), copy.path());
    let _ = std::fs::remove_dir_all(copy.path().join(".wxpub"));
    copy.write("publish.toml", &(project.read("publish.toml") + &schema.metrics_section()));
    copy
}

/// Every row of the tables a pull writes (bookkeeping times left out: they differ by design).
fn datacube_dump(target: &StoreTarget) -> Vec<(String, Vec<Cell>)> {
    let store = Store::open_read_only(target).unwrap();
    let mut all = Vec::new();
    let bookkeeping = ["pulled_days", "publications", "publish_runs", "survey_responses"];
    for table in TABLES.iter().filter(|t| !bookkeeping.contains(*t)) {
        all.extend(store.dump_table(table).unwrap().into_iter().map(|row| (table.to_string(), row)));
    }
    all
}

fn ok(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> String {
    let (code, out, err) = wxpub(project, sandbox, args);
    assert_eq!(code, 0, "wxpub {}: {out}{err}", args.join(" "));
    out
}

/// A year of both accounts pulled completely into SQLite, and the same into PostgreSQL (each store
/// checked by `pull_a_year_completely`); then the same rows in both, and every report byte for
/// byte. Without a scratch PostgreSQL database (outside CI) only the SQLite year is checked.
#[test]
fn a_year_pulled_into_sqlite_and_postgres_is_complete_the_same_rows_and_reports_byte_for_byte() {
    let (sqlite, sandbox, _state) = published_example();
    let sqlite_target = StoreTarget::Sqlite(sqlite.path().join(".wxpub/metrics.db"));
    pull_a_year_completely(&sqlite, &sandbox, &sqlite_target);
    let Some(url) = test_support::postgres_url() else { return };
    let schema = Schema::new(&url, "same");
    let postgres = copy_into(&sqlite, &schema);
    // The publish runs the example's publishing recorded (the annual report's service stability),
    // recorded again in the PostgreSQL store, in order.
    let runs = Store::open_read_only(&sqlite_target).unwrap().dump_table("publish_runs").unwrap();
    assert!(!runs.is_empty());
    let store = Store::open(schema.target()).unwrap();
    let text = |cell: &Cell| match cell {
        Cell::Text(t) => Some(t.clone()),
        _ => None,
    };
    for run in &runs {
        store
            .record_run(&PublishRun {
                run: text(&run[1]).unwrap(),
                account: text(&run[2]).unwrap(),
                started_at: text(&run[3]).unwrap(),
                ended_at: text(&run[4]).unwrap(),
                items: match run[5] {
                    Cell::Int(n) => n as usize,
                    _ => panic!("{run:?}"),
                },
                ok: run[6] == Cell::Text("ok".into()),
                error: text(&run[7]),
            })
            .unwrap();
    }
    drop(store);
    pull_a_year_completely(&postgres, &sandbox, &schema.target());
    let surveys = "\n[surveys.visitors]\nrating_column = \"总体满意度\"\nscale = [1, 5]\n\
                   time_column = \"提交答卷时间\"\nid_column = \"序号\"\n";
    let export = "序号,提交答卷时间,总体满意度\n1,2026/12/10 09:00:01,5\n2,2026/12/10 09:05:00,4\n\
                  3,2026/12/10 10:00:00,2\n4,2026/12/11 11:00:00,9\n";
    for project in [&sqlite, &postgres] {
        project.write("publish.toml", &(project.read("publish.toml") + surveys));
        project.write("export.csv", export);
        let out = ok(project, &sandbox, &["survey", "import", "export.csv", "--survey", "visitors"]);
        assert!(out.contains("3 imported"), "{out}");
        let out = ok(project, &sandbox, &["survey", "import", "export.csv", "--survey", "visitors"]);
        assert!(out.contains("0 imported, 3 already imported"), "{out}");
    }
    let rows = datacube_dump(&sqlite_target);
    assert!(rows.len() > 10_000, "a year of both accounts: {}", rows.len());
    assert!(rows == datacube_dump(&schema.target()), "the same rows in both stores");
    let bookkeeping = |target: &StoreTarget| {
        let store = Store::open_read_only(target).unwrap();
        ["publish_runs", "publications"].map(|t| store.dump_table(t).unwrap())
    };

    let item = "articles/2026-12-01-ding-story";
    let mut compared = 0;
    for report in [
        &["followers", "--since", "2026-12-01", "--until", "2026-12-31"][..],
        &["articles", "--since", "2026-11-01", "--until", "2027-01-09"],
        &["articles", "--account", "service", "--period", "month", "--until", "2026-12-31"],
        &["summary", "--period", "month", "--until", "2026-12-31"],
        &["annual", "--year", "2026"],
        &["item", item],
    ] {
        for format in ["table", "csv", "json", "html"] {
            let args = [&["report"][..], report, &["--format", format]].concat();
            let (a, b) = (ok(&sqlite, &sandbox, &args), ok(&postgres, &sandbox, &args));
            assert!(!a.trim().is_empty(), "{args:?}");
            if a != b {
                let diff: Vec<String> = a
                    .lines()
                    .zip(b.lines())
                    .filter(|(x, y)| x != y)
                    .take(3)
                    .map(|(x, y)| format!("sqlite:   {x}\npostgres: {y}"))
                    .collect();
                panic!("`wxpub {}` differs between SQLite and PostgreSQL:\n{}", args.join(" "), diff.join("\n"));
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 24);
    // The filled-in form: the same cells in every sheet (the files' own metadata may differ).
    let sheets = |project: &TestProject| {
        use calamine::Reader;
        let out = project.path().join("annual.xlsx");
        ok(
            project,
            &sandbox,
            &["report", "annual", "--year", "2026", "--format", "xlsx", "--out", out.to_str().unwrap()],
        );
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
        let names = book.sheet_names().to_vec();
        assert!(!names.is_empty());
        names
            .into_iter()
            .map(|name| {
                let cells: Vec<String> = book
                    .worksheet_range(&name)
                    .unwrap()
                    .rows()
                    .flat_map(|r| r.iter().map(|c| format!("{c:?}")))
                    .collect();
                (name, cells)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(sheets(&sqlite), sheets(&postgres));
    let survey = ["survey", "report", "--year", "2026", "--json"];
    assert_eq!(ok(&sqlite, &sandbox, &survey), ok(&postgres, &sandbox, &survey));
    assert_eq!(bookkeeping(&sqlite_target), bookkeeping(&schema.target()));
}

/// Museums pull into one PostgreSQL database at once (and two machines pull the same museum):
/// every museum's rows are exactly one clean pull's, and the network report lists all. Eight
/// museums in CI (nine pulls on two cores are already a crowd); `WXPUB_MUSEUMS=20` for a network's
/// worth.
#[test]
fn museums_pulling_at_once_into_one_postgres_lose_and_duplicate_nothing() {
    let Some(url) = test_support::postgres_url() else { return };
    let museums: usize = std::env::var("WXPUB_MUSEUMS").ok().and_then(|v| v.parse().ok()).unwrap_or(8).max(1);
    let (reference, sandbox, _state) = published_example();
    let range = ["stats", "pull", "--since", "2026-12-10", "--until", "2027-01-02"];
    ok(&reference, &sandbox, &range);
    let expected = datacube_dump(&StoreTarget::Sqlite(reference.path().join(".wxpub/metrics.db")));

    let schemas: Vec<Schema> = (1..=museums).map(|n| Schema::new(&url, &format!("m{n:02}"))).collect();
    let mut projects: Vec<TestProject> = schemas.iter().map(|s| copy_into(&reference, s)).collect();
    // A second machine pulling the first museum: its own project folder, the same schema.
    projects.push(copy_into(&reference, &schemas[0]));
    let children: Vec<_> = projects
        .iter()
        .map(|project| {
            let mut command = env(binary(project), &sandbox);
            command.args(range).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{out}{err}");
    }
    for schema in &schemas {
        assert!(datacube_dump(&schema.target()) == expected, "{}: not exactly one clean pull's rows", schema.name);
    }

    // And one museum on its own SQLite file: a network mixes both kinds of store.
    let mut toml = format!(
        "name = \"博物馆联盟\"\n[museums.sqlite]\nname = \"单机博物馆\"\nproject = \"{}\"\n",
        reference.path().display()
    );
    for (n, schema) in schemas.iter().enumerate() {
        toml += &format!("[museums.m{n:02}]\nname = \"博物馆 {n:02}\"\ndb = \"{url}\"\nschema = \"{}\"\n", schema.name);
    }
    let network = tempfile::tempdir().unwrap();
    let file = network.path().join("network.toml");
    std::fs::write(&file, toml).unwrap();
    let network = |extra: &[&str]| {
        let args = [&["report", "network", "--museums", file.to_str().unwrap(), "--year", "2026"][..], extra].concat();
        ok(&reference, &sandbox, &args)
    };
    let table = network(&[]);
    let last = format!("博物馆 {:02}", museums - 1);
    assert!(table.contains("博物馆 00") && table.contains(&last) && table.contains("单机博物馆"), "{table}");
    let json = network(&["--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["museums"].as_array().unwrap().len(), museums + 1, "{report}");
    assert_eq!(report["missing"].as_array().map_or(0, Vec::len), 0, "{report}");
    // The same sandbox and days everywhere: the same figures from every store.
    let followers: Vec<&serde_json::Value> =
        report["museums"].as_array().unwrap().iter().map(|m| &m["figures"]["new_followers"]).collect();
    assert!(followers.iter().all(|f| *f == followers[0] && f.as_f64().unwrap() > 0.0), "{followers:?}");
}

/// The server drops the pull's connection again and again: the pull reconnects, repeats the
/// write it lost, and ends with exactly a clean pull's rows.
#[test]
fn a_pull_that_loses_its_postgres_connection_resumes_with_nothing_lost() {
    let Some(url) = test_support::postgres_url() else { return };
    let (reference, sandbox, _state) = published_example();
    let args = [&["stats", "pull", "--account", "service"][..], &YEAR].concat();
    ok(&reference, &sandbox, &args);
    let expected = datacube_dump(&StoreTarget::Sqlite(reference.path().join(".wxpub/metrics.db")));

    let schema = Schema::new(&url, "lost");
    // Its own name in the server's activity view, so that only this pull's sessions are cut.
    let name = format!("wxpub_lost_{}", std::process::id());
    let separator = if url.contains('?') { '&' } else { '?' };
    let project = copy_into(&reference, &schema);
    project.write(
        "publish.toml",
        &(reference.read("publish.toml")
            + &format!(
                "\n[metrics]\ndb = \"{url}{separator}application_name={name}\"\nschema = \"{}\"\n\
                 # Few calls at once, so that the pull lasts long enough to be cut several times.\n\
                 concurrency = 2\n",
                schema.name
            )),
    );
    let mut child =
        env(binary(&project), &sandbox).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut cut = 0;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if cut >= 3 || child.try_wait().unwrap().is_some() {
            break;
        }
        let ended: i64 = admin
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
                 WHERE application_name = $1) AS cut WHERE ended",
                &[&name],
            )
            .unwrap()
            .get(0);
        cut += ended;
    }
    let output = child.wait_with_output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{out}{err}");
    assert!(cut >= 2, "the pull was cut {cut} time(s) only: too quick to test");
    assert!(datacube_dump(&schema.target()) == expected, "rows lost or duplicated after {cut} cut(s)");
}

/// A museum's PostgreSQL settings are checked before anything is pulled, and never echo a password.
#[test]
fn postgres_settings_are_checked_and_never_echo_a_password() {
    let project = TestProject::example();
    let config = project.read("publish.toml");
    let run = |extra: &str| {
        project.write("publish.toml", &(config.clone() + extra));
        let output = project.wxpub().args(["report", "summary"]).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, err) = run("\n[metrics]\ndb = \"postgres://museum:s3cret-pw@127.0.0.1/stats\"\nschema = \"m\"\n");
    assert_ne!(code, Some(0));
    assert!(err.contains("carries a password") && !err.contains("s3cret-pw"), "{err}");
    let (code, err) = run("\n[metrics]\ndb = \"postgres://museum@127.0.0.1/stats\"\n");
    assert_ne!(code, Some(0));
    assert!(err.contains("needs `schema`"), "{err}");
}
