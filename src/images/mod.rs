//! IMAGES: PLAN (resolve what items use, safely; name each variant by a content hash) →
//! PROCESS (decode, orient, strip, resize, encode; in parallel; cached by hash).
//!
//! The renderer requests images and gets a placeholder `src` at once; after every item is
//! rendered, the deduplicated set is processed (or found in `.wxpub/cache/images/`) and the
//! placeholders are replaced by the final file names.
pub mod crop;
mod process;
pub use process::{decode_limited, probe, refuse_dimensions};

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config;
use crate::state::file_hashes::FileHashes;

/// Bumped whenever processing changes, so that old cache entries are not reused.
pub const PIPELINE_VERSION: &str = "wxpub-images-2";

/// Extensions accepted in sources; WeChat bodies take jpg/png, GIFs go up as material, and
/// WebP/BMP are converted.
pub const SOURCE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "gif", "webp", "bmp"];

/// Placeholder written into HTML until the processed file's name is known.
pub const PLACEHOLDER: &str = "wxpub-image:";

use crate::wechat::limits::UPLOADIMG_MAX_BYTES as UPLOADIMG_LIMIT;

/// What an image is for; each has its own size limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "role")]
pub enum ImageRole {
    /// Inside an article body: uploadimg, jpg/png under 1 MB.
    Body,
    /// An article cover: permanent image material, plus the two crop boxes.
    Cover { focus: (f64, f64) },
    /// A poster: permanent image material, full height kept.
    Poster,
}

impl ImageRole {
    fn byte_limit(&self, settings: &ImageSettings) -> usize {
        let raw = match self {
            ImageRole::Body | ImageRole::Cover { .. } => UPLOADIMG_LIMIT,
            ImageRole::Poster => settings.material_max_bytes as usize,
        };
        (raw as f64 * (1.0 - settings.size_margin)) as usize
    }
}

/// Every setting that changes the output; all of it goes into the cache key.
pub type ImageSettings = config::Images;

/// The largest source file read at all: every source is read whole into memory, and a camera's
/// biggest JPEG or a print-quality PNG is far below this.
pub const SOURCE_MAX_BYTES: u64 = 256 << 20;

/// One image an item uses, planned.
#[derive(Debug, Clone, Serialize)]
pub struct ImageJob {
    /// As written in the source (relative to the item folder).
    pub source: String,
    #[serde(skip)]
    pub source_path: PathBuf,
    /// The item's `index.md`, for messages.
    #[serde(skip)]
    pub item_file: PathBuf,
    #[serde(skip)]
    pub line: usize,
    #[serde(skip)]
    pub role: ImageRole,
    /// sha256 of the source bytes.
    pub source_sha256: String,
    /// Cache key: sha256 of (pipeline version, settings, role, source bytes).
    #[serde(skip)]
    pub key: String,
    /// The bytes of an image made by the build itself (no file to read).
    #[serde(skip)]
    pub generated: Option<std::sync::Arc<Vec<u8>>>,
}

impl ImageJob {
    pub fn placeholder(&self) -> String {
        format!("{PLACEHOLDER}{}", self.key)
    }
}

/// A processed image, as stored in the cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Processed {
    /// File name in the item's `images/` folder (and in the cache).
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Cover only: crop boxes (`X1_Y1_X2_Y2`) and the preview files of both crops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crops: Option<CoverCrops>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverCrops {
    pub pic_crop_235_1: String,
    pub pic_crop_1_1: String,
    pub preview_235_1: String,
    pub preview_1_1: String,
}

/// Why an image reference in a source cannot be used, before looking at the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcePathProblem {
    /// An http(s) URL: WeChat removes images it did not receive itself.
    Outside,
    /// Absolute, or climbs out of the item's folder with `..`.
    LeavesFolder,
    /// An extension that is not an image format we read.
    Format(String),
}

/// Checks an image reference as written (`photo.jpg`, `img/a.png`) without touching the disk.
pub fn check_source_path(src: &str) -> Result<(), SourcePathProblem> {
    if src.starts_with("http://") || src.starts_with("https://") || src.starts_with("//") {
        return Err(SourcePathProblem::Outside);
    }
    let relative = Path::new(src);
    if src.is_empty()
        || relative.is_absolute()
        || relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(SourcePathProblem::LeavesFolder);
    }
    let extension = relative.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    if !SOURCE_EXTENSIONS.contains(&extension.as_str()) {
        return Err(SourcePathProblem::Format(extension));
    }
    Ok(())
}

