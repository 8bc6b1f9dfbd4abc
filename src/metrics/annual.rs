//! The yearly evidence report: what was produced (from the recorded publications), how readers
//! responded (datacube figures), how available the museum's WeChat services were (the monitor)
//! and how reliably pushes went out (publish runs), each indicator of `[targets.YEAR]` scored
//! with the self-evaluation form's rules and filed under the form's levels, and every push as
//! evidence.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::availability::Availability;
use super::report::{self, Period, Totals};
use super::score::{self, Scored};
use super::store::{Publication, Store, StoreError};
use crate::config::{Direction, Target};
use crate::content::{Item, VideoKind};
use crate::state::ledger::Ledger;

/// Measured indicators that may have nothing recorded in a year (then they score 0, and the
/// row says why).
const MEASURED_LATER: [&str; 5] =
    ["service_stability", "safe_operation", "wechat_services", "publish_success", "satisfaction"];

/// The form's level-1 and level-2 headings of an indicator wxpub knows, by key or by the form's
/// own name for it; `[targets.YEAR.KEY] level1/level2` override them.
fn form_levels(key: &str, label: &str, is_output: bool) -> (&'static str, &'static str) {
    match (key, label) {
        ("service_stability", _) | (_, "功能服务稳定度") => ("产出指标", "质量指标"),
        ("safe_operation", _) | (_, "安全运行保障率") => ("效益指标", "社会效益指标"),
        ("wechat_services", _) | (_, "提供基于微信的功能服务") => ("效益指标", "社会效益指标"),
        ("service_years", _) | (_, "服务年限") => ("效益指标", "可持续影响指标"),
        ("satisfaction", _) | (_, "观众满意度") => ("满意度指标", "服务对象满意度指标"),
        _ if is_output => ("产出指标", "数量指标"),
        _ => ("效益指标", "社会效益指标"),
    }
}

/// A figure wxpub measures, with the name the form and `[targets.YEAR]` use.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub value: f64,
    /// Where the figure comes from.
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndicatorScore {
    pub key: String,
    pub label: String,
    pub level1: String,
    pub level2: String,
    pub target: f64,
    pub actual: Option<f64>,
    pub unit: String,
    pub weight: f64,
    pub direction: Direction,
    pub scored: Option<Scored>,
    /// Why the score falls short, or why there is none.
    pub note: Option<String>,
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stability {
    pub ok_runs: u64,
    pub all_runs: u64,
    /// ok / all, as a percentage; None without runs.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Annual {
    pub year: i32,
    pub account: Option<String>,
    pub output: Vec<Figure>,
    pub engagement: Vec<Figure>,
    /// How available the museum's WeChat services were (the monitor) and how reliably pushes
    /// went out (publish runs).
    pub service: Vec<Figure>,
    pub stability: Stability,
    pub indicators: Vec<IndicatorScore>,
    /// Sum of scores, and the same scaled to 100 when the weights do not add up to 100.
    pub total: f64,
    pub total_weight: f64,
    pub grade: Option<(String, String)>,
    pub evidence: Vec<Publication>,
    /// Days of the year with follower statistics stored (365 means a complete year).
    pub days_with_data: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AnnualError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "publish.toml: `targets.{year}.{key}` is not a figure wxpub measures; give its `actual` value, or use one of: {known}"
    )]
    UnknownIndicator { year: i32, key: String, known: String },
}

