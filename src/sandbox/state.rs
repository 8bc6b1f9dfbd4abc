//! The sandbox's model of one Official Account: tokens, material, drafts, publications, mass
//! sends; the rules the real service enforces; persistence in SQLite.
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::datacube::{self, PublishedArticle};
use crate::wechat::types::*;

/// An API refusal: errcode and errmsg, as WeChat answers them.
pub type Refusal = (i64, String);

pub fn refuse(code: i64, message: impl Into<String>) -> Refusal {
    (code, message.into())
}

/// Limits of the contract (docs/wechat-contract.md).
pub use crate::wechat::limits::{
    AUTHOR_MAX_CHARS, DIGEST_MAX_CHARS, SOURCE_URL_MAX_BYTES, THUMB_MAX_BYTES, TITLE_MAX_CHARS, UPLOADIMG_MAX_BYTES,
    VIDEO_MAX_BYTES, VOICE_MAX_BYTES,
};
/// After a new token is issued through /cgi-bin/token, older ones keep working this long.
pub const TOKEN_GRACE_SECS: i64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub value: String,
    pub expires_at: i64,
    pub stable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Material {
    pub media_id: String,
    pub kind: MaterialType,
    pub name: String,
    pub update_time: i64,
    pub url: Option<String>,
    pub bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    pub media_id: String,
    pub articles: Vec<Article>,
    pub update_time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Publication {
    pub publish_id: String,
    pub msg_data_id: u64,
    pub draft_media_id: String,
    pub articles: Vec<Article>,
    pub submitted_ms: i64,
    /// When publishing finishes (submission + the sandbox's publish delay).
    pub ready_ms: i64,
    pub date: NaiveDate,
    pub article_id: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreviewSent {
    pub msg_id: u64,
    /// `towxname` or `touser`, as given.
    pub to: String,
    pub draft_media_id: String,
    pub titles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassSend {
    pub msg_id: u64,
    pub msg_data_id: u64,
    pub draft_media_id: String,
    pub articles: Vec<Article>,
    pub date: NaiveDate,
    /// The client's identity of the send, and when it was made (ms): a repeat within 24 hours
    /// is refused with 45065 and this send's msg_id.
    #[serde(default)]
    pub clientmsgid: Option<String>,
    #[serde(default)]
    pub sent_ms: i64,
    /// Under send protection: when the administrator answers (ms), and whether they confirm.
    /// None: the send went out at once.
    #[serde(default)]
    pub protection: Option<(i64, bool)>,
}

/// The article rules the sandbox enforces: the contract's, or a deliberately different one (to
/// test that `wxpub doctor --probe` notices when WeChat changes a rule).
#[derive(Debug, Clone)]
pub struct ArticleRules {
    pub digest_max_chars: usize,
    /// Count the HTML source, not the visible text, against the 20,000 (the pre-2026 belief).
    pub content_counts_html: bool,
}

impl Default for ArticleRules {
    fn default() -> Self {
        ArticleRules { digest_max_chars: DIGEST_MAX_CHARS, content_counts_html: false }
    }
}

/// Everything the sandbox remembers; serialised whole into the state database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountState {
    pub next_id: u64,
    pub tokens: Vec<TokenRecord>,
    /// URLs handed out by uploadimg: the only image URLs drafts may keep.
    pub uploaded_urls: Vec<String>,
    pub materials: Vec<Material>,
    pub drafts: Vec<Draft>,
    pub publications: Vec<Publication>,
    pub mass_sends: Vec<MassSend>,
    /// Previews sent to reviewers' phones (`message/mass/preview`).
    #[serde(default)]
    pub previews: Vec<PreviewSent>,
    /// Calls answered, by endpoint path (faults excluded).
    pub calls: BTreeMap<String, u64>,
    /// Faults injected so far (random or scripted).
    #[serde(default)]
    pub faults_served: u64,
    /// Calls to quota'd endpoints by Beijing day (`YYYY-MM-DD`) and path: the daily quotas.
    #[serde(default)]
    pub quota_used: BTreeMap<String, BTreeMap<String, u64>>,
    /// What the sandbox changed or refused quietly, as WeChat does (filtered images, scripts).
    pub log: Vec<String>,
    /// Readers' comments: seeded on each published article the first time its comments are
    /// listed, and added by tests (`/__sandbox/comments`).
    #[serde(default)]
    pub comments: Vec<ReaderComment>,
    /// Articles (msg_data_id, index) whose comments were seeded already.
    #[serde(default)]
    pub comments_seeded: Vec<(u64, u32)>,
    /// Articles (msg_data_id, index) whose comments are closed.
    #[serde(default)]
    pub comments_closed: Vec<(u64, u32)>,
}

/// A reader's comment on one article of a publication.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReaderComment {
    pub msg_data_id: u64,
    pub index: u32,
    pub user_comment_id: u64,
    pub create_time: i64,
    pub content: String,
    pub openid: Option<String>,
    pub elected: bool,
    /// Deleted (by the account, or by its author): listed no more.
    pub deleted: bool,
    pub reply: Option<CommentReply>,
}

impl AccountState {
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:012}", self.next_id)
    }

    // ---- tokens ----

    pub fn issue_token(&mut self, value: String, now: i64, ttl: i64, stable: bool) -> TokenRecord {
        // A new token supersedes the older ones of the same kind after a grace period.
        for token in self.tokens.iter_mut().filter(|t| t.stable == stable) {
            token.expires_at = token.expires_at.min(now + TOKEN_GRACE_SECS);
        }
        self.tokens.retain(|t| t.expires_at > now);
        let record = TokenRecord { value, expires_at: now + ttl, stable };
        self.tokens.push(record.clone());
        record
    }

    pub fn current_stable_token(&self, now: i64) -> Option<&TokenRecord> {
        self.tokens.iter().rev().find(|t| t.stable && t.expires_at > now)
    }

    /// 41001 missing, 40001 unknown (or superseded), 42001 expired.
    pub fn check_token(&self, token: Option<&str>, now: i64) -> Result<(), Refusal> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(refuse(41001, "access_token missing"));
        };
        match self.tokens.iter().find(|t| t.value == token) {
            None => Err(refuse(40001, "invalid credential, access_token is invalid or not latest")),
            Some(t) if t.expires_at <= now => Err(refuse(42001, "access_token expired")),
            Some(_) => Ok(()),
        }
    }

    // ---- material ----

    pub fn material(&self, media_id: &str) -> Option<&Material> {
        self.materials.iter().find(|m| m.media_id == media_id)
    }

    // ---- drafts ----

    /// Validates and cleans draft articles the way the draft API does (under `rules`).
    /// `linked`: AppIDs of the mini programs linked to the account (other cards are removed).
    pub fn accept_articles(
        &mut self,
        articles: Vec<Article>,
        rules: &ArticleRules,
        linked: &[String],
    ) -> Result<Vec<Article>, Refusal> {
        articles.into_iter().map(|a| self.accept_article(a, rules, linked)).collect()
    }

    fn accept_article(
        &mut self,
        mut article: Article,
        rules: &ArticleRules,
        linked: &[String],
    ) -> Result<Article, Refusal> {
        if article.title.trim().is_empty() {
            return Err(refuse(44004, "empty title"));
        }
        if article.title.chars().count() > TITLE_MAX_CHARS {
            return Err(refuse(45003, "title size out of limit"));
        }
        if article.author.as_deref().is_some_and(|a| a.chars().count() > AUTHOR_MAX_CHARS) {
            return Err(refuse(45110, "author size out of limit"));
        }
        if article.digest.as_deref().is_some_and(|d| d.chars().count() > rules.digest_max_chars) {
            return Err(refuse(45004, "description size out of limit"));
        }
        if article.content.trim().is_empty() {
            return Err(refuse(44003, "empty news data"));
        }
        // (2026) WeChat counts the visible text against 20,000, and the bytes against 1 MB.
        let size = crate::wechat::limits::ContentSize::of(&article.content);
        let counted = if rules.content_counts_html { size.html_chars } else { size.text_chars };
        if counted >= crate::wechat::limits::CONTENT_MAX_TEXT_CHARS || !size.fits() {
            return Err(refuse(45002, "content size out of limit"));
        }
        if article.content_source_url.as_deref().is_some_and(|u| u.len() > SOURCE_URL_MAX_BYTES) {
            return Err(refuse(47001, "data format error: content_source_url longer than 1 KB"));
        }
        let is_image_material = |id: &str| self.material(id).is_some_and(|m| m.kind == MaterialType::Image);
        match article.article_type.as_deref().unwrap_or("news") {
            "news" => match article.thumb_media_id.as_deref() {
                Some(id) if is_image_material(id) => {}
                _ => return Err(refuse(40007, "invalid media_id: thumb_media_id must be a permanent image material")),
            },
            "newspic" => {
                let images = article.image_info.as_ref().map(|i| i.image_list.as_slice()).unwrap_or_default();
                if images.is_empty() || !images.iter().all(|i| is_image_material(&i.image_media_id)) {
                    return Err(refuse(40007, "invalid media_id in image_info"));
                }
                // *(2026)* 1–20 photos and short plain text, or 45166.
                if images.len() > crate::wechat::limits::NEWSPIC_MAX_IMAGES
                    || crate::util::html::has_markup(&article.content)
                    || article.content.chars().count() > crate::wechat::limits::NEWSPIC_MAX_TEXT_CHARS
                {
                    return Err(refuse(45166, "invalid content"));
                }
            }
            other => return Err(refuse(47001, format!("data format error: unknown article_type {other}"))),
        }
        for crop in [&article.pic_crop_235_1, &article.pic_crop_1_1].into_iter().flatten() {
            if !valid_crop(crop) {
                return Err(refuse(47001, format!("data format error: crop `{crop}` is not X1_Y1_X2_Y2 in 0..1")));
            }
        }
        let (content, mut notes) = clean_content(&article.content, &self.uploaded_urls);
        let content = keep_linked_miniprogram_cards(&content, linked, &self.uploaded_urls, &mut notes);
        self.log.extend(notes);
        article.content = content;
        article.url = None;
        Ok(article)
    }

    pub fn draft_index(&self, media_id: &str) -> Result<usize, Refusal> {
        self.drafts.iter().position(|d| d.media_id == media_id).ok_or_else(|| refuse(40007, "invalid media_id"))
    }

    // ---- statistics ----

    /// Every article that went out (published or mass-sent), for the datacube figures.
    pub fn published_articles(&self) -> Vec<PublishedArticle> {
        let published = self.publications.iter().map(|p| (p.msg_data_id, &p.articles, p.date, false));
        let sent = self.mass_sends.iter().map(|m| (m.msg_data_id, &m.articles, m.date, true));
        published
            .chain(sent)
            .flat_map(|(msg_data_id, articles, date, mass_sent)| {
                articles.iter().enumerate().map(move |(index, a)| PublishedArticle {
                    msg_data_id,
                    index: index as u32,
                    title: a.title.clone(),
                    date,
                    mass_sent,
                })
            })
            .collect()
    }

    /// Mass sends allowed: subscription accounts once a day, service accounts four a month.
    pub fn mass_send_allowed(&self, service: bool, today: NaiveDate) -> bool {
        if service {
            let this_month =
                self.mass_sends.iter().filter(|m| m.date.year() == today.year() && m.date.month() == today.month());
            this_month.count() < 4
        } else {
            !self.mass_sends.iter().any(|m| m.date == today)
        }
    }
}

