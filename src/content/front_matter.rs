//! Front matter: the YAML header of an item, with positions for every error.
use serde::{Deserialize, Serialize};

use super::Kind;
use crate::util::diagnostics::{line_col, parse_yaml};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Comments {
    /// Anyone may comment.
    #[default]
    Open,
    /// Only followers may comment.
    Fans,
    Closed,
}

/// How an article or poster goes out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// An article (图文): HTML, a cover.
    #[default]
    Article,
    /// An image post (贴图, `newspic`): 1–20 photos to swipe through, and plain text below them.
    ImagePost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoKind {
    Video,
    Animation,
}

/// A video or animation the item includes; counted in the yearly output figures.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Video {
    pub title: String,
    /// `mm:ss` or `h:mm:ss`.
    pub duration: String,
    pub kind: VideoKind,
}

/// The longest video or animation an item may declare. Longer is a typo (`1193047:00:00`), and
/// the yearly minutes must not be swamped by one.
pub const VIDEO_MAX_SECONDS: u32 = 24 * 3600;

impl Video {
    /// Duration in seconds, or None when `duration` is not `mm:ss` / `h:mm:ss` of at most
    /// [`VIDEO_MAX_SECONDS`].
    pub fn seconds(&self) -> Option<u32> {
        parse_duration(&self.duration)
    }
}

/// A duration written `mm:ss` or `h:mm:ss`, in seconds; None when it is neither, or longer than
/// [`VIDEO_MAX_SECONDS`]. Front matter `videos:` and `video` blocks read durations alike.
pub fn parse_duration(text: &str) -> Option<u32> {
    let parts: Vec<u64> = text.split(':').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
    let seconds = match parts.as_slice() {
        [m, s] if *s < 60 => m.checked_mul(60)?.checked_add(*s)?,
        [h, m, s] if *m < 60 && *s < 60 => h.checked_mul(3600)?.checked_add(m * 60 + s)?,
        _ => return None,
    };
    u32::try_from(seconds).ok().filter(|s| *s <= VIDEO_MAX_SECONDS)
}

/// What a topic page gathers: items by key (`articles/2024-05-18-bronze`) and/or by tag.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gather {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// ≤ 32 characters (WeChat limit).
    pub title: String,
    #[serde(default)]
    pub author: Option<String>,
    /// ≤ 120 characters; shown only for single-article pushes.
    #[serde(default)]
    pub digest: Option<String>,
    /// Cover image file beside index.md.
    #[serde(default)]
    pub cover: Option<String>,
    /// `x,y` in 0..1: the point both cover crops keep in view (default centre).
    #[serde(default)]
    pub cover_focus: Option<String>,
    /// A key of `[accounts]` in publish.toml.
    pub account: String,
    /// Local time in the site's time zone, `YYYY-MM-DD HH:MM`.
    #[serde(default)]
    pub publish_at: Option<String>,
    #[serde(default)]
    pub comments: Comments,
    /// The "read original" link.
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Never published while true.
    #[serde(default)]
    pub draft: bool,
    /// Order within a multi-article push (0 = lead article).
    #[serde(default)]
    pub position: u32,
    /// Images (file names) that are hand-drawn illustrations (插图), for the yearly figures.
    #[serde(default)]
    pub illustrations: Vec<String>,
    #[serde(default)]
    pub videos: Vec<Video>,
    /// Posters only: the poster image.
    #[serde(default)]
    pub image: Option<String>,
    /// Topics only: what the page gathers.
    #[serde(default)]
    pub gather: Option<Gather>,
    /// `article` (default) or `image-post` (贴图: the photos, then plain text).
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug)]
pub struct FrontMatterError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Where an item's front matter lies in its source: the YAML between the `---` lines, and where
/// the body starts (byte offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub yaml: (usize, usize),
    pub body_offset: usize,
}

/// Finds the `---\nYAML\n---\n` block at the start of `source` (after a byte-order mark), as
/// [`parse`] reads it; an error when the file does not open or close one.
pub fn split(source: &str) -> Result<Split, FrontMatterError> {
    let at = |line: usize, message: String| FrontMatterError { line, column: 1, message };
    let text = source.strip_prefix('\u{feff}').unwrap_or(source);
    let bom = source.len() - text.len();
    let Some(after_open) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return Err(at(
            1,
            "missing front matter: the file must start with a `---` line, then YAML (title, account, …), then `---`"
                .into(),
        ));
    };
    let yaml_start = bom + (text.len() - after_open.len());
    let mut offset = 0;
    for line in after_open.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = (yaml_start, yaml_start + offset);
            return Ok(Split { yaml, body_offset: yaml_start + offset + line.len() });
        }
        offset += line.len();
    }
    Err(at(1, "front matter is not closed: add a `---` line after the YAML".into()))
}

