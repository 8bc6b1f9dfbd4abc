//! The two databases behind [`super::Store`]: SQLite (one museum's file) and PostgreSQL (a team's
//! or a network's shared server). Queries are written once, in SQL both accept, with `?N`
//! placeholders; this module runs them on either and hands back the same [`Cell`]s, so both stores
//! give the same reports by construction. Only opening, the schema bookkeeping and reconnecting
//! differ per engine.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use postgres::types::{FromSql, ToSql, Type};

/// A query parameter. Every value the store binds is text, an integer or a float.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Real(f64),
}

/// What can be bound as a [`Param`]; `args![a, b]` binds a list.
pub trait ToParam {
    fn to_param(&self) -> Param<'_>;
}

impl ToParam for str {
    fn to_param(&self) -> Param<'_> {
        Param::Text(Some(self))
    }
}
impl ToParam for String {
    fn to_param(&self) -> Param<'_> {
        Param::Text(Some(self))
    }
}
impl ToParam for Option<&str> {
    fn to_param(&self) -> Param<'_> {
        Param::Text(*self)
    }
}
impl ToParam for Option<String> {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self.as_deref())
    }
}
impl ToParam for i64 {
    fn to_param(&self) -> Param<'_> {
        Param::Int(Some(*self))
    }
}
impl ToParam for Option<i64> {
    fn to_param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}
impl ToParam for u32 {
    fn to_param(&self) -> Param<'_> {
        Param::Int(Some(i64::from(*self)))
    }
}
impl ToParam for bool {
    fn to_param(&self) -> Param<'_> {
        Param::Int(Some(i64::from(*self)))
    }
}
impl ToParam for f64 {
    fn to_param(&self) -> Param<'_> {
        Param::Real(*self)
    }
}
impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Param<'_> {
        (**self).to_param()
    }
}

/// `args![a, b, c]`: the parameters of one query, in placeholder order (`?1`, `?2`, …).
macro_rules! args {
    ($($x:expr),* $(,)?) => {
        &[$($crate::metrics::store::ToParam::to_param(&$x)),*]
    };
}
pub(crate) use args;

/// A whole column of rows, bound as one PostgreSQL array (`UNNEST`): a range of thousands of
/// rows is stored in one statement rather than one round trip per row.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Text(Vec<String>),
    Int(Vec<i64>),
}

/// One value read back, the same from both engines.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Text(text) => rusqlite::ToSql::to_sql(text),
            Param::Int(int) => rusqlite::ToSql::to_sql(int),
            Param::Real(real) => rusqlite::ToSql::to_sql(real),
        }
    }
}

/// What went wrong below the store, before it names the database.
#[derive(Debug)]
pub enum EngineError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// A value the store cannot read (a type it never writes).
    Value(String),
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> Self {
        EngineError::Sqlite(e)
    }
}
impl From<postgres::Error> for EngineError {
    fn from(e: postgres::Error) -> Self {
        EngineError::Postgres(e)
    }
}

/// How to reach a PostgreSQL store again after its connection is lost.
pub struct PgTarget {
    pub config: postgres::Config,
    pub schema: String,
    pub read_only: bool,
}

pub struct Pg {
    client: postgres::Client,
    target: PgTarget,
    /// Prepared statements of this connection, by SQL text (dropped with it on reconnect).
    statements: HashMap<String, postgres::Statement>,
}

pub enum Engine {
    Sqlite(rusqlite::Connection),
    Postgres(Box<Mutex<Pg>>),
}

/// How long a store keeps trying to reach a PostgreSQL server that went away mid-run.
const RECONNECT_FOR: Duration = Duration::from_secs(30);

impl Pg {
    pub fn connect(target: PgTarget) -> Result<Pg, EngineError> {
        // A session ended by the server while it is being set up is tried again; a server that
        // refuses or cannot be reached is reported at once.
        let mut attempts = 0;
        loop {
            match Self::session(&target) {
                Ok(client) => return Ok(Pg { client, target, statements: HashMap::new() }),
                Err(EngineError::Postgres(e)) if attempts < 5 && ended_by_server(&e) => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A new session on the museum's schema: `search_path` names only it, so every unqualified
    /// table is the museum's own, and a read-only store cannot write anything at all.
    fn session(target: &PgTarget) -> Result<postgres::Client, EngineError> {
        let mut client = target.config.connect(postgres::NoTls)?;
        let mut setup = format!("SET search_path TO {}; SET lock_timeout = '60s';", quote_ident(&target.schema));
        if target.read_only {
            setup.push_str(" SET default_transaction_read_only = on;");
        }
        client.batch_execute(&setup)?;
        Ok(client)
    }

    /// The connection's prepared statement for `sql`, prepared once with the given parameter
    /// types (the same at every call of one SQL text).
    fn statement(
        &mut self,
        sql: &str,
        types: impl FnOnce() -> Vec<Type>,
    ) -> Result<postgres::Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare_typed(&dollar_placeholders(sql), &types())?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// Replaces a lost connection, trying for [`RECONNECT_FOR`].
    fn reconnect(&mut self) -> Result<(), EngineError> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            match Self::session(&self.target) {
                Ok(client) => {
                    self.client = client;
                    self.statements.clear();
                    return Ok(());
                }
                Err(e) if started.elapsed() >= RECONNECT_FOR => return Err(e),
                Err(_) => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(4));
                }
            }
        }
    }
}

