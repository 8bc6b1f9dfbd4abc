//! Readers' comments in the store: upserted as pulled (a comment seen before is updated, never
//! duplicated; one gone from the server is marked deleted), and the replies sent from wxpub,
//! with who sent them.
use super::{Row, Store, StoreError, args};

/// A comment as pulled from WeChat, on one article of one publication.
#[derive(Debug, Clone)]
pub struct PulledComment {
    pub comment_id: String,
    /// Site time, `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
    pub content: String,
    pub elected: bool,
    /// The commenter has a WeChat identity for the account (an openid).
    pub identified: bool,
    pub reply: Option<String>,
    pub replied_at: Option<String>,
}

/// The article a batch of comments belongs to.
#[derive(Debug, Clone)]
pub struct CommentedArticle {
    pub account: String,
    pub msg_data_id: u64,
    /// 0-based, as the comment API counts.
    pub index: u32,
    /// The statistics key, `<msg_data_id>_<index + 1>`.
    pub msgid: String,
    pub item: Option<String>,
    pub title: String,
}

/// What storing one article's comments changed.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Stored {
    pub new: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// A stored comment, as listed and acted on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredComment {
    /// The short number to name it by (`wxpub comments reply ID`).
    pub id: i64,
    pub account: String,
    pub msg_data_id: u64,
    pub index: u32,
    pub comment_id: String,
    pub msgid: String,
    pub item: Option<String>,
    pub title: Option<String>,
    pub created_at: String,
    pub content: String,
    pub elected: bool,
    pub identified: bool,
    pub reply: Option<String>,
    pub replied_at: Option<String>,
    pub replied_by: Option<String>,
    pub deleted: bool,
}

/// Which comments to list.
#[derive(Debug, Default, Clone)]
pub struct CommentFilter {
    pub account: Option<String>,
    /// An item's key, or its folder name.
    pub item: Option<String>,
    /// Written on or after this day (site time).
    pub since: Option<String>,
    pub elected: Option<bool>,
    pub unanswered_only: bool,
    pub include_deleted: bool,
}

const COLUMNS: &str = "c.id, c.account, c.msg_data_id, c.article_index, c.comment_id, c.msgid, c.item, \
     (SELECT p.title FROM publications p WHERE p.account = c.account AND p.msgid = c.msgid ORDER BY p.slot LIMIT 1), \
     c.created_at, c.content, c.elected, c.identified, c.reply, c.replied_at, c.replied_by, c.deleted";

fn stored(row: &Row, origin: &str) -> Result<StoredComment, StoreError> {
    let msg_data_id = row.text(2)?;
    Ok(StoredComment {
        id: row.int(0)?,
        account: row.text(1)?,
        msg_data_id: msg_data_id.parse().map_err(|_| StoreError::Value {
            target: origin.to_string(),
            detail: format!("comments.msg_data_id `{msg_data_id}` is not a number"),
        })?,
        index: row.u32(3)?,
        comment_id: row.text(4)?,
        msgid: row.text(5)?,
        item: row.opt_text(6)?,
        title: row.opt_text(7)?,
        created_at: row.text(8)?,
        content: row.text(9)?,
        elected: row.int(10)? != 0,
        identified: row.int(11)? != 0,
        reply: row.opt_text(12)?,
        replied_at: row.opt_text(13)?,
        replied_by: row.opt_text(14)?,
        deleted: row.int(15)? != 0,
    })
}

impl Store {
    /// Stores every comment an article has now (`comments`: the whole listing), marking those
    /// gone from it as deleted; `now` is when they were seen.
    pub fn store_comments(
        &self,
        article: &CommentedArticle,
        comments: &[PulledComment],
        now: &str,
    ) -> Result<Stored, StoreError> {
        let msg_data_id = article.msg_data_id.to_string();
        self.write(|engine| {
            let known: Vec<(String, i64, Option<String>, i64, String, i64)> = engine
                .query(
                    "SELECT comment_id, elected, reply, deleted, content, identified FROM comments \
                     WHERE account = ?1 AND msg_data_id = ?2 AND article_index = ?3",
                    args![article.account, msg_data_id, article.index],
                )?
                .into_iter()
                .map(|cells| {
                    let text = |i: usize| match cells.get(i) {
                        Some(super::Cell::Text(t)) => Some(t.clone()),
                        _ => None,
                    };
                    let int = |i: usize| match cells.get(i) {
                        Some(super::Cell::Int(n)) => *n,
                        _ => 0,
                    };
                    (text(0).unwrap_or_default(), int(1), text(2), int(3), text(4).unwrap_or_default(), int(5))
                })
                .collect();
            let mut stored = Stored::default();
            for c in comments {
                let before = known.iter().find(|k| k.0 == c.comment_id);
                match before {
                    None => stored.new += 1,
                    Some((_, elected, reply, deleted, content, identified))
                        if (*elected != 0) != c.elected
                            || *reply != c.reply
                            || *deleted != 0
                            || *content != c.content
                            || (*identified != 0) != c.identified =>
                    {
                        stored.updated += 1
                    }
                    Some(_) => {}
                }
                engine.execute(
                    "INSERT INTO comments (account, msg_data_id, article_index, comment_id, msgid, item, created_at, \
                     content, elected, identified, reply, replied_at, deleted, first_seen_at, last_seen_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?13) \
                     ON CONFLICT (account, msg_data_id, article_index, comment_id) DO UPDATE SET \
                     content = excluded.content, elected = excluded.elected, identified = excluded.identified, \
                     reply = excluded.reply, replied_at = excluded.replied_at, \
                     replied_by = CASE WHEN excluded.reply IS NULL THEN NULL ELSE comments.replied_by END, \
                     deleted = 0, last_seen_at = excluded.last_seen_at, item = COALESCE(excluded.item, comments.item)",
                    args![
                        article.account,
                        msg_data_id,
                        article.index,
                        c.comment_id,
                        article.msgid,
                        article.item,
                        c.created_at,
                        c.content,
                        c.elected,
                        c.identified,
                        c.reply,
                        c.replied_at,
                        now
                    ],
                )?;
            }
            for (comment_id, _, _, deleted, _, _) in &known {
                if *deleted == 0 && !comments.iter().any(|c| &c.comment_id == comment_id) {
                    stored.deleted += 1;
                    engine.execute(
                        "UPDATE comments SET deleted = 1 WHERE account = ?1 AND msg_data_id = ?2 \
                         AND article_index = ?3 AND comment_id = ?4",
                        args![article.account, msg_data_id, article.index, comment_id],
                    )?;
                }
            }
            Ok(stored)
        })
    }

