//! The store's tables: the rows a query returns, the versioned schema (its migrations, applied
//! alike on both engines) and which table and columns each datacube endpoint's rows go to.
use std::sync::Arc;

use crate::wechat::types::Datacube;

use super::{Cell, Store, StoreError, StoreTarget, args, engine};

/// One row of a query, read by column index.
pub struct Row {
    pub(super) cells: Vec<Cell>,
    pub(super) origin: Arc<str>,
}

impl Row {
    fn cell(&self, i: usize) -> &Cell {
        self.cells.get(i).unwrap_or(&Cell::Null)
    }

    fn wrong(&self, i: usize, wanted: &str) -> StoreError {
        StoreError::Value {
            target: self.origin.to_string(),
            detail: format!("column {i} holds {:?} where {wanted} was expected", self.cell(i)),
        }
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Text(t) => Ok(Some(t.clone())),
            _ => Err(self.wrong(i, "text")),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| self.wrong(i, "text"))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i) {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n)),
            _ => Err(self.wrong(i, "an integer")),
        }
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| self.wrong(i, "an integer"))
    }

    pub fn u32(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?).map_err(|_| self.wrong(i, "a small positive integer"))
    }

    pub fn real(&self, i: usize) -> Result<f64, StoreError> {
        match self.cell(i) {
            Cell::Real(r) => Ok(*r),
            Cell::Int(n) => Ok(*n as f64),
            _ => Err(self.wrong(i, "a number")),
        }
    }

    /// A JSON list of strings (publication tags).
    pub fn tags(&self, i: usize) -> Result<Vec<String>, StoreError> {
        let text = self.text(i)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Value {
            target: self.origin.to_string(),
            detail: format!("tags `{text}` are not a JSON list of strings: {e}"),
        })
    }
}

