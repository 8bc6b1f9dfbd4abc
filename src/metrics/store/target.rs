//! Where a store is: a SQLite file or a schema of a PostgreSQL database, as `[metrics]` (or a
//! network file's museum) names it, checked before anything is opened.
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::StoreError;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
