//! Datacube rows into the store: each pulled range flattened into its table's rows and read
//! sources and upserted in one transaction, with the days it covered.
use serde_json::Value;

use crate::wechat::types::Datacube;

use super::engine::{Column, Engine, EngineError};
use super::{Param, Store, StoreError, TableSpec, args, table_spec};

impl Store {
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
        let cells = self.cells(account, endpoint, &spec, &columns, &flat)?;
        let range = PulledRange { account, endpoint, days, pulled_at, cells, sources };
        let statements = TableStatements::new(&spec, &columns);
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
            range.delete_replaced(engine, &statements)?;
            if postgres { range.insert_as_columns(engine, &statements) } else { range.insert_rows(engine, &statements) }
        })?;
        Ok(flat.len())
    }

    /// The endpoint table's rows as stored — the account, then `columns` — every cell converted
    /// before the transaction: a value the table cannot hold is named in the error.
    fn cells(
        &self,
        account: &str,
        endpoint: Datacube,
        spec: &TableSpec,
        columns: &[&str],
        flat: &[serde_json::Map<String, Value>],
    ) -> Result<Vec<Vec<Stored>>, StoreError> {
        let mut cells: Vec<Vec<Stored>> = Vec::with_capacity(flat.len());
        for row in flat {
            let mut values = vec![Stored::Text(account.to_string())];
            for column in columns {
                values.push(stored_value(spec.table, column, row.get(*column)).map_err(|detail| {
                    StoreError::Value {
                        target: self.origin.to_string(),
                        detail: format!("{} answered {detail}", endpoint.name()),
                    }
                })?);
            }
            cells.push(values);
        }
        Ok(cells)
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
}

/// One fetched range of an endpoint, converted for the store: what [`Store::store_range`]
/// writes in its transaction.
struct PulledRange<'a> {
    account: &'a str,
    endpoint: Datacube,
    /// The days the range covered, each final or not.
    days: &'a [(String, bool)],
    pulled_at: &'a str,
    /// The endpoint table's rows: the account, then the key and value columns.
    cells: Vec<Vec<Stored>>,
    sources: Vec<SourceRow>,
}

/// The statements that write an endpoint's table.
struct TableStatements {
    /// Upserts one row (SQLite).
    insert: String,
    /// Upserts every row at once, given as columns (PostgreSQL's UNNEST).
    insert_columns: String,
    /// Whether each column of a row (the account first) is text; the others are integers.
    column_kinds: Vec<bool>,
    /// Values that identify a row: the account and the table's keys.
    key_count: usize,
    /// Deletes the account's rows between two days.
    delete: String,
}

impl TableStatements {
    fn new(spec: &TableSpec, columns: &[&str]) -> TableStatements {
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
        TableStatements { insert, insert_columns, column_kinds, key_count: 1 + spec.keys.len(), delete }
    }
}

impl PulledRange<'_> {
    /// For the endpoints whose figures are provisional at first (`is_delay`): deletes what was
    /// stored for the range's days, rows and read sources, so that the range replaces it.
    fn delete_replaced(&self, engine: &Engine, statements: &TableStatements) -> Result<(), EngineError> {
        let (account, endpoint) = (self.account, self.endpoint);
        if endpoint.reports_delay()
            && let (Some((first, _)), Some((last, _))) = (self.days.first(), self.days.last())
        {
            engine.execute(&statements.delete, args![account, first, last])?;
            engine.execute(
                "DELETE FROM read_source WHERE account = ?1 AND endpoint = ?2 AND ref_date BETWEEN ?3 AND ?4",
                args![account, endpoint.name(), first, last],
            )?;
        }
        Ok(())
    }

    /// PostgreSQL: one statement per table for the whole range — the endpoint's rows, the read
    /// sources, the days pulled — the rows as columns (UNNEST), the last of each key.
    fn insert_as_columns(&self, engine: &Engine, statements: &TableStatements) -> Result<(), EngineError> {
        let (account, endpoint, pulled_at) = (self.account, self.endpoint, self.pulled_at);
        let rows = last_per_key(&self.cells, statements.key_count);
        if !rows.is_empty() {
            engine.execute_columns(&statements.insert_columns, &columns_of(&rows, &statements.column_kinds))?;
        }
        let source_rows: Vec<Vec<Stored>> = self
            .sources
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
        let day_rows: Vec<Vec<Stored>> = self
            .days
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
        Ok(())
    }

    /// SQLite: one upsert per row — the endpoint's rows, the read sources, the days pulled.
    fn insert_rows(&self, engine: &Engine, statements: &TableStatements) -> Result<(), EngineError> {
        let (account, endpoint, pulled_at) = (self.account, self.endpoint, self.pulled_at);
        for values in &self.cells {
            let params: Vec<Param> = values.iter().map(Stored::param).collect();
            engine.execute(&statements.insert, &params)?;
        }
        for s in &self.sources {
            engine.execute(
                &format!(
                    "INSERT INTO read_source (account, endpoint, ref_date, msgid, stat_date, source, user_count) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) {READ_SOURCE_UPSERT}"
                ),
                args![account, endpoint.name(), s.ref_date, s.msgid, s.stat_date, s.source, s.user_count],
            )?;
        }
        for (day, is_final) in self.days {
            engine.execute(
                &format!(
                    "INSERT INTO pulled_days (account, endpoint, ref_date, first_pulled_at, final, last_pulled_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?4) {PULLED_DAYS_UPSERT}"
                ),
                args![account, endpoint.name(), day, pulled_at, is_final],
            )?;
        }
        Ok(())
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
                // The row without its list, copied once per entry (not the list with it: that
                // made an article's rows quadratic in its days).
                let base: serde_json::Map<String, Value> =
                    object.iter().filter(|(k, _)| k.as_str() != key).map(|(k, v)| (k.clone(), v.clone())).collect();
                for detail in object.get(key).and_then(Value::as_array).into_iter().flatten() {
                    let mut merged = base.clone();
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::super::Cell;
    use super::super::tests::{fresh_stores, int_column};

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
}