/// An image an item asks for that cannot be used, at the line that asks for it.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
#[error("{file}:{line}: {message}")]
pub struct ImageRequestError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// Resolves the images an item refers to, for the renderer: `src` is as written in the source,
/// `line` is where; the answer is the `src` to write into the HTML.
pub trait ImageSink {
    fn request(&mut self, src: &str, line: usize, role: ImageRole) -> Result<String, ImageRequestError>;
    /// An image made during the build (a QR code), named `name`, processed like a body image.
    fn generated(&mut self, name: &str, bytes: Vec<u8>, line: usize) -> Result<String, ImageRequestError> {
        let _ = bytes;
        self.request(name, line, ImageRole::Body)
    }
}

/// How a planner names the images it is asked for.
#[derive(Clone, Copy)]
pub enum Planning<'h> {
    /// By content (the build): every source is hashed — read only when its stat data changed.
    ByContent(&'h FileHashes),
    /// By path, reading nothing (`check`): the placeholder has the length of the real one, and an
    /// image that cannot be used is recorded instead of stopping the render.
    ByPath,
}

/// Collects an item's image requests. Implements [`ImageSink`] for the renderer.
pub struct ImagePlanner<'s> {
    item_dir: PathBuf,
    source_file: PathBuf,
    settings: &'s ImageSettings,
    planning: Planning<'s>,
    jobs: BTreeMap<(String, String), ImageJob>,
    problems: Vec<ImageRequestError>,
}

impl<'s> ImagePlanner<'s> {
    pub fn new(
        item_dir: &Path,
        source_file: &Path,
        settings: &'s ImageSettings,
        planning: Planning<'s>,
    ) -> Result<ImagePlanner<'s>, ImageRequestError> {
        // A folder that is gone or unreadable is named here, once, rather than per image.
        std::fs::metadata(item_dir).map_err(|e| ImageRequestError {
            file: source_file.to_path_buf(),
            line: 1,
            message: format!("cannot open the item folder: {e}"),
        })?;
        Ok(ImagePlanner {
            item_dir: item_dir.to_path_buf(),
            source_file: source_file.to_path_buf(),
            settings,
            planning,
            jobs: BTreeMap::new(),
            problems: Vec::new(),
        })
    }

    /// Images that could not be used while planning by path (empty when planning by content:
    /// there the first one stops the render).
    pub fn problems(&self) -> &[ImageRequestError] {
        &self.problems
    }

    /// The images requested so far.
    pub fn into_jobs(self) -> Vec<ImageJob> {
        self.jobs.into_values().collect()
    }

    /// Takes an image already planned for another item (a topic card's cover) into this one.
    pub fn adopt(&mut self, job: &ImageJob) -> String {
        self.jobs.entry((format!("adopted:{}", job.key), String::new())).or_insert_with(|| job.clone());
        job.placeholder()
    }

    fn error(&self, line: usize, message: String) -> ImageRequestError {
        ImageRequestError { file: self.source_file.clone(), line, message }
    }

    /// Validates a source path and finds its content hash (by path when planning by path).
    fn resolve(&self, src: &str, line: usize) -> Result<(PathBuf, String), ImageRequestError> {
        match check_source_path(src) {
            Ok(()) => {}
            Err(SourcePathProblem::Outside) => {
                return Err(self.error(
                    line,
                    format!("outside image `{src}`: WeChat removes images that were not uploaded through it; save the file beside index.md and refer to it by name"),
                ));
            }
            Err(SourcePathProblem::LeavesFolder) => {
                return Err(self.error(line, format!("image path `{src}` leaves the item's folder: images must be files beside index.md (or in a subfolder)")));
            }
            Err(SourcePathProblem::Format(extension)) => {
                return Err(self.error(
                    line,
                    format!("image `{src}`: unsupported format `.{extension}` (use jpg, png, gif, webp or bmp)"),
                ));
            }
        }
        let relative = Path::new(src);
        let not_found = || self.error(line, format!("image `{src}` not found in {}", self.item_dir.display()));
        // `..` and absolute paths were refused above, so the file is inside the item's folder
        // unless a component below it is a link: one lstat per component finds out, and only a
        // link costs a canonicalisation (at year scale, thousands of images × every component).
        let mut walked = self.item_dir.clone();
        let mut linked = false;
        let mut last = None;
        for component in relative.components() {
            walked.push(component);
            let metadata = std::fs::symlink_metadata(&walked).map_err(|_| not_found())?;
            linked |= metadata.file_type().is_symlink();
            last = Some(metadata);
        }
        let (canonical, metadata) = match last {
            // No link anywhere: the file's own lstat is its stat.
            Some(metadata) if !linked => (walked, metadata),
            _ => {
                let canonical = walked.canonicalize().map_err(|_| not_found())?;
                let folder = self.item_dir.canonicalize().map_err(|_| not_found())?;
                if !canonical.starts_with(&folder) {
                    return Err(self.error(
                        line,
                        format!("image `{src}` is a link that leaves the item's folder; copy the file in instead"),
                    ));
                }
                let metadata = std::fs::metadata(&canonical)
                    .map_err(|e| self.error(line, format!("cannot read image `{src}`: {e}")))?;
                (canonical, metadata)
            }
        };
        // A pipe or device named like an image would block the build forever, or never end.
        if !metadata.is_file() {
            return Err(self.error(
                line,
                format!(
                    "image `{src}` is not a regular file (a folder, pipe or device); put the image file itself there"
                ),
            ));
        }
        if metadata.len() > SOURCE_MAX_BYTES {
            return Err(self.error(
                line,
                format!(
                    "image `{src}` is {} MB; source images over {} MB are refused — export it smaller first",
                    metadata.len() >> 20,
                    SOURCE_MAX_BYTES >> 20
                ),
            ));
        }
        let sha256 = match self.planning {
            Planning::ByContent(hashes) => hashes
                .sha256(&canonical, &metadata)
                .map_err(|e| self.error(line, format!("cannot read image `{src}`: {e}")))?,
            Planning::ByPath => hex::encode(Sha256::digest(canonical.to_string_lossy().as_bytes())),
        };
        Ok((canonical, sha256))
    }
}

