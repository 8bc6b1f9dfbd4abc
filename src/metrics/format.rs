//! Report output: each report becomes a [`Document`] (tables, charts and its JSON value), which
//! is then written as a terminal table, CSV (the main table), JSON, or one self-contained HTML
//! file (inline style, inline SVG charts; nothing fetched from anywhere).
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::util::html::escape;

/// A table: header and rows, already formatted as text.
#[derive(Debug, Clone, Default)]
pub struct TableData {
    pub heading: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl TableData {
    pub fn new(heading: &str, header: &[&str]) -> TableData {
        TableData { heading: heading.into(), header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

/// A report ready to be written in any format.
pub struct Document {
    pub title: String,
    /// One line under the title: period, account, data coverage.
    pub subtitle: String,
    /// The first table is the main one (the CSV output).
    pub tables: Vec<TableData>,
    /// (caption, SVG) pairs, shown in HTML only.
    pub charts: Vec<(String, String)>,
    pub json: serde_json::Value,
    /// Remarks shown under the tables (data gaps, how figures are counted).
    pub notes: Vec<String>,
}

pub fn to_table(doc: &Document) -> String {
    let mut out = format!("{}\n{}\n", doc.title, doc.subtitle);
    for data in &doc.tables {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
        table.set_header(&data.header);
        for row in &data.rows {
            table.add_row(row);
        }
        out.push_str(&format!("\n{}\n{table}\n", data.heading));
    }
    for note in &doc.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

pub fn to_csv(doc: &Document) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if let Some(main) = doc.tables.first() {
        writer.write_record(&main.header)?;
        for row in &main.rows {
            writer.write_record(row)?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn to_json(doc: &Document) -> String {
    serde_json::to_string_pretty(&doc.json).unwrap_or_else(|_| "null".into())
}

/// Every table as a sheet of one workbook (named by its heading), figures as numbers, with the
/// title, subtitle and notes on a last sheet.
pub fn to_xlsx(doc: &Document) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let head = rust_xlsxwriter::Format::new().set_bold().set_background_color("#F3EFE8");
    for (index, table) in doc.tables.iter().enumerate() {
        // A sheet name: at most 31 characters, none of []:*?/\ — the heading's English part.
        let name: String = table
            .heading
            .split(" · ")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        let name = if name.trim().is_empty() { format!("Sheet{}", index + 1) } else { name };
        let sheet = workbook.add_worksheet().set_name(&name)?;
        for (col, title) in table.header.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, title, &head)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            for (col, cell) in row.iter().enumerate() {
                let at = (r as u32 + 1, col as u16);
                match cell.trim_end_matches('%').parse::<f64>() {
                    Ok(n) if n.is_finite() && numeric(cell) => sheet.write_number(at.0, at.1, n)?,
                    _ => sheet.write_string(at.0, at.1, cell)?,
                };
            }
        }
        sheet.set_column_width(0, 20.0)?;
    }
    let sheet = workbook.add_worksheet().set_name("About")?;
    sheet.write_string(0, 0, &doc.title)?;
    sheet.write_string(1, 0, &doc.subtitle)?;
    for (index, note) in doc.notes.iter().enumerate() {
        sheet.write_string(3 + index as u32, 0, note)?;
    }
    workbook.save_to_buffer()
}

/// Plain style for screens of every width and for paper: tables scroll sideways on a phone and
/// charts scale; printing drops the background and keeps tables whole.
const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; padding: 16px; font: 15px/1.6 -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #222; background: #f6f4f0; }
main { max-width: 960px; margin: 0 auto; background: #fff; padding: 20px 24px; border-radius: 6px; }
h1 { font-size: 22px; margin: 0 0 4px; color: #8c2f1f; }
h2 { font-size: 17px; margin: 28px 0 8px; border-left: 4px solid #8c2f1f; padding-left: 8px; }
.subtitle { color: #666; margin: 0 0 12px; }
figure { margin: 12px 0 20px; }
figcaption { font-size: 13px; color: #666; }
svg.chart { width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e5e0d8; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3efe8; }
td.n { text-align: right; white-space: nowrap; }
.notes { font-size: 13px; color: #555; }
a { color: #8c2f1f; word-break: break-all; }
@media (max-width: 480px) { body { padding: 0; } main { padding: 12px; border-radius: 0; } h1 { font-size: 19px; } }
@media print { body { background: #fff; padding: 0; } main { max-width: none; padding: 0; } tr, figure { break-inside: avoid; } a { color: #222; } }
"#;

fn numeric(cell: &str) -> bool {
    let trimmed = cell.trim_end_matches('%').trim_start_matches(['+', '-']).replace(',', "");
    !trimmed.is_empty() && trimmed.parse::<f64>().is_ok()
}

pub fn to_html(doc: &Document) -> String {
    let mut body = String::new();
    body.push_str(&format!("<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n", escape(&doc.title), escape(&doc.subtitle)));
    for (caption, svg) in &doc.charts {
        body.push_str(&format!("<figure>{svg}<figcaption>{}</figcaption></figure>\n", escape(caption)));
    }
    for data in &doc.tables {
        body.push_str(&format!("<h2>{}</h2>\n<div class=\"scroll\"><table>\n<thead><tr>", escape(&data.heading)));
        for h in &data.header {
            body.push_str(&format!("<th>{}</th>", escape(h)));
        }
        body.push_str("</tr></thead>\n<tbody>\n");
        for row in &data.rows {
            body.push_str("<tr>");
            for cell in row {
                let class = if numeric(cell) { " class=\"n\"" } else { "" };
                let content = if cell.starts_with("https://") || cell.starts_with("http://") {
                    format!("<a href=\"{0}\">{0}</a>", escape(cell))
                } else {
                    escape(cell)
                };
                body.push_str(&format!("<td{class}>{content}</td>"));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</tbody></table></div>\n");
    }
    if !doc.notes.is_empty() {
        body.push_str("<div class=\"notes\">");
        for note in &doc.notes {
            body.push_str(&format!("<p>{}</p>", escape(note)));
        }
        body.push_str("</div>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(&doc.title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        let mut table = TableData::new("Daily", &["date", "title"]);
        table.push(vec!["2026-11-01".into(), "a, \"quoted\" <title>".into()]);
        Document {
            title: "Report".into(),
            subtitle: "2026".into(),
            tables: vec![table],
            charts: vec![],
            json: serde_json::json!({}),
            notes: vec![],
        }
    }

    #[test]
    fn csv_quotes_and_html_escapes() {
        assert_eq!(to_csv(&doc()).unwrap(), "date,title\n2026-11-01,\"a, \"\"quoted\"\" <title>\"\n");
        let html = to_html(&doc());
        assert!(html.contains("a, &quot;quoted&quot; &lt;title&gt;"));
        assert!(!html.contains("<script") && !html.contains("<link"), "self-contained");
    }
}
