//! Deterministic, plausible statistics for the sandbox's datacube endpoints: followers that grow
//! with a weekly rhythm and rise on publish days; reads and shares per published article that
//! decay after publication. Pure functions of the date and the publications.
use chrono::{Datelike, NaiveDate, Weekday};

use crate::wechat::types::*;

/// First day with data, as in the real service.
pub fn data_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2014, 12, 1).expect("valid date")
}

pub use crate::wechat::types::statistics_epoch;

/// An article the statistics know about: published (or mass-sent) on `date`.
#[derive(Debug, Clone)]
pub struct PublishedArticle {
    pub msg_data_id: u64,
    /// 0-based position in its push (WeChat's msgid counts from 1).
    pub index: u32,
    pub title: String,
    pub date: NaiveDate,
    /// Mass-sent (sendall) rather than published (freepublish): only these are in the
    /// deprecated article endpoints.
    pub mass_sent: bool,
}

impl PublishedArticle {
    /// WeChat's statistics key: `<msg_data_id>_<index from 1>`.
    pub fn msgid(&self) -> String {
        format!("{}_{}", self.msg_data_id, self.index + 1)
    }
}

/// New-follower sources and their typical daily share.
const SOURCES: [(i64, u64); 6] = [(0, 8), (1, 12), (17, 3), (30, 20), (43, 6), (161, 9)];
const BASE_FOLLOWERS: u64 = 20_000;

