//! The metrics database: one SQLite file (`.wxpub/metrics.db`) or one schema of a shared
//! PostgreSQL database, with the same versioned schema on both.
//!
//! Datacube rows are kept in one table per endpoint, with the endpoint's own field names as
//! columns, so that the communications team can also open the store with any SQL tool. Every
//! write is an upsert keyed on what identifies the row, so pulling twice changes nothing, and a
//! write interrupted by a lost PostgreSQL connection is simply repeated on a new one.
//! Queries are written once, in SQL both engines accept (`engine.rs` runs them on either).
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;

use crate::wechat::types::Datacube;

mod engine;

pub(crate) use engine::args;
pub use engine::{Cell, Param, ToParam};
use engine::{Column, Engine, EngineError, Pg, PgTarget};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("metrics database {target}: {source}")]
    Sqlite { target: String, source: rusqlite::Error },
    #[error("metrics database {target}: {source}")]
    Postgres { target: String, source: postgres::Error },
    #[error("metrics database {target}: {detail}")]
    Value { target: String, detail: String },
    #[error(
        "metrics database {target} has schema version {found}, newer than this wxpub knows ({known}); upgrade wxpub"
    )]
    TooNew { target: String, found: i64, known: i64 },
    #[error("cannot create the folder for {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error(
        "metrics database {target} has schema version {found} and this wxpub reads {known}; it is read as it is, never migrated here: update it with the wxpub of its own project (`wxpub stats pull` there)"
    )]
    OtherVersion { target: String, found: i64, known: i64 },
    #[error(
        "metrics database {target}: nothing has been pulled into it yet (no schema `{schema}` there); run `wxpub stats pull` in the museum's project"
    )]
    NoSchema { target: String, schema: String },
    /// `[metrics]` (or a network file's museum) names the store wrongly.
    #[error("{0}")]
    Target(String),
}

/// Where a museum's statistics live: a SQLite file, or a schema of a PostgreSQL database.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreTarget {
    Sqlite(PathBuf),
    /// `url` never carries a password (refused when it does); it comes from `password_env`.
    Postgres {
        url: String,
        schema: String,
        password_env: Option<String>,
    },
}

impl From<&Path> for StoreTarget {
    fn from(path: &Path) -> Self {
        StoreTarget::Sqlite(path.to_path_buf())
    }
}
impl From<&PathBuf> for StoreTarget {
    fn from(path: &PathBuf) -> Self {
        StoreTarget::Sqlite(path.clone())
    }
}
impl From<&StoreTarget> for StoreTarget {
    fn from(target: &StoreTarget) -> Self {
        target.clone()
    }
}

/// Whether a `db` setting is a PostgreSQL URL rather than a SQLite path.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

impl StoreTarget {
    /// The store a `db` setting names: a path (relative to `base`) or a PostgreSQL URL, which then
    /// needs the museum's `schema`. `place` names the setting in errors (`publish.toml: [metrics]`).
    pub fn from_setting(
        base: &Path,
        db: &Path,
        schema: Option<&str>,
        password_env: Option<&str>,
        place: &str,
    ) -> Result<StoreTarget, StoreError> {
        let text = db.to_string_lossy();
        if !is_postgres_url(&text) {
            if schema.is_some() || password_env.is_some() {
                return Err(StoreError::Target(format!(
                    "{place}: `schema` and `password_env` apply to a PostgreSQL `db` (postgres://user@host/database); `db` is the SQLite file {}",
                    base.join(db).display()
                )));
            }
            return Ok(StoreTarget::Sqlite(base.join(db)));
        }
        // The URL is never repeated in these errors: it may carry a password.
        let config = postgres::Config::from_str(&text).map_err(|e| {
            StoreError::Target(format!(
                "{place}: `db` is not a PostgreSQL URL that wxpub can read ({e}); write it as postgres://user@host:5432/database"
            ))
        })?;
        if config.get_password().is_some() {
            return Err(StoreError::Target(format!(
                "{place}: `db` carries a password; take it out of the URL (the file is committed) and put it in an environment variable named by `password_env`, e.g. password_env = \"WXPUB_PG_PASSWORD\""
            )));
        }
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(StoreError::Target(format!(
                "{place}: `db` asks for sslmode=require, and wxpub does not speak TLS to PostgreSQL yet; reach the server on a private network or through an SSH tunnel, and drop sslmode (or use sslmode=disable)"
            )));
        }
        let Some(schema) = schema else {
            return Err(StoreError::Target(format!(
                "{place}: a PostgreSQL `db` needs `schema`, the museum's own namespace in the shared database (e.g. schema = \"qingzhou_museum\"), so that museums sharing it never mix their figures"
            )));
        };
        let valid = schema.len() <= 63
            && schema.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !schema.starts_with("pg_");
        if !valid {
            return Err(StoreError::Target(format!(
                "{place}: schema `{schema}` is not a plain PostgreSQL name: use lower-case letters, digits and `_`, starting with a letter (at most 63)"
            )));
        }
        Ok(StoreTarget::Postgres {
            url: text.into_owned(),
            schema: schema.to_string(),
            password_env: password_env.map(str::to_string),
        })
    }

    /// The `[metrics]` store of the project at `project`.
    pub fn from_config(project: &Path, metrics: &crate::config::Metrics) -> Result<StoreTarget, StoreError> {
        Self::from_setting(
            project,
            &metrics.db,
            metrics.schema.as_deref(),
            metrics.password_env.as_deref(),
            "publish.toml: [metrics]",
        )
    }

    /// How messages name the store: the file, or the URL and schema (never a password).
    pub fn describe(&self) -> String {
        match self {
            StoreTarget::Sqlite(path) => path.display().to_string(),
            StoreTarget::Postgres { url, schema, .. } => format!("{url} (schema {schema})"),
        }
    }

    /// The SQLite file, for a store that is one.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match self {
            StoreTarget::Sqlite(path) => Some(path),
            StoreTarget::Postgres { .. } => None,
        }
    }
}

