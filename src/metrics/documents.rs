//! Turns report data into [`Document`]s: the tables, charts and JSON each report shows.
use serde_json::json;

use super::annual::Annual;
use super::charts;
use super::format::{Document, TableData};
use super::report::{self, ArticleFigures, Comparison, FollowerDay, Period};
use super::store::{Store, StoreError};

fn scope(account: Option<&str>) -> String {
    account.map_or_else(|| "all accounts".to_string(), |a| format!("account {a}"))
}

fn percent(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| "–".to_string(), |f| format!("{:.2}%", f * 100.0))
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

/// (day, followers at its end) for the curve and (day, net gain) for the bars, labelled `MM-DD`.
type Points = Vec<(String, i64)>;
fn chart_points(days: &[FollowerDay]) -> (Points, Points) {
    let curve = days.iter().filter_map(|d| d.cumulate_user.map(|c| (d.date[5..].to_string(), c))).collect();
    let net = days.iter().map(|d| (d.date[5..].to_string(), d.net_user)).collect();
    (curve, net)
}

fn coverage_note(days: &[FollowerDay]) -> Option<String> {
    let missing = days.iter().filter(|d| d.cumulate_user.is_none()).count();
    (missing > 0).then(|| {
        format!("{missing} of {} days have no statistics stored yet — run `wxpub stats pull` to fetch them", days.len())
    })
}

pub fn followers(store: &Store, account: Option<&str>, period: Period) -> Result<Document, StoreError> {
    let days = report::followers(store, account, period)?;
    let sources: std::collections::BTreeSet<String> = days.iter().flat_map(|d| d.by_source.keys().cloned()).collect();
    let mut header = vec!["date", "new_user", "cancel_user", "net_user", "cumulate_user"];
    let source_columns: Vec<String> = sources.iter().map(|s| format!("new_from_{s}")).collect();
    header.extend(source_columns.iter().map(String::as_str));
    let mut table = TableData::new("Followers by day", &header);
    for day in &days {
        let mut row = vec![
            day.date.clone(),
            day.new_user.to_string(),
            day.cancel_user.to_string(),
            day.net_user.to_string(),
            day.cumulate_user.map_or_else(String::new, |c| c.to_string()),
        ];
        row.extend(sources.iter().map(|s| day.by_source.get(s).copied().unwrap_or(0).to_string()));
        table.push(row);
    }
    let (curve, net) = chart_points(&days);
    Ok(Document {
        title: "Followers · 关注人数".into(),
        subtitle: format!("{} to {}, {}", period.since, period.until, scope(account)),
        charts: vec![
            ("累计关注人数 · followers at the end of each day".into(), charts::follower_curve(&curve)),
            ("每日净增关注 · net gain per day".into(), charts::net_bars(&net)),
        ],
        notes: coverage_note(&days).into_iter().collect(),
        json: json!({ "report": "followers", "account": account, "period": period, "days": days }),
        tables: vec![table],
    })
}

fn article_table(heading: &str, articles: &[ArticleFigures]) -> TableData {
    // Readers by source (2026 statistics), a column per source any article has.
    let sources: std::collections::BTreeSet<&str> =
        articles.iter().flat_map(|a| a.readers_by_source.keys().map(String::as_str)).collect();
    let source_columns: Vec<String> = sources.iter().map(|s| format!("read_from_{s}")).collect();
    let mut table = TableData::new(
        heading,
        &[
            "rank",
            "published",
            "account",
            "item",
            "position",
            "title",
            "read_user",
            "share_user",
            "like_user",
            "zaikan_user",
            "comment_count",
            "target_user",
            "read_rate",
            "read_count",
            "fav_count",
            "msgid",
        ]
        .into_iter()
        .chain(source_columns.iter().map(String::as_str))
        .collect::<Vec<_>>(),
    );
    let show = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
    for (rank, a) in articles.iter().enumerate() {
        table.push(
            vec![
                (rank + 1).to_string(),
                a.published.clone(),
                a.account.clone(),
                // An article the statistics name that wxpub did not publish: made in the web backend.
                a.item.clone().unwrap_or_else(|| "(not published by wxpub)".into()),
                a.position.to_string(),
                a.title.clone(),
                a.read_user.to_string(),
                a.share_user.to_string(),
                show(a.like_user),
                show(a.zaikan_user),
                show(a.comment_count),
                show(a.target_user),
                percent(a.read_rate),
                show(a.read_count),
                show(a.fav_count),
                a.msgid.clone(),
            ]
            .into_iter()
            .chain(sources.iter().map(|s| a.readers_by_source.get(*s).map_or_else(String::new, |n| n.to_string())))
            .collect(),
        );
    }
    table
}

