//! The network report: the annual figures and form scores of many museums side by side, for the
//! bureau that oversees them (主管部门), with totals and rankings. Each museum's figures come
//! from its own statistics store; a museum whose figures are missing is named with why, never
//! dropped.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::annual::Annual;
use super::format::{Document, TableData};

/// `network.toml`: the museums of the network.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// The network's name, for the title (e.g. 青州市文物局).
    #[serde(default)]
    pub name: Option<String>,
    pub museums: BTreeMap<String, MuseumEntry>,
}

/// One museum: its wxpub project (figures, targets and scores), or only its statistics store: a
/// SQLite file, or a PostgreSQL URL with the museum's schema there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuseumEntry {
    pub name: String,
    #[serde(default)]
    pub project: Option<PathBuf>,
    #[serde(default)]
    pub db: Option<PathBuf>,
    /// With a PostgreSQL `db`: the museum's schema in it.
    #[serde(default)]
    pub schema: Option<String>,
    /// With a PostgreSQL `db`: the environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
}

/// A museum's year, or why it has none.
pub struct MuseumYear {
    pub key: String,
    pub name: String,
    pub figures: Result<Annual, String>,
}

/// The figures compared, in order: (key in the annual report, column heading).
const OUTPUT: [(&str, &str); 8] = [
    ("pushes", "推送次数"),
    ("articles", "发布文章"),
    ("posters", "海报"),
    ("topics", "专题页"),
    ("image_posts", "贴图"),
    ("illustrations", "手绘插画"),
    ("video_minutes", "短视频（分钟）"),
    ("animation_seconds", "动画（秒）"),
];
const ENGAGEMENT: [(&str, &str); 4] =
    [("followers", "年末关注"), ("new_followers", "新增关注"), ("read_users", "阅读人数"), ("likes", "点赞")];