/// One row of a query, read by column index.
pub struct Row {
    cells: Vec<Cell>,
    origin: Arc<str>,
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
pub const TABLES: [&str; 17] = [
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
];
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
    engine: Engine,
    target: StoreTarget,
    /// `target.describe()`, shared by the rows read, for messages.
    origin: Arc<str>,
}

/// How many times one operation is repeated on a new connection after losing the old one.
const RETRIES_AFTER_LOST_CONNECTION: usize = 5;

impl Store {
    /// Opens (creating if needed) the store and applies pending migrations.
    pub fn open(target: impl Into<StoreTarget>) -> Result<Store, StoreError> {
        Self::connect(target.into(), false)
    }

    /// Opens someone else's store (another museum's, for the network report) read-only: nothing
    /// written, no migration, no WAL files; its schema must be the one this wxpub reads.
    pub fn open_read_only(target: impl Into<StoreTarget>) -> Result<Store, StoreError> {
        Self::connect(target.into(), true)
    }

    fn connect(target: StoreTarget, read_only: bool) -> Result<Store, StoreError> {
        let origin: Arc<str> = target.describe().into();
        let fail = |e: EngineError| engine_error(&origin, e);
        let engine = match &target {
            StoreTarget::Sqlite(path) => {
                let sqlite = |e: rusqlite::Error| fail(e.into());
                let conn = if read_only {
                    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                    rusqlite::Connection::open_with_flags(path, flags).map_err(sqlite)?
                } else {
                    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        std::fs::create_dir_all(parent)
                            .map_err(|source| StoreError::Folder { path: path.clone(), source })?;
                    }
                    let conn = rusqlite::Connection::open(path).map_err(sqlite)?;
                    // WAL: readers (reports) never wait for a pull; a killed pull loses at most its open batch.
                    conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
                    conn.pragma_update(None, "synchronous", "NORMAL").map_err(sqlite)?;
                    conn
                };
                conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sqlite)?;
                Engine::Sqlite(conn)
            }
            StoreTarget::Postgres { url, schema, password_env } => {
                let mut config = postgres::Config::from_str(url)
                    .map_err(|e| StoreError::Target(format!("metrics database {origin}: {e}")))?;
                if let Some(variable) = password_env {
                    let password = std::env::var(variable).map_err(|_| {
                        StoreError::Target(format!(
                            "metrics database {origin}: the environment variable {variable} (password_env) is not set; set it to the database password"
                        ))
                    })?;
                    config.password(password);
                }
                // Named for the server's activity view: `wxpub stats`, unless the URL names it.
                if config.get_application_name().is_none() {
                    config.application_name(&format!("wxpub {}", std::env::args().nth(1).unwrap_or_default()));
                }
                config
                    .connect_timeout(std::time::Duration::from_secs(10))
                    .keepalives(true)
                    .keepalives_idle(std::time::Duration::from_secs(30));
                let pg = Pg::connect(PgTarget { config, schema: schema.clone(), read_only }).map_err(fail)?;
                Engine::Postgres(Box::new(std::sync::Mutex::new(pg)))
            }
        };
        let mut store = Store { engine, target, origin };
        if read_only {
            let (found, known) = (store.schema_version()?, MIGRATIONS.len() as i64);
            if found != known {
                return Err(StoreError::OtherVersion { target: store.origin.to_string(), found, known });
            }
        } else {
            store.migrate()?;
        }
        Ok(store)
    }

    /// The store, for messages: its file, or its URL and schema.
    pub fn describe(&self) -> &str {
        &self.origin
    }

    pub fn target(&self) -> &StoreTarget {
        &self.target
    }

    fn error(&self, e: EngineError) -> StoreError {
        engine_error(&self.origin, e)
    }

    /// Runs `op`, and when the PostgreSQL connection was lost under it, runs it again on a new
    /// one: every operation is a read or one whole transaction of idempotent writes.
    fn retrying<T>(&self, mut op: impl FnMut(&Engine) -> Result<T, EngineError>) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            match op(&self.engine) {
                Ok(value) => return Ok(value),
                Err(e) if attempt < RETRIES_AFTER_LOST_CONNECTION && self.engine.lost_connection(&e) => {
                    attempt += 1;
                    self.engine.reconnect().map_err(|_| self.error(e))?;
                }
                Err(e) => return Err(self.error(e)),
            }
        }
    }

    /// Runs `op` in one transaction: all of it is stored, or none.
    pub(crate) fn write<T>(&self, mut op: impl FnMut(&Engine) -> Result<T, EngineError>) -> Result<T, StoreError> {
        let begin = if self.engine.is_postgres() { "BEGIN" } else { "BEGIN IMMEDIATE" };
        self.retrying(|engine| {
            engine.batch(begin)?;
            let done = op(engine).and_then(|value| engine.batch("COMMIT").map(|()| value));
            if done.is_err() {
                // Nothing to undo when the connection is gone: the server rolled back with it.
                let _ = engine.batch("ROLLBACK");
            }
            done
        })
    }

    /// The rows of a read query, written once for both engines: `?N` placeholders, and SQL that
    /// SQLite and PostgreSQL read alike (what reports and tests ask beyond the methods above).
    pub fn rows(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let rows = self.retrying(|engine| engine.query(sql, params))?;
        Ok(rows.into_iter().map(|cells| Row { cells, origin: self.origin.clone() }).collect())
    }

    /// The first row of a read query, if any.
    pub(crate) fn row(&self, sql: &str, params: &[Param]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// The first row of a query that always returns one (an aggregate).
    pub(crate) fn one(&self, sql: &str, params: &[Param]) -> Result<Row, StoreError> {
        self.row(sql, params)?.ok_or_else(|| StoreError::Value {
            target: self.origin.to_string(),
            detail: format!("no row from `{sql}`"),
        })
    }

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

    fn migrate(&mut self) -> Result<(), StoreError> {
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

    /// Days of `endpoint` already fetched for good for `account` between `since` and `until`
    /// (inclusive); a day fetched while WeChat still called it provisional (`is_delay`) is not.
    pub fn pulled_days(
        &self,
        account: &str,
        endpoint: Datacube,
        since: &str,
        until: &str,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        self.rows(
            "SELECT ref_date FROM pulled_days WHERE account = ?1 AND endpoint = ?2 AND ref_date BETWEEN ?3 AND ?4 \
             AND final = 1",
            args![account, endpoint.name(), since, until],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect()
    }

    /// The first day pulled for `account`, if any.
    pub fn first_pulled_day(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.one("SELECT MIN(ref_date) FROM pulled_days WHERE account = ?1", args![account])?.opt_text(0)
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
        let (flat, sources) = flatten_rows(endpoint, rows);
        let columns: Vec<&str> = spec.keys.iter().chain(spec.values.iter()).copied().collect();
        // Every cell is converted before the transaction: a value the table cannot hold is named.
        let mut cells: Vec<Vec<Stored>> = Vec::with_capacity(flat.len());
        for row in &flat {
            let mut values = vec![Stored::Text(account.to_string())];
            for column in &columns {
                values.push(stored_value(spec.table, column, row.get(*column)).map_err(|detail| {
                    StoreError::Value {
                        target: self.origin.to_string(),
                        detail: format!("{} answered {detail}", endpoint.name()),
                    }
                })?);
            }
            cells.push(values);
        }
        let placeholders = (1..=columns.len() + 1).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let updates = spec.values.iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
        let insert = format!(
            "INSERT INTO {table} (account, {cols}) VALUES ({placeholders}) \
             ON CONFLICT (account, {keys}) DO UPDATE SET {updates}",
            table = spec.table,
            cols = columns.join(", "),
            keys = spec.keys.join(", "),
        );
        let column_kinds: Vec<bool> = std::iter::once(true).chain(columns.iter().map(|c| is_text_column(c))).collect();
        let arrays = column_kinds
            .iter()
            .enumerate()
            .map(|(i, text)| format!("?{}::{}[]", i + 1, if *text { "text" } else { "bigint" }))
            .collect::<Vec<_>>()
            .join(", ");
        let insert_columns = format!(
            "INSERT INTO {table} (account, {cols}) SELECT * FROM UNNEST({arrays}) \
             ON CONFLICT (account, {keys}) DO UPDATE SET {updates}",
            table = spec.table,
            cols = columns.join(", "),
            keys = spec.keys.join(", "),
        );
        let delete = format!("DELETE FROM {} WHERE account = ?1 AND ref_date BETWEEN ?2 AND ?3", spec.table);
        let postgres = self.engine.is_postgres();
        self.write(|engine| {
            if postgres {
                // Two machines pulling the same account: one range of one endpoint at a time, so a
                // replaced provisional range is never interleaved with another's rows.
                engine.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/' || ?1 || '/' || ?2))",
                    args![account, endpoint.name()],
                )?;
            }
            if endpoint.reports_delay()
                && let (Some((first, _)), Some((last, _))) = (days.first(), days.last())
            {
                engine.execute(&delete, args![account, first, last])?;
                engine.execute(
                    "DELETE FROM read_source WHERE account = ?1 AND endpoint = ?2 AND ref_date BETWEEN ?3 AND ?4",
                    args![account, endpoint.name(), first, last],
                )?;
            }
            if postgres {
                // One statement per table for the whole range: the rows as columns (UNNEST).
                let key_count = 1 + spec.keys.len();
                let rows = last_per_key(&cells, key_count);
                if !rows.is_empty() {
                    engine.execute_columns(&insert_columns, &columns_of(&rows, &column_kinds))?;
                }
                let source_rows: Vec<Vec<Stored>> = sources
                    .iter()
                    .map(|s| {
                        vec![
                            Stored::Text(account.to_string()),
                            Stored::Text(endpoint.name().to_string()),
                            Stored::Text(s.ref_date.clone()),
                            Stored::Text(s.msgid.clone()),
                            Stored::Text(s.stat_date.clone()),
                            Stored::Text(s.source.clone()),
                            Stored::Int(s.user_count),
                        ]
                    })
                    .collect();
                let source_rows = last_per_key(&source_rows, 6);
                // Most endpoints carry no read sources: no statement for nothing.
                if !source_rows.is_empty() {
                    engine.execute_columns(
                    &format!(
                        "INSERT INTO read_source (account, endpoint, ref_date, msgid, stat_date, source, user_count) \
                         SELECT * FROM UNNEST(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], ?6::text[], \
                         ?7::bigint[]) {READ_SOURCE_UPSERT}"
                    ),
                        &columns_of(&source_rows, &[true, true, true, true, true, true, false]),
                    )?;
                }
                let day_rows: Vec<Vec<Stored>> = days
                    .iter()
                    .map(|(day, is_final)| {
                        vec![
                            Stored::Text(account.to_string()),
                            Stored::Text(endpoint.name().to_string()),
                            Stored::Text(day.clone()),
                            Stored::Text(pulled_at.to_string()),
                            Stored::Int(i64::from(*is_final)),
                            Stored::Text(pulled_at.to_string()),
                        ]
                    })
                    .collect();
                let day_rows = last_per_key(&day_rows, 3);
                engine.execute_columns(
                    &format!(
                        "INSERT INTO pulled_days (account, endpoint, ref_date, first_pulled_at, final, last_pulled_at) \
                         SELECT * FROM UNNEST(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::bigint[], ?6::text[]) \
                         {PULLED_DAYS_UPSERT}"
                    ),
                    &columns_of(&day_rows, &[true, true, true, true, false, true]),
                )?;
                return Ok(());
            }
            for values in &cells {
                let params: Vec<Param> = values.iter().map(Stored::param).collect();
                engine.execute(&insert, &params)?;
            }
            for s in &sources {
                engine.execute(
                    &format!(
                        "INSERT INTO read_source (account, endpoint, ref_date, msgid, stat_date, source, user_count) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) {READ_SOURCE_UPSERT}"
                    ),
                    args![account, endpoint.name(), s.ref_date, s.msgid, s.stat_date, s.source, s.user_count],
                )?;
            }
            for (day, is_final) in days {
                engine.execute(
                    &format!(
                        "INSERT INTO pulled_days (account, endpoint, ref_date, first_pulled_at, final, last_pulled_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?4) {PULLED_DAYS_UPSERT}"
                    ),
                    args![account, endpoint.name(), day, pulled_at, is_final],
                )?;
            }
            Ok(())
        })?;
        Ok(flat.len())
    }

    /// Rows stored for an endpoint (all accounts when `account` is None).
    pub fn count_rows(&self, endpoint: Datacube, account: Option<&str>) -> Result<u64, StoreError> {
        let spec = table_spec(endpoint);
        let sql = format!("SELECT COUNT(*) FROM {} WHERE ?1 IS NULL OR account = ?1", spec.table);
        Ok(self.one(&sql, args![account])?.int(0)? as u64)
    }

    /// The latest day of any stored statistics, if any.
    pub fn latest_day(&self, account: Option<&str>) -> Result<Option<String>, StoreError> {
        self.one("SELECT MAX(ref_date) FROM pulled_days WHERE ?1 IS NULL OR account = ?1", args![account])?.opt_text(0)
    }

    pub fn record_run(&self, run: &PublishRun) -> Result<(), StoreError> {
        let outcome = if run.ok { "ok" } else { "failed" };
        self.write(|engine| {
            engine.execute(
                "INSERT INTO publish_runs (run, account, started_at, ended_at, items, outcome, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (run, account) DO NOTHING",
                args![run.run, run.account, run.started_at, run.ended_at, run.items as i64, outcome, run.error],
            )
        })
        .map(drop)
    }

    /// Records publications; an article already recorded is updated (its URL may have arrived).
    pub fn record_publications(&mut self, publications: &[Publication]) -> Result<usize, StoreError> {
        let mut tags = Vec::with_capacity(publications.len());
        for p in publications {
            tags.push(serde_json::to_string(&p.tags).map_err(|e| StoreError::Value {
                target: self.origin.to_string(),
                detail: format!("tags of {}: {e}", p.item),
            })?);
        }
        self.write(|engine| {
            let mut changed = 0;
            for (p, tags) in publications.iter().zip(&tags) {
                changed += engine.execute(
                    "INSERT INTO publications (account, item, slot, title, kind, mode, pushed_at, url, illustrations, \
                     video_seconds, animation_seconds, live, msgid, position, tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                     ON CONFLICT (account, item, slot) DO UPDATE SET title = excluded.title, kind = excluded.kind, \
                     mode = excluded.mode, pushed_at = excluded.pushed_at, \
                     url = COALESCE(excluded.url, publications.url), \
                     illustrations = excluded.illustrations, video_seconds = excluded.video_seconds, \
                     animation_seconds = excluded.animation_seconds, live = excluded.live, \
                     msgid = COALESCE(excluded.msgid, publications.msgid), position = excluded.position, \
                     tags = excluded.tags \
                     WHERE (publications.title, publications.kind, publications.mode, publications.pushed_at, \
                     publications.url, publications.illustrations, publications.video_seconds, \
                     publications.animation_seconds, publications.live, publications.msgid, publications.position, \
                     publications.tags) \
                     IS DISTINCT FROM (excluded.title, excluded.kind, excluded.mode, excluded.pushed_at, \
                     COALESCE(excluded.url, publications.url), excluded.illustrations, excluded.video_seconds, \
                     excluded.animation_seconds, excluded.live, COALESCE(excluded.msgid, publications.msgid), \
                     excluded.position, excluded.tags)",
                    args![
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
                    ],
                )?;
            }
            Ok(changed as usize)
        })
    }

    /// Publications whose slot falls in `[since, until]` (dates, inclusive), oldest first.
    pub fn publications(
        &self,
        since: &str,
        until: &str,
        account: Option<&str>,
    ) -> Result<Vec<Publication>, StoreError> {
        let rows = self.rows(
            "SELECT account, item, slot, title, kind, mode, pushed_at, url, illustrations, video_seconds, \
             animation_seconds, live, msgid, position, tags FROM publications \
             WHERE substr(slot, 1, 10) BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3) \
             ORDER BY slot, account, item",
            args![since, until, account],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Publication {
                    account: r.text(0)?,
                    item: r.text(1)?,
                    slot: r.text(2)?,
                    title: r.text(3)?,
                    kind: r.text(4)?,
                    mode: r.text(5)?,
                    pushed_at: r.text(6)?,
                    url: r.opt_text(7)?,
                    illustrations: r.u32(8)?,
                    video_seconds: r.u32(9)?,
                    animation_seconds: r.u32(10)?,
                    live: r.int(11)? != 0,
                    msgid: r.opt_text(12)?,
                    position: r.u32(13)?,
                    tags: r.tags(14)?,
                })
            })
            .collect()
    }

    /// (successful runs, all runs) whose start falls in `[since, until]`.
    pub fn run_counts(&self, since: &str, until: &str, account: Option<&str>) -> Result<(u64, u64), StoreError> {
        let row = self.one(
            "SELECT COALESCE(SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), 0), COUNT(*) FROM publish_runs \
             WHERE substr(started_at, 1, 10) BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3)",
            args![since, until, account],
        )?;
        Ok((row.int(0)? as u64, row.int(1)? as u64))
    }

    /// The last recorded run, for `status`-like summaries and tests.
    pub fn last_run(&self) -> Result<Option<(String, String, Option<String>)>, StoreError> {
        self.row("SELECT account, outcome, error FROM publish_runs ORDER BY id DESC LIMIT 1", &[])?
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.opt_text(2)?)))
            .transpose()
    }

    /// Every row of one of the [`TABLES`], in a fixed order: for comparing two stores.
    #[doc(hidden)]
    pub fn dump_table(&self, table: &str) -> Result<Vec<Vec<Cell>>, StoreError> {
        if !TABLES.contains(&table) {
            return Err(StoreError::Target(format!("dump_table: `{table}` is not a table of the store")));
        }
        let mut rows: Vec<Vec<Cell>> =
            self.rows(&format!("SELECT * FROM {table}"), &[])?.into_iter().map(|r| r.cells).collect();
        rows.sort_by_cached_key(|r| format!("{r:?}"));
        Ok(rows)
    }
}

