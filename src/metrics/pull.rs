//! `stats pull`: fetch every datacube endpoint for a date range, split to each endpoint's longest
//! accepted span, with a bounded number of calls in flight, and store each range as it arrives.
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use chrono::NaiveDate;
use serde_json::Value;

use super::store::{Store, StoreError};
use crate::wechat::types::{Datacube, DatacubeAnswer};
use crate::wechat::{Client, WechatError};

/// First day the datacube has data for.
pub fn data_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2014, 12, 1).expect("valid date")
}

/// One datacube call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub account: usize,
    pub endpoint: Datacube,
    pub begin: NaiveDate,
    pub end: NaiveDate,
}

pub struct PullOptions {
    /// First day wanted; None: from the first day already stored (to fill gaps), or
    /// `first_pull_days` before `until` when nothing is stored yet.
    pub since: Option<NaiveDate>,
    /// Last day wanted (yesterday at most: the datacube has nothing newer).
    pub until: NaiveDate,
    /// The newest day the datacube has (yesterday, Beijing time): an article's 30-day figures
    /// are final once its 30th day is older than this.
    pub latest: NaiveDate,
    /// Days up to `until` fetched again even when stored (WeChat revises recent figures).
    pub refetch_days: u32,
    pub first_pull_days: u32,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Only these endpoints (all when empty).
    pub endpoints: Vec<Datacube>,
}

/// A range that could not be fetched, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PullFailure {
    pub account: String,
    pub endpoint: &'static str,
    pub begin: String,
    pub end: String,
    pub error: String,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct PullSummary {
    pub since: String,
    pub until: String,
    pub calls: usize,
    pub rows: usize,
    pub failures: Vec<PullFailure>,
}

/// Splits a set of days into calls: runs of consecutive days, each at most `max_days` long.
pub fn split_ranges(days: &BTreeSet<NaiveDate>, max_days: i64) -> Vec<(NaiveDate, NaiveDate)> {
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &day in days {
        match ranges.last_mut() {
            Some((begin, end)) if end.succ_opt() == Some(day) && (day - *begin).num_days() < max_days => *end = day,
            _ => ranges.push((day, day)),
        }
    }
    ranges
}

/// The days of `[since, until]` to fetch: those not stored (for good) yet, plus every day from
/// `refetch_from` on.
pub fn days_to_fetch(
    since: NaiveDate,
    until: NaiveDate,
    stored: &BTreeSet<String>,
    refetch_from: Option<NaiveDate>,
) -> BTreeSet<NaiveDate> {
    since
        .iter_days()
        .take_while(|d| *d <= until)
        .filter(|d| refetch_from.is_some_and(|from| *d >= from) || !stored.contains(&d.format("%Y-%m-%d").to_string()))
        .collect()
}

/// Which days of an answered call are final. The deprecated endpoints revise recent days
/// silently (hence `refetch_days`); the 2026 ones say so with `is_delay`, which concerns the
/// newest day of the answer. getarticletotaldetail's days are publish days, each carrying its
/// article's first 30 days: final once the 30th is older than `latest`, or is `latest` and
/// WeChat calls it final.
pub fn finality(chunk: &Chunk, is_delay: bool, latest: NaiveDate) -> Vec<(String, bool)> {
    chunk
        .begin
        .iter_days()
        .take_while(|d| *d <= chunk.end)
        .map(|day| {
            let is_final = match chunk.endpoint {
                Datacube::GetArticleTotalDetail => {
                    let last = day + chrono::Days::new(29);
                    last < latest || (last == latest && !is_delay)
                }
                endpoint if endpoint.reports_delay() => !(is_delay && day == chunk.end),
                _ => true,
            };
            (day.format("%Y-%m-%d").to_string(), is_final)
        })
        .collect()
}

/// Plans the calls for every account and endpoint.
pub fn plan(store: &Store, accounts: &[String], options: &PullOptions) -> Result<(NaiveDate, Vec<Chunk>), StoreError> {
    let endpoints: Vec<Datacube> =
        if options.endpoints.is_empty() { Datacube::ALL.to_vec() } else { options.endpoints.clone() };
    let fallback_since = options.until - chrono::Days::new(u64::from(options.first_pull_days.max(1)) - 1);
    let mut earliest = options.until;
    let mut chunks = Vec::new();
    for (index, account) in accounts.iter().enumerate() {
        let since = match options.since {
            Some(since) => since,
            None => first_stored_day(store, account)?.unwrap_or(fallback_since),
        }
        .max(data_epoch());
        earliest = earliest.min(since);
        let (from, to) = (since.format("%Y-%m-%d").to_string(), options.until.format("%Y-%m-%d").to_string());
        // WeChat revises the deprecated endpoints' recent days without saying so: those are
        // fetched again. The 2026 ones say which days are not final; only those are.
        let refetch_from = options.until - chrono::Days::new(u64::from(options.refetch_days.max(1)) - 1);
        for &endpoint in &endpoints {
            let (first_valid, last_valid) = endpoint.valid_days();
            let begin = first_valid.map_or(since, |first| since.max(first));
            let end = last_valid.map_or(options.until, |last| options.until.min(last));
            if begin > end {
                continue;
            }
            let stored = store.pulled_days(account, endpoint, &from, &to)?;
            let refetch = (!endpoint.reports_delay()).then_some(refetch_from);
            let days = days_to_fetch(begin, end, &stored, refetch);
            for (begin, end) in split_ranges(&days, endpoint.max_days()) {
                chunks.push(Chunk { account: index, endpoint, begin, end });
            }
        }
    }
    Ok((earliest, chunks))
}