    /// The comments `filter` selects: unanswered first, then oldest first.
    pub fn comments(&self, filter: &CommentFilter) -> Result<Vec<StoredComment>, StoreError> {
        let item_folder = filter.item.as_deref().map(|i| format!("%/{}", i.trim_end_matches('/')));
        let rows = self.rows(
            &format!(
                "SELECT {COLUMNS} FROM comments c WHERE (?1 IS NULL OR c.account = ?1) \
                 AND (?2 IS NULL OR c.item = ?2 OR c.item LIKE ?3 OR c.msgid = ?2) \
                 AND (?4 IS NULL OR c.created_at >= ?4) AND (?5 IS NULL OR c.elected = ?5) \
                 AND (?6 = 0 OR c.reply IS NULL) AND (?7 = 1 OR c.deleted = 0) \
                 ORDER BY CASE WHEN c.reply IS NULL THEN 0 ELSE 1 END, c.created_at, c.id"
            ),
            args![
                filter.account.as_deref(),
                filter.item.as_deref(),
                item_folder.as_deref(),
                filter.since.as_deref(),
                filter.elected.map(i64::from),
                filter.unanswered_only,
                filter.include_deleted
            ],
        )?;
        rows.iter().map(|r| stored(r, self.describe())).collect()
    }

    /// The comment numbered `id`.
    pub fn comment(&self, id: i64) -> Result<Option<StoredComment>, StoreError> {
        let row = self.row(&format!("SELECT {COLUMNS} FROM comments c WHERE c.id = ?1"), args![id])?;
        row.map(|r| stored(&r, self.describe())).transpose()
    }

    /// Records a reply sent from wxpub (or found on the server after a lost answer).
    pub fn record_reply(&self, id: i64, reply: &str, at: &str, by: &str) -> Result<(), StoreError> {
        self.write(|engine| {
            engine.execute(
                "UPDATE comments SET reply = ?2, replied_at = ?3, replied_by = ?4 WHERE id = ?1",
                args![id, reply, at, by],
            )
        })
        .map(drop)
    }

    /// Records a comment elected (or not), or deleted.
    pub fn record_comment_state(&self, id: i64, elected: Option<bool>, deleted: bool) -> Result<(), StoreError> {
        self.write(|engine| {
            engine.execute(
                "UPDATE comments SET elected = COALESCE(?2, elected), deleted = CASE WHEN ?3 = 1 THEN 1 ELSE deleted END \
                 WHERE id = ?1",
                args![id, elected.map(i64::from), deleted],
            )
        })
        .map(drop)
    }

    /// The published articles with a statistics key (so a msg_data_id), for the comment API.
    pub fn commented_articles(&self, account: Option<&str>) -> Result<Vec<CommentedArticle>, StoreError> {
        let rows = self.rows(
            "SELECT account, item, title, msgid, MIN(slot) FROM publications WHERE msgid IS NOT NULL \
             AND (?1 IS NULL OR account = ?1) GROUP BY account, msgid, item, title ORDER BY MIN(slot), account, msgid",
            args![account],
        )?;
        let mut articles: Vec<CommentedArticle> = Vec::new();
        for row in rows {
            let msgid = row.text(3)?;
            let Some((id, position)) = msgid.split_once('_') else { continue };
            let (Ok(msg_data_id), Ok(position)) = (id.parse::<u64>(), position.parse::<u32>()) else { continue };
            let account = row.text(0)?;
            if articles.iter().any(|a| a.account == account && a.msgid == msgid) || position == 0 {
                continue;
            }
            let item = row.opt_text(1)?.filter(|i| !i.starts_with("imported/"));
            articles.push(CommentedArticle {
                account,
                msg_data_id,
                index: position - 1,
                msgid,
                item,
                title: row.text(2)?,
            });
        }
        Ok(articles)
    }
}
