//! The metrics database: one SQLite file with a versioned schema (`PRAGMA user_version`).
//!
//! Datacube rows are kept in one table per endpoint, with the endpoint's own field names as
//! columns, so that the communications team can also open the file with any SQLite tool. Every
//! write is an upsert keyed on what identifies the row, so pulling twice changes nothing.
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::Value;

use crate::wechat::types::Datacube;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("metrics database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("metrics database {path} has schema version {found}, newer than this wxpub knows ({known}); upgrade wxpub")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("cannot create the folder for {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error(
        "metrics database {path} has schema version {found} and this wxpub reads {known}; it is read as it is, never migrated here: update it with the wxpub of its own project (`wxpub stats pull` there)"
    )]
    OtherVersion { path: PathBuf, found: i64, known: i64 },
}

/// Schema migrations, applied in order; the database's `user_version` counts those applied.
/// Never edit a released migration: add the next one.
const MIGRATIONS: &[&str] = &[
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

/// A finished `wxpub publish` run for one account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublishRun {
    pub run: String,
    pub account: String,
    pub started_at: String,
    pub ended_at: String,
    pub items: usize,
    pub ok: bool,
    pub error: Option<String>,
}

/// One published (or mass-sent) article, with the facts the yearly report counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Publication {
    pub account: String,
    pub item: String,
    pub slot: String,
    pub title: String,
    pub kind: String,
    pub mode: String,
    pub pushed_at: String,
    pub url: Option<String>,
    pub illustrations: u32,
    pub video_seconds: u32,
    pub animation_seconds: u32,
    pub live: bool,
    /// The article's key in WeChat's 2026 statistics, `<msg_data_id>_<position>`, when known.
    pub msgid: Option<String>,
    /// 1-based position in its push.
    pub position: u32,
    pub tags: Vec<String>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| StoreError::Folder { path: path.to_path_buf(), source })?;
        }
        let sqlite = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(sqlite)?;
        // WAL: readers (reports) never wait for a pull; a killed pull loses at most its open batch.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sqlite)?;
        let mut store = Store { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    /// Wraps a SQLite error with the database's path.
    /// Opens someone else's database (another museum's, for the network report) read-only: nothing
    /// written, no migration, no WAL files; its schema must be the one this wxpub reads.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let sqlite = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sqlite)?;
        let store = Store { conn, path: path.to_path_buf() };
        let (found, known) = (store.schema_version()?, MIGRATIONS.len() as i64);
        if found != known {
            return Err(StoreError::OtherVersion { path: path.to_path_buf(), found, known });
        }
        Ok(store)
    }

    pub fn sql_error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.sql_error(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version = self.schema_version()?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: self.path.clone(), found: version, known });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction().map_err(|e| StoreError::Sqlite { path: self.path.clone(), source: e })?;
            tx.execute_batch(sql)
                .and_then(|_| tx.pragma_update(None, "user_version", index as i64 + 1))
                .and_then(|_| tx.commit())
                .map_err(|e| StoreError::Sqlite { path: self.path.clone(), source: e })?;
        }
        Ok(())
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Days of `endpoint` already fetched for good for `account` between `since` and `until`
    /// (inclusive); a day fetched while WeChat still called it provisional (`is_delay`) is not.
    pub fn pulled_days(
        &self,
        account: &str,
        endpoint: Datacube,
        since: &str,
        until: &str,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT ref_date FROM pulled_days WHERE account = ?1 AND endpoint = ?2 AND ref_date BETWEEN ?3 AND ?4 \
                 AND final = 1",
            )
            .map_err(|e| self.sql_error(e))?;
        let rows = statement
            .query_map(params![account, endpoint.name(), since, until], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// Stores one fetched range of `endpoint` — its rows and the days it covered, each marked
    /// final or not — in one transaction, so an interrupted pull leaves whole ranges or nothing.
    /// For the 2026 endpoints the range replaces what was stored for it: a provisional row that
    /// the final answer no longer has goes.
    pub fn store_range(
        &mut self,
        account: &str,
        endpoint: Datacube,
        days: &[(String, bool)],
        rows: &[Value],
        pulled_at: &str,
    ) -> Result<usize, StoreError> {
        let spec = table_spec(endpoint);
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(sqlite)?;
        let mut written = 0;
        let (flat, sources) = flatten_rows(endpoint, rows);
        if endpoint.reports_delay()
            && let (Some((first, _)), Some((last, _))) = (days.first(), days.last())
        {
            tx.execute(
                &format!("DELETE FROM {} WHERE account = ?1 AND ref_date BETWEEN ?2 AND ?3", spec.table),
                params![account, first, last],
            )
            .map_err(sqlite)?;
            tx.execute(
                "DELETE FROM read_source WHERE account = ?1 AND endpoint = ?2 AND ref_date BETWEEN ?3 AND ?4",
                params![account, endpoint.name(), first, last],
            )
            .map_err(sqlite)?;
        }
        {
            let columns: Vec<&str> = spec.keys.iter().chain(spec.values.iter()).copied().collect();
            let placeholders = (1..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let updates = spec.values.iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "INSERT INTO {table} (account, {cols}) VALUES ({placeholders}) \
                 ON CONFLICT (account, {keys}) DO UPDATE SET {updates}",
                table = spec.table,
                cols = columns.join(", "),
                keys = spec.keys.join(", "),
            );
            let mut insert = tx.prepare_cached(&sql).map_err(sqlite)?;
            for row in flat {
                let mut values: Vec<rusqlite::types::Value> = vec![account.to_string().into()];
                for column in &columns {
                    values.push(sql_value(row.get(*column)));
                }
                insert.execute(params_from_iter(values)).map_err(sqlite)?;
                written += 1;
            }
            let mut source_row = tx
                .prepare_cached(
                    "INSERT INTO read_source (account, endpoint, ref_date, msgid, stat_date, source, user_count) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO UPDATE SET user_count = excluded.user_count",
                )
                .map_err(sqlite)?;
            for s in &sources {
                source_row
                    .execute(params![
                        account,
                        endpoint.name(),
                        s.ref_date,
                        s.msgid,
                        s.stat_date,
                        s.source,
                        s.user_count
                    ])
                    .map_err(sqlite)?;
            }
            let mut mark = tx
                .prepare_cached(
                    "INSERT INTO pulled_days (account, endpoint, ref_date, first_pulled_at, final, last_pulled_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?4) \
                     ON CONFLICT DO UPDATE SET final = excluded.final, last_pulled_at = excluded.last_pulled_at",
                )
                .map_err(sqlite)?;
            for (day, is_final) in days {
                mark.execute(params![account, endpoint.name(), day, pulled_at, is_final]).map_err(sqlite)?;
            }
        }
        tx.commit().map_err(sqlite)?;
        Ok(written)
    }

    /// Rows stored for an endpoint (all accounts when `account` is None).
    pub fn count_rows(&self, endpoint: Datacube, account: Option<&str>) -> Result<u64, StoreError> {
        let spec = table_spec(endpoint);
        let sql = format!("SELECT COUNT(*) FROM {} WHERE ?1 IS NULL OR account = ?1", spec.table);
        self.conn
            .query_row(&sql, params![account], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sql_error(e))
    }

    /// The latest day of any stored statistics, if any.
    pub fn latest_day(&self, account: Option<&str>) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT MAX(ref_date) FROM pulled_days WHERE ?1 IS NULL OR account = ?1",
                params![account],
                |r| r.get::<_, Option<String>>(0),
            )
            .map_err(|e| self.sql_error(e))
    }

    pub fn record_run(&self, run: &PublishRun) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO publish_runs (run, account, started_at, ended_at, items, outcome, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    run.run,
                    run.account,
                    run.started_at,
                    run.ended_at,
                    run.items as i64,
                    if run.ok { "ok" } else { "failed" },
                    run.error
                ],
            )
            .map(drop)
            .map_err(|e| self.sql_error(e))
    }

    /// Records publications; an article already recorded is updated (its URL may have arrived).
    pub fn record_publications(&mut self, publications: &[Publication]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(sqlite)?;
        let mut changed = 0;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO publications (account, item, slot, title, kind, mode, pushed_at, url, illustrations, \
                     video_seconds, animation_seconds, live, msgid, position, tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                     ON CONFLICT (account, item, slot) DO UPDATE SET title = excluded.title, kind = excluded.kind, \
                     mode = excluded.mode, pushed_at = excluded.pushed_at, url = COALESCE(excluded.url, url), \
                     illustrations = excluded.illustrations, video_seconds = excluded.video_seconds, \
                     animation_seconds = excluded.animation_seconds, live = excluded.live, \
                     msgid = COALESCE(excluded.msgid, msgid), position = excluded.position, tags = excluded.tags \
                     WHERE (title, kind, mode, pushed_at, url, illustrations, video_seconds, animation_seconds, live, \
                     msgid, position, tags) \
                     IS NOT (excluded.title, excluded.kind, excluded.mode, excluded.pushed_at, \
                     COALESCE(excluded.url, url), excluded.illustrations, excluded.video_seconds, \
                     excluded.animation_seconds, excluded.live, COALESCE(excluded.msgid, msgid), excluded.position, \
                     excluded.tags)",
                )
                .map_err(sqlite)?;
            for p in publications {
                let tags = serde_json::to_string(&p.tags)
                    .map_err(|e| sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
                changed += upsert
                    .execute(params![
                        p.account,
                        p.item,
                        p.slot,
                        p.title,
                        p.kind,
                        p.mode,
                        p.pushed_at,
                        p.url,
                        p.illustrations,
                        p.video_seconds,
                        p.animation_seconds,
                        p.live,
                        p.msgid,
                        p.position,
                        tags
                    ])
                    .map_err(sqlite)?;
            }
        }
        tx.commit().map_err(sqlite)?;
        Ok(changed)
    }

    /// Publications whose slot falls in `[since, until]` (dates, inclusive), oldest first.
    pub fn publications(
        &self,
        since: &str,
        until: &str,
        account: Option<&str>,
    ) -> Result<Vec<Publication>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT account, item, slot, title, kind, mode, pushed_at, url, illustrations, video_seconds, \
                 animation_seconds, live, msgid, position, tags FROM publications \
                 WHERE substr(slot, 1, 10) BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3) \
                 ORDER BY slot, account, item",
            )
            .map_err(|e| self.sql_error(e))?;
        let rows = statement
            .query_map(params![since, until, account], |r| {
                Ok(Publication {
                    account: r.get(0)?,
                    item: r.get(1)?,
                    slot: r.get(2)?,
                    title: r.get(3)?,
                    kind: r.get(4)?,
                    mode: r.get(5)?,
                    pushed_at: r.get(6)?,
                    url: r.get(7)?,
                    illustrations: r.get(8)?,
                    video_seconds: r.get(9)?,
                    animation_seconds: r.get(10)?,
                    live: r.get(11)?,
                    msgid: r.get(12)?,
                    position: r.get(13)?,
                    tags: serde_json::from_str(&r.get::<_, String>(14)?).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, Box::new(e))
                    })?,
                })
            })
            .map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// (successful runs, all runs) whose start falls in `[since, until]`.
    pub fn run_counts(&self, since: &str, until: &str, account: Option<&str>) -> Result<(u64, u64), StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(outcome = 'ok'), 0), COUNT(*) FROM publish_runs \
                 WHERE substr(started_at, 1, 10) BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3)",
                params![since, until, account],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.sql_error(e))
    }

    /// The last recorded run, for `status`-like summaries and tests.
    pub fn last_run(&self) -> Result<Option<(String, String, Option<String>)>, StoreError> {
        self.conn
            .query_row("SELECT account, outcome, error FROM publish_runs ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(|e| self.sql_error(e))
    }
}

