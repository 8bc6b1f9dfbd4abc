//! The tools that only read: items and where they stand, an item's source, the check, reports
//! from the statistics store, readers' comments, and the rules an assistant writes within.
use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::items;
use super::{Answer, Session, ToolError};
use crate::check::Counts;
use crate::content::{self, Kind};
use crate::metrics::report::{CalendarUnit, Period};
use crate::metrics::{Store, StoreTarget};
use crate::project::Project;
use crate::publish::status::{ItemStatus, Phase};

/// An item kind, as an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum KindArg {
    Article,
    Poster,
    Topic,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Kind {
        match kind {
            KindArg::Article => Kind::Article,
            KindArg::Poster => Kind::Poster,
            KindArg::Topic => Kind::Topic,
        }
    }
}

/// The project and where each of its items stands now (as `wxpub status`).
fn project_statuses(session: &Session) -> Result<(Project, Vec<ItemStatus>), ToolError> {
    Ok(crate::publish::status::of_project(&session.root, crate::util::clock::now())?)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListItemsArgs {
    /// Only items of this kind.
    #[serde(default)]
    pub kind: Option<KindArg>,
    /// Only items of this account (a key of [accounts] in publish.toml).
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Serialize)]
struct ListedItem<'a> {
    key: &'a str,
    kind: Kind,
    title: &'a str,
    account: &'a str,
    publish_at: Option<&'a str>,
    draft: bool,
    format: content::Format,
    tags: &'a [String],
    #[serde(flatten)]
    status: &'a ItemStatus,
}