impl ImageSink for ImagePlanner<'_> {
    fn request(&mut self, src: &str, line: usize, role: ImageRole) -> Result<String, ImageRequestError> {
        let role_name = role_name(&role);
        if let Some(job) = self.jobs.get(&(src.to_string(), role_name.clone())) {
            return Ok(job.placeholder());
        }
        let (source_path, source_sha256) = match self.resolve(src, line) {
            Ok(found) => found,
            Err(problem) if matches!(self.planning, Planning::ByPath) => {
                self.problems.push(problem);
                (self.item_dir.join(src), hex::encode(Sha256::digest(src.as_bytes())))
            }
            Err(problem) => return Err(problem),
        };
        let key = cache_key(&source_sha256, self.settings, &role);
        let job = ImageJob {
            source: src.to_string(),
            source_path,
            item_file: self.source_file.clone(),
            line,
            role,
            source_sha256,
            key,
            generated: None,
        };
        let placeholder = job.placeholder();
        self.jobs.insert((src.to_string(), role_name), job);
        Ok(placeholder)
    }

    fn generated(&mut self, name: &str, bytes: Vec<u8>, line: usize) -> Result<String, ImageRequestError> {
        let role = ImageRole::Body;
        let role_name = role_name(&role);
        if let Some(job) = self.jobs.get(&(name.to_string(), role_name.clone())) {
            return Ok(job.placeholder());
        }
        let source_sha256 = hex::encode(Sha256::digest(&bytes));
        let job = ImageJob {
            source: name.to_string(),
            source_path: self.item_dir.join(name),
            item_file: self.source_file.clone(),
            line,
            key: cache_key(&source_sha256, self.settings, &role),
            source_sha256,
            role,
            generated: Some(std::sync::Arc::new(bytes)),
        };
        let placeholder = job.placeholder();
        self.jobs.insert((name.to_string(), role_name), job);
        Ok(placeholder)
    }
}

fn role_name(role: &ImageRole) -> String {
    match role {
        ImageRole::Body => "body".into(),
        ImageRole::Poster => "poster".into(),
        ImageRole::Cover { focus: (x, y) } => format!("cover:{x},{y}"),
    }
}

/// sha256 of everything that determines the output: the source's content hash, the settings and
/// the role. Never mtimes (CI clones are fresh), never std's DefaultHasher (not stable across
/// releases).
fn cache_key(source_sha256: &str, settings: &ImageSettings, role: &ImageRole) -> String {
    let mut hasher = Sha256::new();
    hasher.update(PIPELINE_VERSION.as_bytes());
    // Debug output is stable within one wxpub version, and PIPELINE_VERSION covers the rest.
    hasher.update(format!("{settings:?}").as_bytes());
    hasher.update(role_name(role).as_bytes());
    hasher.update(source_sha256.as_bytes());
    hex::encode(hasher.finalize())
}