/// Publications recorded in `lock` (published or mass-sent), with the facts of their items.
pub fn publications_from_lock(lock: &Ledger, items: &[Item], live_tag: &str) -> Vec<Publication> {
    let by_key: BTreeMap<String, &Item> = items.iter().map(|i| (i.key(), i)).collect();
    let mut out = Vec::new();
    for (account, state) in &lock.accounts {
        for (slot, push) in &state.pushes {
            let Some(publication) = &push.publication else { continue };
            if !publication.status.is_standing() {
                continue;
            }
            for (index, key) in push.items.iter().enumerate() {
                let item = by_key.get(key);
                // Front matter `videos:` and `video` blocks, each video once (Item::videos).
                let videos = item.map(|i| i.videos()).unwrap_or_default();
                let seconds = |kind: VideoKind| {
                    videos.iter().filter(|v| v.kind == kind).filter_map(|v| v.seconds()).fold(0u32, u32::saturating_add)
                };
                out.push(Publication {
                    account: account.clone(),
                    item: key.clone(),
                    slot: slot.clone(),
                    title: push
                        .titles
                        .get(index)
                        .cloned()
                        .or_else(|| item.map(|i| i.meta.title.clone()))
                        .unwrap_or_else(|| key.clone()),
                    // An image post (贴图) counts as its own kind, whether an article or a poster.
                    kind: if item.is_some_and(|i| i.meta.format == crate::content::Format::ImagePost) {
                        "image-post".to_string()
                    } else {
                        key.split('/').next().unwrap_or("articles").trim_end_matches('s').to_string()
                    },
                    mode: publication.mode.as_str().to_string(),
                    pushed_at: publication.finished_at.clone().unwrap_or_else(|| publication.submitted_at.clone()),
                    url: publication.article_urls.get(index).cloned(),
                    illustrations: item.map_or(0, |i| i.meta.illustrations.len() as u32),
                    video_seconds: seconds(VideoKind::Video),
                    animation_seconds: seconds(VideoKind::Animation),
                    live: item.is_some_and(|i| i.meta.tags.iter().any(|t| t == live_tag)),
                    // WeChat's statistics key: the push's msg_data_id and the 1-based position;
                    // for a publication recorded without it, the one its article URL carries.
                    msgid: publication.msg_data_id.map(|id| format!("{id}_{}", index + 1)).or_else(|| {
                        let url = publication.article_urls.get(index)?;
                        let (mid, idx) = crate::wechat::types::statistics_key_of_url(url)?;
                        Some(format!("{mid}_{idx}"))
                    }),
                    position: index as u32 + 1,
                    tags: item.map(|i| i.meta.tags.clone()).unwrap_or_default(),
                });
            }
        }
    }
    out
}

/// Publications imported into the archive (`wxpub archive import`: made before wxpub, or in the
/// web backend), one per article: counted as articles, and marked by their mode `imported`
/// wherever they are listed. `entries` are the archive's entries with their records.
pub fn publications_from_archive(entries: &[(String, crate::archive::Record)]) -> Vec<Publication> {
    let mut out = Vec::new();
    for (_, record) in entries {
        let Some(imported) = &record.imported else { continue };
        for (index, article) in record.articles.iter().enumerate() {
            out.push(Publication {
                account: record.account.clone(),
                item: format!("imported/{}/{}", imported.article_id, index + 1),
                slot: record.slot.clone(),
                title: article.title.clone(),
                kind: article.kind.clone(),
                mode: "imported".into(),
                pushed_at: record.finished_at.clone().unwrap_or_else(|| record.submitted_at.clone()),
                url: article.url.clone(),
                illustrations: 0,
                video_seconds: 0,
                animation_seconds: 0,
                live: false,
                // The position the article's own link names, else its place in the entry.
                msgid: article
                    .url
                    .as_deref()
                    .and_then(crate::wechat::types::statistics_key_of_url)
                    .map(|(mid, idx)| format!("{mid}_{idx}"))
                    .or_else(|| record.msg_data_id.map(|id| format!("{id}_{}", index + 1))),
                position: index as u32 + 1,
                tags: Vec::new(),
            });
        }
    }
    out
}