/// One `read_user_source` entry, as stored.
struct SourceRow {
    ref_date: String,
    msgid: String,
    stat_date: String,
    source: String,
    user_count: i64,
}

/// The rows as stored: `getarticletotal` and `getarticletotaldetail` rows are expanded into one
/// row per `details[]` / `detail_list[]` entry, a 2026 row's `detail` object is merged into it,
/// and every `read_user_source` entry becomes a [`SourceRow`].
fn flatten_rows(endpoint: Datacube, rows: &[Value]) -> (Vec<serde_json::Map<String, Value>>, Vec<SourceRow>) {
    let mut flat = Vec::with_capacity(rows.len());
    let mut sources = Vec::new();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let mut take_sources = |row: &serde_json::Map<String, Value>, stat_date: &str, entries: Option<&Value>| {
        for entry in entries.and_then(Value::as_array).into_iter().flatten() {
            let name = entry.get("scene_desc").or_else(|| entry.get("source_name")).or_else(|| entry.get("scene"));
            let name = match name {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => continue,
            };
            let count = entry.get("user_count").or_else(|| entry.get("read_user")).and_then(Value::as_i64);
            sources.push(SourceRow {
                ref_date: text(row.get("ref_date")),
                msgid: text(row.get("msgid")),
                stat_date: stat_date.to_string(),
                source: name,
                user_count: count.unwrap_or(0),
            });
        }
    };
    for row in rows {
        let Some(object) = row.as_object() else { continue };
        let list_key = match endpoint {
            Datacube::GetArticleTotal => Some("details"),
            Datacube::GetArticleTotalDetail => Some("detail_list"),
            _ => None,
        };
        match list_key {
            Some(key) => {
                for detail in object.get(key).and_then(Value::as_array).into_iter().flatten() {
                    let mut merged = object.clone();
                    merged.remove(key);
                    if let Some(detail) = detail.as_object() {
                        merged.extend(detail.clone());
                    }
                    let stat_date = text(merged.get("stat_date"));
                    take_sources(&merged, &stat_date, merged.get("read_user_source"));
                    merged.remove("read_user_source");
                    flat.push(merged);
                }
            }
            None => {
                let mut merged = object.clone();
                if let Some(Value::Object(detail)) = merged.remove("detail") {
                    merged.extend(detail);
                }
                let ref_date = text(merged.get("ref_date"));
                take_sources(&merged, &ref_date, merged.get("read_user_source"));
                merged.remove("read_user_source");
                flat.push(merged);
            }
        }
    }
    (flat, sources)
}

