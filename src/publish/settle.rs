//! SETTLE: finds out how the run's submissions ended, at WeChat's pace.
//!
//! A publication stays "publishing" for seconds to minutes (review, originality checks), and
//! `freepublish/get` counts against a quota of 100 a day per account. So every push of a run is
//! submitted first, then all are settled together: `freepublish/batchget` lists only successful
//! publications, newest first, so one page settles many at once; only a submission the listing
//! keeps not showing gets a `freepublish/get` (to learn of a failure), later the more it got.
//! Mass sends (awaiting an administrator under send protection) are asked with
//! `message/mass/get`, which has no quota. What is still running when the run stops waiting is a
//! state, not a failure: the next run settles it.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::outcome::now_text;
use super::{PushOutcome, StepError};
use crate::state::ledger::{Ledger, PublicationStatus};
use crate::wechat::Client;
use crate::wechat::types::{PublishStatus, PublishedItem};

/// What every round of a run shares: the freepublish/get calls it may still make per account (a
/// push released late must not find the budget spent by the first round), and how long WeChat
/// is taking today (a later round looks first when the earlier ones found nothing yet).
pub struct StatusBudget {
    per_account: usize,
    spent: Mutex<BTreeMap<String, usize>>,
    /// The greatest age at which a look found the run's newest submission still running.
    still_running_at: Mutex<Duration>,
}

impl StatusBudget {
    pub fn new(per_account: usize) -> StatusBudget {
        StatusBudget { per_account, spent: Mutex::new(BTreeMap::new()), still_running_at: Mutex::new(Duration::ZERO) }
    }

    fn learned_pace(&self) -> Duration {
        *self.still_running_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn learn(&self, still_running_at: Duration) {
        let mut known = self.still_running_at.lock().unwrap_or_else(|p| p.into_inner());
        *known = (*known).max(still_running_at);
    }

    fn take(&self, account: &str) -> bool {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let used = spent.entry(account.to_string()).or_default();
        if *used >= self.per_account {
            return false;
        }
        *used += 1;
        true
    }

    /// No more calls for `account` in this run (its daily quota ran out).
    fn exhaust(&self, account: &str) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        spent.insert(account.to_string(), self.per_account);
    }

    /// The budget per account and run.
    pub fn per_account(&self) -> usize {
        self.per_account
    }
}

/// How a run paces its looks at WeChat.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The first look at a submission this long after it (then when it is 2.5 times as old,
    /// and so on, at most 15 times this apart). Its get schedule scales with it too.
    pub first_look: Duration,
    /// How long the run waits, after its last submission, for what it submitted (and what
    /// earlier runs left running); what is still running then is left for the next run.
    pub wait: Duration,
}

impl Pace {
    fn longest_pause(&self) -> Duration {
        self.first_look * 15
    }

    /// A submission unseen in the listing gets its (n+1)-th freepublish/get once it is this old:
    /// 15, 75, 300 and 900 times the first look (1 min, 5 min, 20 min, 1 h at the default 4 s),
    /// then every 900 times it.
    fn get_due_at_age(&self, checks_spent: u32) -> Duration {
        const STEPS: [u32; 4] = [15, 75, 300, 900];
        let step = STEPS.get(checks_spent as usize).copied().unwrap_or_else(|| 900 * (checks_spent - 2));
        self.first_look * step
    }
}

/// One publication or mass send still running at WeChat.
struct Running {
    account: String,
    slot: String,
    /// Its articles' titles, for a publication whose submit answer was lost (no publish_id).
    titles: Vec<String>,
    kind: RunningKind,
    /// By this machine's clock (Unix milliseconds); None when an earlier run lost track of it.
    submitted_ms: Option<i64>,
    /// The push's time: a publication found by title is no older than 60 days before it.
    push_when: i64,
    status_checks: u32,
}

enum RunningKind {
    Publication { publish_id: Option<String>, msg_data_id: Option<u64> },
    MassSend { msg_id: u64 },
}