/// A stable 64-bit hash of the inputs (FNV-1a then a splitmix finaliser): same inputs, same
/// numbers, on every machine and release.
fn noise(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A factor in [1 - spread, 1 + spread] from the hash.
fn jitter(parts: &[&str], spread: f64) -> f64 {
    let unit = (noise(parts) % 10_000) as f64 / 10_000.0;
    1.0 - spread + 2.0 * spread * unit
}

fn weekday_factor(date: NaiveDate) -> f64 {
    match date.weekday() {
        Weekday::Sat => 1.45,
        Weekday::Sun => 1.35,
        Weekday::Mon => 0.85,
        Weekday::Fri => 1.1,
        _ => 1.0,
    }
}

fn publish_factor(date: NaiveDate, articles: &[PublishedArticle]) -> f64 {
    if articles.iter().any(|a| a.date == date) {
        2.4
    } else if articles.iter().any(|a| a.date.succ_opt() == Some(date)) {
        1.4
    } else {
        1.0
    }
}

fn fmt(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn user_summary(date: NaiveDate, articles: &[PublishedArticle]) -> Vec<UserSummaryRow> {
    let d = fmt(date);
    let factor = weekday_factor(date) * publish_factor(date, articles);
    SOURCES
        .iter()
        .map(|(source, base)| {
            let s = source.to_string();
            let new_user = (*base as f64 * factor * jitter(&[&d, &s, "new"], 0.25)).round() as u64;
            let cancel_user = (*base as f64 * 0.3 * jitter(&[&d, &s, "cancel"], 0.4)).round() as u64;
            UserSummaryRow { ref_date: d.clone(), user_source: *source, new_user, cancel_user }
        })
        .collect()
}

/// Followers at the end of `date`: a base plus every day's net gain since the data epoch.
/// Running totals are memoised per set of publication dates (the only input besides the date),
/// so a year of calls costs one pass, not one pass per call.
pub fn cumulate(date: NaiveDate, articles: &[PublishedArticle]) -> u64 {
    type Memo = (Vec<NaiveDate>, Vec<i64>);
    static MEMO: std::sync::Mutex<Option<Memo>> = std::sync::Mutex::new(None);
    let Some(index) = usize::try_from((date - data_epoch()).num_days()).ok() else {
        return BASE_FOLLOWERS;
    };
    let mut dates: Vec<NaiveDate> = articles.iter().map(|a| a.date).collect();
    dates.sort_unstable();
    let mut memo = MEMO.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (key, totals) = memo.get_or_insert_with(|| (dates.clone(), Vec::new()));
    if *key != dates {
        *key = dates;
        totals.clear();
    }
    while totals.len() <= index {
        let day = data_epoch() + chrono::Days::new(totals.len() as u64);
        let before = totals.last().copied().unwrap_or(BASE_FOLLOWERS as i64);
        let net: i64 = user_summary(day, articles).iter().map(|r| r.new_user as i64 - r.cancel_user as i64).sum();
        totals.push(before + net);
    }
    totals[index].max(0) as u64
}

fn article_counters(article: &PublishedArticle, day: NaiveDate) -> Option<ReadCounters> {
    let age = (day - article.date).num_days();
    if !(0..30).contains(&age) {
        return None;
    }
    let id = format!("{}_{}", article.msg_data_id, article.index);
    let peak = 600.0 + (noise(&[&id, "peak"]) % 1400) as f64;
    let lead = if article.index == 0 { 1.6 } else { 1.0 };
    let users = (peak * lead * 0.5_f64.powi(age as i32) * jitter(&[&id, &fmt(day)], 0.15)).round() as u64;
    Some(counters_from_users(users, &id))
}

fn counters_from_users(users: u64, key: &str) -> ReadCounters {
    let scale = |f: f64, tag: &str| (users as f64 * f * jitter(&[key, tag], 0.2)).round() as u64;
    ReadCounters {
        int_page_read_user: users,
        int_page_read_count: scale(1.3, "count"),
        ori_page_read_user: scale(0.04, "ori"),
        ori_page_read_count: scale(0.05, "oric"),
        share_user: scale(0.07, "share"),
        share_count: scale(0.09, "sharec"),
        add_to_fav_user: scale(0.03, "fav"),
        add_to_fav_count: scale(0.035, "favc"),
    }
}

/// The deprecated per-article endpoints count mass-sent articles only.
pub fn article_summary(day: NaiveDate, articles: &[PublishedArticle]) -> Vec<ArticleSummaryRow> {
    articles
        .iter()
        .filter(|a| a.mass_sent)
        .filter_map(|a| {
            article_counters(a, day).map(|counters| ArticleSummaryRow {
                ref_date: fmt(day),
                msgid: format!("{}_{}", a.msg_data_id, a.index + 1),
                title: a.title.clone(),
                counters,
            })
        })
        .collect()
}

/// Articles published on `day`, with cumulative figures for each day since, up to `last_day`.
pub fn article_total(day: NaiveDate, last_day: NaiveDate, articles: &[PublishedArticle]) -> Vec<ArticleTotalRow> {
    let target_user = cumulate(day, articles);
    articles
        .iter()
        .filter(|a| a.date == day && a.mass_sent)
        .map(|a| {
            let mut running = ReadCounters::default();
            let mut details = Vec::new();
            let mut stat = day;
            while stat <= last_day && (stat - day).num_days() < 7 {
                if let Some(c) = article_counters(a, stat) {
                    running.int_page_read_user += c.int_page_read_user;
                    running.int_page_read_count += c.int_page_read_count;
                    running.ori_page_read_user += c.ori_page_read_user;
                    running.ori_page_read_count += c.ori_page_read_count;
                    running.share_user += c.share_user;
                    running.share_count += c.share_count;
                    running.add_to_fav_user += c.add_to_fav_user;
                    running.add_to_fav_count += c.add_to_fav_count;
                }
                details.push(ArticleTotalDetail { stat_date: fmt(stat), target_user, counters: running });
                stat = stat.succ_opt().expect("date in range");
            }
            ArticleTotalRow {
                ref_date: fmt(day),
                msgid: format!("{}_{}", a.msg_data_id, a.index + 1),
                title: a.title.clone(),
                details,
            }
        })
        .collect()
}

/// Read sources: 0 conversation, 1 friend share, 2 moments, 4 history page, 5 other; 99999999 all.
const READ_SOURCES: [(i64, f64); 5] = [(0, 0.45), (1, 0.2), (2, 0.15), (4, 0.1), (5, 0.1)];

fn day_reads(day: NaiveDate, articles: &[PublishedArticle]) -> u64 {
    let baseline = (120.0 * weekday_factor(day) * jitter(&[&fmt(day), "baseline"], 0.3)) as u64;
    baseline + articles.iter().filter_map(|a| article_counters(a, day)).map(|c| c.int_page_read_user).sum::<u64>()
}

pub fn user_read(day: NaiveDate, articles: &[PublishedArticle]) -> Vec<UserReadRow> {
    let total = day_reads(day, articles);
    let d = fmt(day);
    let mut rows =
        vec![UserReadRow { ref_date: d.clone(), user_source: 99_999_999, counters: counters_from_users(total, &d) }];
    for (source, share) in READ_SOURCES {
        let users = (total as f64 * share).round() as u64;
        rows.push(UserReadRow {
            ref_date: d.clone(),
            user_source: source,
            counters: counters_from_users(users, &format!("{d}{source}")),
        });
    }
    rows
}

/// Share of a day's reading that falls in each hour: mornings, lunch and late evening.
fn hour_weight(hour: u32) -> f64 {
    const WEIGHTS: [f64; 24] = [
        1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.2, 3.0, 5.5, 4.0, 3.2, 3.5, 5.0, 4.0, 3.0, 3.0, 3.2, 3.8, 4.5, 5.0, 6.0, 7.5,
        6.0, 3.0,
    ];
    let sum: f64 = WEIGHTS.iter().sum();
    WEIGHTS[hour as usize] / sum
}

pub fn user_read_hour(day: NaiveDate, articles: &[PublishedArticle]) -> Vec<UserReadHourRow> {
    let total = day_reads(day, articles);
    let d = fmt(day);
    (0..24)
        .map(|hour| {
            let users = (total as f64 * hour_weight(hour)).round() as u64;
            UserReadHourRow {
                ref_date: d.clone(),
                ref_hour: hour * 100,
                user_source: 99_999_999,
                counters: counters_from_users(users, &format!("{d}h{hour}")),
            }
        })
        .collect()
}

/// Share scenes: 1 friend share, 2 moments, 255 other.
const SHARE_SCENES: [(i64, f64); 3] = [(1, 0.55), (2, 0.35), (255, 0.1)];

pub fn user_share(day: NaiveDate, articles: &[PublishedArticle]) -> Vec<UserShareRow> {
    let total_users = (day_reads(day, articles) as f64 * 0.07).round();
    let d = fmt(day);
    SHARE_SCENES
        .iter()
        .map(|(scene, share)| {
            let users = (total_users * share).round() as u64;
            UserShareRow {
                ref_date: d.clone(),
                share_scene: *scene,
                share_user: users,
                share_count: (users as f64 * 1.3).round() as u64,
            }
        })
        .collect()
}

pub fn user_share_hour(day: NaiveDate, articles: &[PublishedArticle]) -> Vec<UserShareHourRow> {
    let total_users = day_reads(day, articles) as f64 * 0.07;
    let d = fmt(day);
    (0..24)
        .map(|hour| {
            let users = (total_users * hour_weight(hour)).round() as u64;
            UserShareHourRow {
                ref_date: d.clone(),
                ref_hour: hour * 100,
                share_scene: 1,
                share_user: users,
                share_count: (users as f64 * 1.3).round() as u64,
            }
        })
        .collect()
}

/// Articles the account published without wxpub (in the web backend), for a realistic year of
/// statistics: on about one day in five a push of one or two articles, every third one
/// mass-sent. Their msg_data_ids (2,100,000,000 + days since the data epoch) never meet the ones
/// the sandbox issues (2,247,000,000 and up).
pub fn background_articles(from: NaiveDate, to: NaiveDate) -> Vec<PublishedArticle> {
    let mut articles = Vec::new();
    for day in from.iter_days().take_while(|d| *d <= to) {
        let d = fmt(day);
        let roll = noise(&[&d, "background"]);
        if !roll.is_multiple_of(5) {
            continue;
        }
        let msg_data_id = 2_100_000_000 + (day - data_epoch()).num_days().max(0) as u64;
        for index in 0..1 + (roll >> 8) % 2 {
            articles.push(PublishedArticle {
                msg_data_id,
                index: index as u32,
                title: format!("馆藏故事·{d}·{}", index + 1),
                date: day,
                mass_sent: (roll >> 16).is_multiple_of(3),
            });
        }
    }
    articles
}

// ---- the 2026 endpoints: every published article, mass-sent or not ----

/// Where an article's readers came from, as the 2026 endpoints name them, and their share.
const READER_SOURCES: [(&str, f64); 6] =
    [("公众号消息", 0.42), ("聊天会话", 0.2), ("朋友圈", 0.14), ("推荐", 0.12), ("搜一搜", 0.05), ("公众号主页", 0.07)];

/// Yesterday's figures are provisional: lower than they will be once final.
fn provisional(day: NaiveDate, yesterday: NaiveDate) -> f64 {
    if day >= yesterday { 0.8 } else { 1.0 }
}

/// One article's readers on `day` (none before it was published or 30 days after).
fn readers(article: &PublishedArticle, day: NaiveDate, yesterday: NaiveDate) -> Option<u64> {
    if day < statistics_epoch() {
        return None;
    }
    article_counters(article, day).map(|c| (c.int_page_read_user as f64 * provisional(day, yesterday)).round() as u64)
}

fn reader_sources(total: u64) -> Vec<ReadUserSource> {
    let mut sources = vec![ReadUserSource { scene_desc: "全部".into(), user_count: total }];
    let mut left = total;
    for (index, (name, share)) in READER_SOURCES.iter().enumerate() {
        let count =
            if index + 1 == READER_SOURCES.len() { left } else { ((total as f64 * share).round() as u64).min(left) };
        left -= count;
        sources.push(ReadUserSource { scene_desc: (*name).into(), user_count: count });
    }
    sources
}

/// The day's engagement from its readers: shares, 拇指赞, 在看 and comments.
fn engagement(readers: u64, key: &str) -> PublishedCounters {
    let part = |f: f64, tag: &str| (readers as f64 * f * jitter(&[key, tag], 0.2)).round() as u64;
    PublishedCounters {
        read_user: readers,
        read_user_source: reader_sources(readers),
        share_user: part(0.07, "share"),
        zaikan_user: part(0.02, "zaikan"),
        like_user: part(0.04, "like"),
        comment_count: part(0.006, "comment"),
    }
}

/// Adds `day`'s counters to `total` (reader sources are recomputed from the sum by the caller).
fn add_engagement(total: &mut PublishedCounters, day: &PublishedCounters) {
    total.read_user += day.read_user;
    total.share_user += day.share_user;
    total.zaikan_user += day.zaikan_user;
    total.like_user += day.like_user;
    total.comment_count += day.comment_count;
}

pub fn article_read(day: NaiveDate, yesterday: NaiveDate, articles: &[PublishedArticle]) -> Vec<ArticleReadRow> {
    articles
        .iter()
        .filter_map(|a| {
            let users = readers(a, day, yesterday)?;
            Some(ArticleReadRow {
                ref_date: fmt(day),
                msgid: a.msgid(),
                detail: ArticleReadDetail { read_user: users, read_user_source: reader_sources(users) },
            })
        })
        .collect()
}

pub fn article_share(day: NaiveDate, yesterday: NaiveDate, articles: &[PublishedArticle]) -> Vec<ArticleShareRow> {
    articles
        .iter()
        .filter_map(|a| {
            let users = readers(a, day, yesterday)?;
            let share_user = engagement(users, &format!("{}{}", a.msgid(), fmt(day))).share_user;
            // "If no article's figures changed that day, the answer is empty."
            (share_user > 0).then(|| ArticleShareRow {
                ref_date: fmt(day),
                msgid: a.msgid(),
                detail: ArticleShareDetail { share_user },
            })
        })
        .collect()
}

/// The account's day over all its published content.
pub fn biz_summary(day: NaiveDate, yesterday: NaiveDate, articles: &[PublishedArticle]) -> Vec<BizSummaryRow> {
    if day < statistics_epoch() {
        return Vec::new();
    }
    let baseline = (120.0 * weekday_factor(day) * jitter(&[&fmt(day), "baseline"], 0.3) * provisional(day, yesterday))
        .round() as u64;
    let mut total = engagement(baseline, &fmt(day));
    for a in articles {
        if let Some(users) = readers(a, day, yesterday) {
            add_engagement(&mut total, &engagement(users, &format!("{}{}", a.msgid(), fmt(day))));
        }
    }
    total.read_user_source = reader_sources(total.read_user);
    vec![BizSummaryRow { ref_date: fmt(day), detail: total }]
}

/// The articles published on `day`, each with its figures summed from publishing to each of its
/// first 30 days (up to yesterday).
pub fn article_total_detail(
    day: NaiveDate,
    yesterday: NaiveDate,
    articles: &[PublishedArticle],
) -> Vec<ArticleTotalDetailRow> {
    if day < statistics_epoch() {
        return Vec::new();
    }
    articles
        .iter()
        .filter(|a| a.date == day)
        .map(|a| {
            let mut running = PublishedCounters::default();
            let mut detail_list = Vec::new();
            let mut stat = day;
            while stat <= yesterday && (stat - day).num_days() < 30 {
                let users = readers(a, stat, yesterday).unwrap_or(0);
                add_engagement(&mut running, &engagement(users, &format!("{}{}", a.msgid(), fmt(stat))));
                running.read_user_source = reader_sources(running.read_user);
                detail_list.push(TotalDetailEntry { stat_date: fmt(stat), counters: running.clone() });
                stat = stat.succ_opt().expect("date in range");
            }
            ArticleTotalDetailRow {
                ref_date: fmt(day),
                msgid: a.msgid(),
                publish_type: if a.mass_sent { 0 } else { 1 },
                detail_list,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn same_inputs_same_numbers() {
        assert_eq!(user_summary(date("2026-11-01"), &[]), user_summary(date("2026-11-01"), &[]));
    }

    #[test]
    fn weekends_and_publish_days_bring_more_followers() {
        let new = |d: &str, a: &[PublishedArticle]| user_summary(date(d), a).iter().map(|r| r.new_user).sum::<u64>();
        // Four weeks of Saturdays against the Mondays before them.
        let saturdays: u64 = ["2026-10-03", "2026-10-10", "2026-10-17", "2026-10-24"].iter().map(|d| new(d, &[])).sum();
        let mondays: u64 = ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19"].iter().map(|d| new(d, &[])).sum();
        assert!(saturdays > mondays, "{saturdays} vs {mondays}");
        let article =
            PublishedArticle { msg_data_id: 1, index: 0, title: "t".into(), date: date("2026-10-14"), mass_sent: true };
        assert!(new("2026-10-14", std::slice::from_ref(&article)) > new("2026-10-14", &[]));
    }

    #[test]
    fn cumulative_followers_grow_by_each_days_net_gain() {
        let article =
            PublishedArticle { msg_data_id: 1, index: 0, title: "t".into(), date: date("2026-10-14"), mass_sent: true };
        let articles = std::slice::from_ref(&article);
        for day in ["2026-10-13", "2026-10-14", "2026-10-15"] {
            let day = date(day);
            let net: i64 = user_summary(day, articles).iter().map(|r| r.new_user as i64 - r.cancel_user as i64).sum();
            let change = cumulate(day, articles) as i64 - cumulate(day.pred_opt().unwrap(), articles) as i64;
            assert_eq!(change, net, "{day}");
        }
        assert_eq!(cumulate(data_epoch().pred_opt().unwrap(), &[]), BASE_FOLLOWERS);
    }

    #[test]
    fn article_reads_decay_after_publication() {
        let article =
            PublishedArticle { msg_data_id: 7, index: 0, title: "t".into(), date: date("2026-10-14"), mass_sent: true };
        let reads = |d: &str| article_summary(date(d), std::slice::from_ref(&article))[0].counters.int_page_read_user;
        assert!(reads("2026-10-14") > reads("2026-10-15") && reads("2026-10-15") > reads("2026-10-17"));
        assert!(article_summary(date("2026-10-13"), &[article]).is_empty());
    }

    #[test]
    fn the_deprecated_endpoints_miss_freepublished_articles_the_new_ones_see_them() {
        let day = date("2026-10-14");
        let yesterday = date("2026-11-20");
        let published = PublishedArticle { msg_data_id: 9, index: 1, title: "t".into(), date: day, mass_sent: false };
        let articles = std::slice::from_ref(&published);
        assert!(article_summary(day, articles).is_empty());
        assert!(article_total(day, yesterday, articles).is_empty());
        let read = article_read(day, yesterday, articles);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].msgid, "9_2");
        assert_eq!(read[0].detail.read_user_source[0].user_count, read[0].detail.read_user);
        let total = article_total_detail(day, yesterday, articles);
        assert_eq!((total[0].publish_type, total[0].detail_list.len()), (1, 30));
        let sum: u64 =
            (0..30).map(|i| article_read(day + chrono::Days::new(i), yesterday, articles)[0].detail.read_user).sum();
        assert_eq!(total[0].detail_list[29].counters.read_user, sum, "cumulative");
        // Yesterday is provisional, and lower than it will be.
        let late = PublishedArticle { date: yesterday, ..published.clone() };
        let provisional = article_read(yesterday, yesterday, std::slice::from_ref(&late))[0].detail.read_user;
        let final_ =
            article_read(yesterday, yesterday + chrono::Days::new(1), std::slice::from_ref(&late))[0].detail.read_user;
        assert!(provisional < final_);
        assert!(article_read(date("2025-10-31"), yesterday, articles).is_empty());
    }
}