/// The session is gone: closed under the client, or ended by the server (an administrator's
/// `pg_terminate_backend`, a shutdown or crash, a server still starting).
fn ended_by_server(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || matches!(
            e.code(),
            Some(c) if *c == SqlState::ADMIN_SHUTDOWN || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        )
}

/// Parameter types from what is bound, so `?3 IS NULL OR account = ?3` needs no cast.
fn param_types(params: &[Param]) -> Vec<Type> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(_) => Type::TEXT,
            Param::Int(_) => Type::INT8,
            Param::Real(_) => Type::FLOAT8,
        })
        .collect()
}

fn bound<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(text) => text as &(dyn ToSql + Sync),
            Param::Int(int) => int as &(dyn ToSql + Sync),
            Param::Real(real) => real as &(dyn ToSql + Sync),
        })
        .collect()
}

impl Engine {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Engine::Postgres(_))
    }

    fn pg(&self) -> std::sync::MutexGuard<'_, Pg> {
        match self {
            // A panic while holding the lock leaves nothing half-done on the server (its
            // transaction dies with the session), so the connection stays usable.
            Engine::Postgres(pg) => pg.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            Engine::Sqlite(_) => unreachable!("pg() is called on PostgreSQL stores only"),
        }
    }

    /// Runs statements without parameters or results (transactions, DDL).
    pub fn batch(&self, sql: &str) -> Result<(), EngineError> {
        match self {
            Engine::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Engine::Postgres(_) => Ok(self.pg().client.batch_execute(sql)?),
        }
    }

    pub fn execute(&self, sql: &str, params: &[Param]) -> Result<u64, EngineError> {
        match self {
            Engine::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                Ok(statement.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Engine::Postgres(_) => {
                let mut pg = self.pg();
                let statement = pg.statement(sql, || param_types(params))?;
                Ok(pg.client.execute(&statement, &bound(params))?)
            }
        }
    }

    pub fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Vec<Cell>>, EngineError> {
        match self {
            Engine::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let columns = statement.column_count();
                let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut cells = Vec::with_capacity(columns);
                    for i in 0..columns {
                        use rusqlite::types::ValueRef;
                        cells.push(match row.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(n) => Cell::Int(n),
                            ValueRef::Real(r) => Cell::Real(r),
                            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(_) => return Err(EngineError::Value(format!("column {i} holds a blob"))),
                        });
                    }
                    out.push(cells);
                }
                Ok(out)
            }
            Engine::Postgres(_) => {
                let mut pg = self.pg();
                let statement = pg.statement(sql, || param_types(params))?;
                let rows = pg.client.query(&statement, &bound(params))?;
                rows.iter().map(pg_cells).collect()
            }
        }
    }

    /// Runs a statement whose parameters are whole columns (`UNNEST(?1::text[], ?2::bigint[])`):
    /// PostgreSQL only.
    pub fn execute_columns(&self, sql: &str, columns: &[Column]) -> Result<u64, EngineError> {
        let Engine::Postgres(_) = self else {
            return Err(EngineError::Value("column-wise statements are for PostgreSQL only".into()));
        };
        let mut pg = self.pg();
        let statement = pg.statement(sql, || {
            columns
                .iter()
                .map(|c| match c {
                    Column::Text(_) => Type::TEXT_ARRAY,
                    Column::Int(_) => Type::INT8_ARRAY,
                })
                .collect()
        })?;
        let bound: Vec<&(dyn ToSql + Sync)> = columns
            .iter()
            .map(|c| match c {
                Column::Text(values) => values as &(dyn ToSql + Sync),
                Column::Int(values) => values as &(dyn ToSql + Sync),
            })
            .collect();
        Ok(pg.client.execute(&statement, &bound)?)
    }

    /// Whether `error` means the PostgreSQL connection is gone (the server restarted, the session
    /// was terminated, the network dropped), so that reconnecting and repeating the operation —
    /// every write of the store is an idempotent upsert in one transaction — is the cure.
    pub fn lost_connection(&self, error: &EngineError) -> bool {
        match (self, error) {
            (Engine::Postgres(_), EngineError::Postgres(e)) => {
                use postgres::error::SqlState;
                ended_by_server(e)
                    || self.pg().client.is_closed()
                    || matches!(
                        e.code(),
                        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
                    )
            }
            _ => false,
        }
    }

    pub fn reconnect(&self) -> Result<(), EngineError> {
        match self {
            Engine::Sqlite(_) => Ok(()),
            Engine::Postgres(_) => self.pg().reconnect(),
        }
    }
}

