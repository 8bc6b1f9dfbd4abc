//! AUDIENCE: readers' comments under the published articles — pulled into the statistics store,
//! and answered, elected, deleted, opened and closed through WeChat's comment API, each exactly
//! once (after a lost answer, the comment is looked at before anything is sent again).
use chrono::{DateTime, Utc};

use crate::metrics::Store;
use crate::metrics::store::{CommentedArticle, PulledComment, Stored, StoredComment};
use crate::util::progress::Progress;
use crate::wechat::limits::{COMMENT_PAGE_MAX, COMMENT_REPLY_MAX_CHARS};
use crate::wechat::types::{Comment, CommentArticle, CommentTarget};
use crate::wechat::{Client, WechatError};

/// WeChat's answer to an account without the comment permission (unverified).
pub const NO_COMMENT_PERMISSION: i64 = 88000;
const ALREADY_REPLIED: i64 = 88005;
const DELETED_BY_AUTHOR: i64 = 88004;
const NO_SUCH_COMMENT: i64 = 88008;

#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    #[error(transparent)]
    Store(#[from] crate::metrics::StoreError),
    #[error("{0}")]
    Wechat(#[from] WechatError),
    #[error("{0}")]
    Refused(String),
}

/// What a pull did for one account.
#[derive(Debug, Default, serde::Serialize)]
pub struct AccountPull {
    pub account: String,
    pub articles: usize,
    pub comments: usize,
    pub stored: Stored,
    /// Why the account was skipped (not verified), if it was.
    pub skipped: Option<String>,
    /// Articles whose comments could not be read, with why.
    pub failed: Vec<(String, String)>,
}

fn site_time(seconds: i64, tz: chrono_tz::Tz) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn pulled(comment: &Comment, tz: chrono_tz::Tz) -> PulledComment {
    PulledComment {
        comment_id: comment.user_comment_id.to_string(),
        created_at: site_time(comment.create_time, tz),
        content: comment.content.clone(),
        elected: comment.comment_type == 1,
        identified: comment.openid.as_deref().is_some_and(|o| !o.is_empty()),
        reply: comment.reply.as_ref().map(|r| r.content.clone()),
        replied_at: comment.reply.as_ref().map(|r| site_time(r.create_time, tz)),
    }
}

/// Every comment of an article, page by page.
fn all_comments(client: &Client, article: CommentArticle) -> Result<Vec<Comment>, WechatError> {
    let mut comments = Vec::new();
    loop {
        let page = client.comment_list(article, comments.len() as u32, COMMENT_PAGE_MAX)?;
        let done = page.comment.is_empty();
        comments.extend(page.comment);
        if done || comments.len() >= page.total as usize {
            return Ok(comments);
        }
    }
}

/// Pulls the comments of every article of `account` into the store. An account without the
/// comment permission (88000) is skipped with the reason; an article that cannot be read is
/// listed and the others go on.
pub fn pull_account(
    store: &Store,
    client: &Client,
    account: &str,
    tz: chrono_tz::Tz,
    progress: &dyn Progress,
) -> Result<AccountPull, AudienceError> {
    let articles = store.commented_articles(Some(account))?;
    let mut report = AccountPull { account: account.to_string(), articles: articles.len(), ..Default::default() };
    progress.start(&format!("comments of {account}"), articles.len() as u64);
    for article in &articles {
        let key = CommentArticle { msg_data_id: article.msg_data_id, index: article.index };
        match all_comments(client, key) {
            Ok(comments) => {
                let now = site_time(crate::util::clock::now().timestamp(), tz);
                let rows: Vec<PulledComment> = comments.iter().map(|c| pulled(c, tz)).collect();
                let stored = store.store_comments(article, &rows, &now)?;
                report.comments += rows.len();
                report.stored.new += stored.new;
                report.stored.updated += stored.updated;
                report.stored.deleted += stored.deleted;
            }
            Err(e) if e.code() == Some(NO_COMMENT_PERMISSION) => {
                report.skipped = Some(format!(
                    "account `{account}` has no comment permission (WeChat 88000): comments are for verified accounts only (微信认证); nothing pulled for it"
                ));
                break;
            }
            Err(e) if e.code().is_some() => {
                report.failed.push((article.item.clone().unwrap_or_else(|| article.msgid.clone()), e.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
        progress.advance();
    }
    progress.finish();
    Ok(report)
}

/// What to do to one comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(String),
    Elect,
    Unelect,
    Delete,
}

impl Action {
    /// What was done, as messages say it ("replied to comment 17").
    pub fn done(&self) -> &'static str {
        match self {
            Action::Reply(_) => "replied to",
            Action::Elect => "elected",
            Action::Unelect => "unelected",
            Action::Delete => "deleted",
        }
    }
}

/// The reply templates of `[comments] templates` (`[templates] NAME = "text"`), by name; none
/// when the project names no file.
pub fn reply_templates(
    project: &std::path::Path,
    config: &crate::config::Config,
) -> Result<std::collections::BTreeMap<String, String>, AudienceError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Templates {
        templates: std::collections::BTreeMap<String, String>,
    }
    let Some(file) = &config.comments.templates else { return Ok(Default::default()) };
    let path = project.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| AudienceError::Refused(format!("cannot read the reply templates {}: {e}", path.display())))?;
    let templates: Templates = toml::from_str(&text).map_err(|e| {
        AudienceError::Refused(format!("{}: expected `[templates]` with `NAME = \"text\"`: {e}", path.display()))
    })?;
    Ok(templates.templates)
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    Now,
    /// The server had it already: an earlier answer was lost, or someone did it in the web backend.
    Already,
}

/// Who acts, as recorded with a reply: `git config user.name` in the project, else the login name.
pub fn who_acts(project: &std::path::Path) -> String {
    std::process::Command::new("git")
        .args(["config", "user.name"])
        .current_dir(project)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("USER").ok().or_else(|| std::env::var("USERNAME").ok()))
        .unwrap_or_else(|| "wxpub".into())
}

