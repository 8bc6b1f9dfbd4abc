//! `wxpub report comments`: readers' comments per article and per month — how many, the share
//! answered, the median and 90th-percentile time to answer, the share elected, and how many are
//! still unanswered. Deleted comments are left out.
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::format::{Document, TableData};
use super::report::Period;
use super::score::{percentile, round2};
use super::store::{Store, StoreError, args};

/// The figures of one group of comments (an article, or a month).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommentFigures {
    pub group: String,
    pub comments: u64,
    pub answered: u64,
    /// answered / comments, %.
    pub answered_share: Option<f64>,
    /// Hours from a comment to its reply.
    pub median_hours_to_answer: Option<f64>,
    pub p90_hours_to_answer: Option<f64>,
    pub elected: u64,
    pub elected_share: Option<f64>,
    pub unanswered: u64,
    #[serde(skip)]
    hours: Vec<f64>,
}

impl CommentFigures {
    fn add(&mut self, hours_to_answer: Option<f64>, elected: bool) {
        self.comments += 1;
        match hours_to_answer {
            Some(hours) => {
                self.answered += 1;
                self.hours.push(hours);
            }
            None => self.unanswered += 1,
        }
        self.elected += u64::from(elected);
    }

    fn finish(&mut self) {
        let share = |n: u64| (self.comments > 0).then(|| round2(n as f64 / self.comments as f64 * 100.0));
        self.answered_share = share(self.answered);
        self.elected_share = share(self.elected);
        self.hours.sort_by(f64::total_cmp);
        self.median_hours_to_answer = percentile(&self.hours, 0.5).map(round2);
        self.p90_hours_to_answer = percentile(&self.hours, 0.9).map(round2);
    }
}

/// Per article and per month over `period` (the days comments were written, site time), and
/// the whole period.
#[derive(Debug, Clone, Serialize)]
pub struct CommentsReport {
    pub period: Period,
    pub total: CommentFigures,
    pub articles: Vec<CommentFigures>,
    pub months: Vec<CommentFigures>,
}

pub fn report(store: &Store, period: Period) -> Result<CommentsReport, StoreError> {
    let (since, until) = period.bounds();
    let rows = store.rows(
        "SELECT c.account, c.msgid, c.item, \
         (SELECT p.title FROM publications p WHERE p.account = c.account AND p.msgid = c.msgid ORDER BY p.slot LIMIT 1), \
         c.created_at, c.replied_at, c.elected FROM comments c \
         WHERE c.deleted = 0 AND substr(c.created_at, 1, 10) >= ?1 AND substr(c.created_at, 1, 10) <= ?2 \
         ORDER BY c.created_at, c.id",
        args![since, until],
    )?;
    let mut total = CommentFigures { group: format!("{since} to {until}"), ..Default::default() };
    let mut articles: BTreeMap<(String, String), CommentFigures> = BTreeMap::new();
    let mut months: BTreeMap<String, CommentFigures> = BTreeMap::new();
    let parse = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok();
    for row in rows {
        let created = row.text(4)?;
        // Answered: the hours to the reply (0 when a time does not read); unanswered: None.
        let hours = row.opt_text(5)?.map(|replied| match (parse(&created), parse(&replied)) {
            (Some(from), Some(to)) => ((to - from).num_seconds().max(0)) as f64 / 3600.0,
            _ => 0.0,
        });
        let elected = row.int(6)? != 0;
        let name = row.opt_text(3)?.or(row.opt_text(2)?).unwrap_or(row.text(1)?);
        let article = articles
            .entry((row.text(0)?, row.text(1)?))
            .or_insert_with(|| CommentFigures { group: name, ..Default::default() });
        article.add(hours, elected);
        let month = created.chars().take(7).collect::<String>();
        months
            .entry(month.clone())
            .or_insert_with(|| CommentFigures { group: month, ..Default::default() })
            .add(hours, elected);
        total.add(hours, elected);
    }
    total.finish();
    let mut articles: Vec<CommentFigures> = articles.into_values().collect();
    articles.iter_mut().for_each(CommentFigures::finish);
    // Most commented first: where the attention goes.
    articles.sort_by(|a, b| b.comments.cmp(&a.comments).then_with(|| a.group.cmp(&b.group)));
    let mut months: Vec<CommentFigures> = months.into_values().collect();
    months.iter_mut().for_each(CommentFigures::finish);
    Ok(CommentsReport { period, total, articles, months })
}

fn table(heading: &str, first: &str, groups: &[CommentFigures]) -> TableData {
    let mut table = TableData::new(
        heading,
        &[
            first,
            "comments",
            "answered",
            "answered_share",
            "median_hours_to_answer",
            "p90_hours_to_answer",
            "elected",
            "elected_share",
            "unanswered",
        ],
    );
    let percent = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}%"));
    let hours = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"));
    for g in groups {
        table.push(vec![
            g.group.clone(),
            g.comments.to_string(),
            g.answered.to_string(),
            percent(g.answered_share),
            hours(g.median_hours_to_answer),
            hours(g.p90_hours_to_answer),
            g.elected.to_string(),
            percent(g.elected_share),
            g.unanswered.to_string(),
        ]);
    }
    table
}

pub fn document(report: &CommentsReport) -> Result<Document, serde_json::Error> {
    let mut notes = vec![
        "comments written in the period (site time), deleted ones left out; time to answer runs from the comment to the reply; only elected (精选) comments are shown to readers".to_string(),
    ];
    if report.total.comments == 0 {
        notes.insert(0, "no comments stored for the period: `wxpub comments pull` reads them from WeChat".into());
    }
    Ok(Document {
        title: "Comments · 留言互动".into(),
        subtitle: format!(
            "{} to {}: {} comments, {} answered, {} unanswered",
            report.period.since,
            report.period.until,
            report.total.comments,
            report.total.answered,
            report.total.unanswered
        ),
        tables: vec![
            table("By article · 按文章", "article", &report.articles),
            table("By month · 按月", "month", &report.months),
            table("Whole period · 合计", "period", std::slice::from_ref(&report.total)),
        ],
        charts: Vec::new(),
        json: serde_json::to_value(report)?,
        notes,
    })
}
