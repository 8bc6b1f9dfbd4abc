//! `video` blocks: the places in an item's body where an editor inserts a video in WeChat's web
//! backend (草稿箱), which the API cannot do. The renderer draws each as a placeholder box
//! (`render::components`); the item's videos — and so the yearly figures — include them.
//!
//! ````markdown
//! ```video
//! title: 修复过程
//! duration: 3:20
//! note: 放在第二段之后
//! ```
//! ````
//!
//! Parsed here, where items are loaded, so that everything that counts an item's videos (the
//! manifest, the yearly figures, `check`) reads the same list as the renderer draws.
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::front_matter::{VIDEO_MAX_SECONDS, parse_duration};
use crate::util::diagnostics::{line_col, parse_yaml};

/// The info string (first word) of a video block's fence.
pub const VIDEO_BLOCK_NAME: &str = "video";

/// One `video` block of an item's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoBlock {
    pub title: String,
    /// As written: `mm:ss` or `h:mm:ss`.
    pub duration: String,
    /// `duration` in seconds.
    pub seconds: u32,
    /// Where the video goes, or anything else the editor who inserts it should know.
    pub note: Option<String>,
    /// 1-based line of the block's opening fence in the item's source (`index.md`).
    pub line: usize,
}

/// What is wrong with a block's body: a 1-based line and column within the body, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoBlockError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The YAML of a block. Values are read as text whatever YAML makes of them (`duration: 45`
/// is an integer to YAML, and a title may be a year).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    title: Scalar,
    duration: Scalar,
    #[serde(default)]
    note: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Number(f64),
    Flag(bool),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Flag(b) => b.to_string(),
        }
    }
}

/// Parses the body of a `video` block (the YAML between its fences); `line` is the line of its
/// opening fence in the source, recorded in the result.
pub fn parse_video_block(body: &str, line: usize) -> Result<VideoBlock, VideoBlockError> {
    let fields: Fields =
        parse_yaml(body).map_err(|e| VideoBlockError { line: e.line, column: e.column, message: e.message })?;
    // The line of a key written on a line of its own (1 when it is not).
    let key_line = |key: &str| {
        body.lines()
            .position(|l| l.trim_start().strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':')))
            .map_or(1, |i| i + 1)
    };
    let at = |key: &str, message: String| VideoBlockError { line: key_line(key), column: 1, message };
    let title = fields.title.text().trim().to_string();
    if title.is_empty() {
        return Err(at("title", "`title` is empty: name the video (its title in the web backend)".into()));
    }
    let duration = fields.duration.text().trim().to_string();
    let Some(seconds) = parse_duration(&duration).filter(|s| *s > 0) else {
        return Err(at(
            "duration",
            format!(
                "`duration`: `{duration}` is not mm:ss or h:mm:ss of at most {} hours (write 3:20, 0:45 or 1:02:00)",
                VIDEO_MAX_SECONDS / 3600
            ),
        ));
    };
    let note = fields.note.map(|n| n.text().trim().to_string()).filter(|n| !n.is_empty());
    Ok(VideoBlock { title, duration, seconds, note, line })
}

/// Every well-formed `video` block of the body that starts at byte `body_offset` of `source`,
/// in order. A malformed block is left out: the renderer reports it at its line.
pub fn video_blocks(source: &str, body_offset: usize) -> Vec<VideoBlock> {
    let body = &source[body_offset..];
    // Most bodies have no video block: one fast scan instead of parsing the Markdown.
    if memchr::memmem::find(body.as_bytes(), VIDEO_BLOCK_NAME.as_bytes()).is_none() {
        return Vec::new();
    }
    let mut blocks = Vec::new();
    // Open video block: its fence's offset and its body so far.
    let mut open: Option<(usize, String)> = None;
    // The renderer's options (`render::markdown::options`); fences read the same under any.
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.split_whitespace().next() == Some(VIDEO_BLOCK_NAME) =>
            {
                open = Some((range.start, String::new()));
            }
            Event::Text(text) => {
                if let Some((_, body)) = &mut open {
                    body.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((start, text)) = open.take() {
                    let line = line_col(source, body_offset + start).0;
                    blocks.extend(parse_video_block(&text, line).ok());
                }
            }
            _ => {}
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_read_with_its_fence_line() {
        let source = "---\ntitle: t\n---\n正文。\n\n```video\ntitle: 修复过程\nduration: 3:20\nnote: 放在第二段之后\n```\n\n```python\nvideo = 1\n```\n";
        let offset = source.find("正文").unwrap();
        let blocks = video_blocks(source, offset);
        assert_eq!(
            blocks,
            [VideoBlock {
                title: "修复过程".into(),
                duration: "3:20".into(),
                seconds: 200,
                note: Some("放在第二段之后".into()),
                line: 6,
            }]
        );
    }

    #[test]
    fn blocks_in_lists_and_quotes_count_and_malformed_or_quoted_ones_do_not() {
        let body = "- 一\n\n  ```video\n  title: a\n  duration: 1:00:00\n  ```\n\n> ```video\n> title: b\n> duration: 0:45\n> ```\n\n\
                    ````markdown\n```video\ntitle: 示例\nduration: 1:00\n```\n````\n\n```video\ntitle: c\nduration: 3:75\n```\n";
        let titles: Vec<(String, u32)> = video_blocks(body, 0).into_iter().map(|b| (b.title, b.seconds)).collect();
        assert_eq!(titles, [("a".to_string(), 3600), ("b".to_string(), 45)]);
        assert!(video_blocks("no blocks, no videos", 0).is_empty());
    }

    #[test]
    fn errors_name_the_line_of_the_field() {
        let err = parse_video_block("title: 修复过程\nduration: 3:75\n", 1).unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(err.message.contains("mm:ss or h:mm:ss"), "{err:?}");
        let err = parse_video_block("title: 修复过程\nduration: 45\n", 1).unwrap_err();
        assert!(err.message.contains("`45`"), "{err:?}");
        let err = parse_video_block("duration: 3:20\n", 1).unwrap_err();
        assert!(err.message.contains("title"), "{err:?}");
        let err = parse_video_block("title: \"  \"\nduration: 3:20\n", 1).unwrap_err();
        assert_eq!(err.line, 1, "{err:?}");
        let err = parse_video_block("title: t\nduration: 3:20\nlength: 2\n", 1).unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        assert!(err.message.contains("length"), "{err:?}");
        let err = parse_video_block("title: t\nduration: 0:00\n", 1).unwrap_err();
        assert!(err.message.contains("`0:00`"), "a video of no length is a typo: {err:?}");
        let block = parse_video_block("title: 2024\nduration: 1:02:00\n", 7).unwrap();
        assert_eq!((block.title.as_str(), block.seconds, block.line, block.note), ("2024", 3720, 7, None));
    }
}