/// The measured figures, by key, in the order the report shows them.
fn measured(pubs: &[Publication], totals: &Totals) -> (Vec<Figure>, Vec<Figure>) {
    let count = |kind: &str| pubs.iter().filter(|p| p.kind == kind).count() as f64;
    // Summed as integers: a float sum over nothing is -0.0, which a report would print as "-0".
    let total = |field: fn(&Publication) -> u32| pubs.iter().map(|p| u64::from(field(p))).sum::<u64>() as f64;
    let pushes = pubs.iter().map(|p| (&p.account, &p.slot)).collect::<std::collections::BTreeSet<_>>().len() as f64;
    let from_lock = "publish.lock → publications table; content front matter".to_string();
    let figure =
        |key, label, unit, value: f64, evidence: &str| Figure { key, label, unit, value, evidence: evidence.into() };
    let output = vec![
        figure("pushes", "推送次数", "次", pushes, &from_lock),
        figure("articles", "发布文章", "篇", count("article"), &from_lock),
        figure("posters", "海报", "张", count("poster"), &from_lock),
        figure("topics", "专题页", "个", count("topic"), &from_lock),
        figure("image_posts", "贴图", "篇", count("image-post"), &from_lock),
        figure(
            "illustrations",
            "手绘插画",
            "幅",
            total(|p| p.illustrations),
            "front matter `illustrations` of published items",
        ),
        figure(
            "video_minutes",
            "短视频",
            "分钟",
            score::round2(total(|p| p.video_seconds) / 60.0),
            "front matter `videos` (kind video) and `video` blocks of published items",
        ),
        figure(
            "animation_seconds",
            "动画",
            "秒",
            total(|p| p.animation_seconds),
            "front matter `videos` (kind animation) of published items",
        ),
        figure(
            "live_streams",
            "直播",
            "场",
            pubs.iter().filter(|p| p.live).count() as f64,
            "published items tagged as live",
        ),
    ];
    let datacube = "datacube statistics in the metrics database";
    let followers = "datacube getusersummary / getusercumulate";
    let readers = "datacube getuserread (days before 2025-11-01) and getbizsummary (from 2025-11-01)";
    let deprecated = "datacube getuserread / getusershare, days before 2025-11-01 only (not served since)";
    let since_2025_11 = "datacube getbizsummary, days from 2025-11-01";
    let mut engagement = vec![
        figure("follower_growth", "净增关注", "人", totals.net_followers as f64, followers),
        figure("new_followers", "新增关注", "人", totals.new_followers as f64, followers),
        figure("read_users", "阅读人数", "人", totals.read_users as f64, readers),
        figure("reads", "阅读次数", "次", totals.reads as f64, deprecated),
        figure("shares", "分享次数", "次", totals.shares as f64, deprecated),
        figure("favourites", "收藏次数", "次", totals.favourites as f64, deprecated),
        figure("share_users", "分享人数", "人", totals.share_users as f64, since_2025_11),
        figure("likes", "点赞人数（拇指赞）", "人", totals.likes as f64, since_2025_11),
        figure("zaikan", "在看人数（爱心赞）", "人", totals.zaikan as f64, since_2025_11),
        figure("comments", "留言条数", "条", totals.comments as f64, since_2025_11),
    ];
    if let Some(end) = totals.followers_at_end {
        engagement.insert(0, figure("followers", "年末关注人数", "人", end as f64, datacube));
    }
    (output, engagement)
}

/// The service figures: the monitor's three for the form (when it has results for the year) and
/// the publish runs' success rate.
fn service_figures(availability: &Availability, stability: &Stability) -> Vec<Figure> {
    let mut figures = Vec::new();
    let services: Vec<_> = availability.services().collect();
    let names = services.iter().map(|c| c.check.as_str()).collect::<Vec<_>>().join(", ");
    let (rounds, up) = services.iter().fold((0, 0), |(n, u), c| (n + c.rounds, u + c.up));
    let incidents: u64 = services.iter().map(|c| c.incidents).sum();
    let downtime: f64 = services.iter().map(|c| c.downtime_minutes).sum();
    let monitored: f64 = services.iter().map(|c| c.monitored_minutes).sum();
    if let Some(percent) = availability.service_stability {
        figures.push(Figure {
            key: "service_stability",
            label: "功能服务稳定度",
            unit: "%",
            value: percent,
            evidence: format!(
                "{up} of {rounds} monitor rounds answered as expected, outside maintenance windows ({names}; {incidents} incident(s)); rule: rounds answered / rounds checked (monitor_results table)"
            ),
        });
    }
    if let Some(percent) = availability.safe_operation {
        figures.push(Figure {
            key: "safe_operation",
            label: "安全运行保障率",
            unit: "%",
            value: percent,
            evidence: format!(
                "{:.2} of {:.2} monitored minutes without an incident ({names}; {incidents} incident(s), {:.2} minutes down); rule: (time monitored − downtime) / time monitored (monitor_incidents table)",
                monitored - downtime,
                monitored,
                downtime
            ),
        });
    }
    if !services.is_empty() {
        let answered: Vec<String> = services
            .iter()
            .filter(|c| c.up > 0)
            .map(|c| format!("{} ({} rounds, {} up, {} incident(s))", c.check, c.rounds, c.up, c.incidents))
            .collect();
        figures.push(Figure {
            key: "wechat_services",
            label: "提供基于微信的功能服务",
            unit: "项",
            value: availability.services_answered.len() as f64,
            evidence: format!(
                "services that answered in the year: {}; rule: a service counts when the monitor recorded it answering (monitor_results table)",
                if answered.is_empty() { "none".to_string() } else { answered.join("; ") }
            ),
        });
    }
    if let Some(percent) = stability.percent {
        figures.push(Figure {
            key: "publish_success",
            label: "发布成功率",
            unit: "%",
            value: score::round2(percent),
            evidence: format!(
                "{} of {} publish runs succeeded (publish_runs table)",
                stability.ok_runs, stability.all_runs
            ),
        });
    }
    figures
}