/// Settles every publication and mass send of `outcomes`' pushes that publish.lock records as
/// still running, waiting at most `pace.wait`. Updates publish.lock after each answer
/// and each outcome: published (with its URLs), failed (its error), or still running
/// (`in_progress`, not an error).
pub(super) fn settle(
    lock: &mut Ledger,
    clients: &BTreeMap<String, Client>,
    outcomes: &mut [PushOutcome],
    pace: Pace,
    budget: &StatusBudget,
    project: &std::path::Path,
) {
    let mut running = running_of(lock, outcomes);
    if running.is_empty() {
        return;
    }
    let started = Instant::now();
    let until = started + pace.wait;
    // The first look: when the newest submission is first_look old (earlier runs' are older).
    let now_ms = chrono::Utc::now().timestamp_millis();
    let newest_age = running
        .iter()
        .filter_map(|r| r.submitted_ms)
        .map(|t| Duration::from_millis((now_ms - t).max(0) as u64))
        .min()
        .unwrap_or(Duration::MAX);
    let newest = running.iter().filter_map(|r| r.submitted_ms).max();
    // The looks come when the newest submission is first_look old, then 2.5 times as old each
    // time — or, when an earlier round of the run found its newest still running at some age,
    // first at that age: a look sooner would find nothing.
    let mut look_age = pace.first_look.max(budget.learned_pace().min(pace.longest_pause()));
    let mut next_look = started + look_age.saturating_sub(newest_age);
    let mut last_look: Option<Instant> = None;
    loop {
        if next_look > until {
            // One look at the end rather than none, unless one was just made: it may settle
            // everything at once.
            let recent = last_look.is_some_and(|at| until.saturating_duration_since(at) < pace.first_look);
            if recent || pace.wait.is_zero() && newest_age < pace.first_look {
                break;
            }
            next_look = until;
        }
        let wait = next_look.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let age_at_look = newest_age.saturating_add(started.elapsed());
        look(lock, clients, outcomes, &mut running, pace, budget, project);
        last_look = Some(Instant::now());
        if newest.is_some() && running.iter().any(|r| r.submitted_ms == newest) {
            budget.learn(age_at_look);
        }
        if running.is_empty() || next_look >= until {
            break;
        }
        look_age = (look_age * 5 / 2).min(look_age + pace.longest_pause());
        next_look = (started + look_age.saturating_sub(newest_age)).max(Instant::now());
    }
    for still in &running {
        let Some(outcome) = outcome_of(outcomes, &still.account, &still.slot) else { continue };
        let since = lock
            .accounts
            .get(&still.account)
            .and_then(|a| a.pushes.get(&still.slot))
            .and_then(|p| p.publication.as_ref())
            .map(|p| crate::util::clock::beijing_stamp(&p.submitted_at, "%H:%M"))
            .unwrap_or_default();
        outcome.in_progress = Some(match still.kind {
            RunningKind::Publication { .. } => format!("publishing (submitted {since}; the next run confirms it)"),
            RunningKind::MassSend { msg_id } => format!(
                "sending (mass send {msg_id} accepted {since}; waiting for an administrator to confirm it on their phone — the next run checks again; it is not sent twice)"
            ),
        });
    }
}

/// `HH:MM` of an RFC 3339 time in Beijing time (what the museum's clocks show).
fn outcome_of<'o>(outcomes: &'o mut [PushOutcome], account: &str, slot: &str) -> Option<&'o mut PushOutcome> {
    outcomes.iter_mut().find(|o| o.account == account && o.slot == slot)
}

/// What publish.lock records as still running among the outcomes' pushes.
fn running_of(lock: &Ledger, outcomes: &[PushOutcome]) -> Vec<Running> {
    let mut running = Vec::new();
    for outcome in outcomes.iter().filter(|o| o.error.is_none()) {
        let Some(record) = lock.accounts.get(&outcome.account).and_then(|a| a.pushes.get(&outcome.slot)) else {
            continue;
        };
        let Some(publication) = &record.publication else { continue };
        let kind = match (&publication.status, publication.msg_id) {
            (PublicationStatus::Publishing, _) => RunningKind::Publication {
                publish_id: publication.publish_id.clone(),
                msg_data_id: publication.msg_data_id,
            },
            (PublicationStatus::Sending, Some(msg_id)) => RunningKind::MassSend { msg_id },
            _ => continue,
        };
        let push_when = chrono::DateTime::parse_from_rfc3339(&outcome.slot).map_or(0, |t| t.timestamp());
        running.push(Running {
            account: outcome.account.clone(),
            slot: outcome.slot.clone(),
            titles: record.titles.clone(),
            kind,
            submitted_ms: publication.submitted_ms,
            push_when,
            status_checks: publication.status_checks,
        });
    }
    running
}

