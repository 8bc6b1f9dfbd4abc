//! The metrics database: one SQLite file (`.wxpub/metrics.db`) or one schema of a shared
//! PostgreSQL database, with the same versioned schema on both.
//!
//! Datacube rows are kept in one table per endpoint, with the endpoint's own field names as
//! columns, so that the communications team can also open the store with any SQL tool. Every
//! write is an upsert keyed on what identifies the row, so pulling twice changes nothing, and a
//! write interrupted by a lost PostgreSQL connection is simply repeated on a new one.
//! Queries are written once, in SQL both engines accept (`engine.rs` runs them on either).
//!
//! `target.rs` says where a store is, `schema.rs` holds its tables and migrations, `datacube.rs`
//! stores pulled statistics, `publications.rs` the publication ledger, `monitor.rs` the
//! availability monitor's results and `comments.rs` readers' comments; this module opens the store and runs queries on it.
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

mod comments;
mod datacube;
mod engine;
mod monitor;
mod publications;
mod schema;
mod target;

pub use comments::{CommentFilter, CommentedArticle, PulledComment, Stored, StoredComment};
pub(crate) use engine::args;
pub use engine::{Cell, Param, ToParam};
use engine::{Engine, EngineError, Pg, PgTarget};
pub use monitor::{CheckResult, Failure};
pub use publications::{Publication, PublishRun};
use schema::MIGRATIONS;
pub use schema::{READ_COUNTERS, Row, TABLES, TableSpec, table_spec};
pub use target::{StoreTarget, is_postgres_url};

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

    use crate::wechat::types::Datacube;

    /// A fresh store of each kind: SQLite in a temp dir, and a PostgreSQL schema when a scratch
    /// database is available; the PostgreSQL schema is dropped when the guard goes.
    pub(super) struct Fresh {
        pub(super) target: StoreTarget,
        _dir: tempfile::TempDir,
    }

    impl Drop for Fresh {
        fn drop(&mut self) {
            if let StoreTarget::Postgres { url, schema, .. } = &self.target {
                test_support::drop_schema(url, schema);
            }
        }
    }

    pub(super) fn fresh_stores(label: &str) -> Vec<Fresh> {
        let dir = tempfile::tempdir().unwrap();
        let mut stores = vec![Fresh { target: StoreTarget::Sqlite(dir.path().join("m.db")), _dir: dir }];
        if let Some(url) = test_support::postgres_url() {
            let schema = test_support::fresh_schema(label);
            let target = StoreTarget::Postgres { url, schema, password_env: None };
            stores.push(Fresh { target, _dir: tempfile::tempdir().unwrap() });
        }
        stores
    }

    pub(super) fn int_column(store: &Store, sql: &str) -> Vec<i64> {
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