/// A JSON field as SQLite stores it. Missing counters are 0: WeChat omits zero fields at times.
fn sql_value(value: Option<&Value>) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match value {
        Some(Value::String(s)) => Sql::Text(s.clone()),
        Some(Value::Number(n)) => n.as_i64().map(Sql::Integer).unwrap_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0))),
        Some(Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        _ => Sql::Integer(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn migrations_apply_once_and_upserts_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let rows = vec![json!({"ref_date": "2026-11-01", "user_source": 30, "new_user": 5, "cancel_user": 1})];
        let days = vec![("2026-11-01".to_string(), true)];
        store.store_range("service", Datacube::GetUserSummary, &days, &rows, "t1").unwrap();
        let revised = vec![json!({"ref_date": "2026-11-01", "user_source": 30, "new_user": 7, "cancel_user": 1})];
        store.store_range("service", Datacube::GetUserSummary, &days, &revised, "t2").unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.count_rows(Datacube::GetUserSummary, Some("service")).unwrap(), 1);
        let new: i64 = store.connection().query_row("SELECT new_user FROM user_summary", [], |r| r.get(0)).unwrap();
        assert_eq!(new, 7, "a revised figure replaces the old one");
        let first: String =
            store.connection().query_row("SELECT first_pulled_at FROM pulled_days", [], |r| r.get(0)).unwrap();
        assert_eq!(first, "t1");
    }

    #[test]
    fn article_total_details_become_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("m.db")).unwrap();
        let detail = |d: &str, n: u64| json!({"stat_date": d, "target_user": 100, "int_page_read_user": n});
        let rows = vec![json!({"ref_date": "2026-11-01", "msgid": "9_1", "title": "t",
            "details": [detail("2026-11-01", 10), detail("2026-11-02", 15)]})];
        store.store_range("s", Datacube::GetArticleTotal, &[("2026-11-01".into(), true)], &rows, "t").unwrap();
        assert_eq!(store.count_rows(Datacube::GetArticleTotal, None).unwrap(), 2);
    }

    #[test]
    fn a_provisional_day_is_replaced_by_the_final_answer_and_its_sources_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("m.db")).unwrap();
        let read = |msgid: &str, n: u64| {
            json!({"ref_date": "2026-11-09", "msgid": msgid, "detail": {"read_user": n,
                "read_user_source": [{"scene_desc": "全部", "user_count": n}, {"scene_desc": "朋友圈", "user_count": n / 2}]}})
        };
        let day = |is_final| vec![("2026-11-09".to_string(), is_final)];
        store
            .store_range("s", Datacube::GetArticleRead, &day(false), &[read("7_1", 80), read("7_2", 4)], "t1")
            .unwrap();
        let pulled =
            |store: &Store| store.pulled_days("s", Datacube::GetArticleRead, "2026-11-01", "2026-11-30").unwrap();
        assert!(pulled(&store).is_empty(), "a provisional day is not pulled for good");
        // The final answer: 7_2 is gone, 7_1 has grown.
        store.store_range("s", Datacube::GetArticleRead, &day(true), &[read("7_1", 100)], "t2").unwrap();
        assert_eq!(pulled(&store).len(), 1);
        let rows: Vec<(String, i64)> = store
            .connection()
            .prepare("SELECT msgid, read_user FROM article_read")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [("7_1".to_string(), 100)]);
        let sources: i64 = store
            .connection()
            .query_row("SELECT user_count FROM read_source WHERE msgid = '7_1' AND source = '朋友圈'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(sources, 50);
        let stale: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM read_source WHERE msgid = '7_2'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stale, 0);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let message = Store::open(&path).err().unwrap().to_string();
        assert!(message.contains("schema version 99"), "{message}");
    }
}
