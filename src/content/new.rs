//! NEW: a dated item folder with its front matter filled in — what `wxpub new` and `wxpub mcp`'s
//! `new_item` create.
use std::path::{Path, PathBuf};

use pinyin::ToPinyin;

use super::Kind;
use crate::config::{Config, ConfigError};
use crate::wechat::limits::TITLE_MAX_CHARS;

#[derive(Debug, thiserror::Error)]
pub enum NewItemError {
    #[error(transparent)]
    Account(#[from] ConfigError),
    #[error("publish.toml has no accounts")]
    NoAccount,
    #[error("the title is empty; give one, e.g. \"冬至特展开幕\"")]
    EmptyTitle,
    #[error("{} already exists; choose another title or date", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The item just created.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// `articles/2026-12-21-dong-zhi-te-zhan-kai-mu`.
    pub key: String,
    pub folder: PathBuf,
    pub index: PathBuf,
    /// The image its front matter names, to be put beside index.md (`cover.jpg`, `poster.jpg`).
    pub image: &'static str,
    /// What is wrong but does not stop it (a title over WeChat's limit).
    pub warnings: Vec<String>,
}

/// Where a new item goes, and what its front matter says of account and date.
#[derive(Debug, Clone)]
pub struct ItemPlan {
    pub kind: Kind,
    /// `articles/2026-12-21-dong-zhi-te-zhan-kai-mu`.
    pub key: String,
    /// `content/articles/2026-12-21-dong-zhi-te-zhan-kai-mu` under the project; it does not exist.
    pub folder: PathBuf,
    pub account: String,
    pub date: chrono::NaiveDate,
}

/// Plans `content/<kind>s/<date>-<slug>/` under `project`: the date is `date` (default: today in
/// the site's time zone at `now`); the slug is `slug` or the title's (both made safe by
/// [`slugify`]); the account is `account`, else `service` when there is one, else the first.
/// Refuses a folder that exists.
#[allow(clippy::too_many_arguments)] // each is one of `wxpub new`'s and `import`'s options
pub fn plan(
    project: &Path,
    config: &Config,
    kind: Kind,
    title: &str,
    slug: Option<&str>,
    date: Option<chrono::NaiveDate>,
    account: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ItemPlan, NewItemError> {
    let account = match account {
        Some(a) => config.account(a).map(|_| a.to_string())?,
        None if config.accounts.contains_key("service") => "service".to_string(),
        None => config.accounts.keys().next().cloned().ok_or(NewItemError::NoAccount)?,
    };
    let title = title.trim();
    if title.is_empty() {
        return Err(NewItemError::EmptyTitle);
    }
    let date = date.unwrap_or_else(|| now.with_timezone(&config.timezone()).date_naive());
    let slug = format!("{date}-{}", slugify(slug.unwrap_or(title)));
    let folder = project.join("content").join(kind.folder()).join(&slug);
    if folder.exists() {
        return Err(NewItemError::Exists(folder));
    }
    Ok(ItemPlan { kind, key: format!("{}/{slug}", kind.folder()), folder, account, date })
}

/// Creates `content/<kind>s/<date>-<slug>/index.md` under `project` (see [`plan`]), with
/// publish_at `date` at 08:00. Refuses to overwrite a folder.
pub fn create(
    project: &Path,
    config: &Config,
    kind: Kind,
    title: &str,
    date: Option<chrono::NaiveDate>,
    account: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<NewItem, NewItemError> {
    let ItemPlan { key, folder, account, date, .. } = plan(project, config, kind, title, None, date, account, now)?;
    let title = title.trim();
    let index = folder.join("index.md");
    let write_error = |source| NewItemError::Write { path: folder.clone(), source };
    std::fs::create_dir_all(&folder).map_err(write_error)?;
    crate::util::fs::write_atomic(&index, source_text(kind, title, &account, date).as_bytes()).map_err(write_error)?;
    let length = title.chars().count();
    let warnings = if length > TITLE_MAX_CHARS {
        vec![format!("the title has {length} characters; WeChat allows {TITLE_MAX_CHARS}")]
    } else {
        Vec::new()
    };
    let image = if kind == Kind::Poster { "poster.jpg" } else { "cover.jpg" };
    Ok(NewItem { key, folder, index, image, warnings })
}

/// The new item's `index.md`: the front matter, with the optional keys as comments to fill in,
/// and a line of body text.
fn source_text(kind: Kind, title: &str, account: &str, date: chrono::NaiveDate) -> String {
    // A JSON string is a valid YAML scalar, whatever the title holds.
    let quoted = serde_json::Value::String(title.to_string()).to_string();
    let (image_line, body) = match kind {
        Kind::Poster => ("image: poster.jpg        # the poster image, beside index.md", "海报说明文字。\n"),
        Kind::Topic => (
            "cover: cover.jpg         # at least 900×383; both crops are previewed\ngather:\n  tags: []                # items with these tags are gathered\n  paths: []               # and these, e.g. articles/2026-12-01-bronze",
            "专题导语。\n",
        ),
        Kind::Article => {
            ("cover: cover.jpg         # at least 900×383; both crops are previewed", "正文从这里开始。\n")
        }
    };
    format!(
        "---\ntitle: {quoted}\n# author: 作者\n# digest: 摘要（120 字以内）\n{image_line}\naccount: {account}\npublish_at: {date} 08:00\ntags: []\n---\n\n{body}"
    )
}

/// A folder-name slug from a title: Chinese characters in pinyin, letters and digits kept,
/// everything else a separator; at most 48 characters, cut at a word boundary.
pub fn slugify(title: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut ascii = String::new();
    for (c, py) in title.chars().zip(title.to_pinyin()) {
        if let Some(py) = py {
            if !ascii.is_empty() {
                words.push(std::mem::take(&mut ascii));
            }
            words.push(py.plain().to_string());
        } else if c.is_ascii_alphanumeric() {
            ascii.push(c.to_ascii_lowercase());
        } else if !ascii.is_empty() {
            words.push(std::mem::take(&mut ascii));
        }
    }
    if !ascii.is_empty() {
        words.push(ascii);
    }
    let mut slug = String::new();
    for word in words {
        if slug.len() + word.len() + 1 > 48 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    if slug.is_empty() { "item".to_string() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_pinyin_and_ascii_words() {
        assert_eq!(slugify("冬至特展开幕"), "dong-zhi-te-zhan-kai-mu");
        assert_eq!(slugify("Hello, 博物馆 2027!"), "hello-bo-wu-guan-2027");
        assert_eq!(slugify("！？"), "item");
        assert!(slugify(&"青铜".repeat(40)).len() <= 48);
        // Nothing in a title can lead the folder out of content/.
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
    }

    #[test]
    fn the_new_source_parses_whatever_the_title_holds() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 21).unwrap();
        for kind in Kind::ALL {
            let title = "冬至: \"特展\" #1\n第二行";
            let text = source_text(kind, title, "service", date);
            let item = super::super::parse_item(kind, "s".into(), "s".into(), "s/index.md".into(), text).unwrap();
            assert_eq!(item.meta.title, title);
            assert_eq!(item.meta.publish_at.as_deref(), Some("2026-12-21 08:00"));
        }
    }
}
