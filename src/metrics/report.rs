//! Report data: what each `wxpub report` shows, computed from the metrics database only.
//! Formatting (table, CSV, JSON, HTML) lives in `format.rs`; charts in `charts.rs`.
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::store::{Publication, Store, StoreError, args};

/// Why a report's days could not be chosen.
#[derive(Debug, thiserror::Error)]
pub enum PeriodError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("since {since} is after until {until}")]
    Reversed { since: NaiveDate, until: NaiveDate },
    #[error("no calendar period holds {0}")]
    Invalid(NaiveDate),
}

/// The days a report covers, as `wxpub report` and `wxpub mcp` choose them: the calendar `unit`
/// (week, month, year) holding `until`, or `since..=until`, or else the 30 days up to `until`.
/// `until` defaults to the latest day stored (of `account`), or to the day before `today`.
pub fn resolve_period(
    store: &Store,
    account: Option<&str>,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    unit: Option<CalendarUnit>,
    today: NaiveDate,
) -> Result<Period, PeriodError> {
    let latest = store
        .latest_day(account)?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| today - chrono::Days::new(1));
    let until = until.unwrap_or(latest);
    let period = match (unit, since) {
        (Some(unit), _) => Period::calendar(unit, until).ok_or(PeriodError::Invalid(until))?,
        (None, Some(since)) => Period::new(since, until),
        (None, None) => Period::new(until - chrono::Days::new(29), until),
    };
    if period.since > period.until {
        return Err(PeriodError::Reversed { since: period.since, until: period.until });
    }
    Ok(period)
}

/// "All" rows of user_read / user_read_hour carry this source code.
pub const ALL_SOURCES: i64 = 99_999_999;

/// A closed range of days; a calendar period (week, month, year) compares with the same part of
/// the calendar period before it, any other range with the same number of days before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub since: NaiveDate,
    pub until: NaiveDate,
    #[serde(skip)]
    pub calendar: Option<CalendarUnit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Week,
    Month,
    Year,
}

impl Period {
    pub fn new(since: NaiveDate, until: NaiveDate) -> Period {
        Period { since, until, calendar: None }
    }

    pub fn days(&self) -> i64 {
        (self.until - self.since).num_days() + 1
    }

    /// The period to compare with: the same days of the previous week, month or year for a
    /// calendar period (1–25 November against 1–25 October), else the same length just before.
    pub fn previous(&self) -> Period {
        let back = |d: NaiveDate, unit: CalendarUnit| match unit {
            CalendarUnit::Week => Some(d - chrono::Days::new(7)),
            CalendarUnit::Month => d.checked_sub_months(chrono::Months::new(1)),
            CalendarUnit::Year => d.checked_sub_months(chrono::Months::new(12)),
        };
        if let Some(unit) = self.calendar
            && let (Some(since), Some(until)) = (back(self.since, unit), back(self.until, unit))
        {
            return Period { since, until, calendar: Some(unit) };
        }
        let until = self.since.pred_opt().unwrap_or(self.since);
        Period::new(until - chrono::Days::new(self.days() as u64 - 1), until)
    }

    pub fn bounds(&self) -> (String, String) {
        (self.since.format("%Y-%m-%d").to_string(), self.until.format("%Y-%m-%d").to_string())
    }

    /// The calendar week (Monday first), month or year holding `day`, cut at `day`.
    pub fn calendar(unit: CalendarUnit, day: NaiveDate) -> Option<Period> {
        let since = match unit {
            CalendarUnit::Week => day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday())),
            CalendarUnit::Month => day.with_day(1)?,
            CalendarUnit::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1)?,
        };
        Some(Period { since, until: day, calendar: Some(unit) })
    }
}