fn valid_crop(crop: &str) -> bool {
    let parts: Vec<f64> = crop.split('_').filter_map(|p| p.parse().ok()).collect();
    parts.len() == 4 && parts.iter().all(|v| (0.0..=1.0).contains(v)) && parts[0] < parts[2] && parts[1] < parts[3]
}

/// What the draft API does to content: scripts removed, images not from uploadimg filtered out.
pub fn clean_content(content: &str, uploaded: &[String]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = find_ci(rest, "<script") {
        out.push_str(&rest[..start]);
        notes.push("removed a <script> from draft content".to_string());
        rest = match find_ci(&rest[start..], "</script>") {
            Some(end) => &rest[start + end + "</script>".len()..],
            None => "",
        };
    }
    out.push_str(rest);

    // What the draft API cannot carry (only the web backend can insert it): videos, Channels
    // (视频号) cards, audio and polls — removed with their content.
    // SVG the editor does not keep: foreignObject and <use> (with their content).
    for element in [
        "mp-common-videosnap",
        "mpvideosnap",
        "mpvideo",
        "mp-common-mpaudio",
        "mpvoice",
        "mpvote",
        "foreignobject",
        "use",
    ] {
        let mut kept = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(start) = find_ci(rest, &format!("<{element}")) {
            kept.push_str(&rest[..start]);
            notes.push(if matches!(element, "foreignobject" | "use") {
                format!("removed an SVG <{element}> from draft content")
            } else {
                format!("removed a <{element}> from draft content: the API cannot insert it (the web backend can)")
            });
            let closing = format!("</{element}>");
            let tag_end = rest[start..].find('>').map(|e| start + e + 1);
            let self_closing = tag_end.is_some_and(|end| rest[..end].ends_with("/>"));
            rest = match find_ci(&rest[start..], &closing) {
                Some(end) if !self_closing => &rest[start + end + closing.len()..],
                _ => tag_end.map_or("", |end| &rest[end..]),
            };
        }
        kept.push_str(rest);
        out = kept;
    }

    // Images, in HTML (`<img src>`) and SVG (`<image href>`), only from uploads.
    let mut cleaned = String::with_capacity(out.len());
    let mut rest = out.as_str();
    loop {
        let next = [("<img", "src"), ("<image", "href")]
            .into_iter()
            .filter_map(|(tag, attr)| find_ci(rest, tag).map(|at| (at, tag, attr)))
            .filter(|(at, tag, _)| {
                // `<img` also starts `<image`: take each at its own name.
                let after = rest[at + tag.len()..].chars().next().unwrap_or(' ');
                !after.is_ascii_alphanumeric()
            })
            .min_by_key(|(at, _, _)| *at);
        let Some((start, tag_name, attr)) = next else { break };
        cleaned.push_str(&rest[..start]);
        let end = rest[start..].find('>').map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..end];
        let src = attribute(tag, attr).unwrap_or_default();
        if uploaded.contains(&src) {
            cleaned.push_str(tag);
        } else {
            notes.push(format!("filtered out an image not uploaded through uploadimg: {src}"));
            if tag_name == "<image" && find_ci(&rest[end..], "</image>") == Some(0) {
                rest = &rest[end + "</image>".len()..];
                continue;
            }
        }
        rest = &rest[end..];
    }
    cleaned.push_str(rest);
    (cleaned, notes)
}