/// One look: a listing per account with running publications, a freepublish/get for those the
/// listing does not show whose next get is due (fewest spent first, within the budget), a
/// mass/get per running mass send. What settled leaves `running`.
fn look(
    lock: &mut Ledger,
    clients: &BTreeMap<String, Client>,
    outcomes: &mut [PushOutcome],
    running: &mut Vec<Running>,
    pace: Pace,
    budget: &StatusBudget,
    project: &std::path::Path,
) {
    let accounts: BTreeSet<String> = running
        .iter()
        .filter(|r| matches!(r.kind, RunningKind::Publication { .. }))
        .map(|r| r.account.clone())
        .collect();
    let mut settled: Vec<usize> = Vec::new();
    for account in &accounts {
        let Some(client) = clients.get(account) else { continue };
        let mine: Vec<usize> = (0..running.len())
            .filter(|&i| running[i].account == *account && matches!(running[i].kind, RunningKind::Publication { .. }))
            .collect();
        match list_until_found(client, lock, running, &mine) {
            Ok(found) => {
                for (i, item) in found {
                    let result = record_listed(lock, project, &running[i], &item);
                    finish(outcomes, &running[i], result.map(|()| listed_step(&running[i], &item)));
                    settled.push(i);
                }
            }
            Err(err) => {
                // The listing failed (after the client's retries): the gets below still settle.
                if let Some(outcome) = outcome_of(outcomes, account, &running[mine[0]].slot) {
                    outcome.warnings.push(format!(
                        "could not list the published articles to settle this run's publications: {}",
                        crate::util::redact::redact(&err.to_string())
                    ));
                }
            }
        }
        let unseen: Vec<usize> = mine.into_iter().filter(|i| !settled.contains(i)).collect();
        let context = Asking { lock: &mut *lock, client, account: account.as_str(), pace, budget, project };
        settled.extend(ask_unseen(context, outcomes, running, unseen));
    }
    settled.extend(ask_mass_sends(lock, clients, outcomes, running, project));
    settled.sort_unstable();
    settled.dedup();
    for i in settled.into_iter().rev() {
        running.remove(i);
    }
}

/// What asking one account needs.
struct Asking<'a> {
    lock: &'a mut Ledger,
    client: &'a Client,
    account: &'a str,
    pace: Pace,
    budget: &'a StatusBudget,
    project: &'a std::path::Path,
}

/// A freepublish/get for each publication the listing did not show whose turn has come, fewest
/// gets first (none starves); returns the indices of those it settled.
fn ask_unseen(
    ask: Asking<'_>,
    outcomes: &mut [PushOutcome],
    running: &mut [Running],
    mut unseen: Vec<usize>,
) -> Vec<usize> {
    let Asking { lock, client, account, pace, budget, project } = ask;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut settled = Vec::new();
    unseen.sort_by_key(|&i| (running[i].status_checks, running[i].submitted_ms));
    for i in unseen {
        let RunningKind::Publication { publish_id: Some(publish_id), .. } = &running[i].kind else { continue };
        let age = running[i].submitted_ms.map_or(u64::MAX, |t| (now_ms - t).max(0) as u64);
        if Duration::from_millis(age) < pace.get_due_at_age(running[i].status_checks) {
            continue;
        }
        if !budget.take(account) {
            let note = format!(
                "this run's {} status checks for {account} are spent (each counts against WeChat's 100 a day); the next run checks again",
                budget.per_account()
            );
            warn_once(outcomes, &running[i], note);
            continue;
        }
        let publish_id = publish_id.clone();
        running[i].status_checks += 1;
        let checks = running[i].status_checks;
        let result = match client.publish_get(&publish_id) {
            Ok(status) if status.publish_status == 1 => save_checks(lock, project, &running[i], checks).map(|()| None),
            Ok(status) => record_status(lock, project, &running[i], &publish_id, status, checks).map(Some),
            // A status check that could not be made says nothing about the publication: it
            // stays publishing, for the next look or run.
            Err(err) => {
                let note = if err.code() == Some(45009) {
                    budget.exhaust(account);
                    StepError::Quota("/cgi-bin/freepublish/get".into()).to_string()
                } else {
                    format!(
                        "a status check failed ({}); the next look or run asks again",
                        crate::util::redact::redact(&err.to_string())
                    )
                };
                warn_once(outcomes, &running[i], note);
                Ok(None)
            }
        };
        match result {
            Ok(None) => {}
            Ok(Some(step)) => {
                finish(outcomes, &running[i], step);
                settled.push(i);
            }
            Err(err) => {
                finish(outcomes, &running[i], Err(err));
                settled.push(i);
            }
        }
    }
    settled
}

