//! Audience-satisfaction surveys: import a questionnaire tool's export (CSV or XLSX) into the
//! metrics database, and compute the satisfaction rate with its 95 % Wilson interval.
use std::path::Path;

use super::store::args;
use calamine::{DataType, Reader};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::score::wilson_95;
use super::store::{Store, StoreError};
use crate::config::Survey;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "{path}: missing column(s) {missing} (named in [surveys.{survey}] of publish.toml); the file's header row has: {found}"
    )]
    Columns { path: String, survey: String, missing: String, found: String },
    #[error("{path}: no header row; export the answers with their column titles")]
    Empty { path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub already_imported: usize,
    /// (row number as the spreadsheet shows it, why it was skipped)
    pub skipped: Vec<(usize, String)>,
}

/// The file's rows as text, header first. CSV may be UTF-8 (with or without BOM) or GB18030,
/// which older Chinese exports use.
fn read_rows(path: &Path) -> Result<Vec<Vec<String>>, SurveyError> {
    let shown = path.display().to_string();
    let fail = |message: String| SurveyError::Read { path: shown.clone(), message };
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if matches!(extension.as_str(), "xlsx" | "xlsm" | "xls" | "ods") {
        let mut workbook = calamine::open_workbook_auto(path).map_err(|e| fail(e.to_string()))?;
        let range = workbook
            .worksheet_range_at(0)
            .ok_or_else(|| fail("the workbook has no sheet".into()))?
            .map_err(|e| fail(e.to_string()))?;
        return Ok(range
            .rows()
            .map(|row| {
                row.iter()
                    .map(|cell| {
                        if let Some(datetime) = cell.as_datetime() {
                            datetime.format("%Y-%m-%d %H:%M:%S").to_string()
                        } else if let Some(f) = cell.get_float().filter(|f| f.fract() == 0.0) {
                            format!("{f:.0}")
                        } else {
                            cell.as_string().unwrap_or_default()
                        }
                    })
                    .collect()
            })
            .collect());
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::GB18030.decode(&bytes).0.into_owned(),
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.map(|record| record.iter().map(str::to_string).collect()).map_err(|e| fail(e.to_string())))
        .collect()
}

fn parse_time(text: &str) -> Option<String> {
    let text = text.trim();
    const FORMATS: [&str; 4] = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"];
    for format in FORMATS {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.format("%Y-%m-%d %H:%M:%S").to_string());
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(text, format) {
            return Some(format!("{d} 00:00:00"));
        }
    }
    None
}

/// The rating a cell holds, on the survey's scale.
fn parse_rating(cell: &str, survey: &Survey) -> Result<f64, String> {
    let cell = cell.trim();
    if let Some(index) = survey.labels.iter().position(|l| l == cell) {
        return Ok(survey.scale[0] + index as f64);
    }
    let value: f64 = cell.parse().map_err(|_| {
        if survey.labels.is_empty() {
            format!("rating `{cell}` is not a number")
        } else {
            format!("rating `{cell}` is neither a number nor one of {}", survey.labels.join("/"))
        }
    })?;
    let [low, high] = survey.scale;
    if !(low..=high).contains(&value) {
        return Err(format!("rating {value} is outside the scale {low}–{high}"));
    }
    Ok(value)
}

/// Imports `path` as answers to survey `name`. Re-importing adds nothing: a response is known
/// by its id column, or by the hash of its whole row.
pub fn import(store: &mut Store, name: &str, survey: &Survey, path: &Path) -> Result<ImportReport, SurveyError> {
    let rows = read_rows(path)?;
    let shown = path.display().to_string();
    let Some((header, data)) = rows.split_first() else {
        return Err(SurveyError::Empty { path: shown });
    };
    let column = |title: &str| header.iter().position(|h| h.trim() == title);
    let wanted: Vec<&str> =
        [Some(survey.rating_column.as_str()), Some(survey.time_column.as_str()), survey.id_column.as_deref()]
            .into_iter()
            .flatten()
            .collect();
    let missing: Vec<String> = wanted.iter().filter(|w| column(w).is_none()).map(|w| format!("`{w}`")).collect();
    if !missing.is_empty() {
        return Err(SurveyError::Columns {
            path: shown,
            survey: name.into(),
            missing: missing.join(", "),
            found: header.iter().map(|h| format!("`{}`", h.trim())).collect::<Vec<_>>().join(", "),
        });
    }
    let (rating_at, time_at) = (column(&survey.rating_column).unwrap_or(0), column(&survey.time_column).unwrap_or(0));
    let id_at = survey.id_column.as_deref().and_then(column);
    let mut report = ImportReport::default();
    let imported_at = crate::util::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let file_name = path.file_name().map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
    /// One parsed response, stored below in one transaction.
    struct Response {
        response: String,
        answered_at: String,
        rating: f64,
        satisfied: bool,
        row: i64,
    }
    let mut responses = Vec::new();
    for (index, row) in data.iter().enumerate() {
        let number = index + 2; // the header is row 1
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let cell = |at: usize| row.get(at).map(String::as_str).unwrap_or("");
        let rating = match parse_rating(cell(rating_at), survey) {
            Ok(r) => r,
            Err(message) => {
                report.skipped.push((number, message));
                continue;
            }
        };
        let Some(answered_at) = parse_time(cell(time_at)) else {
            report.skipped.push((number, format!("time `{}` is not a date and time", cell(time_at))));
            continue;
        };
        let response = match id_at.map(cell).filter(|id| !id.trim().is_empty()) {
            Some(id) => format!("id:{}", id.trim()),
            None => format!("row:{}", hex::encode(Sha256::digest(row.join("\u{1f}")))),
        };
        let satisfied = rating >= survey.satisfied_threshold();
        responses.push(Response { response, answered_at, rating, satisfied, row: number as i64 });
    }
    let added: Vec<u64> = store.write(|engine| {
        responses
            .iter()
            .map(|r| {
                engine.execute(
                    "INSERT INTO survey_responses (survey, response, answered_at, rating, satisfied, source_file, \
                     source_row, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (survey, response) DO NOTHING",
                    args![name, r.response, r.answered_at, r.rating, r.satisfied, file_name, r.row, imported_at],
                )
            })
            .collect()
    })?;
    report.imported = added.iter().filter(|n| **n == 1).count();
    report.already_imported = added.len() - report.imported;
    Ok(report)
}

