//! IMAGES: resolve the images an item uses, safely, and name them by content hash.
//!
//! This stage currently copies sources unchanged (the processing pipeline — orientation,
//! metadata stripping, resizing, re-encoding — replaces the copy in issue #3). Names are content
//! hashes so that identical images are stored once and output is deterministic.
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::render::{ImageSink, RenderError};

/// Extensions accepted in sources; WeChat bodies take jpg/png, GIFs go up as material, and
/// WebP/BMP are converted by the pipeline.
pub const SOURCE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "gif", "webp", "bmp"];

/// One image an item uses, and where it goes in the output.
#[derive(Debug, Clone, Serialize)]
pub struct ImageJob {
    /// As written in the source (relative to the item folder).
    pub source: String,
    #[serde(skip)]
    pub source_path: PathBuf,
    /// File name under the item's `images/` folder.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Collects an item's image requests. Implements [`ImageSink`] for the renderer.
pub struct ImagePlanner {
    item_dir: PathBuf,
    canonical_dir: PathBuf,
    source_file: PathBuf,
    jobs: BTreeMap<String, ImageJob>,
}

impl ImagePlanner {
    pub fn new(item_dir: &Path, source_file: &Path) -> Result<ImagePlanner, RenderError> {
        let canonical_dir = item_dir.canonicalize().map_err(|e| RenderError::Source {
            file: source_file.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("cannot open the item folder: {e}"),
        })?;
        Ok(ImagePlanner {
            item_dir: item_dir.to_path_buf(),
            canonical_dir,
            source_file: source_file.to_path_buf(),
            jobs: BTreeMap::new(),
        })
    }

    /// The images requested so far, by source path.
    pub fn into_jobs(self) -> Vec<ImageJob> {
        self.jobs.into_values().collect()
    }

    fn error(&self, line: usize, message: String) -> RenderError {
        RenderError::Source { file: self.source_file.clone(), line, column: 1, message }
    }
}

impl ImageSink for ImagePlanner {
    fn request(&mut self, src: &str, line: usize) -> Result<String, RenderError> {
        if let Some(job) = self.jobs.get(src) {
            return Ok(format!("images/{}", job.file));
        }
        if src.starts_with("http://") || src.starts_with("https://") || src.starts_with("//") {
            return Err(self.error(
                line,
                format!("outside image `{src}`: WeChat removes images that were not uploaded through it; save the file beside index.md and refer to it by name"),
            ));
        }
        let relative = Path::new(src);
        let escapes = relative.is_absolute()
            || relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if escapes || src.is_empty() {
            return Err(self.error(line, format!("image path `{src}` leaves the item's folder: images must be files beside index.md (or in a subfolder)")));
        }
        let extension = relative.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        if !SOURCE_EXTENSIONS.contains(&extension.as_str()) {
            return Err(self.error(
                line,
                format!("image `{src}`: unsupported format `.{extension}` (use jpg, png, gif, webp or bmp)"),
            ));
        }
        let path = self.item_dir.join(relative);
        let canonical = path
            .canonicalize()
            .map_err(|_| self.error(line, format!("image `{src}` not found in {}", self.item_dir.display())))?;
        if !canonical.starts_with(&self.canonical_dir) {
            return Err(self.error(
                line,
                format!("image `{src}` is a link that leaves the item's folder; copy the file in instead"),
            ));
        }
        let bytes =
            std::fs::read(&canonical).map_err(|e| self.error(line, format!("cannot read image `{src}`: {e}")))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let extension = if extension == "jpeg" { "jpg".to_string() } else { extension };
        let file = format!("{}.{extension}", &sha256[..16]);
        let job = ImageJob {
            source: src.to_string(),
            source_path: canonical,
            file: file.clone(),
            sha256,
            bytes: bytes.len() as u64,
        };
        self.jobs.insert(src.to_string(), job);
        Ok(format!("images/{file}"))
    }
}

/// Produces an image job's output file in `out_dir`.
pub fn produce(job: &ImageJob, out_dir: &Path) -> std::io::Result<()> {
    std::fs::copy(&job.source_path, out_dir.join(&job.file)).map(|_| ())
}

impl ImagePlanner {
    /// Takes an image already planned for another item (a topic card's cover) into this one.
    pub fn adopt(&mut self, job: &ImageJob) -> String {
        let key = format!("adopted:{}", job.sha256);
        let file = job.file.clone();
        self.jobs.entry(key).or_insert_with(|| job.clone());
        format!("images/{file}")
    }
}