fn group_table(heading: &str, groups: &[report::GroupFigures]) -> TableData {
    let mut table = TableData::new(
        heading,
        &[
            "group",
            "articles",
            "read_user",
            "readers_per_article",
            "share_user",
            "like_user",
            "zaikan_user",
            "comment_count",
            "mean_read_rate",
        ],
    );
    for g in groups {
        table.push(vec![
            g.group.clone(),
            g.articles.to_string(),
            g.read_user.to_string(),
            format!("{:.1}", g.readers_per_article),
            g.share_user.to_string(),
            g.like_user.to_string(),
            g.zaikan_user.to_string(),
            g.comment_count.to_string(),
            percent(g.mean_read_rate),
        ]);
    }
    table
}

fn top_chart(articles: &[ArticleFigures]) -> String {
    let top: Vec<(String, i64)> = articles.iter().take(10).map(|a| (a.title.clone(), a.read_user)).collect();
    charts::top_articles(&top)
}

pub fn articles(
    store: &Store,
    account: Option<&str>,
    period: Period,
    top: Option<usize>,
) -> Result<Document, StoreError> {
    let mut articles = report::articles(store, account, period)?;
    let all = articles.len();
    if let Some(n) = top {
        articles.truncate(n);
    }
    let hours = report::reads_by_hour(store, account, period)?;
    let (by_kind, by_tag) = report::compare_groups(&report::articles(store, account, period)?);
    let heading = match top {
        Some(n) if n < all => format!("Top {n} of {all} articles by readers"),
        _ => format!("{all} articles by readers"),
    };
    Ok(Document {
        title: "Articles · 图文阅读".into(),
        subtitle: format!(
            "{} to {}, {} (reads counted on days inside the period)",
            period.since,
            period.until,
            scope(account)
        ),
        tables: vec![
            article_table(&heading, &articles),
            group_table("By kind · 按类型", &by_kind),
            group_table("By tag · 按标签", &by_tag),
        ],
        charts: vec![
            ("阅读最多的文章 · most read articles (readers)".into(), top_chart(&articles)),
            ("分时阅读人数 · readers by hour of day".into(), charts::reads_by_hour(&hours)),
        ],
        notes: vec![
            "read_rate = readers / followers when the article went out (getarticletotal's target_user before \
             2025-11-01, getusercumulate of the day before from then on)"
                .into(),
            "sources: days before 2025-11-01 from getarticlesummary / getarticletotal (mass-sent articles only), \
             days from 2025-11-01 from getarticleread, getarticleshare and getarticletotaldetail (every published \
             article); likes (拇指赞), 在看 and comments exist only in the latter; articles are matched to items by \
             msgid, never by title"
                .into(),
        ],
        json: json!({ "report": "articles", "account": account, "period": period, "articles": articles,
                      "by_kind": by_kind, "by_tag": by_tag, "reads_by_hour": hours }),
    })
}