/// message/mass/get for each running mass send (no quota); returns the indices of those settled.
fn ask_mass_sends(
    lock: &mut Ledger,
    clients: &BTreeMap<String, Client>,
    outcomes: &mut [PushOutcome],
    running: &[Running],
    project: &std::path::Path,
) -> Vec<usize> {
    let mut settled = Vec::new();
    for (i, send) in running.iter().enumerate() {
        let RunningKind::MassSend { msg_id } = send.kind else { continue };
        let Some(client) = clients.get(&send.account) else { continue };
        let result = match client.mass_get(msg_id) {
            Ok(status) => record_mass_status(lock, project, send, msg_id, &status.msg_status),
            // A question that got no answer says nothing about the send: asked again later.
            Err(err) => {
                let note = format!(
                    "could not ask how mass send {msg_id} stands ({}); the next look or run asks again",
                    crate::util::redact::redact(&err.to_string())
                );
                warn_once(outcomes, send, note);
                Ok(None)
            }
        };
        match result {
            Ok(None) => {}
            Ok(Some(step)) => {
                finish(outcomes, send, Ok(step));
                settled.push(i);
            }
            Err(err) => {
                finish(outcomes, send, Err(err));
                settled.push(i);
            }
        }
    }
    settled
}

fn warn_once(outcomes: &mut [PushOutcome], running: &Running, note: String) {
    if let Some(outcome) = outcome_of(outcomes, &running.account, &running.slot)
        && !outcome.warnings.contains(&note)
    {
        outcome.warnings.push(note);
    }
}

fn finish(outcomes: &mut [PushOutcome], running: &Running, result: Result<String, StepError>) {
    let Some(outcome) = outcome_of(outcomes, &running.account, &running.slot) else { return };
    match result {
        Ok(step) => outcome.done.push(step),
        Err(err) => outcome.error = Some(err.into()),
    }
}