/// Splits `---\nYAML\n---\n` from the body and parses it. Returns the front matter and the byte
/// offset where the body starts. Lines and columns in errors are those of the whole file.
pub fn parse(source: &str, kind: Kind) -> Result<(FrontMatter, usize), FrontMatterError> {
    let at = |line: usize, message: String| FrontMatterError { line, column: 1, message };
    let Split { yaml: (yaml_start, yaml_end), body_offset } = split(source)?;
    let yaml = &source[yaml_start..yaml_end];
    let first_line = line_col(source, yaml_start).0;

    let meta: FrontMatter = parse_yaml(yaml).map_err(|e| FrontMatterError {
        line: first_line + e.line - 1,
        column: e.column,
        message: e.message,
    })?;
    validate_for_kind(&meta, kind).map_err(|(key, message)| {
        // The line of the offending key when it is written on a line of its own.
        let key_line = key.and_then(|key| {
            yaml.lines().position(|l| l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':')))
        });
        at(key_line.map_or(first_line, |i| first_line + i), message)
    })?;
    Ok((meta, body_offset))
}

/// Checks what serde cannot: rules between fields and the values of fields. Both `build` and
/// `check` read items through here, so they accept and refuse the same front matter. The error
/// names the key it is about (for its line) and says what to write instead.
fn validate_for_kind(meta: &FrontMatter, kind: Kind) -> Result<(), (Option<&'static str>, String)> {
    if meta.title.trim().is_empty() {
        return Err((Some("title"), "`title` is empty".into()));
    }
    match kind {
        Kind::Poster if meta.image.is_none() => {
            return Err((None, "a poster needs `image: FILE` (the poster image beside index.md)".into()));
        }
        Kind::Topic if meta.gather.is_none() => {
            return Err((
                None,
                "a topic needs `gather:` with `paths:` (e.g. articles/2024-05-18-bronze) and/or `tags:`".into(),
            ));
        }
        Kind::Article | Kind::Topic if meta.image.is_some() => {
            return Err((
                Some("image"),
                "`image` is only for posters; in an article, put images in the body with ![caption](file.jpg)".into(),
            ));
        }
        Kind::Article | Kind::Poster if meta.gather.is_some() => {
            return Err((Some("gather"), "`gather` is only for topic pages".into()));
        }
        Kind::Topic if meta.format == Format::ImagePost => {
            return Err((
                Some("format"),
                "a topic page cannot be an image post (its cards link to items); use `format: image-post` on articles and posters".into(),
            ));
        }
        _ => {}
    }
    for (i, video) in meta.videos.iter().enumerate() {
        if video.seconds().is_none() {
            return Err((
                Some("videos"),
                format!(
                    "`videos[{i}].duration`: `{}` is not mm:ss or h:mm:ss of at most {} hours",
                    video.duration,
                    VIDEO_MAX_SECONDS / 3600
                ),
            ));
        }
    }
    if let Some(focus) = &meta.cover_focus
        && crate::images::crop::parse_focus(focus).is_none()
    {
        return Err((
            Some("cover_focus"),
            format!("cover_focus `{focus}` must be `x,y` with both between 0 and 1 (0.5,0.5 is the centre)"),
        ));
    }
    if let Some(url) = &meta.source_url {
        let web = url::Url::parse(url.trim()).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !web {
            return Err((
                Some("source_url"),
                format!(
                    "source_url `{url}` is not a web address: write a full http:// or https:// URL (阅读原文 opens it)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_body() {
        let src = "---\ntitle: 青铜器\naccount: service\n---\n\n正文\n";
        let (meta, body) = parse(src, Kind::Article).unwrap();
        assert_eq!(meta.title, "青铜器");
        assert_eq!(&src[body..], "\n正文\n");
    }

    #[test]
    fn malformed_yaml_reports_file_line_and_column() {
        let src = "---\ntitle: ok\naccount: service\ntags: [a, b\n---\nbody";
        let err = parse(src, Kind::Article).unwrap_err();
        assert!(err.line >= 4, "line {} {}", err.line, err.message);
    }

    #[test]
    fn unknown_key_is_an_error_with_suggestion_on_its_line() {
        let src = "---\ntitle: ok\naccount: service\nauthr: 李\n---\nbody";
        let err = parse(src, Kind::Article).unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("did you mean `author`"), "{}", err.message);
    }

    #[test]
    fn absurd_durations_foci_and_source_urls_are_refused_at_their_line() {
        let with = |extra: &str| format!("---\ntitle: t\naccount: service\n{extra}\n---\nbody");
        for (extra, line, words) in [
            ("videos:\n  - title: v\n    kind: video\n    duration: \"1193047:00:00\"", 4, "at most 24 hours"),
            ("cover_focus: NaN,inf", 4, "between 0 and 1"),
            ("cover_focus: -5,7", 4, "between 0 and 1"),
            ("cover_focus: 1e308,1e308", 4, "between 0 and 1"),
            ("source_url: javascript:alert(1)", 4, "not a web address"),
            ("source_url: museum.example.cn/page", 4, "not a web address"),
        ] {
            let err = parse(&with(extra), Kind::Article).unwrap_err();
            assert_eq!(err.line, line, "{extra}: {}", err.message);
            assert!(err.message.contains(words), "{extra}: {}", err.message);
        }
        assert!(parse(&with("source_url: https://museum.example.cn/page?id=1"), Kind::Article).is_ok());
        assert!(parse(&with("cover_focus: 0.3, 1"), Kind::Article).is_ok());
    }

    #[test]
    fn video_durations() {
        let v = |d: &str| Video { title: "t".into(), duration: d.into(), kind: VideoKind::Video };
        assert_eq!(v("3:20").seconds(), Some(200));
        assert_eq!(v("1:00:05").seconds(), Some(3605));
        assert_eq!(v("3:75").seconds(), None);
    }
}