fn pg_cells(row: &postgres::Row) -> Result<Vec<Cell>, EngineError> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(|n| Cell::Int(n.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?.map(|n| Cell::Int(n.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Cell::Real)
        } else if *ty == Type::FLOAT4 {
            row.try_get::<_, Option<f32>>(i)?.map(|r| Cell::Real(r.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(|b| Cell::Int(b.into()))
        } else if *ty == Type::NUMERIC {
            row.try_get::<_, Option<Numeric>>(i)?.map(|n| n.0)
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME || *ty == Type::BPCHAR {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        } else {
            return Err(EngineError::Value(format!(
                "column `{}` has type {ty}, which the store never writes",
                column.name()
            )));
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(cells)
}

/// PostgreSQL's SUM of a BIGINT is a NUMERIC; the store's sums are whole numbers, read as SQLite
/// gives them (an integer, or a float for a fraction).
struct Numeric(Cell);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |at: usize| -> Result<u16, Box<dyn std::error::Error + Sync + Send>> {
            raw.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(|| "truncated NUMERIC".into())
        };
        let (digits, weight, sign) = (word(0)? as usize, word(2)? as i16, word(4)?);
        if sign == 0xC000 {
            return Err("NaN in a sum".into());
        }
        let (mut whole, mut fraction) = (0i128, 0f64);
        for i in 0..digits {
            let digit = i128::from(word(8 + 2 * i)?);
            let power = i32::from(weight) - i as i32;
            if power >= 0 {
                let term = 10_000i128
                    .checked_pow(power as u32)
                    .and_then(|p| digit.checked_mul(p))
                    .ok_or("NUMERIC out of range")?;
                whole = whole.checked_add(term).ok_or("NUMERIC out of range")?;
            } else {
                fraction += digit as f64 * 10_000f64.powi(power);
            }
        }
        let negative = sign == 0x4000;
        if fraction == 0.0 {
            let value = i64::try_from(whole).map_err(|_| "NUMERIC out of range")?;
            Ok(Numeric(Cell::Int(if negative { -value } else { value })))
        } else {
            let value = whole as f64 + fraction;
            Ok(Numeric(Cell::Real(if negative { -value } else { value })))
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// `?N` → `$N` (no statement of the store has a `?` inside a string literal).
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_literal = !in_literal;
                out.push(c);
            }
            '?' if !in_literal => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// A SQL identifier, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQLite migration as PostgreSQL DDL: the same tables and columns in the same order, with
/// PostgreSQL's types. Text compares byte by byte (`COLLATE "C"`, SQLite's BINARY), whatever the
/// server's locale, so ordering and grouping agree with the SQLite store.
pub fn postgres_ddl(sqlite: &str) -> String {
    let sql =
        sqlite.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    let mut out = String::with_capacity(sql.len() + 256);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match word.as_str() {
            "INTEGER" => out.push_str("BIGINT"),
            "REAL" => out.push_str("DOUBLE PRECISION"),
            "TEXT" => out.push_str("TEXT COLLATE \"C\""),
            _ => out.push_str(word),
        }
        word.clear();
    };
    let mut in_comment = false;
    let mut previous = ' ';
    for c in sql.chars() {
        if in_comment {
            out.push(c);
            in_comment = c != '\n';
        } else if c == '-' && previous == '-' {
            flush(&mut word, &mut out);
            out.push(c);
            in_comment = true;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
        previous = c;
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_ddl_translate() {
        assert_eq!(dollar_placeholders("a = ?1 AND b <> '?' OR c = ?12"), "a = $1 AND b <> '?' OR c = $12");
        let ddl = postgres_ddl(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, r REAL, n INTEGER); -- TEXT\n",
        );
        assert_eq!(
            ddl,
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT COLLATE \"C\" NOT NULL, \
             r DOUBLE PRECISION, n BIGINT); -- TEXT\n"
        );
    }

    #[test]
    fn numeric_sums_decode_as_integers() {
        // 1234567 = [123, 4567] base 10000, weight 1; -5 = [5], weight 0, negative.
        let encode = |digits: &[u16], weight: i16, sign: u16| {
            let mut raw = Vec::new();
            for word in [digits.len() as u16, weight as u16, sign, 0] {
                raw.extend(word.to_be_bytes());
            }
            for d in digits {
                raw.extend(d.to_be_bytes());
            }
            raw
        };
        let read = |raw: &[u8]| Numeric::from_sql(&Type::NUMERIC, raw).unwrap().0;
        assert_eq!(read(&encode(&[123, 4567], 1, 0)), Cell::Int(1_234_567));
        assert_eq!(read(&encode(&[5], 0, 0x4000)), Cell::Int(-5));
        assert_eq!(read(&encode(&[], 0, 0)), Cell::Int(0));
        assert_eq!(read(&encode(&[2], 2, 0)), Cell::Int(200_000_000));
        assert_eq!(read(&encode(&[1, 5000], 0, 0)), Cell::Real(1.5));
    }
}
