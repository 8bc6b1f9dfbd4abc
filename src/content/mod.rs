//! LOAD: discover items under `content/`, split and parse their front matter, build [`Item`]s.
//!
//! One folder per item (`content/articles/2024-05-18-bronze/index.md`), so images live beside
//! their text. Front matter is YAML between `---` lines; unknown keys are errors.
mod front_matter;
pub mod new;
mod video_block;

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

pub use front_matter::{
    Comments, Format, FrontMatter, FrontMatterError, Gather, Split, VIDEO_MAX_SECONDS, Video, VideoKind,
    parse_duration, split as split_front_matter,
};
pub use video_block::{VIDEO_BLOCK_NAME, VideoBlock, VideoBlockError, parse_video_block, video_blocks};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// 推文: a Markdown article.
    Article,
    /// 海报: one large image plus caption, published as an article.
    Poster,
    /// 专题页面: a page gathering other items.
    Topic,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Article, Kind::Poster, Kind::Topic];

    /// The folder under `content/` (and `dist/`) holding items of this kind.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Article => "articles",
            Kind::Poster => "posters",
            Kind::Topic => "topics",
        }
    }

    /// `article`, `poster` or `topic`: the kind as commands and front matter name it.
    pub fn name(self) -> &'static str {
        self.folder().trim_end_matches('s')
    }

    /// The kind `name` names (`article`, `poster`, `topic`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One piece of content: its source, where it lives, and its parsed front matter.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: Kind,
    /// Folder name; unique within a kind, used in output paths.
    pub slug: String,
    /// The item's folder; every image it uses must be inside it.
    pub dir: PathBuf,
    /// Path of `index.md`, as shown in messages (relative to the project when possible).
    pub source_path: PathBuf,
    pub source: String,
    /// Byte offset of the Markdown body within `source`.
    pub body_offset: usize,
    pub meta: FrontMatter,
    /// sha256 of `source`, computed on first use: the render and check caches key on it, and a
    /// preview that keeps its items between rebuilds hashes each unchanged source only once.
    source_digest: std::sync::OnceLock<String>,
    /// The body's `video` blocks, read on first use.
    video_blocks: std::sync::OnceLock<Vec<VideoBlock>>,
}

impl Item {
    pub fn body(&self) -> &str {
        &self.source[self.body_offset..]
    }

    /// The sha256 of the item's source, in hex.
    pub fn source_sha256(&self) -> &str {
        use sha2::{Digest, Sha256};
        self.source_digest.get_or_init(|| hex::encode(Sha256::digest(self.source.as_bytes())))
    }

    /// The body's well-formed `video` blocks: videos an editor inserts in the web backend
    /// (a malformed block is the renderer's to report).
    pub fn video_blocks(&self) -> &[VideoBlock] {
        self.video_blocks.get_or_init(|| video_blocks(&self.source, self.body_offset))
    }

    /// Every video and animation the item includes, for the manifest and the yearly figures:
    /// the front matter's `videos:`, then each `video` block as a video of its duration. A video
    /// is known by its title within the item: a block whose title a `videos:` entry (or an
    /// earlier block) already has is that same video, counted once, as that entry says.
    pub fn videos(&self) -> Vec<Video> {
        let mut videos = self.meta.videos.clone();
        for block in self.video_blocks() {
            if !videos.iter().any(|v| v.title.trim() == block.title) {
                videos.push(Video {
                    title: block.title.clone(),
                    duration: block.duration.clone(),
                    kind: VideoKind::Video,
                });
            }
        }
        videos
    }

    /// `articles/2024-05-18-bronze`: how other items and the manifest refer to this one.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind.folder(), self.slug)
    }
}

#[derive(Debug, Error)]
pub enum ContentError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Encoding { path: PathBuf, line: usize, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    FrontMatter { path: PathBuf, line: usize, column: usize, message: String },
    #[error(
        "no content found: {dir} has no articles/, posters/ or topics/ folder with an index.md\n  hint: run `wxpub` in the project folder, or pass -C DIR"
    )]
    Empty { dir: PathBuf },
}

/// Every item source under `project/content`: `(kind, slug, folder, index.md)`, sorted by kind
/// then slug. Nothing is read yet.
pub fn discover(project: &Path) -> Result<Vec<(Kind, String, PathBuf, PathBuf)>, ContentError> {
    let content_dir = project.join("content");
    let mut sources = Vec::new();
    for kind in Kind::ALL {
        let kind_dir = content_dir.join(kind.folder());
        if !kind_dir.is_dir() {
            continue;
        }
        let walker = walkdir::WalkDir::new(&kind_dir).min_depth(1).max_depth(1).sort_by_file_name();
        for entry in walker {
            let entry = entry.map_err(|e| ContentError::Read {
                path: kind_dir.clone(),
                source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("walk error")),
            })?;
            let index = entry.path().join("index.md");
            if !entry.file_type().is_dir() || !index.is_file() {
                continue;
            }
            let slug = entry.file_name().to_string_lossy().into_owned();
            sources.push((kind, slug, entry.path().to_path_buf(), index));
        }
    }
    Ok(sources)
}

