//! `dist/manifest.json`: what every built item is and which files it became. Publish, sync and
//! the archive read a build through it.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::content::{self, Kind, Video};
use crate::images::{ImageJob, ImageRole, Processed};

/// An image in the manifest: where it came from and what it became.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestImage {
    pub source: String,
    pub source_sha256: String,
    #[serde(flatten)]
    pub output: Processed,
}

/// The description of every built item, written to `dist/manifest.json`.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub site: String,
    pub items: Vec<ManifestItem>,
}

#[derive(Debug, Serialize)]
pub struct ManifestItem {
    pub key: String,
    pub kind: Kind,
    pub slug: String,
    pub source: PathBuf,
    pub title: String,
    pub author: Option<String>,
    pub digest: Option<String>,
    pub source_url: Option<String>,
    pub comments: crate::content::Comments,
    pub account: String,
    pub publish_at: Option<String>,
    pub position: u32,
    pub draft: bool,
    pub tags: Vec<String>,
    /// Length of `content.html` in characters (WeChat's limit: under 20,000).
    pub content_chars: usize,
    /// Length of `content.html` in bytes (WeChat's limit: under 1 MB).
    pub content_bytes: usize,
    pub references: usize,
    /// `article`, or `image-post` (贴图: its photos as permanent material, its `text` as content).
    pub format: content::Format,
    /// An image post's plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Keys of the items it links to (a topic page: the items on its cards). It is published
    /// only after them, so that the links can be their published URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    pub cover: Option<ManifestImage>,
    /// Posters: the poster image (also in `images`), uploaded as material for the cover.
    pub poster: Option<ManifestImage>,
    pub images: Vec<ManifestImage>,
    pub illustrations: Vec<String>,
    /// Its videos and animations ([`content::Item::videos`]: front matter `videos:` and its
    /// `video` blocks, each video once).
    pub videos: Vec<Video>,
}

impl ManifestItem {
    /// The processed files under the item's `images/`, by their name in the image cache: its
    /// images, its cover and the cover's crop previews (for editors to look at), sorted.
    pub fn image_files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self.images.iter().chain(&self.cover).map(|i| i.output.file.as_str()).collect();
        if let Some(crops) = self.cover.as_ref().and_then(|c| c.output.crops.as_ref()) {
            files.extend([crops.preview_235_1.as_str(), crops.preview_1_1.as_str()]);
        }
        files.sort_unstable();
        files.dedup();
        files
    }
}

/// What the manifest says about one built item.
pub(super) fn describe(
    item: &content::Item,
    html: &str,
    rendered: &super::Rendered,
    tz: chrono_tz::Tz,
    processed: &BTreeMap<String, Processed>,
) -> ManifestItem {
    let meta = &item.meta;
    let (cover, images) = (rendered.cover.as_ref(), &rendered.images);
    let describe = |job: &ImageJob| ManifestImage {
        source: job.source.clone(),
        source_sha256: job.source_sha256.clone(),
        output: processed[&job.key].clone(),
    };
    ManifestItem {
        key: item.key(),
        kind: item.kind,
        slug: item.slug.clone(),
        source: item.source_path.clone(),
        title: meta.title.clone(),
        author: meta.author.clone(),
        digest: meta.digest.clone(),
        source_url: meta.source_url.clone(),
        comments: meta.comments,
        account: meta.account.clone(),
        publish_at: meta.publish_at.as_deref().and_then(|t| content::parse_publish_at(t, tz)).map(|t| t.to_rfc3339()),
        position: meta.position,
        draft: meta.draft,
        tags: meta.tags.clone(),
        content_chars: html.chars().count(),
        content_bytes: html.len(),
        references: rendered.references,
        format: meta.format,
        text: rendered.text.clone(),
        links: rendered.linked.clone(),
        cover: cover.map(describe),
        poster: images.iter().find(|j| j.role == ImageRole::Poster).map(describe),
        images: images.iter().map(describe).collect(),
        illustrations: meta.illustrations.clone(),
        videos: item.videos(),
    }
}