/// Mini-program cards survive only for mini programs linked to the account, with a picture
/// uploaded through uploadimg; WeChat drops the others (and says nothing).
pub fn keep_linked_miniprogram_cards(
    content: &str,
    linked: &[String],
    uploaded: &[String],
    notes: &mut Vec<String>,
) -> String {
    const OPEN: &str = "<mp-miniprogram";
    const CLOSE: &str = "</mp-miniprogram>";
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = find_ci(rest, OPEN) {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('>').map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..end];
        let after = if find_ci(&rest[end..], CLOSE) == Some(0) { end + CLOSE.len() } else { end };
        let appid = attribute(tag, "data-miniprogram-appid").unwrap_or_default();
        let image = attribute(tag, "data-miniprogram-imageurl").unwrap_or_default();
        if !linked.contains(&appid) {
            notes.push(format!("removed a mini-program card: {appid} is not linked to the account"));
        } else if !uploaded.contains(&image) {
            notes
                .push(format!("removed a mini-program card whose picture was not uploaded through uploadimg: {image}"));
        } else {
            out.push_str(&rest[start..after]);
        }
        rest = &rest[after..];
    }
    out.push_str(rest);
    out
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let (quote, body) = match value.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &value[1..]),
        _ => (None, value),
    };
    let end = match quote {
        Some(q) => body.find(q)?,
        None => body.find(|c: char| c.is_whitespace() || c == '>').unwrap_or(body.len()),
    };
    Some(body[..end].replace("&amp;", "&"))
}