/// The tables `dump_table` reads (what a pull or a publish writes): the twelve datacube tables
/// first, then the bookkeeping.
pub const TABLES: [&str; 20] = [
    "user_summary",
    "user_cumulate",
    "article_summary",
    "article_total",
    "user_read",
    "user_read_hour",
    "user_share",
    "user_share_hour",
    "article_read",
    "article_share",
    "biz_summary",
    "article_total_detail",
    "read_source",
    "pulled_days",
    "publications",
    "publish_runs",
    "survey_responses",
    "monitor_results",
    "monitor_incidents",
    "comments",
];
/// Schema migrations, applied in order; the database's `user_version` counts those applied.
/// Never edit a released migration: add the next one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: datacube tables, pulled days, publish runs and publications.
    r#"
    CREATE TABLE user_summary (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, user_source INTEGER NOT NULL,
        new_user INTEGER NOT NULL, cancel_user INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, user_source));
    CREATE TABLE user_cumulate (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, cumulate_user INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date));
    CREATE TABLE article_summary (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, msgid TEXT NOT NULL, title TEXT NOT NULL,
        int_page_read_user INTEGER NOT NULL, int_page_read_count INTEGER NOT NULL,
        ori_page_read_user INTEGER NOT NULL, ori_page_read_count INTEGER NOT NULL,
        share_user INTEGER NOT NULL, share_count INTEGER NOT NULL,
        add_to_fav_user INTEGER NOT NULL, add_to_fav_count INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, msgid));
    CREATE TABLE article_total (
        account TEXT NOT NULL, msgid TEXT NOT NULL, stat_date TEXT NOT NULL,
        ref_date TEXT NOT NULL, title TEXT NOT NULL, target_user INTEGER NOT NULL,
        int_page_read_user INTEGER NOT NULL, int_page_read_count INTEGER NOT NULL,
        ori_page_read_user INTEGER NOT NULL, ori_page_read_count INTEGER NOT NULL,
        share_user INTEGER NOT NULL, share_count INTEGER NOT NULL,
        add_to_fav_user INTEGER NOT NULL, add_to_fav_count INTEGER NOT NULL,
        PRIMARY KEY (account, msgid, stat_date));
    CREATE TABLE user_read (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, user_source INTEGER NOT NULL,
        int_page_read_user INTEGER NOT NULL, int_page_read_count INTEGER NOT NULL,
        ori_page_read_user INTEGER NOT NULL, ori_page_read_count INTEGER NOT NULL,
        share_user INTEGER NOT NULL, share_count INTEGER NOT NULL,
        add_to_fav_user INTEGER NOT NULL, add_to_fav_count INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, user_source));
    CREATE TABLE user_read_hour (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, ref_hour INTEGER NOT NULL, user_source INTEGER NOT NULL,
        int_page_read_user INTEGER NOT NULL, int_page_read_count INTEGER NOT NULL,
        ori_page_read_user INTEGER NOT NULL, ori_page_read_count INTEGER NOT NULL,
        share_user INTEGER NOT NULL, share_count INTEGER NOT NULL,
        add_to_fav_user INTEGER NOT NULL, add_to_fav_count INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, ref_hour, user_source));
    CREATE TABLE user_share (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, share_scene INTEGER NOT NULL,
        share_count INTEGER NOT NULL, share_user INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, share_scene));
    CREATE TABLE user_share_hour (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, ref_hour INTEGER NOT NULL, share_scene INTEGER NOT NULL,
        share_count INTEGER NOT NULL, share_user INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, ref_hour, share_scene));
    -- Which days of which endpoint have been fetched (a day can rightly have no rows).
    CREATE TABLE pulled_days (
        account TEXT NOT NULL, endpoint TEXT NOT NULL, ref_date TEXT NOT NULL, first_pulled_at TEXT NOT NULL,
        PRIMARY KEY (account, endpoint, ref_date));
    CREATE TABLE publish_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run TEXT NOT NULL, account TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT NOT NULL,
        items INTEGER NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')), error TEXT);
    CREATE TABLE publications (
        account TEXT NOT NULL, item TEXT NOT NULL, slot TEXT NOT NULL, title TEXT NOT NULL,
        kind TEXT NOT NULL, mode TEXT NOT NULL, pushed_at TEXT NOT NULL, url TEXT,
        illustrations INTEGER NOT NULL DEFAULT 0, video_seconds INTEGER NOT NULL DEFAULT 0,
        animation_seconds INTEGER NOT NULL DEFAULT 0, live INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, item, slot));
    "#,
    // 2: audience-satisfaction survey responses.
    r#"
    CREATE TABLE survey_responses (
        survey TEXT NOT NULL, response TEXT NOT NULL, answered_at TEXT NOT NULL,
        rating REAL NOT NULL, satisfied INTEGER NOT NULL,
        source_file TEXT NOT NULL, source_row INTEGER NOT NULL, imported_at TEXT NOT NULL,
        PRIMARY KEY (survey, response));
    "#,
    // 3: the 2026 statistics (from 2025-11-01), keyed by msgid = "<msg_data_id>_<index>" (index
    // 1-based); whether a pulled day is final (is_delay); each publication's statistics key, push
    // position and tags, to join statistics to items without titles.
    r#"
    ALTER TABLE pulled_days ADD COLUMN final INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE pulled_days ADD COLUMN last_pulled_at TEXT;
    CREATE TABLE article_read (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, msgid TEXT NOT NULL, read_user INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, msgid));
    CREATE TABLE article_share (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, msgid TEXT NOT NULL, share_user INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date, msgid));
    CREATE TABLE biz_summary (
        account TEXT NOT NULL, ref_date TEXT NOT NULL, read_user INTEGER NOT NULL, share_user INTEGER NOT NULL,
        zaikan_user INTEGER NOT NULL, like_user INTEGER NOT NULL, comment_count INTEGER NOT NULL,
        PRIMARY KEY (account, ref_date));
    -- One row per detail_list entry: figures summed from publishing (ref_date) to stat_date.
    CREATE TABLE article_total_detail (
        account TEXT NOT NULL, msgid TEXT NOT NULL, stat_date TEXT NOT NULL, ref_date TEXT NOT NULL,
        publish_type INTEGER NOT NULL, read_user INTEGER NOT NULL, share_user INTEGER NOT NULL,
        zaikan_user INTEGER NOT NULL, like_user INTEGER NOT NULL, comment_count INTEGER NOT NULL,
        PRIMARY KEY (account, msgid, stat_date));
    -- read_user_source of the three endpoints that carry it (msgid '' for getbizsummary).
    CREATE TABLE read_source (
        account TEXT NOT NULL, endpoint TEXT NOT NULL, ref_date TEXT NOT NULL, msgid TEXT NOT NULL,
        stat_date TEXT NOT NULL, source TEXT NOT NULL, user_count INTEGER NOT NULL,
        PRIMARY KEY (account, endpoint, ref_date, msgid, stat_date, source));
    ALTER TABLE publications ADD COLUMN msgid TEXT;
    ALTER TABLE publications ADD COLUMN position INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE publications ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX publications_msgid ON publications (account, msgid);
    "#,
    // 4: views for BI tools (Metabase, Grafana, Superset): one row per account-day, per
    // article-day and per year. Written in SQL both engines read alike; sums are over the stored
    // datacube rows, so they agree with `wxpub report`.
    r#"
    CREATE VIEW account_day AS
    SELECT d.account, d.ref_date AS day,
      (SELECT SUM(s.new_user) FROM user_summary s WHERE s.account = d.account AND s.ref_date = d.ref_date)
        AS new_followers,
      (SELECT SUM(s.cancel_user) FROM user_summary s WHERE s.account = d.account AND s.ref_date = d.ref_date)
        AS cancelled_followers,
      (SELECT c.cumulate_user FROM user_cumulate c WHERE c.account = d.account AND c.ref_date = d.ref_date)
        AS followers,
      COALESCE(
        (SELECT b.read_user FROM biz_summary b WHERE b.account = d.account AND b.ref_date = d.ref_date),
        (SELECT r.int_page_read_user FROM user_read r
          WHERE r.account = d.account AND r.ref_date = d.ref_date AND r.user_source = 99999999)) AS read_users,
      (SELECT b.share_user FROM biz_summary b WHERE b.account = d.account AND b.ref_date = d.ref_date)
        AS share_users,
      (SELECT b.like_user FROM biz_summary b WHERE b.account = d.account AND b.ref_date = d.ref_date) AS likes,
      (SELECT b.zaikan_user FROM biz_summary b WHERE b.account = d.account AND b.ref_date = d.ref_date) AS zaikan,
      (SELECT b.comment_count FROM biz_summary b WHERE b.account = d.account AND b.ref_date = d.ref_date)
        AS comments
    FROM (SELECT account, ref_date FROM user_summary UNION SELECT account, ref_date FROM user_cumulate
          UNION SELECT account, ref_date FROM biz_summary UNION SELECT account, ref_date FROM user_read) AS d;
    CREATE VIEW article_day AS
    SELECT r.account, r.msgid, r.ref_date AS day, r.read_user AS read_users,
      COALESCE((SELECT s.share_user FROM article_share s
                WHERE s.account = r.account AND s.msgid = r.msgid AND s.ref_date = r.ref_date), 0) AS share_users,
      (SELECT p.item FROM publications p WHERE p.account = r.account AND p.msgid = r.msgid
        ORDER BY p.slot, p.item LIMIT 1) AS item,
      (SELECT p.title FROM publications p WHERE p.account = r.account AND p.msgid = r.msgid
        ORDER BY p.slot, p.item LIMIT 1) AS title
    FROM article_read r
    UNION ALL
    SELECT a.account, a.msgid, a.ref_date, a.int_page_read_user, a.share_user,
      (SELECT p.item FROM publications p WHERE p.account = a.account AND p.msgid = a.msgid
        ORDER BY p.slot, p.item LIMIT 1),
      a.title
    FROM article_summary a;
    CREATE VIEW museum_year AS
    SELECT y.year, y.accounts, y.new_followers, y.cancelled_followers,
      (SELECT SUM(c.cumulate_user) FROM user_cumulate c WHERE substr(c.ref_date, 1, 4) = y.year
        AND c.ref_date = (SELECT MAX(l.ref_date) FROM user_cumulate l
                          WHERE l.account = c.account AND substr(l.ref_date, 1, 4) = y.year)) AS followers_at_end,
      y.read_users, y.share_users, y.likes, y.zaikan, y.comments,
      (SELECT COUNT(*) FROM publications p WHERE substr(p.slot, 1, 4) = y.year) AS articles_published
    FROM (SELECT substr(day, 1, 4) AS year, COUNT(DISTINCT account) AS accounts,
            SUM(new_followers) AS new_followers, SUM(cancelled_followers) AS cancelled_followers,
            SUM(read_users) AS read_users, SUM(share_users) AS share_users, SUM(likes) AS likes,
            SUM(zaikan) AS zaikan, SUM(comments) AS comments
          FROM account_day GROUP BY substr(day, 1, 4)) AS y;
    "#,
    // 5: a publish run is recorded once per account, even when a lost connection makes the store
    // repeat the write whose commit it never heard back about.
    r#"
    CREATE UNIQUE INDEX publish_runs_run_account ON publish_runs (run, account);
    "#,
    // 6: the availability monitor: one row per check and round (the round is the slot of the
    // clock it fills, so two monitors never record it twice), and the incidents, first failure
    // to recovery. Local times are the site's, as reports show and group them.
    r#"
    CREATE TABLE monitor_results (
        check_name TEXT NOT NULL, round TEXT NOT NULL, checked_at TEXT NOT NULL, local_time TEXT NOT NULL,
        url TEXT NOT NULL, builtin INTEGER NOT NULL, up INTEGER NOT NULL, status INTEGER, latency_ms INTEGER,
        failure TEXT, error TEXT, maintenance INTEGER NOT NULL, cert_expires_at TEXT,
        PRIMARY KEY (check_name, round));
    CREATE INDEX monitor_results_local_time ON monitor_results (local_time);
    CREATE TABLE monitor_incidents (
        check_name TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, failure TEXT NOT NULL,
        failed_rounds INTEGER NOT NULL, last_failure_at TEXT NOT NULL,
        PRIMARY KEY (check_name, started_at));
    "#,
    // 7: readers' comments, one row per comment, with the reply and who sent it from wxpub. `id`
    // is the short number people type (`wxpub comments reply 17 "…"`).
    r#"
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL, msg_data_id TEXT NOT NULL, article_index INTEGER NOT NULL,
        comment_id TEXT NOT NULL, msgid TEXT NOT NULL, item TEXT, created_at TEXT NOT NULL,
        content TEXT NOT NULL, elected INTEGER NOT NULL, identified INTEGER NOT NULL,
        reply TEXT, replied_at TEXT, replied_by TEXT, deleted INTEGER NOT NULL DEFAULT 0,
        first_seen_at TEXT NOT NULL, last_seen_at TEXT NOT NULL);
    CREATE UNIQUE INDEX comments_key ON comments (account, msg_data_id, article_index, comment_id);
    CREATE INDEX comments_created ON comments (created_at);
    "#,
];