/// One published item: its first 30 days as a table and a curve, and its readers by source.
/// None when nothing matches.
pub fn item(store: &Store, account: Option<&str>, target: &str) -> Result<Option<Document>, StoreError> {
    let found = report::item(store, account, target)?;
    let Some(first) = found.first() else { return Ok(None) };
    let mut tables = Vec::new();
    let mut charts = Vec::new();
    for figures in &found {
        let mut table = TableData::new(
            &format!(
                "{} · {} · {}",
                figures.account,
                figures.item.as_deref().unwrap_or("(not published by wxpub)"),
                figures.msgid
            ),
            &["day", "stat_date", "read_user", "share_user", "like_user", "zaikan_user", "comment_count"],
        );
        for d in &figures.days {
            table.push(vec![
                d.day.to_string(),
                d.stat_date.clone(),
                d.read_user.to_string(),
                d.share_user.to_string(),
                d.like_user.to_string(),
                d.zaikan_user.to_string(),
                d.comment_count.to_string(),
            ]);
        }
        tables.push(table);
        let mut by_source = TableData::new(&format!("{} · readers by source", figures.msgid), &["source", "read_user"]);
        for (source, users) in &figures.readers_by_source {
            by_source.push(vec![source.clone(), users.to_string()]);
        }
        tables.push(by_source);
        let curve: Vec<(String, i64)> = figures
            .days
            .iter()
            .map(|d| (d.stat_date.get(5..).unwrap_or(&d.stat_date).to_string(), d.read_user))
            .collect();
        charts.push((
            format!("{} · 发表后30天累计阅读人数 · cumulative readers", figures.title),
            charts::article_curve(&curve),
        ));
    }
    Ok(Some(Document {
        title: format!("{} · 单篇数据", first.title),
        subtitle: format!(
            "{}{}, published {}, position {} of its push, tags: {}",
            first.item.as_deref().unwrap_or("not published by wxpub"),
            first.kind.as_deref().map(|k| format!(" ({k})")).unwrap_or_default(),
            first.published.as_deref().unwrap_or("–"),
            first.position,
            if first.tags.is_empty() { "–".to_string() } else { first.tags.join(", ") }
        ),
        tables,
        charts,
        notes: vec![
            "figures summed from publishing to each day, over the article's first 30 days (getarticletotaldetail, \
             statistics since 2025-11-01)"
                .into(),
        ],
        json: json!({ "report": "item", "target": target, "articles": found }),
    }))
}

pub fn summary(store: &Store, account: Option<&str>, period: Period) -> Result<Document, StoreError> {
    let previous = period.previous();
    let lines: Vec<Comparison> =
        report::compare(&report::totals(store, account, period)?, &report::totals(store, account, previous)?);
    let mut table = TableData::new(
        &format!("{} to {} against {} to {}", period.since, period.until, previous.since, previous.until),
        &["figure", "key", "this period", "previous", "change"],
    );
    for line in &lines {
        let show = |v: Option<i64>| v.map_or_else(|| "–".to_string(), |v| v.to_string());
        let change = line.change.map_or_else(|| "–".to_string(), |c| format!("{:+.1}%", c * 100.0));
        table.push(vec![line.label.into(), line.key.into(), show(line.current), show(line.previous), change]);
    }
    let days = report::followers(store, account, period)?;
    let articles = report::articles(store, account, period)?;
    let hours = report::reads_by_hour(store, account, period)?;
    let (curve, net) = chart_points(&days);
    let top: Vec<ArticleFigures> = articles.iter().take(5).cloned().collect();
    Ok(Document {
        title: "Summary · 运营概览".into(),
        subtitle: format!("{} to {} ({} days), {}", period.since, period.until, period.days(), scope(account)),
        tables: vec![table, article_table("Top 5 articles", &top)],
        charts: vec![
            ("累计关注人数 · followers".into(), charts::follower_curve(&curve)),
            ("每日净增关注 · net gain per day".into(), charts::net_bars(&net)),
            ("阅读最多的文章 · most read articles".into(), top_chart(&articles)),
            ("分时阅读人数 · readers by hour of day".into(), charts::reads_by_hour(&hours)),
        ],
        notes: coverage_note(&days).into_iter().collect(),
        json: json!({ "report": "summary", "account": account, "period": period, "previous": previous,
                      "figures": lines, "top_articles": top }),
    })
}