/// The file type by magic bytes, as the upload endpoints check it.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else if bytes.starts_with(b"BM") {
        Some("bmp")
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" {
        Some("mp4")
    } else if bytes.starts_with(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        Some("mp3")
    } else if bytes.starts_with(b"#!AMR") {
        Some("amr")
    } else if bytes.starts_with(b"RIFF") && bytes.len() > 12 && &bytes[8..12] == b"WAVE" {
        Some("wav")
    } else {
        None
    }
}

/// The sandbox's storage: one SQLite file (or memory) holding the state and uploaded files.
pub struct Store {
    db: rusqlite::Connection,
}

impl Store {
    pub fn open(path: Option<&Path>) -> rusqlite::Result<Store> {
        let db = match path {
            Some(path) => rusqlite::Connection::open(path)?,
            None => rusqlite::Connection::open_in_memory()?,
        };
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, content_type TEXT NOT NULL, bytes BLOB NOT NULL);",
        )?;
        Ok(Store { db })
    }

    pub fn load(&self) -> rusqlite::Result<AccountState> {
        let json: Option<String> =
            self.db.query_row("SELECT json FROM state WHERE id = 1", [], |row| row.get(0)).map(Some).or_else(|e| {
                match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                }
            })?;
        // A saved state that no longer parses is refused, not replaced by an empty one: the
        // sandbox would forget every draft and material it was given.
        match json {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))),
            None => Ok(AccountState::default()),
        }
    }

    pub fn save(&self, state: &AccountState) -> rusqlite::Result<()> {
        let json = serde_json::to_string(state).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        self.db
            .execute("INSERT INTO state (id, json) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET json = ?1", [json])?;
        Ok(())
    }

    pub fn put_file(&self, name: &str, content_type: &str, bytes: &[u8]) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT OR REPLACE INTO files (name, content_type, bytes) VALUES (?1, ?2, ?3)",
            rusqlite::params![name, content_type, bytes],
        )?;
        Ok(())
    }

    pub fn file(&self, name: &str) -> Option<(String, Vec<u8>)> {
        self.db
            .query_row("SELECT content_type, bytes FROM files WHERE name = ?1", [name], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .ok()
    }
}