fn engine_error(origin: &str, e: EngineError) -> StoreError {
    let target = origin.to_string();
    match e {
        EngineError::Sqlite(source) => StoreError::Sqlite { target, source },
        EngineError::Postgres(source) => StoreError::Postgres { target, source },
        EngineError::Value(detail) => StoreError::Value { target, detail },
    }
}

const READ_SOURCE_UPSERT: &str = "ON CONFLICT (account, endpoint, ref_date, msgid, stat_date, source) \
     DO UPDATE SET user_count = excluded.user_count";
/// A day fetched again keeps when it was first fetched.
const PULLED_DAYS_UPSERT: &str = "ON CONFLICT (account, endpoint, ref_date) \
     DO UPDATE SET final = excluded.final, last_pulled_at = excluded.last_pulled_at";

/// The rows with the last of each key (the first `key_count` values), as one upsert after another
/// would leave them: PostgreSQL refuses to update one row twice in a statement.
fn last_per_key(rows: &[Vec<Stored>], key_count: usize) -> Vec<&Vec<Stored>> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<&Vec<Stored>> = rows.iter().rev().filter(|row| seen.insert(&row[..key_count])).collect();
    kept.reverse();
    kept
}

/// Rows as columns, each text (`true`) or integer.
fn columns_of(rows: &[&Vec<Stored>], text: &[bool]) -> Vec<Column> {
    text.iter()
        .enumerate()
        .map(|(i, is_text)| match is_text {
            true => Column::Text(
                rows.iter()
                    .map(|r| match &r[i] {
                        Stored::Text(t) => t.clone(),
                        Stored::Int(n) => n.to_string(),
                    })
                    .collect(),
            ),
            false => Column::Int(
                rows.iter()
                    .map(|r| match &r[i] {
                        Stored::Int(n) => *n,
                        Stored::Text(_) => 0,
                    })
                    .collect(),
            ),
        })
        .collect()
}

