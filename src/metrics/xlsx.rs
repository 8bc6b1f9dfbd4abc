//! The self-evaluation form (项目支出绩效自评表) filled in from the annual report, as XLSX.
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use super::annual::Annual;
use super::availability::Availability;
use super::survey::Satisfaction;

/// The form's columns, in its own order.
pub const FORM_COLUMNS: [&str; 10] = [
    "一级指标",
    "二级指标",
    "三级指标",
    "年度指标值（A）",
    "实际完成值",
    "分值",
    "得分",
    "偏差原因分析及改进措施",
    "佐证材料",
    "指标方向",
];

/// Writes the form: sheet 1 the scored indicators and the total, sheet 2 every push as
/// evidence, sheet 3 the satisfaction surveys, sheet 4 the monitored services.
pub fn annual_form(
    annual: &Annual,
    site_name: &str,
    surveys: &[Satisfaction],
    availability: &Availability,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let title = Format::new().set_bold().set_font_size(14).set_align(FormatAlign::Center);
    let head = Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color("#F3EFE8").set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap().set_align(FormatAlign::Top);
    let number = Format::new().set_border(FormatBorder::Thin).set_num_format("0.00").set_align(FormatAlign::Top);

    let sheet = workbook.add_worksheet().set_name("自评表")?;
    sheet.merge_range(0, 0, 0, 9, &format!("项目支出绩效自评表（{} 年度）— {site_name}", annual.year), &title)?;
    for (col, name) in FORM_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(1, col as u16, *name, &head)?;
    }
    let widths = [12.0, 14.0, 18.0, 14.0, 12.0, 8.0, 8.0, 48.0, 48.0, 10.0];
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    let mut row = 2u32;
    for indicator in &annual.indicators {
        sheet.write_string_with_format(row, 0, &indicator.level1, &cell)?;
        sheet.write_string_with_format(row, 1, &indicator.level2, &cell)?;
        sheet.write_string_with_format(row, 2, &indicator.label, &cell)?;
        sheet.write_number_with_format(row, 3, indicator.target, &number)?;
        match indicator.actual {
            Some(actual) => sheet.write_number_with_format(row, 4, actual, &number)?,
            None => sheet.write_string_with_format(row, 4, "—", &cell)?,
        };
        sheet.write_number_with_format(row, 5, indicator.weight, &number)?;
        sheet.write_number_with_format(row, 6, indicator.scored.map_or(0.0, |s| s.score), &number)?;
        sheet.write_string_with_format(row, 7, indicator.note.as_deref().unwrap_or(""), &cell)?;
        sheet.write_string_with_format(row, 8, &indicator.evidence, &cell)?;
        let direction = match indicator.direction {
            crate::config::Direction::Positive => "正向",
            crate::config::Direction::Negative => "反向",
        };
        sheet.write_string_with_format(row, 9, direction, &cell)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, "总分", &head)?;
    sheet.write_number_with_format(row, 5, annual.total_weight, &number)?;
    sheet.write_number_with_format(row, 6, annual.total, &number)?;
    let grade = annual.grade.as_ref().map_or_else(String::new, |(zh, en)| format!("自评等级：{zh}（{en}）"));
    sheet.write_string_with_format(row, 7, &grade, &cell)?;

    let sheet = workbook.add_worksheet().set_name("推送清单")?;
    for (col, name) in ["日期", "账号", "类型", "标题", "方式", "推送时间", "链接"].iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &head)?;
    }
    for (index, p) in annual.evidence.iter().enumerate() {
        let r = index as u32 + 1;
        let date: String = p.slot.chars().take(10).collect();
        // Imported publications were fetched from the server later, not kept as sent: said so.
        let mode = if p.mode == "imported" {
            "imported（导入：事后从服务器获取）".to_string()
        } else {
            p.mode.clone()
        };
        for (col, text) in
            [&date, &p.account, &p.kind, &p.title, &mode, &p.pushed_at, p.url.as_ref().unwrap_or(&String::new())]
                .iter()
                .enumerate()
        {
            sheet.write_string_with_format(r, col as u16, text.as_str(), &cell)?;
        }
    }
    sheet.set_column_width(3, 40.0)?;
    sheet.set_column_width(6, 56.0)?;

    let sheet = workbook.add_worksheet().set_name("满意度调查")?;
    for (col, name) in
        ["问卷", "有效答卷", "满意", "满意度", "95% 区间下限", "95% 区间上限", "来源文件"].iter().enumerate()
    {
        sheet.write_string_with_format(0, col as u16, *name, &head)?;
    }
    for (index, s) in surveys.iter().enumerate() {
        let r = index as u32 + 1;
        sheet.write_string_with_format(r, 0, &s.survey, &cell)?;
        sheet.write_number_with_format(r, 1, s.responses as f64, &number)?;
        sheet.write_number_with_format(r, 2, s.satisfied as f64, &number)?;
        sheet.write_number_with_format(r, 3, s.rate.unwrap_or(0.0) * 100.0, &number)?;
        let (low, high) = s.interval.unwrap_or((0.0, 0.0));
        sheet.write_number_with_format(r, 4, low * 100.0, &number)?;
        sheet.write_number_with_format(r, 5, high * 100.0, &number)?;
        sheet.write_string_with_format(r, 6, s.files.join(", "), &cell)?;
    }

    let sheet = workbook.add_worksheet().set_name("服务可用性")?;
    let header = [
        "服务",
        "类型",
        "检测轮次",
        "正常",
        "异常",
        "维护期内",
        "可用率（%）",
        "故障次数",
        "故障时长（分钟）",
        "首次检测",
        "最近检测",
    ];
    for (col, name) in header.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &head)?;
    }
    for (index, c) in availability.checks.iter().enumerate() {
        let r = index as u32 + 1;
        sheet.write_string_with_format(r, 0, &c.check, &cell)?;
        sheet.write_string_with_format(r, 1, if c.builtin { "公众号接口" } else { "功能服务" }, &cell)?;
        for (col, value) in [c.rounds, c.up, c.down, c.maintenance].into_iter().enumerate() {
            sheet.write_number_with_format(r, col as u16 + 2, value as f64, &number)?;
        }
        match c.availability {
            Some(percent) => sheet.write_number_with_format(r, 6, percent, &number)?,
            None => sheet.write_string_with_format(r, 6, "—", &cell)?,
        };
        sheet.write_number_with_format(r, 7, c.incidents as f64, &number)?;
        sheet.write_number_with_format(r, 8, c.downtime_minutes, &number)?;
        sheet.write_string_with_format(r, 9, &c.first, &cell)?;
        sheet.write_string_with_format(r, 10, &c.last, &cell)?;
    }
    let below = availability.checks.len() as u32 + 2;
    for (index, rule) in super::availability::RULES.iter().enumerate() {
        sheet.write_string(below + index as u32, 0, *rule)?;
    }
    sheet.set_column_width(0, 20.0)?;
    workbook.save_to_buffer()
}