/// `list_items`: every item with its kind, title, account, schedule, standing and what it
/// waits for; and the items that do not read, with why.
pub(super) fn list_items(session: &Session, args: ListItemsArgs) -> Result<Answer, ToolError> {
    let (project, statuses) = project_statuses(session)?;
    let listed: Vec<ListedItem> = project
        .items
        .iter()
        .zip(&statuses)
        .filter(|(item, _)| args.kind.is_none_or(|k| item.kind == Kind::from(k)))
        .filter(|(item, _)| args.account.as_ref().is_none_or(|a| item.meta.account == *a))
        .map(|(item, status)| ListedItem {
            key: &status.key,
            kind: item.kind,
            title: &item.meta.title,
            account: &item.meta.account,
            publish_at: item.meta.publish_at.as_deref(),
            draft: item.meta.draft,
            format: item.meta.format,
            tags: &item.meta.tags,
            status,
        })
        .collect();
    let unreadable: Vec<String> = project.unreadable.iter().map(ToString::to_string).collect();
    let due = listed.iter().filter(|i| i.status.due).count();
    let summary = format!("{} item(s), {due} due; {} that do not read", listed.len(), unreadable.len());
    Answer::new(serde_json::json!({ "items": listed, "unreadable": unreadable }), summary)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ItemArgs {
    /// The item: its key (articles/2026-12-01-ding-story) or folder name.
    pub item: String,
}

/// `read_item`: an item's front matter (parsed by the project's own parser), its Markdown body
/// and its diagnostics; a front matter that does not read is said, with the whole source.
pub(super) fn read_item(session: &Session, args: ItemArgs) -> Result<Answer, ToolError> {
    let located = items::locate(&session.root, &args.item)?;
    let display = located.index.strip_prefix(&session.root).unwrap_or(&located.index).to_path_buf();
    let source = content::read_source(&located.index, &display)?;
    let parsed =
        content::parse_item(located.kind, located.slug.clone(), located.dir.clone(), display.clone(), source.clone());
    let (front_matter, front_matter_error, markdown) = match &parsed {
        Ok(item) => (Some(serde_json::to_value(&item.meta).map_err(ToolError::Json)?), None, item.body().to_string()),
        Err(e) => {
            let body = content::split_front_matter(&source).map_or(source.as_str(), |s| &source[s.body_offset..]);
            (None, Some(e.to_string()), body.to_string())
        }
    };
    let report = items::check(&session.root, std::slice::from_ref(&located.key), false)?;
    let counts = Counts::of(&report);
    let summary = format!("{} ({}): {counts}", located.key, display.display());
    let value = serde_json::json!({
        "key": located.key,
        "kind": located.kind,
        "path": display.to_string_lossy().replace('\\', "/"),
        "front_matter": front_matter,
        "front_matter_error": front_matter_error,
        "markdown": markdown,
        "counts": counts,
        "diagnostics": crate::check::output::json(&report.diagnostics),
    });
    Answer::new(value, summary)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckArgs {
    /// Only these items (keys or folder names); every item when empty or absent.
    #[serde(default)]
    pub items: Vec<String>,
}

/// `check`: the diagnostics `wxpub check --format json` gives, for every item or some.
pub(super) fn check(session: &Session, args: CheckArgs) -> Result<Answer, ToolError> {
    let keys = args
        .items
        .iter()
        .map(|name| items::locate(&session.root, name).map(|l| l.key))
        .collect::<Result<Vec<_>, _>>()?;
    let report = items::check(&session.root, &keys, false)?;
    let counts = Counts::of(&report);
    let summary = format!("checked {} item(s): {counts}", report.items_checked);
    let value = serde_json::json!({
        "items_checked": report.items_checked,
        "counts": counts,
        "diagnostics": crate::check::output::json(&report.diagnostics),
        "notes": report.notes,
    });
    Answer::new(value, summary)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoArgs {}

/// `status`: what is due (the next `wxpub publish --due` sends it), publishing at WeChat, in
/// conflict with the web backend, refused, failed, or waiting for items it links to; and every
/// item's standing.
pub(super) fn status(session: &Session, _args: NoArgs) -> Result<Answer, ToolError> {
    let (_, statuses) = project_statuses(session)?;
    let keys = |wanted: &dyn Fn(&ItemStatus) -> bool| -> Vec<&str> {
        statuses.iter().filter(|s| wanted(s)).map(|s| s.key.as_str()).collect()
    };
    let due = keys(&|s| s.due);
    let publishing = keys(&|s| matches!(s.phase, Phase::Publishing | Phase::Sending));
    let conflicts = keys(&|s| s.phase == Phase::Conflict);
    let summary = format!(
        "{} item(s): {} due, {} publishing, {} in conflict with the web backend",
        statuses.len(),
        due.len(),
        publishing.len(),
        conflicts.len()
    );
    let value = serde_json::json!({
        "due": due,
        "publishing": publishing,
        "conflicts": conflicts,
        "refused": keys(&|s| s.phase == Phase::Refused),
        "failed": keys(&|s| s.phase == Phase::Failed),
        "waiting": keys(&|s| !s.waits_for.is_empty()),
        "items": statuses,
    });
    Answer::new(value, summary)
}

/// Which report, as `wxpub report KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum ReportKind {
    /// The period against the one before.
    Summary,
    /// Per article: readers, reads, shares, favourites; most read first.
    Articles,
    /// One published item's first 30 days (needs `item`).
    Item,
    /// Readers' comments per article and month: answered share, time to answer.
    Comments,
    /// The museum's services as `wxpub monitor` found them.
    Availability,
    /// New, cancelled and cumulative followers per day.
    Followers,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum PeriodArg {
    Week,
    Month,
    Year,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportArgs {
    pub kind: ReportKind,
    /// `item` only: the item's key or folder name, or a msgid.
    #[serde(default)]
    pub item: Option<String>,
    /// Only this account.
    #[serde(default)]
    pub account: Option<String>,
    /// First day (YYYY-MM-DD).
    #[serde(default)]
    pub since: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD); default: the latest day stored.
    #[serde(default)]
    pub until: Option<NaiveDate>,
    /// The calendar week, month or year holding `until`.
    #[serde(default)]
    pub period: Option<PeriodArg>,
    /// `comments` and `availability`: this calendar year.
    #[serde(default)]
    pub year: Option<i32>,
    /// `articles`: only the most read this many.
    #[serde(default)]
    pub top: Option<usize>,
}

/// `report`: the same queries as `wxpub report`, over the statistics store (filled by `wxpub
/// stats pull`, `wxpub comments pull` and `wxpub monitor`); the report's JSON document.
pub(super) fn report(session: &Session, args: ReportArgs) -> Result<Answer, ToolError> {
    use crate::metrics::documents;
    let config = crate::config::Config::load(&session.root)?;
    if let Some(account) = &args.account {
        config.account(account)?;
    }
    let mut store = Store::open(StoreTarget::from_config(&session.root, &config.metrics)?)?;
    // The articles reports join statistics to items through the msgids publish.lock records.
    let (_, warnings) = crate::metrics::published::record(&session.root, &config, &mut store)?;
    let account = args.account.as_deref();
    let today = crate::util::clock::now().with_timezone(&config.timezone()).date_naive();
    let year_period = |year: Option<i32>| -> Result<Period, ToolError> {
        let year = year.unwrap_or(today.year());
        let day = |m, d| NaiveDate::from_ymd_opt(year, m, d).ok_or(ToolError::Arguments(format!("year {year}")));
        Ok(Period::new(day(1, 1)?, day(12, 31)?))
    };
    let period = || -> Result<Period, ToolError> {
        let unit = args.period.map(|p| match p {
            PeriodArg::Week => CalendarUnit::Week,
            PeriodArg::Month => CalendarUnit::Month,
            PeriodArg::Year => CalendarUnit::Year,
        });
        Ok(crate::metrics::report::resolve_period(&store, account, args.since, args.until, unit, today)?)
    };
    let document = match args.kind {
        ReportKind::Summary => documents::summary(&store, account, period()?)?,
        ReportKind::Articles => documents::articles(&store, account, period()?, args.top)?,
        ReportKind::Followers => documents::followers(&store, account, period()?)?,
        ReportKind::Item => {
            let target = args.item.as_deref().ok_or(ToolError::Arguments("`item` names the item to report".into()))?;
            documents::item(&store, account, target)?.ok_or_else(|| {
                ToolError::Refused(format!(
                    "no published item matches `{target}`: give its key, folder name or msgid; statistics arrive with `wxpub stats pull`"
                ))
            })?
        }
        ReportKind::Comments => {
            let period = if args.year.is_some() { year_period(args.year)? } else { period()? };
            let report = crate::metrics::comments::report(&store, period)?;
            crate::metrics::comments::document(&report).map_err(ToolError::Json)?
        }
        ReportKind::Availability => {
            let period = match (args.since, args.until) {
                (None, None) => year_period(args.year)?,
                (since, until) => {
                    let until = until.unwrap_or(today);
                    Period::new(since.unwrap_or(year_period(Some(until.year()))?.since), until)
                }
            };
            let monitor = &config.monitor;
            let report = crate::metrics::availability::availability(
                &store,
                period,
                monitor.cert_warn_days,
                &monitor.maintenance,
            )?;
            crate::metrics::availability::document(&report).map_err(ToolError::Json)?
        }
    };
    let mut summary = format!("{} — {}", document.title, document.subtitle);
    for note in document.notes.iter().chain(&warnings) {
        summary.push_str(&format!("\nnote: {note}"));
    }
    Answer::new(document.json, summary)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CommentsArgs {
    /// Only comments without a reply.
    #[serde(default)]
    pub unanswered: bool,
    /// Only this item's comments (key, folder name or msgid).
    #[serde(default)]
    pub item: Option<String>,
    /// Only this account's.
    #[serde(default)]
    pub account: Option<String>,
}

/// `list_comments`: readers' comments from the last `wxpub comments pull`, unanswered first,
/// each with the number `reply_comment` takes.
pub(super) fn list_comments(session: &Session, args: CommentsArgs) -> Result<Answer, ToolError> {
    let config = crate::config::Config::load(&session.root)?;
    let store = Store::open(StoreTarget::from_config(&session.root, &config.metrics)?)?;
    let filter = crate::metrics::store::CommentFilter {
        account: args.account,
        item: args.item,
        unanswered_only: args.unanswered,
        ..Default::default()
    };
    let comments = store.comments(&filter)?;
    let unanswered = comments.iter().filter(|c| c.reply.is_none()).count();
    let summary =
        format!("{} comment(s), {unanswered} unanswered (as of the last `wxpub comments pull`)", comments.len());
    Answer::new(serde_json::json!({ "comments": comments }), summary)
}

/// `contract_rules`: WeChat's limits (as wxpub enforces them) and every check rule with its
/// severity in this project, so that an assistant writes within them.
pub(super) fn contract_rules(session: &Session, _args: NoArgs) -> Result<Answer, ToolError> {
    let config = crate::config::Config::load(&session.root)?;
    let rules = super::resources::rules(&config)?;
    let limits = super::resources::limits();
    let summary = format!(
        "{} limits and {} check rules; titles ≤ {} characters, digests ≤ {}, content under {} visible characters",
        limits.as_object().map_or(0, |o| o.len()),
        rules.len(),
        crate::wechat::limits::TITLE_MAX_CHARS,
        crate::wechat::limits::DIGEST_MAX_CHARS,
        crate::wechat::limits::CONTENT_MAX_TEXT_CHARS
    );
    Answer::new(serde_json::json!({ "limits": limits, "rules": rules }), summary)
}