/// Statistics answers for one datacube call, already validated.
pub fn datacube_rows(
    endpoint: Datacube,
    begin: NaiveDate,
    end: NaiveDate,
    yesterday: NaiveDate,
    articles: &[PublishedArticle],
) -> serde_json::Value {
    let mut rows = Vec::new();
    let mut day = begin;
    while day <= end {
        let value = match endpoint {
            Datacube::GetUserSummary => serde_json::to_value(datacube::user_summary(day, articles)),
            Datacube::GetUserCumulate => serde_json::to_value(vec![UserCumulateRow {
                ref_date: day.format("%Y-%m-%d").to_string(),
                cumulate_user: datacube::cumulate(day, articles),
            }]),
            Datacube::GetArticleSummary => serde_json::to_value(datacube::article_summary(day, articles)),
            Datacube::GetArticleTotal => serde_json::to_value(datacube::article_total(day, yesterday, articles)),
            Datacube::GetUserRead => serde_json::to_value(datacube::user_read(day, articles)),
            Datacube::GetUserReadHour => serde_json::to_value(datacube::user_read_hour(day, articles)),
            Datacube::GetUserShare => serde_json::to_value(datacube::user_share(day, articles)),
            Datacube::GetUserShareHour => serde_json::to_value(datacube::user_share_hour(day, articles)),
            Datacube::GetArticleRead => serde_json::to_value(datacube::article_read(day, yesterday, articles)),
            Datacube::GetArticleShare => serde_json::to_value(datacube::article_share(day, yesterday, articles)),
            Datacube::GetBizSummary => serde_json::to_value(datacube::biz_summary(day, yesterday, articles)),
            Datacube::GetArticleTotalDetail => {
                serde_json::to_value(datacube::article_total_detail(day, yesterday, articles))
            }
        };
        if let Ok(serde_json::Value::Array(items)) = value {
            rows.extend(items);
        }
        day = day.succ_opt().expect("date in range");
    }
    if !endpoint.reports_delay() {
        return serde_json::json!({ "list": rows });
    }
    // Yesterday's figures are not final yet; an article's 30-day figures are not while they
    // reach yesterday.
    let is_delay = match endpoint {
        Datacube::GetArticleTotalDetail => {
            end + chrono::Days::new(29) >= yesterday && end >= datacube::statistics_epoch()
        }
        _ => end == yesterday && end >= datacube::statistics_epoch(),
    };
    serde_json::json!({ "list": rows, "is_delay": is_delay })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state file that no longer parses is an error, not a sandbox that silently forgot
    /// everything it was given.
    #[test]
    fn saved_state_comes_back_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.db");
        let store = Store::open(Some(&path)).unwrap();
        let mut state = AccountState::default();
        state.calls.insert("/cgi-bin/draft/count".into(), 3);
        store.save(&state).unwrap();
        let reopened = Store::open(Some(&path)).unwrap();
        assert_eq!(reopened.load().unwrap().calls, state.calls);
        reopened.db.execute("UPDATE state SET json = '{\"calls\": 7' WHERE id = 1", []).unwrap();
        let error = reopened.load().expect_err("a damaged state is refused").to_string();
        assert!(error.contains("expected a map at line 1"), "{error}");
    }

    #[test]
    fn content_cleaning_keeps_only_uploaded_images_and_drops_scripts() {
        let uploaded = vec!["http://127.0.0.1:1/mmbiz/a.jpg".to_string()];
        let html = r#"<p>x</p><img src="http://127.0.0.1:1/mmbiz/a.jpg"><img src="https://evil.example/b.png"><SCRIPT>bad()</script>y"#;
        let (clean, notes) = clean_content(html, &uploaded);
        assert_eq!(clean, r#"<p>x</p><img src="http://127.0.0.1:1/mmbiz/a.jpg">y"#);
        assert_eq!(notes.len(), 2);
    }

    /// *(2026)* An image post is 1–20 photos of permanent material and short plain text.
    #[test]
    fn image_posts_take_plain_text_and_at_most_twenty_photos() {
        let mut state = AccountState::default();
        let ids: Vec<String> = (0..21)
            .map(|i| {
                let media_id = format!("m{i}");
                state.materials.push(Material {
                    media_id: media_id.clone(),
                    kind: MaterialType::Image,
                    name: format!("{i}.jpg"),
                    update_time: 0,
                    url: None,
                    bytes: 1,
                });
                media_id
            })
            .collect();
        let post = |photos: usize, content: &str| Article {
            title: "贴图".into(),
            content: content.into(),
            article_type: Some("newspic".into()),
            image_info: Some(crate::wechat::types::ImageInfo {
                image_list: ids[..photos]
                    .iter()
                    .map(|id| crate::wechat::types::ImageListItem { image_media_id: id.clone() })
                    .collect(),
            }),
            ..Article::default()
        };
        let rules = ArticleRules::default();
        let code = |state: &mut AccountState, article: Article| {
            state.accept_articles(vec![article], &rules, &[]).err().map(|(code, _)| code)
        };
        assert_eq!(code(&mut state, post(9, "雪后的庭院 <3")), None, "a `<` that starts no tag is text");
        assert_eq!(code(&mut state, post(20, "二十张")), None);
        assert_eq!(code(&mut state, post(21, "二十一张")), Some(45166));
        assert_eq!(code(&mut state, post(3, "<p>段落</p>")), Some(45166));
        assert_eq!(code(&mut state, post(3, &"字".repeat(1_001))), Some(45166));
        assert_eq!(code(&mut state, post(0, "没有照片")), Some(40007));
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("jpg"));
        assert_eq!(sniff(b"GIF89a...."), Some("gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), None);
    }

    #[test]
    fn crops() {
        assert!(valid_crop("0_0.1_1_0.525"));
        assert!(!valid_crop("0_0_1"));
        assert!(!valid_crop("0.5_0_0.2_1"));
    }
}