/// Computes the annual report for `year` (all accounts when `account` is None).
pub fn annual(
    store: &Store,
    year: i32,
    account: Option<&str>,
    targets: Option<&BTreeMap<String, Target>>,
) -> Result<Annual, AnnualError> {
    annual_with(store, year, account, targets, &[])
}

/// [`annual`], counting `extra` publications beside the store's (those of a project whose
/// database is read, not written: another museum's, in the network report); an extra one
/// replaces the stored one of the same account, item and slot.
pub fn annual_with(
    store: &Store,
    year: i32,
    account: Option<&str>,
    targets: Option<&BTreeMap<String, Target>>,
    extra: &[Publication],
) -> Result<Annual, AnnualError> {
    let period = Period::new(
        NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year"),
        NaiveDate::from_ymd_opt(year, 12, 31).expect("valid year"),
    );
    let pubs = publications_with(store, account, period, extra)?;
    let totals = report::totals(store, account, period)?;
    let (since, until) = period.bounds();
    let (ok_runs, all_runs) = store.run_counts(&since, &until, account)?;
    let stability =
        Stability { ok_runs, all_runs, percent: (all_runs > 0).then(|| ok_runs as f64 / all_runs as f64 * 100.0) };
    let (output, mut engagement) = measured(&pubs, &totals);
    let service = service_figures(&super::availability::year(store, year)?, &stability);
    engagement.extend(satisfaction_figure(store, year)?);
    engagement.extend(comment_figures(store, year, account)?);

    let figures = YearFigures { output: &output, engagement: &engagement, service: &service };
    let indicators = targets
        .into_iter()
        .flatten()
        .map(|(key, target)| indicator(year, key, target, &figures))
        .collect::<Result<Vec<_>, _>>()?;
    let total_weight: f64 = indicators.iter().map(|i| i.weight).sum();
    let total = score::round2(indicators.iter().filter_map(|i| i.scored.map(|s| s.score)).sum());
    let grade = (total_weight > 0.0).then(|| {
        let (zh, en) = score::grade(total / total_weight * 100.0);
        (zh.to_string(), en.to_string())
    });
    Ok(Annual {
        year,
        account: account.map(str::to_string),
        output,
        engagement,
        service,
        stability,
        indicators,
        total,
        total_weight,
        grade,
        evidence: pubs,
        days_with_data: totals.days_with_data,
    })
}

/// The store's publications of `period`, with the `extra` ones of the period (and account)
/// in place of the stored ones they match; in slot order.
fn publications_with(
    store: &Store,
    account: Option<&str>,
    period: Period,
    extra: &[Publication],
) -> Result<Vec<Publication>, StoreError> {
    let mut pubs = report::publications(store, account, period)?;
    let (since, until) = period.bounds();
    for publication in extra {
        let day: String = publication.slot.chars().take(10).collect();
        if day < since || day > until || account.is_some_and(|a| a != publication.account) {
            continue;
        }
        let same = |p: &Publication| {
            p.account == publication.account && p.item == publication.item && p.slot == publication.slot
        };
        pubs.retain(|p| !same(p));
        pubs.push(publication.clone());
    }
    pubs.sort_by(|a, b| (&a.slot, &a.account, &a.item).cmp(&(&b.slot, &b.account, &b.item)));
    Ok(pubs)
}

/// Visitors' satisfaction from the imported surveys of `year`; None without responses (the
/// indicator then says how to run a survey).
fn satisfaction_figure(store: &Store, year: i32) -> Result<Option<Figure>, StoreError> {
    let surveys = super::survey::satisfaction(store, None, Some(year))?;
    let (responses, satisfied) = surveys.iter().fold((0, 0), |(n, s), x| (n + x.responses, s + x.satisfied));
    if responses == 0 {
        return Ok(None);
    }
    let (low, high) = score::wilson_95(satisfied, responses).unwrap_or((0.0, 0.0));
    let files: Vec<String> = surveys.iter().flat_map(|s| s.files.clone()).collect();
    Ok(Some(Figure {
        key: "satisfaction",
        label: "观众满意度",
        unit: "%",
        value: score::round2(satisfied as f64 / responses as f64 * 100.0),
        evidence: format!(
            "{satisfied} of {responses} survey responses satisfied (95 % Wilson interval {:.1}–{:.1} %); imported from {}",
            low * 100.0,
            high * 100.0,
            files.join(", ")
        ),
    }))
}