/// Replaces every placeholder in `html` with `images/<file>`, in one pass over the HTML (a
/// placeholder whose key was not processed stays as it is).
pub fn resolve_placeholders(html: &str, processed: &BTreeMap<String, Processed>) -> String {
    replace_placeholders(html, |key| processed.get(key).map(|image| format!("images/{}", image.file)))
}

/// `html` with each image placeholder replaced by what `by_key` gives for its key (kept as it
/// is when it gives nothing).
pub fn replace_placeholders(html: &str, by_key: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = memchr::memmem::find(rest.as_bytes(), PLACEHOLDER.as_bytes()) {
        let after = &rest[at + PLACEHOLDER.len()..];
        let key_len = after.bytes().take(64).take_while(u8::is_ascii_hexdigit).count();
        out.push_str(&rest[..at]);
        match by_key(&after[..key_len]) {
            Some(replacement) => out.push_str(&replacement),
            None => out.push_str(&rest[at..at + PLACEHOLDER.len() + key_len]),
        }
        rest = &after[key_len..];
    }
    out.push_str(rest);
    out
}

/// The HTML as WeChat will receive it, for measuring: each image placeholder replaced by an
/// uploadimg URL of the length WeChat's are (`check`'s content-length rule and `wxpub mcp`'s
/// `build_item` count this).
pub fn as_sent(html: &str) -> std::borrow::Cow<'_, str> {
    use crate::wechat::limits::UPLOADED_IMAGE_URL_CHARS;
    if !html.contains(PLACEHOLDER) {
        return std::borrow::Cow::Borrowed(html);
    }
    const PREFIX: &str = "https://mmbiz.qpic.cn/mmbiz_jpg/";
    const SUFFIX: &str = "/0?wx_fmt=jpeg";
    let url = format!("{PREFIX}{}{SUFFIX}", "0".repeat(UPLOADED_IMAGE_URL_CHARS - PREFIX.len() - SUFFIX.len()));
    std::borrow::Cow::Owned(replace_placeholders(html, |_| Some(url.clone())))
}

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: image `{source_name}`: {message}")]
pub struct ImageError {
    pub file: PathBuf,
    pub line: usize,
    pub source_name: String,
    pub message: String,
}

/// What a processing run did.
#[derive(Debug, Default)]
pub struct ProcessReport {
    pub processed: BTreeMap<String, Processed>,
    /// Images decoded in this run (0 when everything came from the cache).
    pub decoded: usize,
    pub from_cache: usize,
}

/// Processes every distinct job (in parallel, at most one image in memory per worker), using and
/// filling the cache in `cache_dir`.
pub fn process_all(
    jobs: &[&ImageJob],
    settings: &ImageSettings,
    cache_dir: &Path,
    progress: &dyn crate::util::progress::Progress,
) -> Result<ProcessReport, ImageError> {
    let mut unique: BTreeMap<&str, &ImageJob> = BTreeMap::new();
    for job in jobs {
        unique.entry(job.key.as_str()).or_insert(job);
    }
    std::fs::create_dir_all(cache_dir).map_err(|e| ImageError {
        file: cache_dir.to_path_buf(),
        line: 0,
        source_name: String::new(),
        message: format!("cannot create the image cache: {e}"),
    })?;
    progress.start("images", unique.len() as u64);
    let results: Vec<Result<(String, Processed, bool), ImageError>> = unique
        .values()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|job| {
            let result = cached_or_process(job, settings, cache_dir).map(|(p, decoded)| (job.key.clone(), p, decoded));
            progress.advance();
            result
        })
        .collect();
    progress.finish();
    let mut report = ProcessReport::default();
    for result in results {
        let (key, processed, decoded) = result?;
        if decoded {
            report.decoded += 1;
        } else {
            report.from_cache += 1;
        }
        report.processed.insert(key, processed);
    }
    Ok(report)
}

/// The image cache of the project at `root`: processed images named by their content, shared by
/// every build and the preview.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join(".wxpub/cache/images")
}

/// The path of a processed file in the cache.
pub fn cached_file(cache_dir: &Path, file: &str) -> PathBuf {
    cache_dir.join(file)
}

