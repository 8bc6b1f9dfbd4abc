//! The tools that reach WeChat, each off until publish.toml names it in `[mcp] allow`: a preview
//! of a push on the reviewers' phones, and a reply to a reader's comment. Neither publishes or
//! sends anything to followers; no tool does.
use schemars::JsonSchema;
use serde::Deserialize;

use super::items;
use super::{Answer, Session, ToolError};
use crate::config::{Config, McpGate};
use crate::wechat::types::Reviewer;

/// The project's configuration, when it allows `gate`; the refusal naming the `[mcp] allow`
/// entry that would, when it does not. Read at every call: a change to publish.toml counts at
/// once.
fn allowed(session: &Session, gate: McpGate) -> Result<Config, ToolError> {
    let config = Config::load(&session.root)?;
    if config.mcp.allow.contains(&gate) { Ok(config) } else { Err(ToolError::NotAllowed(gate)) }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SendPreviewArgs {
    /// The items whose pushes to preview (keys or folder names): each push goes whole.
    pub items: Vec<String>,
}

/// `send_preview`: as `wxpub send-preview` to the reviewers of `[publish] reviewers` — and only
/// them: an assistant cannot name who receives it. Builds and checks first (errors block),
/// drafts the pushes as `publish` would (recorded in publish.lock), publishes nothing.
pub(super) fn send_preview(session: &Session, args: SendPreviewArgs) -> Result<Answer, ToolError> {
    let config = allowed(session, McpGate::SendPreview)?;
    if config.publish.reviewers.is_empty() {
        return Err(ToolError::Refused(
            "no reviewers: list their WeChat IDs in publish.toml, `[publish] reviewers = [\"…\"]`; previews go to them only".into(),
        ));
    }
    if args.items.is_empty() {
        return Err(ToolError::Arguments("`items`: name the item(s) to preview".into()));
    }
    let names = args
        .items
        .iter()
        .map(|name| items::locate(&session.root, name).map(|l| l.key))
        .collect::<Result<Vec<_>, _>>()?;
    // publish.lock is written: one run at a time, and this one does not queue behind a publish.
    let _lock = crate::state::run_lock::acquire(&session.root, "mcp send_preview", false, |_| {})?;
    let project = crate::project::Project::load(&session.root)?;
    let keys = crate::publish::preview::item_keys(&project, &names)?;
    let reviewers: Vec<Reviewer> = config.publish.reviewers.iter().map(|id| Reviewer::WechatId(id.clone())).collect();
    let client_of = |account: &str| (session.clients)(account);
    let request = crate::publish::preview::PreviewRequest {
        keys: &keys,
        reviewers: &reviewers,
        client_of: &client_of,
        progress: &crate::util::progress::Silent,
        now: crate::util::clock::now(),
    };
    let crate::publish::preview::PreviewRun { previews, clients, mut notes } =
        crate::publish::preview::send(&project, &request).map_err(with_errors_listed)?;
    notes.extend(record_usage(&session.root, &clients));
    let summary = match previews.failed.first() {
        None => format!("sent {} preview(s) to {}", previews.sent.len(), config.publish.reviewers.join(", ")),
        Some(first) => format!("sent {}, not sent {}: {first}", previews.sent.len(), previews.failed.len()),
    };
    let value = serde_json::json!({ "sent": previews.sent, "failed": previews.failed, "notes": notes });
    if previews.sent.is_empty() && !previews.failed.is_empty() {
        return Err(ToolError::Refused(format!("nothing was sent: {}", previews.failed.join("; "))));
    }
    Answer::new(value, summary)
}

/// A preview the check blocked, with the errors that blocked it (the command prints them apart;
/// an assistant has only the message).
fn with_errors_listed(error: crate::publish::preview::PreviewError) -> ToolError {
    match &error {
        crate::publish::preview::PreviewError::Blocked { errors, .. } => {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            ToolError::Refused(format!("{error}:\n{}", listed.join("\n")))
        }
        _ => error.into(),
    }
}

/// Adds the calls of `clients` to `.wxpub/api-usage.json`, as `publish` does; what could not be
/// recorded, as a note.
fn record_usage(
    root: &std::path::Path,
    clients: &std::collections::BTreeMap<String, crate::wechat::Client>,
) -> Vec<String> {
    let day = crate::wechat::limits::quota_day(crate::util::clock::now());
    crate::publish::usage::record(root, day, clients).1
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyArgs {
    /// The comment's number (`list_comments` gives it).
    pub comment: i64,
    /// What to answer (at most 600 characters; the project's word list applies).
    #[serde(default)]
    pub text: Option<String>,
    /// A reply from `[comments] templates`, by name, instead of `text`.
    #[serde(default)]
    pub template: Option<String>,
}

/// `reply_comment`: as `wxpub comments reply` — checked first (length, the word list), sent
/// exactly once, recorded in the statistics store with who answered.
pub(super) fn reply_comment(session: &Session, args: ReplyArgs) -> Result<Answer, ToolError> {
    use crate::audience::{self, Action, Done};
    let config = allowed(session, McpGate::ReplyComment)?;
    let text = match (args.text, args.template) {
        (Some(text), None) => text,
        (None, Some(name)) => audience::reply_templates(&session.root, &config)?
            .remove(&name)
            .ok_or_else(|| ToolError::Arguments(format!("no reply template `{name}` in `[comments] templates`")))?,
        _ => return Err(ToolError::Arguments("give the reply's `text`, or a `template` name".into())),
    };
    audience::check_reply(&text, &crate::check::Words::of_project(&session.root, &config)?)?;
    let store = crate::metrics::Store::open(crate::metrics::StoreTarget::from_config(&session.root, &config.metrics)?)?;
    let comment = match store.comment(args.comment)? {
        Some(c) if !c.deleted => c,
        _ => {
            return Err(ToolError::Refused(format!(
                "no comment {} (or it was deleted): list_comments gives their numbers, after `wxpub comments pull`",
                args.comment
            )));
        }
    };
    let client = (session.clients)(&comment.account)?;
    let by = format!("{} (MCP)", session.by);
    let done = audience::act(&store, &client, &comment, &Action::Reply(text.clone()), &by, config.timezone())?;
    let summary = match done {
        Done::Now => format!("replied to comment {} («{}»)", comment.id, comment.content),
        Done::Already => format!("comment {} had this reply on WeChat already (recorded now)", comment.id),
    };
    let value = serde_json::json!({
        "comment": comment.id,
        "account": comment.account,
        "reply": text,
        "by": by,
        "already": done == Done::Already,
    });
    Answer::new(value, summary)
}