/// Readers' comments answered (pulled by `wxpub comments pull`): how many, and what share;
/// nothing when no comment of the year is stored.
fn comment_figures(store: &Store, year: i32, account: Option<&str>) -> Result<Vec<Figure>, StoreError> {
    let answered = store.one(
        "SELECT COUNT(*), SUM(CASE WHEN reply IS NOT NULL THEN 1 ELSE 0 END) FROM comments \
         WHERE deleted = 0 AND substr(created_at, 1, 4) = ?1 AND (?2 IS NULL OR account = ?2)",
        super::store::args![year.to_string(), account],
    )?;
    let (written, replied) = (answered.int(0)?, answered.opt_int(1)?.unwrap_or(0));
    if written == 0 {
        return Ok(Vec::new());
    }
    let evidence =
        format!("{replied} of {written} readers' comments of {year} answered (comments table, `wxpub comments pull`)");
    Ok(vec![
        Figure {
            key: "comment_replies",
            label: "回复留言",
            unit: "条",
            value: replied as f64,
            evidence: evidence.clone(),
        },
        Figure {
            key: "reply_rate",
            label: "留言回复率",
            unit: "%",
            value: score::round2(replied as f64 / written as f64 * 100.0),
            evidence,
        },
    ])
}

/// The year's measured figures, which `[targets.YEAR]` indicators are scored against.
struct YearFigures<'a> {
    output: &'a [Figure],
    engagement: &'a [Figure],
    service: &'a [Figure],
}

impl YearFigures<'_> {
    fn all(&self) -> impl Iterator<Item = &Figure> {
        self.output.iter().chain(self.engagement).chain(self.service)
    }
}

/// One `[targets.YEAR]` indicator, scored against its measured figure (or its entered
/// `actual`). A key wxpub does not measure, without an `actual`, is refused rather than scored
/// 0: a misspelt key would otherwise cost its weight without a word.
fn indicator(year: i32, key: &str, target: &Target, figures: &YearFigures) -> Result<IndicatorScore, AnnualError> {
    let figure = figures.all().find(|f| f.key == key);
    let actual = target.actual.or(figure.map(|f| f.value));
    // One of MEASURED_LATER with nothing recorded this year goes on, to be scored 0 with the
    // reason; any other key without a figure is refused.
    if figure.is_none() && target.actual.is_none() && !MEASURED_LATER.contains(&key) {
        let mut seen = std::collections::BTreeSet::new();
        let known: Vec<&str> = figures.all().map(|f| f.key).chain(MEASURED_LATER).filter(|k| seen.insert(*k)).collect();
        return Err(AnnualError::UnknownIndicator { year, key: key.to_string(), known: known.join(", ") });
    }
    let scored = Some(match actual {
        Some(a) => score::score(target.value, a, target.weight, target.direction),
        None => Scored { rate: 0.0, raw: 0.0, deduction: 0.0, score: 0.0 },
    });
    let label = target.label.clone().or(figure.map(|f| f.label.to_string())).unwrap_or_else(|| key.to_string());
    let (level1, level2) = form_levels(key, &label, figures.output.iter().any(|f| f.key == key));
    Ok(IndicatorScore {
        key: key.to_string(),
        level1: target.level1.clone().unwrap_or_else(|| level1.to_string()),
        level2: target.level2.clone().unwrap_or_else(|| level2.to_string()),
        label,
        target: target.value,
        actual,
        unit: figure.map_or(String::new(), |f| f.unit.to_string()),
        weight: target.weight,
        direction: target.direction,
        note: note(year, key, target, scored, actual),
        scored,
        evidence: evidence(key, target, figure),
    })
}

