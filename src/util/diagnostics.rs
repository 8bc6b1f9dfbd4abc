//! Diagnostics shared by every stage: a finding tied to a source position, with a fix hint.
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Declares every lint rule once: its id (used in output, `[check] severity` and suppressions),
/// its default severity and what it checks. `--list-rules`, the settings and the rules
/// themselves all read this one list, so they cannot disagree.
macro_rules! rules {
    ($($variant:ident = $id:literal, $severity:ident, $doc:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            /// Every rule, in the order `--list-rules` prints them.
            pub const ALL: &[Rule] = &[$(Rule::$variant,)*];

            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }

            pub fn default_severity(self) -> Severity {
                match self {
                    $(Rule::$variant => Severity::$severity,)*
                }
            }

            pub fn doc(self) -> &'static str {
                match self {
                    $(Rule::$variant => $doc,)*
                }
            }
        }
    };
}

rules! {
    Encoding = "encoding", Error, "index.md must be UTF-8 (a GBK / GB18030 file is named, with how to convert it)";
    FrontMatter = "front-matter", Error, "front matter must be valid YAML with known keys (typos get a suggestion)";
    RequiredField = "required-field", Error, "articles and topic pages need a `cover`";
    UnknownAccount = "unknown-account", Error, "`account` must be a key of [accounts] in publish.toml";
    PublishTime = "publish-time", Error, "`publish_at` must be `YYYY-MM-DD HH:MM` in the site time zone";
    PublishTimePast = "publish-time-past", Warning, "`publish_at` of an unpublished item passed in the last 72 hours (it goes out at the next run)";
    PublishTimeOld = "publish-time-old", Info, "`publish_at` of an item publish.lock does not record passed more than 72 hours ago";
    DraftConflict = "draft-conflict", Warning, "the item's draft was edited in the web backend and the source changed too: `publish` holds it until `--keep-server` or `--overwrite-server` decides";
    VideoPlaceholder = "video-placeholder", Warning, "an unpublished item due within 24 hours (or past due) still has a `video` block: its video is to be inserted in the web backend (草稿箱)";
    TitleLength = "title-length", Error, "title at most 32 characters (WeChat limit)";
    AuthorLength = "author-length", Error, "author at most 16 characters (WeChat limit)";
    DigestLength = "digest-length", Error, "digest at most 120 characters (WeChat limit since 2026)";
    SourceUrlLength = "source-url-length", Error, "`source_url` at most 1 KB (WeChat limit)";
    ContentLength = "content-length", Error, "content as sent under 20,000 visible characters and 1 MB of HTML, image URLs included (WeChat limit)";
    ContentHtmlLength = "content-html-length", Info, "the HTML is 20,000 characters or more: fine, WeChat counts the visible text";
    PushSize = "push-size", Error, "at most 8 articles in one push (same account and publish_at)";
    DuplicateTitle = "duplicate-title", Warning, "two items share a title";
    CoverSize = "cover-size", Warning, "cover large enough for both crops (2.35:1 at least 900×383, 1:1 at least 300×300)";
    ImageMissing = "image-missing", Error, "a referenced image file does not exist";
    ImagePath = "image-path", Error, "image paths must stay inside the item's folder and not be outside URLs";
    ImageFormat = "image-format", Error, "images must be JPEG, PNG, GIF, WebP or BMP with a readable header";
    ImageLimit = "image-limit", Error, "an image that cannot fit WeChat's limits (too many megapixels, animated GIF over 10 MB)";
    ImageSmall = "image-small", Warning, "a body image under 400 px wide looks blurry on phones";
    ImageAlt = "image-alt", Warning, "an image without alt text has no caption and no text for screen readers";
    LinkOutside = "link-outside", Info, "an outside link becomes a numbered reference at the end (WeChat refuses outside links)";
    LinkInternal = "link-internal", Error, "a relative link must point at an existing item (articles/FOLDER, posters/FOLDER, topics/FOLDER)";
    LinkOrder = "link-order", Warning, "a link to an item that cannot be published first (same push, not scheduled, or scheduled later) stays text or delays this item";
    RawHtml = "raw-html", Warning, "raw HTML WeChat strips or rejects (script, iframe, style, form, on… attributes)";
    ListDepth = "list-depth", Warning, "lists nested more than four levels are too narrow on a phone";
    ImagePost = "image-post", Error, "an image post (format: image-post) has 1–20 photos and short plain text: no HTML, tables, code or components";
    MergedLines = "merged-lines", Warning, "lines meant to stay apart (`**主讲：**…` on consecutive lines) join into one paragraph";
    CodeLanguage = "code-language", Warning, "a code block's language is not one either highlighter knows (it would be shown plain)";
    CjkSpacing = "cjk-spacing", Warning, "a space between Chinese and Latin letters or digits (fixable)";
    CjkPunctuation = "cjk-punctuation", Warning, "full-width punctuation in Chinese sentences (fixable)";
    DoubledPunctuation = "doubled-punctuation", Warning, "no doubled punctuation such as ！！ or 。。 (fixable)";
    CjkBrackets = "cjk-brackets", Warning, "full-width brackets around Chinese text (fixable)";
    BannedWord = "banned-word", Warning, "a word from the [check] words list, with its suggested replacement";
    DarkContrast = "dark-contrast", Warning, "text below WCAG AA contrast (4.5:1, large text 3:1) in light mode or after WeChat's dark-mode conversion";
    DarkTransparentImage = "dark-transparent-image", Warning, "a transparent PNG whose visible pixels are mostly dark: it vanishes on the dark-mode background";
    Important = "important", Warning, "`!important` in a theme or raw HTML (WeChat's dark mode and editor ignore or mangle it)";
}