/// The read/share/favourite counters shared by several endpoints.
pub const READ_COUNTERS: [&str; 8] = [
    "int_page_read_user",
    "int_page_read_count",
    "ori_page_read_user",
    "ori_page_read_count",
    "share_user",
    "share_count",
    "add_to_fav_user",
    "add_to_fav_count",
];

/// Where an endpoint's rows go: table, the columns that identify a row, the other columns.
pub struct TableSpec {
    pub table: &'static str,
    pub keys: &'static [&'static str],
    pub values: Vec<&'static str>,
}

pub fn table_spec(endpoint: Datacube) -> TableSpec {
    let with_counters = |first: &[&'static str]| first.iter().copied().chain(READ_COUNTERS).collect::<Vec<_>>();
    match endpoint {
        Datacube::GetUserSummary => TableSpec {
            table: "user_summary",
            keys: &["ref_date", "user_source"],
            values: vec!["new_user", "cancel_user"],
        },
        Datacube::GetUserCumulate => {
            TableSpec { table: "user_cumulate", keys: &["ref_date"], values: vec!["cumulate_user"] }
        }
        Datacube::GetArticleSummary => {
            TableSpec { table: "article_summary", keys: &["ref_date", "msgid"], values: with_counters(&["title"]) }
        }
        // Rows are the `details[]` of each article, flattened with the article's fields.
        Datacube::GetArticleTotal => TableSpec {
            table: "article_total",
            keys: &["msgid", "stat_date"],
            values: with_counters(&["ref_date", "title", "target_user"]),
        },
        Datacube::GetUserRead => {
            TableSpec { table: "user_read", keys: &["ref_date", "user_source"], values: with_counters(&[]) }
        }
        Datacube::GetUserReadHour => TableSpec {
            table: "user_read_hour",
            keys: &["ref_date", "ref_hour", "user_source"],
            values: with_counters(&[]),
        },
        Datacube::GetUserShare => TableSpec {
            table: "user_share",
            keys: &["ref_date", "share_scene"],
            values: vec!["share_count", "share_user"],
        },
        Datacube::GetUserShareHour => TableSpec {
            table: "user_share_hour",
            keys: &["ref_date", "ref_hour", "share_scene"],
            values: vec!["share_count", "share_user"],
        },
        Datacube::GetArticleRead => {
            TableSpec { table: "article_read", keys: &["ref_date", "msgid"], values: vec!["read_user"] }
        }
        Datacube::GetArticleShare => {
            TableSpec { table: "article_share", keys: &["ref_date", "msgid"], values: vec!["share_user"] }
        }
        Datacube::GetBizSummary => TableSpec {
            table: "biz_summary",
            keys: &["ref_date"],
            values: vec!["read_user", "share_user", "zaikan_user", "like_user", "comment_count"],
        },
        // Rows are the `detail_list[]` of each article, flattened with the article's fields.
        Datacube::GetArticleTotalDetail => TableSpec {
            table: "article_total_detail",
            keys: &["msgid", "stat_date"],
            values: vec![
                "ref_date",
                "publish_type",
                "read_user",
                "share_user",
                "zaikan_user",
                "like_user",
                "comment_count",
            ],
        },
    }
}

impl Store {
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match &self.target {
            StoreTarget::Sqlite(_) => self.one("PRAGMA user_version", &[])?.int(0),
            StoreTarget::Postgres { schema, .. } => {
                let exists = self.row("SELECT 1 FROM pg_namespace WHERE nspname = ?1", args![schema])?.is_some();
                let table = self.row(
                    "SELECT 1 FROM information_schema.tables WHERE table_schema = ?1 AND table_name = 'wxpub_schema_version'",
                    args![schema],
                )?;
                if !exists || table.is_none() {
                    return Err(StoreError::NoSchema { target: self.origin.to_string(), schema: schema.clone() });
                }
                Ok(self
                    .row("SELECT version FROM wxpub_schema_version", &[])?
                    .map(|r| r.int(0))
                    .transpose()?
                    .unwrap_or(0))
            }
        }
    }

    pub(super) fn migrate(&mut self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        match self.target.clone() {
            StoreTarget::Sqlite(_) => {
                let version = self.schema_version()?;
                if version > known {
                    return Err(StoreError::TooNew { target: self.origin.to_string(), found: version, known });
                }
                for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                    self.write(|engine| {
                        engine.batch(sql)?;
                        engine.batch(&format!("PRAGMA user_version = {}", index + 1))
                    })?;
                }
                Ok(())
            }
            StoreTarget::Postgres { schema, .. } => {
                // Already current: nothing to create or write (a role with only USAGE on its
                // schema can run every command).
                match self.schema_version() {
                    Ok(version) if version == known => return Ok(()),
                    Ok(version) if version > known => {
                        return Err(StoreError::TooNew { target: self.origin.to_string(), found: version, known });
                    }
                    Ok(_) | Err(StoreError::NoSchema { .. }) => {}
                    Err(e) => return Err(e),
                }
                // One migrator at a time per database: twenty museums' first pulls may start at once.
                let found = self.write(|engine| {
                    engine.execute("SELECT pg_advisory_xact_lock(hashtext('wxpub-migrate'))", &[])?;
                    engine.batch(&format!(
                        "CREATE SCHEMA IF NOT EXISTS {schema}; \
                         CREATE TABLE IF NOT EXISTS {schema}.wxpub_schema_version (version BIGINT NOT NULL)",
                        schema = engine::quote_ident(&schema)
                    ))?;
                    let rows = engine.query("SELECT version FROM wxpub_schema_version", &[])?;
                    let version = match rows.first().and_then(|r| r.first()) {
                        Some(Cell::Int(v)) => *v,
                        _ => {
                            engine.execute("INSERT INTO wxpub_schema_version (version) VALUES (0)", &[])?;
                            0
                        }
                    };
                    if version > known {
                        return Ok(version);
                    }
                    for sql in MIGRATIONS.iter().skip(version as usize) {
                        engine.batch(&engine::postgres_ddl(sql))?;
                    }
                    engine.execute("UPDATE wxpub_schema_version SET version = ?1", args![known])?;
                    Ok(version)
                })?;
                if found > known {
                    return Err(StoreError::TooNew { target: self.origin.to_string(), found, known });
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::tests::fresh_stores;

    #[test]
    fn the_bi_views_add_up_the_stored_days_alike_on_both_engines() {
        for fresh in fresh_stores("views") {
            let mut store = Store::open(&fresh.target).unwrap();
            let day = |d: &str| vec![(d.to_string(), true)];
            for (d, new, total) in [("2026-12-30", 5, 100), ("2026-12-31", 7, 106), ("2027-01-01", 1, 107)] {
                let summary = [
                    json!({"ref_date": d, "user_source": 0, "new_user": new, "cancel_user": 1}),
                    json!({"ref_date": d, "user_source": 30, "new_user": 1, "cancel_user": 0}),
                ];
                store.store_range("service", Datacube::GetUserSummary, &day(d), &summary, "t").unwrap();
                let cumulate = [json!({"ref_date": d, "cumulate_user": total})];
                store.store_range("service", Datacube::GetUserCumulate, &day(d), &cumulate, "t").unwrap();
                let biz = [json!({"ref_date": d, "read_user": 40, "share_user": 2, "zaikan_user": 1, "like_user": 3,
                    "comment_count": 0})];
                store.store_range("service", Datacube::GetBizSummary, &day(d), &biz, "t").unwrap();
            }
            let read = [json!({"ref_date": "2026-12-31", "msgid": "9_1", "read_user": 12})];
            store.store_range("service", Datacube::GetArticleRead, &day("2026-12-31"), &read, "t").unwrap();
            let rows = store
                .rows("SELECT day, new_followers, followers, read_users, likes FROM account_day ORDER BY day", &[])
                .unwrap();
            let days: Vec<(String, i64, i64, i64, i64)> = rows
                .iter()
                .map(|r| {
                    (r.text(0).unwrap(), r.int(1).unwrap(), r.int(2).unwrap(), r.int(3).unwrap(), r.int(4).unwrap())
                })
                .collect();
            assert_eq!(days[1], ("2026-12-31".to_string(), 8, 106, 40, 3));
            let year = store
                .one(
                    "SELECT year, accounts, new_followers, followers_at_end, read_users, likes FROM museum_year \
                      WHERE year = '2026'",
                    &[],
                )
                .unwrap();
            assert_eq!(
                year.cells(),
                [Cell::Text("2026".into()), Cell::Int(1), Cell::Int(14), Cell::Int(106), Cell::Int(80), Cell::Int(6)]
            );
            let article = store.one("SELECT msgid, day, read_users, share_users FROM article_day", &[]).unwrap();
            assert_eq!(article.cells()[2..], [Cell::Int(12), Cell::Int(0)]);
        }
    }
}