/// Checks a reply before anything is sent: not empty, not too long, no listed word.
pub fn check_reply(text: &str, words: &crate::check::Words) -> Result<(), AudienceError> {
    let length = text.trim().chars().count();
    if length == 0 {
        return Err(AudienceError::Refused("the reply is empty: write what to answer".into()));
    }
    if length > COMMENT_REPLY_MAX_CHARS {
        return Err(AudienceError::Refused(format!(
            "the reply is {length} characters; WeChat takes at most {COMMENT_REPLY_MAX_CHARS}: shorten it"
        )));
    }
    if let Some(word) = words.found_in(text).first() {
        return Err(AudienceError::Refused(format!(
            "the reply contains `{}`, listed in the project's word list{}{}: change it before it goes to the reader",
            word.word,
            word.replacement.as_deref().map(|r| format!(" (write `{r}`)")).unwrap_or_default(),
            word.note.as_deref().map(|n| format!("; {n}")).unwrap_or_default()
        )));
    }
    Ok(())
}

/// The comment as the server has it now (None: gone).
fn on_server(client: &Client, comment: &StoredComment) -> Result<Option<Comment>, WechatError> {
    let id: u64 = comment.comment_id.parse().unwrap_or(0);
    let article = CommentArticle { msg_data_id: comment.msg_data_id, index: comment.index };
    Ok(all_comments(client, article)?.into_iter().find(|c| c.user_comment_id == id))
}

/// Carries out `action` on `comment`, exactly once, and records it in the store (`by`: who).
pub fn act(
    store: &Store,
    client: &Client,
    comment: &StoredComment,
    action: &Action,
    by: &str,
    tz: chrono_tz::Tz,
) -> Result<Done, AudienceError> {
    let target = CommentTarget {
        msg_data_id: comment.msg_data_id,
        index: comment.index,
        user_comment_id: comment.comment_id.parse().unwrap_or(0),
    };
    let now = site_time(crate::util::clock::now().timestamp(), tz);
    match action {
        Action::Reply(text) => {
            let outcome = match client.comment_reply(target, text) {
                Ok(()) => Ok(Done::Now),
                Err(e) if e.code() == Some(ALREADY_REPLIED) || e.may_have_been_processed() => {
                    // Look before sending again: the first reply may have gone through.
                    match on_server(client, comment)?.and_then(|c| c.reply) {
                        Some(reply) if reply.content == *text => Ok(Done::Already),
                        Some(reply) => Err(AudienceError::Refused(format!(
                            "comment {} already has a reply on WeChat: «{}»; WeChat keeps one reply per comment",
                            comment.id, reply.content
                        ))),
                        None if e.code() == Some(ALREADY_REPLIED) => Err(e.into()),
                        None => client.comment_reply(target, text).map(|()| Done::Now).map_err(AudienceError::from),
                    }
                }
                Err(e) => Err(e.into()),
            }?;
            store.record_reply(comment.id, text, &now, by)?;
            Ok(outcome)
        }
        Action::Elect | Action::Unelect => {
            let elect = *action == Action::Elect;
            let path = if elect { "/cgi-bin/comment/markelect" } else { "/cgi-bin/comment/unmarkelect" };
            client.comment_change(path, target)?;
            store.record_comment_state(comment.id, Some(elect), false)?;
            Ok(if comment.elected == elect { Done::Already } else { Done::Now })
        }
        Action::Delete => {
            let done = match client.comment_change("/cgi-bin/comment/delete", target) {
                Ok(()) => Done::Now,
                Err(e) if matches!(e.code(), Some(DELETED_BY_AUTHOR | NO_SUCH_COMMENT)) => Done::Already,
                Err(e) => return Err(e.into()),
            };
            store.record_comment_state(comment.id, None, true)?;
            Ok(done)
        }
    }
}

/// Opens or closes the comments of `articles` (an item's articles).
pub fn set_open(client: &Client, articles: &[CommentedArticle], open: bool) -> Result<(), AudienceError> {
    for article in articles {
        client.comment_open(CommentArticle { msg_data_id: article.msg_data_id, index: article.index }, open)?;
    }
    Ok(())
}
