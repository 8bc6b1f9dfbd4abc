//! `wxpub comments [pull|reply|elect|unelect|delete|open|close]`.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::audience::{self, Action, Done};
use crate::cli::{CommentsArgs, CommentsCommand};
use crate::config::Config;
use crate::metrics::Store;
use crate::metrics::store::{CommentFilter, StoredComment};

pub fn run(project: &Path, args: CommentsArgs, quiet: bool) -> Result<ExitCode> {
    let Some(command) = args.command else {
        return list(project, &args);
    };
    // Everything below writes the store (and WeChat): one writer at a time, like `stats pull`.
    let Some(_lock) = super::lock_project(project, "comments", true)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let config = Config::load(project)?;
    let mut store = super::stats::open_store(project, &config)?;
    match command {
        CommentsCommand::Pull { account } => pull(project, &config, &mut store, account.as_deref(), quiet),
        CommentsCommand::Reply { id, text, template, by } => {
            let text = match (text, template) {
                (Some(text), _) => text,
                (None, Some(name)) => template_text(project, &config, &name)?,
                (None, None) => bail!("give the reply's text, or --template NAME"),
            };
            audience::check_reply(&text, &crate::check::Words::of_project(project, &config)?)?;
            act(project, &config, &store, id, &Action::Reply(text), by)
        }
        CommentsCommand::Elect { id } => act(project, &config, &store, id, &Action::Elect, None),
        CommentsCommand::Unelect { id } => act(project, &config, &store, id, &Action::Unelect, None),
        CommentsCommand::Delete { id } => act(project, &config, &store, id, &Action::Delete, None),
        CommentsCommand::Open { item } => open(project, &config, &mut store, &item, true),
        CommentsCommand::Close { item } => open(project, &config, &mut store, &item, false),
    }
}

fn pull(project: &Path, config: &Config, store: &mut Store, only: Option<&str>, quiet: bool) -> Result<ExitCode> {
    if let Some(account) = only {
        config.account(account)?;
    }
    // The articles and their msg_data_ids come from what was published (publish.lock, archive).
    super::report::record_lock_publications(project, config, store)?;
    let progress = super::TerminalProgress::new(!quiet);
    let mut failed = false;
    for (name, settings) in config.accounts.iter().filter(|(name, _)| only.is_none_or(|o| o == name.as_str())) {
        let client = super::account_client(name, settings)?;
        let report = audience::pull_account(store, &client, name, config.timezone(), &progress)
            .with_context(|| format!("cannot pull the comments of account `{name}`"))?;
        if let Some(why) = &report.skipped {
            eprintln!("warning: {why}");
            continue;
        }
        println!(
            "{name}: {} article(s), {} comment(s) ({} new, {} changed, {} deleted since)",
            report.articles, report.comments, report.stored.new, report.stored.updated, report.stored.deleted
        );
        for (article, why) in &report.failed {
            failed = true;
            eprintln!("error: {name}: comments of {article} not read: {why}");
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn list(project: &Path, args: &CommentsArgs) -> Result<ExitCode> {
    let config = Config::load(project)?;
    if let Some(account) = &args.account {
        config.account(account)?;
    }
    let store = super::stats::open_store(project, &config)?;
    let filter = CommentFilter {
        account: args.account.clone(),
        item: args.item.clone(),
        since: args.since.map(|d| format!("{d} 00:00:00")),
        elected: match (args.elected, args.unelected) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        unanswered_only: args.unanswered,
        include_deleted: args.deleted,
    };
    let comments = store.comments(&filter)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comments).context("cannot write the comments as JSON")?);
        return Ok(ExitCode::SUCCESS);
    }
    if comments.is_empty() {
        println!("no comments stored that match; `wxpub comments pull` reads them from WeChat");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(["#", "account", "article", "written", "comment", "elected", "reply"]);
    for c in &comments {
        let article = c.title.clone().or_else(|| c.item.clone()).unwrap_or_else(|| c.msgid.clone());
        let reply = match (&c.reply, &c.replied_by) {
            (Some(reply), Some(by)) => format!("{reply} ({by})"),
            (Some(reply), None) => reply.clone(),
            (None, _) => "— unanswered".into(),
        };
        let content = if c.deleted { format!("[deleted] {}", c.content) } else { c.content.clone() };
        table.add_row([
            c.id.to_string(),
            c.account.clone(),
            article,
            c.created_at.clone(),
            content,
            if c.elected { "精选".into() } else { String::new() },
            reply,
        ]);
    }
    println!("{table}");
    let unanswered = comments.iter().filter(|c| c.reply.is_none() && !c.deleted).count();
    println!("{} comment(s), {unanswered} unanswered", comments.len());
    Ok(ExitCode::SUCCESS)
}

/// The stored comment `id`, or an error saying how to find one.
fn stored(store: &Store, id: i64) -> Result<StoredComment> {
    match store.comment(id)? {
        Some(c) if c.deleted => bail!("comment {id} was deleted; nothing to do"),
        Some(c) => Ok(c),
        None => bail!("no comment {id}: `wxpub comments` lists them with their numbers (after `wxpub comments pull`)"),
    }
}

fn act(
    project: &Path,
    config: &Config,
    store: &Store,
    id: i64,
    action: &Action,
    by: Option<String>,
) -> Result<ExitCode> {
    let comment = stored(store, id)?;
    let settings = config.account(&comment.account)?;
    let client = super::account_client(&comment.account, settings)?;
    let by = by.unwrap_or_else(|| audience::who_acts(project));
    let done = audience::act(store, &client, &comment, action, &by, config.timezone())?;
    let what = action.done();
    match done {
        Done::Now => println!("{what} comment {id} ({})", comment.content),
        Done::Already => println!("comment {id} was {what} already on WeChat (recorded now)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The reply template `name` from `[comments] templates`.
fn template_text(project: &Path, config: &Config, name: &str) -> Result<String> {
    let Some(file) = &config.comments.templates else {
        bail!(
            "no reply templates: set `[comments] templates = \"replies.toml\"` in publish.toml, a file with `[templates]` and `NAME = \"text\"`"
        );
    };
    let templates = audience::reply_templates(project, config)?;
    templates.get(name).cloned().with_context(|| {
        format!(
            "{}: no template `{name}` (templates: {})",
            file.display(),
            templates.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

fn open(project: &Path, config: &Config, store: &mut Store, item: &str, open: bool) -> Result<ExitCode> {
    super::report::record_lock_publications(project, config, store)?;
    let wanted = item.trim_start_matches("content/").trim_end_matches('/');
    let articles: Vec<_> = store
        .commented_articles(None)?
        .into_iter()
        .filter(|a| {
            a.item.as_deref().is_some_and(|key| key == wanted || key.rsplit('/').next() == Some(wanted))
                || a.msgid == wanted
        })
        .collect();
    let Some(first) = articles.first() else {
        bail!(
            "`{item}` is not a published item with a msg_data_id: give an item's key (articles/2026-12-01-ding-story) or folder name"
        );
    };
    let account = first.account.clone();
    let client = super::account_client(&account, config.account(&account)?)?;
    audience::set_open(&client, &articles, open)?;
    println!("comments {} on {item}", if open { "opened" } else { "closed" });
    Ok(ExitCode::SUCCESS)
}