fn first_stored_day(store: &Store, account: &str) -> Result<Option<NaiveDate>, StoreError> {
    let first = store.first_pulled_day(account)?;
    Ok(first.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// Runs the planned calls with at most `concurrency` in flight; each answer is stored at once
/// (one transaction per call), so an interrupted pull resumes where it stopped. A failed call
/// is reported and the others go on; a database error stops the pull.
pub fn pull(
    store: &mut Store,
    accounts: &[(String, &Client)],
    chunks: &[Chunk],
    concurrency: usize,
    latest: NaiveDate,
    mut on_progress: impl FnMut(usize, usize),
) -> Result<PullSummary, StoreError> {
    let mut summary = PullSummary { calls: chunks.len(), ..PullSummary::default() };
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<DatacubeAnswer<Value>, WechatError>)>();
    let pulled_at = crate::util::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::thread::scope(|scope| -> Result<(), StoreError> {
        for _ in 0..concurrency.clamp(1, 64).min(chunks.len().max(1)) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= chunks.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let chunk = &chunks[index];
                    let client = accounts[chunk.account].1;
                    let answer = client.datacube_answer::<Value>(
                        chunk.endpoint,
                        &chunk.begin.format("%Y-%m-%d").to_string(),
                        &chunk.end.format("%Y-%m-%d").to_string(),
                    );
                    if tx.send((index, answer)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for (index, answer) in rx {
            let chunk = &chunks[index];
            let account = &accounts[chunk.account].0;
            match answer {
                Ok(answer) => {
                    let days = finality(chunk, answer.is_delay, latest);
                    match store.store_range(account, chunk.endpoint, &days, &answer.list, &pulled_at) {
                        Ok(written) => summary.rows += written,
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                }
                Err(error) => summary.failures.push(PullFailure {
                    account: account.clone(),
                    endpoint: chunk.endpoint.name(),
                    begin: chunk.begin.to_string(),
                    end: chunk.end.to_string(),
                    error: error.to_string(),
                }),
            }
            done += 1;
            on_progress(done, chunks.len());
        }
        Ok(())
    })?;
    summary.failures.sort_by(|a, b| (&a.account, a.endpoint, &a.begin).cmp(&(&b.account, b.endpoint, &b.begin)));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_follow_runs_of_days_and_the_span_limit() {
        let days: BTreeSet<NaiveDate> = d("2026-01-01").iter_days().take(17).collect();
        let ranges = split_ranges(&days, 7);
        assert_eq!(
            ranges,
            vec![
                (d("2026-01-01"), d("2026-01-07")),
                (d("2026-01-08"), d("2026-01-14")),
                (d("2026-01-15"), d("2026-01-17"))
            ]
        );
        let gap: BTreeSet<NaiveDate> = [d("2026-01-01"), d("2026-01-02"), d("2026-01-05")].into();
        assert_eq!(split_ranges(&gap, 3), vec![(d("2026-01-01"), d("2026-01-02")), (d("2026-01-05"), d("2026-01-05"))]);
        assert_eq!(split_ranges(&gap, 1).len(), 3);
    }

    #[test]
    fn only_missing_days_and_the_recent_ones_are_fetched_again() {
        let stored: BTreeSet<String> = d("2026-01-01").iter_days().take(10).map(|x| x.to_string()).collect();
        let days = days_to_fetch(d("2026-01-01"), d("2026-01-12"), &stored, Some(d("2026-01-10")));
        let expected: BTreeSet<NaiveDate> = [d("2026-01-10"), d("2026-01-11"), d("2026-01-12")].into();
        assert_eq!(days, expected);
        // An endpoint that ends earlier (the deprecated ones, at 2025-10-31) is not fetched again
        // for ever: the recent days are those before the pull's end, not before its own.
        let stored: BTreeSet<String> = d("2025-10-01").iter_days().take(31).map(|x| x.to_string()).collect();
        assert!(days_to_fetch(d("2025-10-01"), d("2025-10-31"), &stored, Some(d("2025-11-18"))).is_empty());
    }

    #[test]
    fn a_delayed_day_is_not_final_and_an_article_is_final_after_its_thirtieth_day() {
        let chunk = |endpoint, begin, end| Chunk { account: 0, endpoint, begin: d(begin), end: d(end) };
        let read = chunk(Datacube::GetArticleRead, "2026-01-09", "2026-01-09");
        assert_eq!(finality(&read, true, d("2026-01-09")), [("2026-01-09".to_string(), false)]);
        assert_eq!(finality(&read, false, d("2026-01-09")), [("2026-01-09".to_string(), true)]);
        let biz = chunk(Datacube::GetBizSummary, "2026-01-01", "2026-01-03");
        let finals: Vec<bool> = finality(&biz, true, d("2026-01-03")).into_iter().map(|(_, f)| f).collect();
        assert_eq!(finals, [true, true, false]);
        let total = chunk(Datacube::GetArticleTotalDetail, "2025-12-10", "2025-12-12");
        let finals: Vec<bool> = finality(&total, true, d("2026-01-09")).into_iter().map(|(_, f)| f).collect();
        // 12-10 + 29 days = 01-08 (< latest): final; 12-11 → 01-09 = latest, delayed: not; 12-12: not.
        assert_eq!(finals, [true, false, false]);
        let old = chunk(Datacube::GetUserRead, "2025-10-01", "2025-10-03");
        assert!(finality(&old, true, d("2026-01-09")).iter().all(|(_, f)| *f));
    }
}