/// The columns stored as text; every other datacube column is an integer.
fn is_text_column(column: &str) -> bool {
    matches!(column, "ref_date" | "msgid" | "title" | "stat_date")
}

/// A datacube value as the store keeps it.
#[derive(PartialEq, Eq, Hash)]
enum Stored {
    Text(String),
    Int(i64),
}

impl Stored {
    fn param(&self) -> Param<'_> {
        match self {
            Stored::Text(text) => Param::Text(Some(text)),
            Stored::Int(int) => Param::Int(Some(*int)),
        }
    }
}

/// A JSON field as the store keeps it, the same on both engines. Missing counters are 0: WeChat
/// omits zero fields at times.
fn stored_value(table: &str, column: &str, value: Option<&Value>) -> Result<Stored, String> {
    if is_text_column(column) {
        return Ok(Stored::Text(match value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }));
    }
    match value {
        None | Some(Value::Null) => Ok(Stored::Int(0)),
        Some(Value::Bool(b)) => Ok(Stored::Int(i64::from(*b))),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
            .map(Stored::Int)
            .ok_or_else(|| format!("{table}.{column} = {n}, not a whole number")),
        Some(Value::String(s)) => {
            s.trim().parse::<i64>().map(Stored::Int).map_err(|_| format!("{table}.{column} = \"{s}\", not a number"))
        }
        Some(other) => Err(format!("{table}.{column} = {other}, not a number")),
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

/// For the tests of both stores (here and in `tests/`): the scratch PostgreSQL database named by
/// `WXPUB_TEST_PG_URL` (`.ci/run` starts one; `source .ci/postgres.sh` does it by hand).
#[doc(hidden)]
pub mod test_support {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The scratch database, or None to skip the PostgreSQL half of a test. `.ci/run` sets
    /// `WXPUB_REQUIRE_PG`, so CI can never skip it silently.
    pub fn postgres_url() -> Option<String> {
        match std::env::var("WXPUB_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var_os("WXPUB_REQUIRE_PG").is_some() => {
                panic!("WXPUB_REQUIRE_PG is set but WXPUB_TEST_PG_URL is not: start one with `source .ci/postgres.sh`")
            }
            _ => {
                eprintln!("skipped the PostgreSQL store: WXPUB_TEST_PG_URL is not set (source .ci/postgres.sh)");
                None
            }
        }
    }

    /// A schema name no other test (or test process) uses.
    pub fn fresh_schema(label: &str) -> String {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        format!("t_{label}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
    }

    /// Removes a test's schema and everything in it.
    pub fn drop_schema(url: &str, schema: &str) {
        if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
            let _ =
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", super::engine::quote_ident(schema)));
        }
    }

    /// Runs SQL on the scratch database directly (to break a connection, say).
    pub fn run_sql(url: &str, sql: &str) -> Result<(), postgres::Error> {
        postgres::Client::connect(url, postgres::NoTls)?.batch_execute(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fresh store of each kind: SQLite in a temp dir, and a PostgreSQL schema when a scratch
    /// database is available; the PostgreSQL schema is dropped when the guard goes.
    struct Fresh {
        target: StoreTarget,
        _dir: tempfile::TempDir,
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            if let StoreTarget::Postgres { url, schema, .. } = &self.target {
                test_support::drop_schema(url, schema);
            }
        }
    }

    fn fresh_stores(label: &str) -> Vec<Fresh> {
        let dir = tempfile::tempdir().unwrap();
        let mut stores = vec![Fresh { target: StoreTarget::Sqlite(dir.path().join("m.db")), _dir: dir }];
        if let Some(url) = test_support::postgres_url() {
            let schema = test_support::fresh_schema(label);
            let target = StoreTarget::Postgres { url, schema, password_env: None };
            stores.push(Fresh { target, _dir: tempfile::tempdir().unwrap() });
        }
        stores
    }

    fn int_column(store: &Store, sql: &str) -> Vec<i64> {
        store.rows(sql, &[]).unwrap().iter().map(|r| r.int(0).unwrap()).collect()
    }

    #[test]
    fn migrations_apply_once_and_upserts_are_idempotent() {
        for fresh in fresh_stores("migrate") {
            let mut store = Store::open(&fresh.target).unwrap();
            assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
            let rows = vec![json!({"ref_date": "2026-11-01", "user_source": 30, "new_user": 5, "cancel_user": 1})];
            let days = vec![("2026-11-01".to_string(), true)];
            store.store_range("service", Datacube::GetUserSummary, &days, &rows, "t1").unwrap();
            let revised = vec![json!({"ref_date": "2026-11-01", "user_source": 30, "new_user": 7, "cancel_user": 1})];
            store.store_range("service", Datacube::GetUserSummary, &days, &revised, "t2").unwrap();
            drop(store);
            let store = Store::open(&fresh.target).unwrap();
            assert_eq!(store.count_rows(Datacube::GetUserSummary, Some("service")).unwrap(), 1);
            assert_eq!(
                int_column(&store, "SELECT new_user FROM user_summary"),
                [7],
                "a revised figure replaces the old one"
            );
            let first = store.one("SELECT first_pulled_at FROM pulled_days", &[]).unwrap().text(0).unwrap();
            assert_eq!(first, "t1");
        }
    }

    #[test]
    fn article_total_details_become_rows() {
        for fresh in fresh_stores("details") {
            let mut store = Store::open(&fresh.target).unwrap();
            let detail = |d: &str, n: u64| json!({"stat_date": d, "target_user": 100, "int_page_read_user": n});
            let rows = vec![json!({"ref_date": "2026-11-01", "msgid": "9_1", "title": "t",
                "details": [detail("2026-11-01", 10), detail("2026-11-02", 15)]})];
            store.store_range("s", Datacube::GetArticleTotal, &[("2026-11-01".into(), true)], &rows, "t").unwrap();
            assert_eq!(store.count_rows(Datacube::GetArticleTotal, None).unwrap(), 2);
        }
    }

    #[test]
    fn a_provisional_day_is_replaced_by_the_final_answer_and_its_sources_kept() {
        for fresh in fresh_stores("provisional") {
            let mut store = Store::open(&fresh.target).unwrap();
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
            let rows = store.dump_table("article_read").unwrap();
            assert_eq!(
                rows,
                [vec![
                    Cell::Text("s".into()),
                    Cell::Text("2026-11-09".into()),
                    Cell::Text("7_1".into()),
                    Cell::Int(100)
                ]]
            );
            let friends = "SELECT user_count FROM read_source WHERE msgid = '7_1' AND source = '朋友圈'";
            assert_eq!(int_column(&store, friends), [50]);
            assert_eq!(int_column(&store, "SELECT COUNT(*) FROM read_source WHERE msgid = '7_2'"), [0]);
        }
    }

    #[test]
    fn publications_are_upserted_and_counted_as_changed_only_when_they_change() {
        for fresh in fresh_stores("publications") {
            let mut store = Store::open(&fresh.target).unwrap();
            let mut p = Publication {
                account: "service".into(),
                item: "articles/a".into(),
                slot: "2026-12-01T20:00".into(),
                title: "钟".into(),
                kind: "article".into(),
                mode: "publish".into(),
                pushed_at: "2026-12-01T20:00:03+08:00".into(),
                url: None,
                illustrations: 2,
                video_seconds: 0,
                animation_seconds: 0,
                live: false,
                msgid: None,
                position: 1,
                tags: vec!["青铜".into()],
            };
            assert_eq!(store.record_publications(std::slice::from_ref(&p)).unwrap(), 1);
            assert_eq!(store.record_publications(std::slice::from_ref(&p)).unwrap(), 0, "unchanged");
            p.url = Some("https://mp.weixin.qq.com/s/x".into());
            p.msgid = Some("9_1".into());
            assert_eq!(store.record_publications(std::slice::from_ref(&p)).unwrap(), 1);
            // A later record without the URL keeps the one known.
            let mut without = p.clone();
            (without.url, without.msgid) = (None, None);
            assert_eq!(store.record_publications(&[without]).unwrap(), 0);
            assert_eq!(store.publications("2026-12-01", "2026-12-01", None).unwrap(), [p]);
            store
                .record_run(&PublishRun {
                    run: "r1".into(),
                    account: "service".into(),
                    started_at: "2026-12-01T20:00:00+08:00".into(),
                    ended_at: "2026-12-01T20:00:09+08:00".into(),
                    items: 1,
                    ok: true,
                    error: None,
                })
                .unwrap();
            assert_eq!(store.run_counts("2026-12-01", "2026-12-01", None).unwrap(), (1, 1));
            assert_eq!(store.last_run().unwrap(), Some(("service".into(), "ok".into(), None)));
        }
    }

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

    #[test]
    fn a_newer_schema_is_refused() {
        for fresh in fresh_stores("newer") {
            let store = Store::open(&fresh.target).unwrap();
            match &fresh.target {
                StoreTarget::Sqlite(_) => store.engine.batch("PRAGMA user_version = 99").unwrap(),
                StoreTarget::Postgres { .. } => {
                    store.engine.execute("UPDATE wxpub_schema_version SET version = 99", &[]).unwrap();
                }
            }
            drop(store);
            let message = Store::open(&fresh.target).err().unwrap().to_string();
            assert!(message.contains("schema version 99"), "{message}");
            let message = Store::open_read_only(&fresh.target).err().unwrap().to_string();
            assert!(message.contains("never migrated here"), "{message}");
        }
    }

    /// A museum whose schema an administrator created: its role may use and write the schema but
    /// not create anything in the database; every command must still work.
    #[test]
    fn a_role_without_create_on_the_database_uses_its_current_schema() {
        let Some(url) = test_support::postgres_url() else { return };
        let schema = test_support::fresh_schema("granted");
        let owner = StoreTarget::Postgres { url: url.clone(), schema: schema.clone(), password_env: None };
        drop(Store::open(&owner).unwrap());
        let role = format!("r_{schema}");
        test_support::run_sql(
            &url,
            &format!(
                "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {schema} TO {role}; \
                 GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}; \
                 GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};"
            ),
        )
        .unwrap();
        let (user, host) = url.split_once('@').unwrap();
        let as_role = format!("{}{role}@{host}", &user[..user.rfind('/').unwrap() + 1]);
        let target = StoreTarget::Postgres { url: as_role, schema: schema.clone(), password_env: None };
        let mut store = Store::open(&target).unwrap();
        let rows = vec![json!({"ref_date": "2026-11-01", "cumulate_user": 10})];
        store.store_range("s", Datacube::GetUserCumulate, &[("2026-11-01".into(), true)], &rows, "t").unwrap();
        assert_eq!(store.count_rows(Datacube::GetUserCumulate, None).unwrap(), 1);
        drop(store);
        test_support::drop_schema(&url, &schema);
        test_support::run_sql(&url, &format!("DROP ROLE {role}")).unwrap();
    }

    #[test]
    fn a_postgres_setting_needs_a_schema_and_no_password_in_the_url() {
        let base = Path::new("/project");
        let setting = |db: &str, schema: Option<&str>| {
            StoreTarget::from_setting(base, Path::new(db), schema, None, "publish.toml: [metrics]")
        };
        let message = setting("postgres://u:hunter2@db/stats", Some("m")).unwrap_err().to_string();
        assert!(message.contains("carries a password") && !message.contains("hunter2"), "{message}");
        assert!(setting("postgres://u@db/stats", None).unwrap_err().to_string().contains("needs `schema`"));
        assert!(setting("postgres://u@db/stats", Some("Bad-Name")).unwrap_err().to_string().contains("not a plain"));
        let tls = setting("postgres://u@db/stats?sslmode=require", Some("m")).unwrap_err().to_string();
        assert!(tls.contains("does not speak TLS"), "{tls}");
        assert_eq!(setting(".wxpub/metrics.db", None).unwrap(), StoreTarget::Sqlite(base.join(".wxpub/metrics.db")));
        assert!(setting(".wxpub/metrics.db", Some("m")).is_err(), "a schema with a SQLite file is a mistake");
        let target = setting("postgres://u@db:5433/stats", Some("qingzhou")).unwrap();
        assert_eq!(target.describe(), "postgres://u@db:5433/stats (schema qingzhou)");
    }

    #[test]
    fn a_missing_password_variable_is_named() {
        let target = StoreTarget::Postgres {
            url: "postgres://u@127.0.0.1:1/stats".into(),
            schema: "m".into(),
            password_env: Some("WXPUB_TEST_SURELY_UNSET_PASSWORD".into()),
        };
        let message = Store::open(&target).err().unwrap().to_string();
        assert!(message.contains("WXPUB_TEST_SURELY_UNSET_PASSWORD") && message.contains("not set"), "{message}");
    }
}