/// Every item that reads and parses, and the problem of each one that does not (an encoding or
/// front-matter error belongs to its item: `check` reports it and checks the others).
pub fn load_all(project: &Path) -> Result<(Vec<Item>, Vec<ContentError>), ContentError> {
    use rayon::prelude::*;
    let mut items = Vec::new();
    let mut unreadable = Vec::new();
    // Read and parsed in parallel (three years are 18 MB of Markdown), kept in discovery order.
    let parsed: Vec<Result<Item, ContentError>> = discover(project)?
        .into_par_iter()
        .map(|(kind, slug, dir, index)| load_item(project, kind, slug, dir, &index))
        .collect();
    for parsed in parsed {
        match parsed {
            Ok(item) => items.push(item),
            Err(e @ (ContentError::Encoding { .. } | ContentError::FrontMatter { .. })) => unreadable.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok((items, unreadable))
}

/// Reads and parses the item whose source is `index` (in `dir`, under `project`).
pub fn load_item(project: &Path, kind: Kind, slug: String, dir: PathBuf, index: &Path) -> Result<Item, ContentError> {
    let display_path = index.strip_prefix(project).unwrap_or(index).to_path_buf();
    read_source(index, &display_path).and_then(|source| parse_item(kind, slug, dir, display_path, source))
}

/// Finds and parses every item under `project/content`, sorted by kind then slug; the first
/// item that cannot be read is the error.
pub fn load_items(project: &Path) -> Result<Vec<Item>, ContentError> {
    let (items, mut unreadable) = load_all(project)?;
    if !unreadable.is_empty() {
        return Err(unreadable.remove(0));
    }
    if items.is_empty() {
        return Err(ContentError::Empty { dir: project.join("content") });
    }
    Ok(items)
}

/// Reads an `index.md` as UTF-8. A file in another encoding is refused with the encoding named
/// and the line of its first non-UTF-8 byte: Chinese Windows editors save GBK / GB18030 by
/// default, and guessing would silently garble a file that is really something else.
pub fn read_source(path: &Path, display_path: &Path) -> Result<String, ContentError> {
    let bytes =
        std::fs::read(path).map_err(|source| ContentError::Read { path: display_path.to_path_buf(), source })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let bytes = e.as_bytes();
            let bad = e.utf8_error().valid_up_to();
            let line = bytes[..bad].iter().filter(|b| **b == b'\n').count() + 1;
            let (_, _, gb_errors) = encoding_rs::GB18030.decode(bytes);
            let encoding = if gb_errors {
                "is not UTF-8 (nor GBK / GB18030)"
            } else {
                "is not UTF-8: it looks like GBK / GB18030, as Chinese Windows editors save by default"
            };
            Err(ContentError::Encoding {
                path: display_path.to_path_buf(),
                line,
                message: format!(
                    "this file {encoding}; save it as UTF-8 (in Notepad: Save As → Encoding: UTF-8; or `iconv -f GB18030 -t UTF-8`)"
                ),
            })
        }
    }
}

/// Parses one item's source text. Pure: the folder is only recorded, not read.
pub fn parse_item(
    kind: Kind,
    slug: String,
    dir: PathBuf,
    source_path: PathBuf,
    source: String,
) -> Result<Item, ContentError> {
    let (meta, body_offset) = front_matter::parse(&source, kind).map_err(|e| ContentError::FrontMatter {
        path: source_path.clone(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    Ok(Item {
        kind,
        slug,
        dir,
        source_path,
        source,
        body_offset,
        meta,
        source_digest: std::sync::OnceLock::new(),
        video_blocks: std::sync::OnceLock::new(),
    })
}

/// Reads a `publish_at` value (`YYYY-MM-DD HH:MM[:SS]`, or with `T`) as local time in `tz`.
pub fn parse_publish_at(text: &str, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    crate::util::clock::parse_local(text, tz)
}

/// The 1-based line of front-matter key `key` in `item`'s source (1 when absent).
pub fn key_line(item: &Item, key: &str) -> usize {
    item.source[..item.body_offset]
        .lines()
        .position(|line| line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':')))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(source: &str) -> Item {
        parse_item(Kind::Article, "a".into(), PathBuf::from("a"), PathBuf::from("a/index.md"), source.into()).unwrap()
    }

    #[test]
    fn an_items_videos_are_its_front_matters_and_its_blocks_each_once() {
        let item = item(
            "---\ntitle: t\naccount: service\nvideos:\n  - { title: 修复过程, duration: \"3:00\", kind: video }\n  - { title: 铸造, duration: \"0:40\", kind: animation }\n---\n\
             ```video\ntitle: 修复过程\nduration: 3:20\n```\n\n```video\ntitle: 开箱\nduration: 1:05\n```\n\n```video\ntitle: 开箱\nduration: 1:05\nnote: 又一处\n```\n",
        );
        assert_eq!(item.video_blocks().len(), 3);
        assert_eq!(item.video_blocks()[0].line, 8);
        let videos: Vec<(String, Option<u32>, VideoKind)> =
            item.videos().into_iter().map(|v| (v.title.clone(), v.seconds(), v.kind)).collect();
        assert_eq!(
            videos,
            [
                ("修复过程".to_string(), Some(180), VideoKind::Video),
                ("铸造".to_string(), Some(40), VideoKind::Animation),
                ("开箱".to_string(), Some(65), VideoKind::Video),
            ],
            "the front matter's entry is the block's video; a title twice is one video"
        );
    }
}