/// Why an indicator's score falls short of its weight, or why it has none: what to do about it.
fn note(year: i32, key: &str, target: &Target, scored: Option<Scored>, actual: Option<f64>) -> Option<String> {
    match (&scored, actual) {
        (_, None) if key == "satisfaction" => Some(format!(
            "no survey responses recorded for {year}: run a satisfaction survey (wxpub survey new) and import its answers (wxpub survey import)"
        )),
        (_, None) if key == "reply_rate" || key == "comment_replies" => {
            Some(format!("no readers' comments stored for {year}: run `wxpub comments pull` (verified accounts only)"))
        }
        (_, None) if key == "publish_success" => {
            Some(format!("no publish runs recorded for {year}: nothing to measure"))
        }
        (_, None) => Some(format!(
            "no monitor data for {year}: name the museum's services under [[monitor.check]] in publish.toml and run `wxpub monitor serve` (or `wxpub monitor run` on a timer) all year"
        )),
        (None, _) => None,
        (Some(s), Some(a)) if s.deduction > 0.0 => Some(format!(
            "target set too low: actual {a} is {:.0} % above the target {}; {} points deducted — set a realistic target",
            (a - target.value) / target.value * 100.0,
            target.value,
            score::round2(s.deduction)
        )),
        (Some(s), Some(a)) if s.score < target.weight => Some(match target.direction {
            Direction::Positive => format!("{a} of the target {} reached ({:.2} %)", target.value, s.rate * 100.0),
            Direction::Negative => format!("{a} against a limit of {} ({:.2} %)", target.value, s.rate * 100.0),
        }),
        _ => None,
    }
}

/// Where an indicator's actual value comes from, or which table had nothing for it.
fn evidence(key: &str, target: &Target, figure: Option<&Figure>) -> String {
    match (target.actual, figure) {
        (Some(_), _) => "entered in publish.toml".to_string(),
        (None, Some(f)) => f.evidence.clone(),
        (None, None) if key == "satisfaction" => "survey_responses table (none)".to_string(),
        (None, None) if key == "publish_success" => "publish_runs table (none)".to_string(),
        (None, None) if key == "reply_rate" || key == "comment_replies" => "comments table (none)".to_string(),
        (None, None) => "monitor_results table (none)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_without_publications_counts_zero_not_minus_zero() {
        let (output, _) = measured(&[], &Totals::default());
        for figure in output {
            assert!(figure.value == 0.0 && figure.value.is_sign_positive(), "{}: {}", figure.key, figure.value);
        }
    }

    #[test]
    fn indicators_carry_the_forms_levels() {
        assert_eq!(form_levels("service_stability", "功能服务稳定度", false), ("产出指标", "质量指标"));
        assert_eq!(form_levels("safe_operation", "安全运行保障率", false), ("效益指标", "社会效益指标"));
        assert_eq!(form_levels("years", "服务年限", false), ("效益指标", "可持续影响指标"));
        assert_eq!(form_levels("satisfaction", "观众满意度", false), ("满意度指标", "服务对象满意度指标"));
        assert_eq!(form_levels("posters", "海报", true), ("产出指标", "数量指标"));
        assert_eq!(form_levels("likes", "点赞人数", false), ("效益指标", "社会效益指标"));
    }

    #[test]
    fn a_video_blocks_duration_counts_as_video_once() {
        let source = "---\ntitle: 修复室\naccount: service\npublish_at: 2026-12-12 09:00\nvideos:\n  - { title: 铸造, duration: \"0:40\", kind: animation }\n---\n\
                      正文。\n\n```video\ntitle: 修复过程\nduration: 3:20\n```\n\n```video\ntitle: 修复过程\nduration: 3:20\n```\n";
        let item = crate::content::parse_item(
            crate::content::Kind::Article,
            "2026-12-12-lab".into(),
            "lab".into(),
            "lab/index.md".into(),
            source.into(),
        )
        .unwrap();
        let lock: Ledger = toml::from_str(
            "[accounts.service.pushes.\"2026-12-12 09:00\"]\nitems = [\"articles/2026-12-12-lab\"]\n\
             [accounts.service.pushes.\"2026-12-12 09:00\".publication]\nmode = \"publish\"\nstatus = \"published\"\n\
             submitted_at = \"2026-12-12T01:00:00Z\"\n",
        )
        .unwrap();
        let publications = publications_from_lock(&lock, &[item], "直播");
        assert_eq!(publications.len(), 1);
        assert_eq!((publications[0].video_seconds, publications[0].animation_seconds), (200, 40));
    }
}