fn value(annual: &Annual, key: &str) -> Option<f64> {
    annual.output.iter().chain(&annual.engagement).find(|f| f.key == key).map(|f| f.value)
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

/// The form's score scaled to 100 (weights need not add up to 100), when the museum has targets.
fn score_of_100(annual: &Annual) -> Option<f64> {
    (annual.total_weight > 0.0).then(|| annual.total / annual.total_weight * 100.0)
}

/// The network report for `year`: museums ranked by their form score (those without one after,
/// by name), totals, the museums with missing figures named; a chart of scores and of readers.
pub fn document(network: &str, year: i32, museums: &[MuseumYear]) -> Document {
    let mut ranked: Vec<(&MuseumYear, &Annual)> =
        museums.iter().filter_map(|m| m.figures.as_ref().ok().map(|a| (m, a))).collect();
    ranked.sort_by(|(ma, a), (mb, b)| {
        let (sa, sb) = (score_of_100(a).unwrap_or(-1.0), score_of_100(b).unwrap_or(-1.0));
        sb.total_cmp(&sa).then_with(|| ma.name.cmp(&mb.name))
    });
    let mut header = vec!["rank", "museum"];
    header.extend(OUTPUT.iter().chain(&ENGAGEMENT).map(|(_, label)| *label));
    header.extend(["得分（百分制）", "等级", "统计天数"]);
    let mut table = TableData::new(&format!("{year} 年各馆绩效 · museums side by side"), &header);
    let mut totals = vec![0.0; OUTPUT.len() + ENGAGEMENT.len()];
    let mut json_museums = Vec::new();
    // Equal scores share a rank; a museum without a score (no targets) has none.
    let ranks: Vec<Option<usize>> = ranked
        .iter()
        .map(|(_, a)| {
            let score = score_of_100(a)?;
            Some(1 + ranked.iter().filter(|(_, b)| score_of_100(b).is_some_and(|s| s > score)).count())
        })
        .collect();
    for ((museum, annual), rank) in ranked.iter().zip(&ranks) {
        let mut row = vec![rank.map_or_else(|| "–".to_string(), |r| r.to_string()), museum.name.clone()];
        let mut figures = serde_json::Map::new();
        for (i, (key, _)) in OUTPUT.iter().chain(&ENGAGEMENT).enumerate() {
            let v = value(annual, key);
            totals[i] += v.unwrap_or(0.0);
            row.push(v.map_or_else(|| "–".to_string(), number));
            figures.insert(key.to_string(), v.map_or(serde_json::Value::Null, serde_json::Value::from));
        }
        let score = score_of_100(annual);
        row.push(score.map_or_else(|| "–".to_string(), |s| format!("{s:.1}")));
        row.push(annual.grade.as_ref().map_or_else(|| "–".to_string(), |(zh, _)| zh.clone()));
        row.push(annual.days_with_data.to_string());
        table.push(row);
        json_museums.push(serde_json::json!({
            "key": museum.key, "name": museum.name, "rank": rank, "figures": figures,
            "score": score, "grade": annual.grade.as_ref().map(|g| g.0.clone()), "days_with_data": annual.days_with_data,
        }));
    }
    let mut total_row = vec![String::new(), format!("合计 total ({} museums)", ranked.len())];
    total_row.extend(totals.iter().map(|t| number(*t)));
    total_row.extend([String::new(), String::new(), String::new()]);
    table.push(total_row);

    let missing: Vec<(&MuseumYear, &String)> =
        museums.iter().filter_map(|m| m.figures.as_ref().err().map(|why| (m, why))).collect();
    let mut missing_table = TableData::new("Museums without figures · 缺少数据的博物馆", &["museum", "why"]);
    for (museum, why) in &missing {
        missing_table.push(vec![museum.name.clone(), (*why).clone()]);
    }
    let scores: Vec<(String, i64)> =
        ranked.iter().filter_map(|(m, a)| score_of_100(a).map(|s| (m.name.clone(), s.round() as i64))).collect();
    let mut readers: Vec<(String, i64)> =
        ranked.iter().map(|(m, a)| (m.name.clone(), value(a, "read_users").unwrap_or(0.0) as i64)).collect();
    readers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut notes = vec![
        "Each museum's figures are its own `wxpub report annual`: output counted from what it published, engagement from its WeChat statistics; the score is its self-evaluation form scaled to 100.".to_string(),
    ];
    if !missing.is_empty() {
        notes.push(format!(
            "{} museum(s) without figures are listed below and left out of the totals: {}.",
            missing.len(),
            missing.iter().map(|(m, _)| m.name.as_str()).collect::<Vec<_>>().join("、")
        ));
    }
    let mut tables = vec![table];
    if !missing.is_empty() {
        tables.push(missing_table);
    }
    Document {
        title: format!("{network} · {year} 年度博物馆新媒体绩效汇总"),
        subtitle: format!("{} museums, {} with figures for {year}", museums.len(), ranked.len()),
        tables,
        charts: vec![
            (
                "Form scores (of 100) · 绩效得分".into(),
                super::charts::ranked_bars(&scores, "chart-network-scores", "绩效得分"),
            ),
            ("Readers · 阅读人数".into(), super::charts::ranked_bars(&readers, "chart-network-readers", "阅读人数")),
        ],
        json: serde_json::json!({
            "network": network,
            "year": year,
            "museums": json_museums,
            "totals": OUTPUT.iter().chain(&ENGAGEMENT).zip(&totals).map(|((k, _), t)| (k.to_string(), *t)).collect::<BTreeMap<_, _>>(),
            "missing": missing.iter().map(|(m, why)| serde_json::json!({ "key": m.key, "name": m.name, "why": why })).collect::<Vec<_>>(),
        }),
        notes,
    }
}

/// The network report as a workbook: the main table and the missing museums, one sheet each.
pub fn xlsx(document: &Document) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let head = rust_xlsxwriter::Format::new().set_bold().set_background_color("#F2EBDD");
    for (index, table) in document.tables.iter().enumerate() {
        let sheet = workbook.add_worksheet().set_name(if index == 0 { "各馆对比" } else { "缺少数据" })?;
        sheet.write_string(0, 0, &document.title)?;
        for (col, name) in table.header.iter().enumerate() {
            sheet.write_string_with_format(2, col as u16, name, &head)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            for (col, cell) in row.iter().enumerate() {
                let at = (r as u32 + 3, col as u16);
                // Figures as numbers; names and grades as text, whatever they look like.
                match cell.parse::<f64>() {
                    Ok(n) if index == 0 && col >= 2 && n.is_finite() => sheet.write_number(at.0, at.1, n)?,
                    _ => sheet.write_string(at.0, at.1, cell)?,
                };
            }
        }
        sheet.set_column_width(1, 24.0)?;
    }
    workbook.save_to_buffer()
}