fn cached_or_process(
    job: &ImageJob,
    settings: &ImageSettings,
    cache_dir: &Path,
) -> Result<(Processed, bool), ImageError> {
    let meta_path = cache_dir.join(format!("{}.json", job.key));
    if let Ok(text) = std::fs::read_to_string(&meta_path)
        && let Ok(processed) = serde_json::from_str::<Processed>(&text)
        && cache_dir.join(&processed.file).is_file()
    {
        return Ok((processed, false));
    }
    let fail = |message: String| ImageError {
        file: job.item_file.clone(),
        line: job.line,
        source_name: job.source.clone(),
        message,
    };
    let bytes = match &job.generated {
        Some(bytes) => bytes.as_ref().clone(),
        None => std::fs::read(&job.source_path).map_err(|e| fail(format!("cannot read it: {e}")))?,
    };
    let (format, _, _) = process::probe(&bytes, settings).map_err(|e| fail(e.to_string()))?;
    let stem = &job.key[..16];

    if format == image::ImageFormat::Gif {
        let frames = process::gif_frames(&bytes, settings).map_err(|e| fail(e.to_string()))?;
        if frames > 1 {
            // Animated GIFs go up unchanged as permanent material.
            if bytes.len() as u64 > settings.material_max_bytes {
                return Err(fail(format!(
                    "animated GIF with {frames} frames is {:.1} MB, over the {:.0} MB image-material limit; shorten it, reduce its size or colours, or publish it as a video",
                    bytes.len() as f64 / 1048576.0,
                    settings.material_max_bytes as f64 / 1048576.0
                )));
            }
            let file = format!("{stem}.gif");
            let (width, height) = image::ImageReader::new(std::io::Cursor::new(&bytes))
                .with_guessed_format()
                .ok()
                .and_then(|r| r.into_dimensions().ok())
                .unwrap_or((0, 0));
            let processed = Processed {
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes: bytes.len() as u64,
                file,
                width,
                height,
                crops: None,
                notes: vec![format!("animated GIF ({frames} frames) kept as is")],
            };
            store(cache_dir, &meta_path, &processed, &bytes, &[])
                .map_err(|e| fail(format!("cannot write the cache: {e}")))?;
            return Ok((processed, true));
        }
    }

    let encoded = process::process(&bytes, format, &job.role, settings).map_err(|e| fail(e.to_string()))?;
    let file = format!("{stem}.{}", encoded.extension);
    let mut extra: Vec<(String, Vec<u8>)> = Vec::new();
    let crops = match (&job.role, &encoded.pixels) {
        (ImageRole::Cover { focus }, Some(pixels)) => {
            let mut previews = Vec::new();
            let mut boxes = Vec::new();
            for (ratio, name) in [(2.35, "235x100"), (1.0, "1x1")] {
                let crop_box = crop::crop_box(pixels.width(), pixels.height(), ratio, *focus);
                let (x, y, w, h) = crop_box.to_pixels(pixels.width(), pixels.height());
                let view = wxpub_imaging::crop(pixels, x, y, w, h);
                let preview_name = format!("{stem}-cover-{name}.jpg");
                extra.push((preview_name.clone(), process::encode_jpeg(&view, 85).map_err(|e| fail(e.to_string()))?));
                previews.push(preview_name);
                boxes.push(crop_box.to_wechat());
            }
            Some(CoverCrops {
                pic_crop_235_1: boxes[0].clone(),
                pic_crop_1_1: boxes[1].clone(),
                preview_235_1: previews[0].clone(),
                preview_1_1: previews[1].clone(),
            })
        }
        _ => None,
    };
    let processed = Processed {
        sha256: hex::encode(Sha256::digest(&encoded.bytes)),
        bytes: encoded.bytes.len() as u64,
        file,
        width: encoded.width,
        height: encoded.height,
        crops,
        notes: encoded.notes,
    };
    store(cache_dir, &meta_path, &processed, &encoded.bytes, &extra)
        .map_err(|e| fail(format!("cannot write the cache: {e}")))?;
    Ok((processed, true))
}

/// Writes the files first and the metadata last, each through a temporary name: a killed run
/// leaves no entry that looks complete.
fn store(
    cache_dir: &Path,
    meta_path: &Path,
    processed: &Processed,
    bytes: &[u8],
    extra: &[(String, Vec<u8>)],
) -> std::io::Result<()> {
    use crate::util::fs::write_atomic;
    write_atomic(&cache_dir.join(&processed.file), bytes)?;
    for (name, data) in extra {
        write_atomic(&cache_dir.join(name), data)?;
    }
    let json = serde_json::to_string_pretty(processed).map_err(std::io::Error::other)?;
    write_atomic(meta_path, json.as_bytes())
}