pub fn annual(store: &Store, annual: &Annual) -> Result<Document, StoreError> {
    let account = annual.account.as_deref();
    let year = Period::new(
        chrono::NaiveDate::from_ymd_opt(annual.year, 1, 1).expect("valid year"),
        chrono::NaiveDate::from_ymd_opt(annual.year, 12, 31).expect("valid year"),
    );
    let days = report::followers(store, account, year)?;
    let (curve, _) = chart_points(&days);
    let articles = report::articles(store, account, year)?;
    let hours = report::reads_by_hour(store, account, year)?;
    let mut indicators = TableData::new(
        "Indicators scored with the self-evaluation form · 绩效指标",
        &["level1", "level2", "indicator", "key", "target", "actual", "weight", "score", "note", "evidence"],
    );
    for i in &annual.indicators {
        indicators.push(vec![
            i.level1.clone(),
            i.level2.clone(),
            i.label.clone(),
            i.key.clone(),
            number(i.target),
            i.actual.map_or_else(|| "–".to_string(), number),
            number(i.weight),
            i.scored.map_or_else(|| "–".to_string(), |s| format!("{:.2}", s.score)),
            i.note.clone().unwrap_or_default(),
            i.evidence.clone(),
        ]);
    }
    let figures = |heading: &str, list: &[super::annual::Figure]| {
        let mut table = TableData::new(heading, &["figure", "key", "value", "unit", "evidence"]);
        for f in list {
            table.push(vec![f.label.into(), f.key.into(), number(f.value), f.unit.into(), f.evidence.clone()]);
        }
        table
    };
    let mut evidence = TableData::new(
        "Evidence: every push · 推送清单",
        &["date", "account", "kind", "title", "mode", "pushed_at", "url"],
    );
    for p in &annual.evidence {
        evidence.push(vec![
            p.slot.chars().take(10).collect(),
            p.account.clone(),
            p.kind.clone(),
            p.title.clone(),
            p.mode.clone(),
            p.pushed_at.clone(),
            p.url.clone().unwrap_or_default(),
        ]);
    }
    let mut notes = Vec::new();
    if annual.total_weight > 0.0 {
        let grade = annual.grade.clone().unwrap_or_default();
        notes.push(format!(
            "total {:.2} of {} points — {} ({})",
            annual.total,
            number(annual.total_weight),
            grade.0,
            grade.1
        ));
    } else {
        notes.push(format!("no [targets.{}] in publish.toml: figures are shown unscored", annual.year));
    }
    if annual.days_with_data < 365 {
        notes.push(format!(
            "statistics stored for {} days of {} — run `wxpub stats pull --since {}-01-01` for the rest",
            annual.days_with_data, annual.year, annual.year
        ));
    }
    let stability = match annual.stability.percent {
        Some(p) => {
            format!("publish runs: {:.2}% succeeded ({} of {})", p, annual.stability.ok_runs, annual.stability.all_runs)
        }
        None => "publish runs: none recorded".to_string(),
    };
    notes.push(stability);
    if !annual.service.iter().any(|f| f.key == "service_stability") {
        notes.push(format!(
            "no monitor data for {}: 功能服务稳定度, 安全运行保障率 and 提供基于微信的功能服务 come from `wxpub monitor` (see `wxpub monitor --help`)",
            annual.year
        ));
    }
    let mut tables = Vec::new();
    if !annual.indicators.is_empty() {
        tables.push(indicators);
    }
    tables.push(figures("Output · 产出", &annual.output));
    tables.push(figures("Engagement · 传播效果", &annual.engagement));
    // The audience's interaction with the museum (增强平台与观众互动), from the same figures.
    let interaction: Vec<super::annual::Figure> =
        ["comments", "comment_replies", "reply_rate", "likes", "zaikan", "share_users"]
            .iter()
            .filter_map(|key| annual.engagement.iter().find(|f| f.key == *key).cloned())
            .collect();
    tables.push(figures("Interaction · 互动", &interaction));
    tables.push(figures("Service · 服务保障", &annual.service));
    tables.push(evidence);
    Ok(Document {
        title: format!("{} annual report · 新媒体运营年度报告", annual.year),
        subtitle: format!("{}-01-01 to {}-12-31, {}", annual.year, annual.year, scope(annual.account.as_deref())),
        tables,
        charts: vec![
            ("累计关注人数 · followers through the year".into(), charts::follower_curve(&curve)),
            ("阅读最多的文章 · most read articles of the year".into(), top_chart(&articles)),
            ("分时阅读人数 · readers by hour of day".into(), charts::reads_by_hour(&hours)),
        ],
        notes,
        json: serde_json::to_value(annual).map_err(|e| StoreError::Value {
            target: store.describe().to_string(),
            detail: format!("the annual figures of {} do not serialise as JSON: {e}", annual.year),
        })?,
    })
}