/// Readable name of a new-follower source code (unknown codes are "other", number kept).
pub fn source_name(code: i64) -> String {
    let name = match code {
        0 => "other",
        1 => "search",
        17 => "card_share",
        30 => "qr_scan",
        43 => "article_menu",
        51 => "payment",
        57 => "account_name_in_article",
        100 => "wechat_ad",
        161 => "others_share",
        176 => "live_stream",
        _ => return format!("other_{code}"),
    };
    name.to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowerDay {
    pub date: String,
    pub new_user: i64,
    pub cancel_user: i64,
    pub net_user: i64,
    /// Followers at the end of the day (None when getusercumulate has no row for it).
    pub cumulate_user: Option<i64>,
    /// New followers by source name.
    pub by_source: BTreeMap<String, i64>,
}

pub fn followers(store: &Store, account: Option<&str>, period: Period) -> Result<Vec<FollowerDay>, StoreError> {
    let (since, until) = period.bounds();
    let mut days: BTreeMap<String, FollowerDay> = BTreeMap::new();
    for day in period.since.iter_days().take_while(|d| *d <= period.until) {
        let date = day.format("%Y-%m-%d").to_string();
        days.insert(
            date.clone(),
            FollowerDay {
                date,
                new_user: 0,
                cancel_user: 0,
                net_user: 0,
                cumulate_user: None,
                by_source: BTreeMap::new(),
            },
        );
    }
    let summary = store.rows(
        "SELECT ref_date, user_source, SUM(new_user), SUM(cancel_user) FROM user_summary \
         WHERE ref_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3) GROUP BY ref_date, user_source",
        args![since, until, account],
    )?;
    for row in summary {
        let (date, source, new, cancel) = (row.text(0)?, row.int(1)?, row.int(2)?, row.int(3)?);
        if let Some(day) = days.get_mut(&date) {
            day.new_user += new;
            day.cancel_user += cancel;
            day.net_user += new - cancel;
            *day.by_source.entry(source_name(source)).or_default() += new;
        }
    }
    let cumulate = store.rows(
        "SELECT ref_date, SUM(cumulate_user) FROM user_cumulate \
         WHERE ref_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3) GROUP BY ref_date",
        args![since, until, account],
    )?;
    for row in cumulate {
        if let Some(day) = days.get_mut(&row.text(0)?) {
            day.cumulate_user = Some(row.int(1)?);
        }
    }
    Ok(days.into_values().collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct ArticleFigures {
    pub account: String,
    /// WeChat's statistics key: `<msg_data_id>_<position>`.
    pub msgid: String,
    /// The item wxpub published it from (`articles/2026-12-01-ding-story`); None for an article
    /// made elsewhere (the web backend), which the statistics name too.
    pub item: Option<String>,
    pub kind: Option<String>,
    pub tags: Vec<String>,
    /// 1-based position in its push.
    pub position: u32,
    /// As published by wxpub; WeChat's for older statistics; the msgid otherwise.
    pub title: String,
    /// Day the article went out.
    pub published: String,
    /// Followers when it went out: getarticletotal's target_user, or the followers at the end of
    /// the day before (getusercumulate) for the 2026 statistics.
    pub target_user: Option<i64>,
    /// Readers on the days inside the period.
    pub read_user: i64,
    /// Readers by where they came from (2026 statistics; "全部" left out).
    pub readers_by_source: BTreeMap<String, i64>,
    pub share_user: i64,
    /// 拇指赞, 在看 (爱心赞) and comments since publishing, up to the period's end (2026 statistics).
    pub like_user: Option<i64>,
    pub zaikan_user: Option<i64>,
    pub comment_count: Option<i64>,
    /// Reads, shares and favourites as counts: the deprecated endpoints only (before 2025-11-01).
    pub read_count: Option<i64>,
    pub share_count: Option<i64>,
    pub fav_user: Option<i64>,
    pub fav_count: Option<i64>,
    /// read_user / target_user.
    pub read_rate: Option<f64>,
    /// The endpoints the figures come from.
    pub source: String,
}

/// The 2026 statistics start here; before it, the deprecated endpoints are the only source.
fn epoch() -> String {
    crate::wechat::types::statistics_epoch().format("%Y-%m-%d").to_string()
}

/// Per-article figures over the period (reads counted on the days inside it), most read first.
/// Days before 2025-11-01 come from the deprecated endpoints (mass-sent articles only), days from
/// it on from the 2026 ones; an article is joined to the item wxpub published it from through its
/// msgid, never its title.
pub fn articles(store: &Store, account: Option<&str>, period: Period) -> Result<Vec<ArticleFigures>, StoreError> {
    let (since, until) = period.bounds();
    let epoch = epoch();
    let mut found: BTreeMap<(String, String), ArticleFigures> = BTreeMap::new();
    let blank = |account: String, msgid: String| ArticleFigures {
        account,
        msgid: msgid.clone(),
        item: None,
        kind: None,
        tags: Vec::new(),
        position: msgid.rsplit('_').next().and_then(|p| p.parse().ok()).unwrap_or(1),
        title: msgid,
        published: String::new(),
        target_user: None,
        read_user: 0,
        readers_by_source: BTreeMap::new(),
        share_user: 0,
        like_user: None,
        zaikan_user: None,
        comment_count: None,
        read_count: None,
        share_count: None,
        fav_user: None,
        fav_count: None,
        read_rate: None,
        source: String::new(),
    };

    // Before the epoch: the deprecated per-article endpoints.
    let old = store.rows(
        "SELECT s.account, s.msgid, MAX(s.title), MIN(s.ref_date), \
           SUM(s.int_page_read_user), SUM(s.int_page_read_count), SUM(s.share_user), SUM(s.share_count), \
           SUM(s.add_to_fav_user), SUM(s.add_to_fav_count), \
           (SELECT MAX(t.target_user) FROM article_total t WHERE t.account = s.account AND t.msgid = s.msgid), \
           (SELECT MIN(t.ref_date) FROM article_total t WHERE t.account = s.account AND t.msgid = s.msgid) \
         FROM article_summary s WHERE s.ref_date BETWEEN ?1 AND ?2 AND s.ref_date < ?4 \
           AND (?3 IS NULL OR s.account = ?3) \
         GROUP BY s.account, s.msgid",
        args![since, until, account, epoch],
    )?;
    for r in old {
        let mut a = blank(r.text(0)?, r.text(1)?);
        a.title = r.text(2)?;
        a.published = match r.opt_text(11)? {
            Some(first_total) => first_total,
            None => r.text(3)?,
        };
        a.read_user = r.int(4)?;
        a.read_count = Some(r.int(5)?);
        a.share_user = r.int(6)?;
        a.share_count = Some(r.int(7)?);
        a.fav_user = Some(r.int(8)?);
        a.fav_count = Some(r.int(9)?);
        a.target_user = r.opt_int(10)?;
        a.source = "getarticlesummary, getarticletotal".into();
        found.insert((a.account.clone(), a.msgid.clone()), a);
    }

    // From the epoch: readers and sharers per day, then the cumulative likes, 在看 and comments.
    let new = store.rows(
        "SELECT r.account, r.msgid, MIN(r.ref_date), SUM(r.read_user), \
           (SELECT COALESCE(SUM(s.share_user), 0) FROM article_share s WHERE s.account = r.account \
              AND s.msgid = r.msgid AND s.ref_date BETWEEN ?1 AND ?2) \
         FROM article_read r WHERE r.ref_date BETWEEN ?1 AND ?2 AND r.ref_date >= ?4 \
           AND (?3 IS NULL OR r.account = ?3) \
         GROUP BY r.account, r.msgid",
        args![since, until, account, epoch],
    )?;
    for r in new {
        let (account, msgid, first, readers, sharers) = (r.text(0)?, r.text(1)?, r.text(2)?, r.int(3)?, r.int(4)?);
        let a = found.entry((account.clone(), msgid.clone())).or_insert_with(|| blank(account, msgid));
        a.read_user += readers;
        a.share_user += sharers;
        if a.published.is_empty() {
            a.published = first;
        }
        a.source = if a.source.is_empty() {
            "getarticleread, getarticleshare, getarticletotaldetail".into()
        } else {
            format!("{}; getarticleread, getarticleshare, getarticletotaldetail", a.source)
        };
    }
    for a in found.values_mut() {
        if let Some(r) = store.row(
            "SELECT ref_date, like_user, zaikan_user, comment_count FROM article_total_detail \
             WHERE account = ?1 AND msgid = ?2 AND stat_date <= ?3 ORDER BY stat_date DESC LIMIT 1",
            args![a.account, a.msgid, until],
        )? {
            a.published = r.text(0)?;
            (a.like_user, a.zaikan_user, a.comment_count) = (Some(r.int(1)?), Some(r.int(2)?), Some(r.int(3)?));
        }
        for r in store.rows(
            "SELECT source, SUM(user_count) FROM read_source WHERE account = ?1 AND msgid = ?2 \
             AND endpoint = 'getarticleread' AND ref_date BETWEEN ?3 AND ?4 AND source <> '全部' GROUP BY source",
            args![a.account, a.msgid, since, until],
        )? {
            a.readers_by_source.insert(r.text(0)?, r.int(1)?);
        }
        if a.target_user.is_none()
            && let Ok(day) = NaiveDate::parse_from_str(&a.published, "%Y-%m-%d")
        {
            let before = day.pred_opt().unwrap_or(day).format("%Y-%m-%d").to_string();
            a.target_user = store
                .row(
                    "SELECT cumulate_user FROM user_cumulate WHERE account = ?1 AND ref_date <= ?2 \
                     ORDER BY ref_date DESC LIMIT 1",
                    args![a.account, before],
                )?
                .map(|r| r.int(0))
                .transpose()?;
        }
        // The same msgid can be recorded under more than one item or slot: the first one counts.
        if let Some(r) = store.row(
            "SELECT item, kind, title, position, tags FROM publications WHERE account = ?1 AND msgid = ?2 \
             ORDER BY slot, item LIMIT 1",
            args![a.account, a.msgid],
        )? {
            a.item = Some(r.text(0)?);
            a.kind = Some(r.text(1)?);
            a.title = r.text(2)?;
            a.position = r.u32(3)?;
            a.tags = r.tags(4)?;
        }
        a.read_rate = a.target_user.filter(|t| *t > 0).map(|t| a.read_user as f64 / t as f64);
    }
    let mut articles: Vec<ArticleFigures> = found.into_values().collect();
    articles.sort_by(|a, b| b.read_user.cmp(&a.read_user).then_with(|| a.msgid.cmp(&b.msgid)));
    Ok(articles)
}

/// Articles wxpub published, taken together by kind or by tag: which kinds of post and which
/// exhibitions draw readers.
#[derive(Debug, Clone, Serialize)]
pub struct GroupFigures {
    pub group: String,
    pub articles: usize,
    pub read_user: i64,
    pub readers_per_article: f64,
    pub share_user: i64,
    pub like_user: i64,
    pub zaikan_user: i64,
    pub comment_count: i64,
    /// Mean of the articles' read rates (those with one).
    pub mean_read_rate: Option<f64>,
}

/// Our articles grouped by kind and by tag (an article counts in each of its tags), most readers
/// per article first.
pub fn compare_groups(articles: &[ArticleFigures]) -> (Vec<GroupFigures>, Vec<GroupFigures>) {
    let group = |key: &dyn Fn(&ArticleFigures) -> Vec<String>| {
        let mut groups: BTreeMap<String, Vec<&ArticleFigures>> = BTreeMap::new();
        for article in articles.iter().filter(|a| a.item.is_some()) {
            for name in key(article) {
                groups.entry(name).or_default().push(article);
            }
        }
        let mut figures: Vec<GroupFigures> = groups
            .into_iter()
            .map(|(group, members)| {
                let sum = |f: &dyn Fn(&ArticleFigures) -> i64| members.iter().map(|a| f(a)).sum::<i64>();
                let rates: Vec<f64> = members.iter().filter_map(|a| a.read_rate).collect();
                let read_user = sum(&|a| a.read_user);
                GroupFigures {
                    articles: members.len(),
                    read_user,
                    readers_per_article: read_user as f64 / members.len() as f64,
                    share_user: sum(&|a| a.share_user),
                    like_user: sum(&|a| a.like_user.unwrap_or(0)),
                    zaikan_user: sum(&|a| a.zaikan_user.unwrap_or(0)),
                    comment_count: sum(&|a| a.comment_count.unwrap_or(0)),
                    mean_read_rate: (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64),
                    group,
                }
            })
            .collect();
        figures.sort_by(|a, b| {
            b.readers_per_article.total_cmp(&a.readers_per_article).then_with(|| a.group.cmp(&b.group))
        });
        figures
    };
    (group(&|a| a.kind.clone().into_iter().collect()), group(&|a| a.tags.clone()))
}

/// One day of an article's first 30, summed from publishing (getarticletotaldetail).
#[derive(Debug, Clone, Serialize)]
pub struct ItemDay {
    /// 1 = the publish day.
    pub day: i64,
    pub stat_date: String,
    pub read_user: i64,
    pub share_user: i64,
    pub like_user: i64,
    pub zaikan_user: i64,
    pub comment_count: i64,
}

/// A published article's own curve: who it is, its first 30 days, and its readers by source.
#[derive(Debug, Clone, Serialize)]
pub struct ItemFigures {
    pub account: String,
    pub msgid: String,
    pub item: Option<String>,
    pub title: String,
    pub kind: Option<String>,
    pub tags: Vec<String>,
    pub position: u32,
    pub published: Option<String>,
    pub days: Vec<ItemDay>,
    /// Readers by source over the days above ("全部" left out).
    pub readers_by_source: BTreeMap<String, i64>,
}

/// The articles matching `target` — an item's key or folder name (through the publications
/// wxpub recorded), or a msgid — with their 30-day figures.
pub fn item(store: &Store, account: Option<&str>, target: &str) -> Result<Vec<ItemFigures>, StoreError> {
    let target = target.trim().trim_matches('/').trim_start_matches("content/");
    let mut matches: Vec<ItemFigures> = Vec::new();
    // An item's key, or its folder name: the key ends with "/<name>".
    for r in store.rows(
        "SELECT account, msgid, item, title, kind, tags, position FROM publications \
         WHERE msgid IS NOT NULL AND (?2 IS NULL OR account = ?2) \
           AND (item = ?1 OR substr(item, length(item) - length(?1)) = '/' || ?1 OR msgid = ?1) \
         ORDER BY slot, account, item",
        args![target, account],
    )? {
        matches.push(ItemFigures {
            account: r.text(0)?,
            msgid: r.text(1)?,
            item: Some(r.text(2)?),
            title: r.text(3)?,
            kind: Some(r.text(4)?),
            tags: r.tags(5)?,
            position: r.u32(6)?,
            published: None,
            days: Vec::new(),
            readers_by_source: BTreeMap::new(),
        });
    }
    if matches.is_empty() {
        // A msgid wxpub did not publish (made in the web backend).
        let found = store.rows(
            "SELECT DISTINCT account FROM article_total_detail WHERE msgid = ?1 AND (?2 IS NULL OR account = ?2) \
             ORDER BY account",
            args![target, account],
        )?;
        for r in found {
            matches.push(ItemFigures {
                account: r.text(0)?,
                msgid: target.to_string(),
                item: None,
                title: target.to_string(),
                kind: None,
                tags: Vec::new(),
                position: target.rsplit('_').next().and_then(|p| p.parse().ok()).unwrap_or(1),
                published: None,
                days: Vec::new(),
                readers_by_source: BTreeMap::new(),
            });
        }
    }
    for figures in &mut matches {
        let days = store.rows(
            "SELECT ref_date, stat_date, read_user, share_user, like_user, zaikan_user, comment_count \
             FROM article_total_detail WHERE account = ?1 AND msgid = ?2 ORDER BY stat_date",
            args![figures.account, figures.msgid],
        )?;
        for r in days {
            let published = r.text(0)?;
            let mut day = ItemDay {
                day: 0,
                stat_date: r.text(1)?,
                read_user: r.int(2)?,
                share_user: r.int(3)?,
                like_user: r.int(4)?,
                zaikan_user: r.int(5)?,
                comment_count: r.int(6)?,
            };
            let (Ok(from), Ok(to)) = (
                NaiveDate::parse_from_str(&published, "%Y-%m-%d"),
                NaiveDate::parse_from_str(&day.stat_date, "%Y-%m-%d"),
            ) else {
                continue;
            };
            day.day = (to - from).num_days() + 1;
            figures.published = Some(published);
            figures.days.push(day);
        }
        for r in store.rows(
            "SELECT source, user_count FROM read_source WHERE account = ?1 AND msgid = ?2 \
             AND endpoint = 'getarticletotaldetail' AND source <> '全部' \
             AND stat_date = (SELECT MAX(stat_date) FROM read_source WHERE account = ?1 AND msgid = ?2 \
                              AND endpoint = 'getarticletotaldetail')",
            args![figures.account, figures.msgid],
        )? {
            figures.readers_by_source.insert(r.text(0)?, r.int(1)?);
        }
    }
    Ok(matches)
}

/// Readers by hour of day (0–23) over the period.
pub fn reads_by_hour(store: &Store, account: Option<&str>, period: Period) -> Result<[i64; 24], StoreError> {
    let (since, until) = period.bounds();
    let mut hours = [0i64; 24];
    for r in store.rows(
        "SELECT ref_hour / 100, SUM(int_page_read_user) FROM user_read_hour \
         WHERE ref_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3) AND user_source = ?4 GROUP BY ref_hour",
        args![since, until, account, ALL_SOURCES],
    )? {
        if let Some(slot) = hours.get_mut(r.int(0)? as usize) {
            *slot += r.int(1)?;
        }
    }
    Ok(hours)
}

/// Period totals used by `summary` and `annual`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub new_followers: i64,
    pub cancelled_followers: i64,
    pub net_followers: i64,
    /// Followers on the last day of the period that has a figure.
    pub followers_at_end: Option<i64>,
    /// Readers: getuserread's before 2025-11-01, getbizsummary's from it on.
    pub read_users: i64,
    /// Reads, shares and favourites as counts: the deprecated endpoints only (before 2025-11-01).
    pub reads: i64,
    pub shares: i64,
    pub favourites: i64,
    /// From 2025-11-01 on (getbizsummary): sharers, 拇指赞, 在看 and comments.
    pub share_users: i64,
    pub likes: i64,
    pub zaikan: i64,
    pub comments: i64,
    /// Articles that went out in the period (by their first statistics day).
    pub articles: i64,
    /// Days of the period with follower statistics stored.
    pub days_with_data: i64,
}

pub fn totals(store: &Store, account: Option<&str>, period: Period) -> Result<Totals, StoreError> {
    let (since, until) = period.bounds();
    let p = args![since, until, account];
    let row = store.one(
        "SELECT COALESCE(SUM(new_user), 0), COALESCE(SUM(cancel_user), 0), COUNT(DISTINCT ref_date) \
         FROM user_summary WHERE ref_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3)",
        p,
    )?;
    let (new, cancel, days) = (row.int(0)?, row.int(1)?, row.int(2)?);
    let followers_at_end = store
        .one(
            "SELECT SUM(cumulate_user) FROM user_cumulate WHERE (?3 IS NULL OR account = ?3) AND ref_date = \
         (SELECT MAX(ref_date) FROM user_cumulate WHERE ref_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3))",
            p,
        )?
        .opt_int(0)?;
    // Each day has one source: the deprecated endpoints before the epoch, the 2026 ones from it.
    let epoch = epoch();
    let p = args![since, until, account, epoch];
    let row = store.one(
        "SELECT COALESCE(SUM(int_page_read_user), 0), COALESCE(SUM(int_page_read_count), 0), \
         COALESCE(SUM(add_to_fav_count), 0) FROM user_read \
         WHERE ref_date BETWEEN ?1 AND ?2 AND ref_date < ?4 AND (?3 IS NULL OR account = ?3) \
         AND user_source = 99999999",
        p,
    )?;
    let (old_read_users, reads, favourites) = (row.int(0)?, row.int(1)?, row.int(2)?);
    let shares = store
        .one(
            "SELECT COALESCE(SUM(share_count), 0) FROM user_share \
         WHERE ref_date BETWEEN ?1 AND ?2 AND ref_date < ?4 AND (?3 IS NULL OR account = ?3)",
            p,
        )?
        .int(0)?;
    let row = store.one(
        "SELECT COALESCE(SUM(read_user), 0), COALESCE(SUM(share_user), 0), COALESCE(SUM(like_user), 0), \
         COALESCE(SUM(zaikan_user), 0), COALESCE(SUM(comment_count), 0) FROM biz_summary \
         WHERE ref_date BETWEEN ?1 AND ?2 AND ref_date >= ?4 AND (?3 IS NULL OR account = ?3)",
        p,
    )?;
    let (new_read_users, share_users, likes, zaikan, comments) =
        (row.int(0)?, row.int(1)?, row.int(2)?, row.int(3)?, row.int(4)?);
    let articles = store
        .one(
            "SELECT (SELECT COUNT(*) FROM (SELECT account, msgid FROM article_total \
           WHERE (?3 IS NULL OR account = ?3) GROUP BY account, msgid \
           HAVING MIN(ref_date) BETWEEN ?1 AND ?2 AND MIN(ref_date) < ?4) AS old_articles) \
         + (SELECT COUNT(*) FROM (SELECT account, msgid FROM article_total_detail \
           WHERE (?3 IS NULL OR account = ?3) GROUP BY account, msgid \
           HAVING MIN(ref_date) BETWEEN ?1 AND ?2 AND MIN(ref_date) >= ?4) AS new_articles)",
            p,
        )?
        .int(0)?;
    let read_users = old_read_users + new_read_users;
    Ok(Totals {
        new_followers: new,
        cancelled_followers: cancel,
        net_followers: new - cancel,
        followers_at_end,
        read_users,
        reads,
        shares,
        favourites,
        share_users,
        likes,
        zaikan,
        comments,
        articles,
        days_with_data: days,
    })
}

/// One line of the summary: this period, the one before, and the change.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub key: &'static str,
    pub label: &'static str,
    pub current: Option<i64>,
    pub previous: Option<i64>,
    /// (current − previous) / previous, as a fraction.
    pub change: Option<f64>,
}

pub fn compare(current: &Totals, previous: &Totals) -> Vec<Comparison> {
    let line = |key, label, c: Option<i64>, p: Option<i64>| Comparison {
        key,
        label,
        current: c,
        previous: p,
        change: match (c, p) {
            (Some(c), Some(p)) if p != 0 => Some((c - p) as f64 / p.abs() as f64),
            _ => None,
        },
    };
    vec![
        line("new_followers", "新增关注", Some(current.new_followers), Some(previous.new_followers)),
        line("cancelled_followers", "取消关注", Some(current.cancelled_followers), Some(previous.cancelled_followers)),
        line("net_followers", "净增关注", Some(current.net_followers), Some(previous.net_followers)),
        line("followers_at_end", "累计关注", current.followers_at_end, previous.followers_at_end),
        line("articles", "发文篇数", Some(current.articles), Some(previous.articles)),
        line("read_users", "阅读人数", Some(current.read_users), Some(previous.read_users)),
        line("reads", "阅读次数", Some(current.reads), Some(previous.reads)),
        line("shares", "分享次数", Some(current.shares), Some(previous.shares)),
        line("favourites", "收藏次数", Some(current.favourites), Some(previous.favourites)),
        line("share_users", "分享人数", Some(current.share_users), Some(previous.share_users)),
        line("likes", "点赞人数", Some(current.likes), Some(previous.likes)),
        line("zaikan", "在看人数", Some(current.zaikan), Some(previous.zaikan)),
        line("comments", "留言条数", Some(current.comments), Some(previous.comments)),
    ]
}

/// Publications of the period, from the database (recorded by `wxpub publish`).
pub fn publications(store: &Store, account: Option<&str>, period: Period) -> Result<Vec<Publication>, StoreError> {
    let (since, until) = period.bounds();
    store.publications(&since, &until, account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn calendar_periods_and_the_one_before() {
        let week = Period::calendar(CalendarUnit::Week, d("2026-11-25")).unwrap(); // a Wednesday
        assert_eq!((week.since, week.until), (d("2026-11-23"), d("2026-11-25")));
        let before = week.previous();
        assert_eq!((before.since, before.until), (d("2026-11-16"), d("2026-11-18")));
        let month = Period::calendar(CalendarUnit::Month, d("2026-11-25")).unwrap();
        assert_eq!(month.since, d("2026-11-01"));
        assert_eq!((month.previous().since, month.previous().until), (d("2026-10-01"), d("2026-10-25")));
        let march = Period::calendar(CalendarUnit::Month, d("2026-03-31")).unwrap().previous();
        assert_eq!((march.since, march.until), (d("2026-02-01"), d("2026-02-28")), "clamped to February's end");
        assert_eq!(Period::calendar(CalendarUnit::Year, d("2026-11-25")).unwrap().days(), 329);
        let range = Period::new(d("2026-11-11"), d("2026-11-20")).previous();
        assert_eq!((range.since, range.until), (d("2026-11-01"), d("2026-11-10")));
    }

    #[test]
    fn comparison_changes_are_relative_to_the_previous_period() {
        let current = Totals { new_followers: 150, ..Totals::default() };
        let previous = Totals { new_followers: 100, ..Totals::default() };
        let lines = compare(&current, &previous);
        assert_eq!(lines[0].change, Some(0.5));
        assert_eq!(lines[3].change, None, "no cumulative figures: no change");
    }
}