impl Rule {
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|rule| rule.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Rule::from_id(&id).ok_or_else(|| serde::de::Error::custom(format!("no rule `{id}`")))
    }
}

/// One finding: where, which rule, how bad, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}:{}:{}: [{}] {}",
            self.severity,
            self.file.display(),
            self.line,
            self.column,
            self.rule,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Converts a byte offset in `text` into a 1-based (line, column) pair; columns count characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Suggests the closest of `candidates` to `word` when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a message with a suggestion.
pub fn explain_unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let mut text = format!("unknown key `{field}`");
    match did_you_mean(field, expected.iter().copied()) {
        Some(best) => text.push_str(&format!(" — did you mean `{best}`?")),
        None if !expected.is_empty() => text.push_str(&format!(" (allowed: {})", expected.join(", "))),
        None => {}
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chinese_characters_as_one_column() {
        let text = "第一行\n青铜x";
        let offset = text.find('x').unwrap();
        assert_eq!(line_col(text, offset), (2, 3));
    }

    #[test]
    fn unknown_field_gets_a_suggestion() {
        let msg = "unknown field `titel`, expected one of `title`, `author`, `digest`";
        assert_eq!(explain_unknown_field(msg).unwrap(), "unknown key `titel` — did you mean `title`?");
        let far = "unknown field `zzz`, expected `title` or `author`";
        assert!(explain_unknown_field(far).unwrap().contains("allowed: title, author"));
    }
}

/// A YAML error located within the parsed text (1-based line and column).
#[derive(Debug)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses YAML into `T`, naming the key path of a wrong value and suggesting the closest key
/// for an unknown one.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = inner.location().map_or((1, 1), |l| (l.line(), l.column()));
        let raw = inner.to_string();
        let bare = raw.split(" at line ").next().unwrap_or(&raw).to_string();
        let message = explain_unknown_field(&bare).unwrap_or(bare);
        let message = if key.is_empty() || key == "." { message } else { format!("`{key}`: {message}") };
        YamlError { line, column, message }
    })
}