/// Pages of freepublish/batchget, newest first, until every running publication of `mine` is
/// matched or the page reaches publications older than the oldest of them.
fn list_until_found(
    client: &Client,
    lock: &Ledger,
    running: &[Running],
    mine: &[usize],
) -> Result<Vec<(usize, PublishedItem)>, StepError> {
    let account = &running[mine[0]].account;
    // URLs already recorded: a listed publication holding one is an earlier push's.
    let recorded: BTreeSet<String> = lock
        .accounts
        .get(account)
        .map(|a| {
            a.pushes
                .values()
                .filter_map(|p| p.publication.as_ref())
                .flat_map(|p| p.article_urls.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    // Publications are listed by when they finished, which is after they were submitted; a
    // minute of margin for the two clocks.
    let oldest = mine
        .iter()
        .map(|&i| running[i].submitted_ms.map_or(running[i].push_when - 60 * 86_400, |t| t / 1000))
        .min()
        .unwrap_or(0)
        - 60;
    let mut found: Vec<(usize, PublishedItem)> = Vec::new();
    let mut offset = 0;
    const PAGE: u32 = 20;
    loop {
        let page = client.publish_batchget(offset, PAGE, true)?;
        let count = page.item.len() as u32;
        let mut reached_older = false;
        for item in page.item {
            if item.update_time < oldest {
                reached_older = true;
                continue;
            }
            let taken: BTreeSet<usize> = found.iter().map(|(i, _)| *i).collect();
            if let Some(&i) = mine.iter().find(|&&i| !taken.contains(&i) && matches(&running[i], &item, &recorded)) {
                found.push((i, item));
            }
        }
        offset += count;
        if found.len() == mine.len() || reached_older || count < PAGE || offset >= page.total_count {
            return Ok(found);
        }
    }
}

/// Whether a listed publication is this running one: by its statistics key (msg_data_id, in
/// every article URL) when known, else by titles, published after it was submitted (or, when
/// that is unknown, no earlier than 60 days before the push's time), and not already recorded.
fn matches(running: &Running, item: &PublishedItem, recorded: &BTreeSet<String>) -> bool {
    let RunningKind::Publication { msg_data_id, .. } = &running.kind else { return false };
    let urls: Vec<&String> = item.content.news_item.iter().filter_map(|a| a.url.as_ref()).collect();
    if let Some(id) = msg_data_id {
        return urls.iter().any(|u| crate::wechat::types::statistics_key_of_url(u).is_some_and(|(mid, _)| mid == *id));
    }
    let not_before = running.submitted_ms.map_or(running.push_when - 60 * 86_400, |t| t / 1000 - 60);
    item.update_time >= not_before
        && item.content.news_item.iter().map(|a| a.title.as_str()).eq(running.titles.iter().map(String::as_str))
        && !urls.iter().any(|u| recorded.contains(*u))
}

fn listed_step(running: &Running, item: &PublishedItem) -> String {
    match &running.kind {
        RunningKind::Publication { publish_id: None, .. } => format!(
            "found it published on the server (article_id {}); recorded in publish.lock, not published again",
            item.article_id
        ),
        _ => "published".to_string(),
    }
}

fn stamp(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(now_text, |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn record_listed(
    lock: &mut Ledger,
    project: &std::path::Path,
    running: &Running,
    item: &PublishedItem,
) -> Result<(), StepError> {
    let urls: Vec<String> = item.content.news_item.iter().filter_map(|a| a.url.clone()).collect();
    let finished_at = stamp(item.update_time);
    edit_publication(lock, project, running, |p| {
        p.status = PublicationStatus::Published;
        p.article_id = Some(item.article_id.clone());
        if p.msg_data_id.is_none() {
            p.msg_data_id =
                urls.first().and_then(|u| crate::wechat::types::statistics_key_of_url(u)).map(|(mid, _)| mid);
        }
        p.article_urls = urls.clone();
        p.finished_at = Some(finished_at.clone());
    })
}

fn save_checks(lock: &mut Ledger, project: &std::path::Path, running: &Running, checks: u32) -> Result<(), StepError> {
    edit_publication(lock, project, running, |p| p.status_checks = checks)
}

/// Records a final freepublish/get answer; Ok(Ok(step)) for a publication, Ok(Err) for a failure.
fn record_status(
    lock: &mut Ledger,
    project: &std::path::Path,
    running: &Running,
    publish_id: &str,
    status: PublishStatus,
    checks: u32,
) -> Result<Result<String, StepError>, StepError> {
    let article_id = status.article_id.clone();
    let urls: Vec<String> =
        status.article_detail.map(|d| d.item.into_iter().map(|i| i.article_url).collect()).unwrap_or_default();
    let failed = |why: &str| PublicationStatus::Failed(why.to_string());
    let settled = match status.publish_status {
        0 => PublicationStatus::Published,
        5 => PublicationStatus::PublishedThenDeleted,
        6 => PublicationStatus::PublishedThenBanned,
        2 => failed("originality check failed"),
        3 => failed("WeChat reported an ordinary failure"),
        4 => failed("rejected by platform review"),
        other => failed(&format!("unknown status {other}")),
    };
    edit_publication(lock, project, running, |p| {
        p.status = settled.clone();
        p.article_urls = urls.clone();
        p.article_id = article_id.clone();
        p.finished_at = Some(now_text());
        p.status_checks = checks;
    })?;
    if settled.is_failed() {
        return Ok(Err(StepError::Other(format!("publish_id {publish_id}: {settled}; not resubmitted"))));
    }
    Ok(Ok(settled.to_string()))
}

/// Records a mass send's final status; None while it is still sending.
fn record_mass_status(
    lock: &mut Ledger,
    project: &std::path::Path,
    running: &Running,
    msg_id: u64,
    status: &str,
) -> Result<Option<String>, StepError> {
    let settled = match status {
        "SEND_SUCCESS" => PublicationStatus::Sent,
        "SEND_FAIL" => PublicationStatus::Failed(
            "WeChat did not send it — with send protection on, an administrator refused it or did not confirm it within 30 minutes".into(),
        ),
        "DELETE" => PublicationStatus::SentThenDeleted,
        _ => return Ok(None),
    };
    edit_publication(lock, project, running, |p| {
        p.status = settled.clone();
        p.finished_at = Some(now_text());
    })?;
    if settled.is_failed() {
        return Err(StepError::Other(format!(
            "mass send {msg_id} {settled}; not resent — its draft is kept: send it from the web backend, or give the items a new publish_at"
        )));
    }
    Ok(Some(format!("mass-sent to all followers (msg_id {msg_id})")))
}

fn edit_publication(
    lock: &mut Ledger,
    project: &std::path::Path,
    running: &Running,
    edit: impl FnOnce(&mut crate::state::ledger::PublicationRecord),
) -> Result<(), StepError> {
    let push = lock.account(&running.account).pushes.entry(running.slot.clone()).or_default();
    if let Some(publication) = push.publication.as_mut() {
        edit(publication);
    }
    lock.save(project)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_checks_come_later_the_more_were_spent() {
        let pace = Pace { first_look: Duration::from_secs(4), wait: Duration::from_secs(30) };
        let ages: Vec<u64> = (0..7).map(|n| pace.get_due_at_age(n).as_secs()).collect();
        assert_eq!(ages, [60, 300, 1200, 3600, 7200, 10800, 14400]);
    }
}
