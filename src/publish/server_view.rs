//! What the server holds for one account (drafts, publications, spent quotas), listed at most
//! once per run and only when a push needs it.
use super::Push;
use super::StepError;
use crate::state::ledger::Ledger;
use crate::wechat::Client;
use crate::wechat::types::{DraftItem, PublishedItem};

/// What the server holds for one account, listed at most once per run and only when a push
/// needs it (the listings are paged: a year of drafts and publications is a few dozen calls).
pub(super) struct ServerView {
    drafts: Option<Vec<DraftItem>>,
    published: Option<Vec<PublishedItem>>,
    /// Endpoints whose daily quota ran out during this run.
    pub(super) quota_spent: std::collections::BTreeSet<String>,
}

impl ServerView {
    pub(super) fn new() -> ServerView {
        ServerView { drafts: None, published: None, quota_spent: Default::default() }
    }

    /// Refuses a call to `endpoint` when its quota ran out earlier in this run.
    pub(super) fn quota_left(&self, endpoint: &str) -> Result<(), StepError> {
        if self.quota_spent.contains(endpoint) {
            return Err(StepError::Quota(endpoint.to_string()));
        }
        Ok(())
    }

    /// Lists the drafts again at the next question (after a create whose answer was lost).
    pub(super) fn forget_drafts(&mut self) {
        self.drafts = None;
    }

    pub(super) fn forget_published(&mut self) {
        self.published = None;
    }

    /// A draft whose articles have exactly these titles and that publish.lock does not know.
    pub(super) fn unknown_draft_by_titles(
        &mut self,
        client: &Client,
        lock: &mut Ledger,
        account: &str,
        titles: &[&str],
    ) -> Result<Option<String>, StepError> {
        let drafts = match &mut self.drafts {
            Some(drafts) => drafts,
            None => self.drafts.insert(client.all_drafts()?),
        };
        let known: std::collections::BTreeSet<&String> =
            lock.account(account).pushes.values().filter_map(|p| p.draft_media_id.as_ref()).collect();
        Ok(drafts
            .iter()
            .find(|d| {
                d.content.news_item.iter().map(|a| a.title.as_str()).eq(titles.iter().copied())
                    && !known.contains(&d.media_id)
            })
            .map(|d| d.media_id.clone()))
    }

    /// A publication of `push` that publish.lock does not record: its articles have exactly
    /// these titles, it is not one the lock records (an earlier push may have used the same
    /// titles: its URLs are in the lock), and it was made no earlier than 60 days before the
    /// push's time: last year's "新年快乐" is not this year's, while a push published early by
    /// hand in the web backend still counts.
    pub(super) fn published_by_titles(
        &mut self,
        client: &Client,
        lock: &mut Ledger,
        push: &Push,
        titles: &[&str],
    ) -> Result<Option<PublishedItem>, StepError> {
        let account = push.account.as_str();
        let not_before = (push.when - chrono::Duration::days(60)).timestamp();
        let published = match &mut self.published {
            Some(published) => published,
            None => {
                let listed = client.all_published();
                self.published.insert(match listed {
                    Ok(listed) => listed,
                    // An account without freepublish has published nothing through it.
                    Err(err) if err.code() == Some(48001) => Vec::new(),
                    Err(err) => return Err(err.into()),
                })
            }
        };
        let recorded: std::collections::BTreeSet<&String> = lock
            .account(account)
            .pushes
            .values()
            .filter_map(|p| p.publication.as_ref())
            .flat_map(|p| &p.article_urls)
            .collect();
        Ok(published
            .iter()
            .find(|p| {
                p.update_time >= not_before
                    && p.content.news_item.iter().map(|a| a.title.as_str()).eq(titles.iter().copied())
                    && !p.content.news_item.iter().filter_map(|a| a.url.as_ref()).any(|u| recorded.contains(u))
            })
            .cloned())
    }
}
