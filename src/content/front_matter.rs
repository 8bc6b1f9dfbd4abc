//! Front matter: the YAML header of an item, with positions for every error.
use serde::{Deserialize, Serialize};

use super::Kind;
use crate::diagnostics::{line_col, parse_yaml};

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

impl Video {
    /// Duration in seconds, or None when `duration` is not `mm:ss` / `h:mm:ss`.
    pub fn seconds(&self) -> Option<u32> {
        let parts: Vec<u32> = self.duration.split(':').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
        match parts.as_slice() {
            [m, s] if *s < 60 => Some(m * 60 + s),
            [h, m, s] if *m < 60 && *s < 60 => Some(h * 3600 + m * 60 + s),
            _ => None,
        }
    }
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
    /// ≤ 128 characters; shown only for single-article pushes.
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
}

#[derive(Debug)]
pub struct FrontMatterError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Splits `---\nYAML\n---\n` from the body and parses it. Returns the front matter and the byte
/// offset where the body starts. Lines and columns in errors are those of the whole file.
pub fn parse(source: &str, kind: Kind) -> Result<(FrontMatter, usize), FrontMatterError> {
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
    let mut yaml_end = None;
    for line in after_open.split_inclusive('\n') {
        if line.trim_end() == "---" {
            yaml_end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_len, closing_end)) = yaml_end else {
        return Err(at(1, "front matter is not closed: add a `---` line after the YAML".into()));
    };
    let yaml = &after_open[..yaml_len];
    let first_line = line_col(source, yaml_start).0;

    let meta: FrontMatter = parse_yaml(yaml).map_err(|e| FrontMatterError {
        line: first_line + e.line - 1,
        column: e.column,
        message: e.message,
    })?;
    validate_for_kind(&meta, kind).map_err(|m| at(first_line, m))?;
    Ok((meta, yaml_start + closing_end))
}

fn validate_for_kind(meta: &FrontMatter, kind: Kind) -> Result<(), String> {
    if meta.title.trim().is_empty() {
        return Err("`title` is empty".into());
    }
    match kind {
        Kind::Poster if meta.image.is_none() => {
            return Err("a poster needs `image: FILE` (the poster image beside index.md)".into());
        }
        Kind::Topic if meta.gather.is_none() => {
            return Err("a topic needs `gather:` with `paths:` (e.g. articles/2024-05-18-bronze) and/or `tags:`".into());
        }
        Kind::Article | Kind::Topic if meta.image.is_some() => {
            return Err(
                "`image` is only for posters; in an article, put images in the body with ![caption](file.jpg)".into()
            );
        }
        Kind::Article | Kind::Poster if meta.gather.is_some() => return Err("`gather` is only for topic pages".into()),
        _ => {}
    }
    for (i, video) in meta.videos.iter().enumerate() {
        if video.seconds().is_none() {
            return Err(format!("`videos[{i}].duration`: `{}` is not mm:ss or h:mm:ss", video.duration));
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
    fn video_durations() {
        let v = |d: &str| Video { title: "t".into(), duration: d.into(), kind: VideoKind::Video };
        assert_eq!(v("3:20").seconds(), Some(200));
        assert_eq!(v("1:00:05").seconds(), Some(3605));
        assert_eq!(v("3:75").seconds(), None);
    }
}