/// The satisfaction figures of one survey.
#[derive(Debug, Clone, Serialize)]
pub struct Satisfaction {
    pub survey: String,
    pub responses: u64,
    pub satisfied: u64,
    /// satisfied / responses, as a fraction.
    pub rate: Option<f64>,
    /// 95 % Wilson score interval of the rate.
    pub interval: Option<(f64, f64)>,
    pub files: Vec<String>,
}

/// Satisfaction per survey (one survey, or all), counting responses answered in `year` if given.
pub fn satisfaction(store: &Store, survey: Option<&str>, year: Option<i32>) -> Result<Vec<Satisfaction>, StoreError> {
    let year = year.map(|y| y.to_string());
    // Counted per file and folded here: the files come out sorted, the same from both stores.
    let rows = store.rows(
        "SELECT survey, source_file, COUNT(*), SUM(satisfied) FROM survey_responses \
         WHERE (?1 IS NULL OR survey = ?1) AND (?2 IS NULL OR substr(answered_at, 1, 4) = ?2) \
         GROUP BY survey, source_file ORDER BY survey, source_file",
        args![survey, year],
    )?;
    let mut surveys: Vec<Satisfaction> = Vec::new();
    for row in rows {
        let (name, file, responses, satisfied) = (row.text(0)?, row.text(1)?, row.int(2)?, row.int(3)?);
        if surveys.last().is_none_or(|s| s.survey != name) {
            surveys.push(Satisfaction {
                survey: name,
                responses: 0,
                satisfied: 0,
                rate: None,
                interval: None,
                files: Vec::new(),
            });
        }
        if let Some(current) = surveys.last_mut() {
            current.responses += responses as u64;
            current.satisfied += satisfied as u64;
            current.files.push(file);
        }
    }
    for s in &mut surveys {
        s.rate = (s.responses > 0).then(|| s.satisfied as f64 / s.responses as f64);
        s.interval = wilson_95(s.satisfied, s.responses);
    }
    Ok(surveys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey(labels: &[&str]) -> Survey {
        Survey {
            title: None,
            rating_column: "r".into(),
            scale: [1.0, 5.0],
            satisfied_min: None,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            time_column: "t".into(),
            id_column: None,
        }
    }

    #[test]
    fn ratings_are_numbers_or_labels_on_the_scale() {
        let numeric = survey(&[]);
        assert_eq!(parse_rating(" 4 ", &numeric), Ok(4.0));
        assert!(parse_rating("7", &numeric).unwrap_err().contains("outside the scale 1–5"));
        assert!(parse_rating("好", &numeric).unwrap_err().contains("not a number"));
        let words = survey(&["非常不满意", "不满意", "一般", "满意", "非常满意"]);
        assert_eq!(parse_rating("满意", &words), Ok(4.0));
        assert_eq!(numeric.satisfied_threshold(), 4.0, "the top two points count as satisfied");
    }

    #[test]
    fn export_times_in_the_usual_shapes() {
        assert_eq!(parse_time("2026/12/10 09:05:01").as_deref(), Some("2026-12-10 09:05:01"));
        assert_eq!(parse_time("2026-12-10 09:05").as_deref(), Some("2026-12-10 09:05:00"));
        assert_eq!(parse_time("昨天"), None);
    }
}
