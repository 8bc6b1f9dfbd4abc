//! IMPORT: a curator's Word manuscript becomes an item folder, as `wxpub new` makes one — the
//! front matter from the document's properties, the body as Markdown (read by
//! `crates/wxpub-docx`), the pictures beside it under readable names, the typography normalised
//! as `check --fix` would. The command then checks the item and prints the findings.
//!
//! Nothing is written until everything has been read and judged: a file that is not a DOCX, a
//! zip bomb, a picture over `[images]` limits or a folder that exists is an error before the
//! first byte goes to disk. The item is assembled in `.wxpub/tmp/` and renamed into `content/`
//! whole, so an import never leaves a half-made item folder.
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::content::Kind;
use crate::content::new::{ItemPlan, NewItemError};
use crate::wechat::limits::DIGEST_MAX_CHARS;

pub use wxpub_docx::Unconverted;

/// What `wxpub import docx` was asked.
#[derive(Debug, Clone)]
pub struct DocxImport<'a> {
    pub file: &'a Path,
    pub kind: Kind,
    pub date: Option<chrono::NaiveDate>,
    pub account: Option<&'a str>,
    /// The folder's name after the date; default: the title's pinyin.
    pub slug: Option<&'a str>,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The item made.
#[derive(Debug)]
pub struct Imported {
    pub key: String,
    pub folder: PathBuf,
    pub title: String,
    /// Where the title came from: the document's title property, its first heading, or the file's
    /// name.
    pub title_from: &'static str,
    pub figures: Vec<FigureWritten>,
    /// What had no Markdown form, with where it was.
    pub unconverted: Vec<Unconverted>,
    /// Typography findings fixed in the body, as `check --fix` counts them.
    pub typography_fixed: usize,
}

#[derive(Debug)]
pub struct FigureWritten {
    pub file_name: String,
    pub caption: Option<String>,
    /// False for EMF, WMF, TIFF, SVG and unknown formats: written, commented out of the body.
    pub shown: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    // `reason`, not `source`: the message says it once (an error's source is printed again as
    // "caused by").
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: std::io::Error },
    #[error(
        "{path}: {bytes} bytes is over the {limit} bytes a manuscript may have; compress its pictures in Word first"
    )]
    TooLarge { path: PathBuf, bytes: u64, limit: u64 },
    #[error("{path}: {reason}")]
    Docx { path: PathBuf, reason: wxpub_docx::DocxError },
    #[error("{path}: picture {figure}: {message}")]
    Figure { path: PathBuf, figure: String, message: String },
    #[error(transparent)]
    Item(#[from] NewItemError),
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: std::io::Error },
}

/// Reads `request.file` and makes the item under `project`; see the module doc.
pub fn docx(project: &Path, config: &Config, request: &DocxImport<'_>) -> Result<Imported, ImportError> {
    let path = request.file;
    let limits = wxpub_docx::Limits::default();
    let bytes = read_manuscript(path, limits.max_total_bytes)?;
    let manuscript =
        wxpub_docx::read(&bytes, &limits).map_err(|reason| ImportError::Docx { path: path.to_path_buf(), reason })?;
    drop(bytes);
    for figure in manuscript.images.iter().filter(|f| f.format.is_supported()) {
        crate::images::probe(&figure.bytes, &config.images).map_err(|e| ImportError::Figure {
            path: path.to_path_buf(),
            figure: figure.file_name.clone(),
            message: e.to_string(),
        })?;
    }
    let (title, title_from) = title_of(&manuscript, path);
    let plan = crate::content::new::plan(
        project,
        config,
        request.kind,
        &title,
        request.slug,
        request.date,
        request.account,
        request.now,
    )?;
    let source = index_source(&plan, &title, &manuscript, path);
    let (source, typography_fixed) = crate::check::fix_typography(&source);
    write_item(project, &plan, &source, &manuscript.images)?;
    let figures = manuscript
        .images
        .iter()
        .map(|f| FigureWritten {
            file_name: f.file_name.clone(),
            caption: f.caption.clone(),
            shown: f.format.is_supported(),
        })
        .collect();
    Ok(Imported {
        key: plan.key,
        folder: plan.folder,
        title,
        title_from,
        figures,
        unconverted: manuscript.report,
        typography_fixed,
    })
}

/// The manuscript's bytes, refused from its size before they are read when over `limit`.
fn read_manuscript(path: &Path, limit: u64) -> Result<Vec<u8>, ImportError> {
    let read_error = |reason| ImportError::Read { path: path.to_path_buf(), reason };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if !metadata.is_file() {
        return Err(read_error(std::io::Error::other("not a file")));
    }
    if metadata.len() > limit {
        return Err(ImportError::TooLarge { path: path.to_path_buf(), bytes: metadata.len(), limit });
    }
    std::fs::read(path).map_err(read_error)
}

/// The title property, else the first heading, else the file's name.
fn title_of(manuscript: &wxpub_docx::Manuscript, path: &Path) -> (String, &'static str) {
    let clean = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
    if let Some(title) = clean(&manuscript.title) {
        return (title, "the document's title property");
    }
    if let Some(heading) = clean(&manuscript.first_heading) {
        return (heading, "the document's first heading");
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().trim().to_string()).unwrap_or_default();
    (if stem.is_empty() { "未命名文稿".to_string() } else { stem }, "the file's name")
}

/// The digest: the first paragraph, cut to the contract's limit (with an ellipsis when cut).
fn digest_of(first_paragraph: &str) -> String {
    let text: String = first_paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= DIGEST_MAX_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(DIGEST_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `index.md`: the front matter, then the body.
fn index_source(plan: &ItemPlan, title: &str, manuscript: &wxpub_docx::Manuscript, path: &Path) -> String {
    // A JSON string is a valid YAML scalar, whatever the text holds.
    let quoted = |text: &str| serde_json::Value::String(text.to_string()).to_string();
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut front = format!("---\n# imported from {file_name} by `wxpub import docx`\ntitle: {}\n", quoted(title));
    match manuscript.author.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(author) => front.push_str(&format!("author: {}\n", quoted(author))),
        None => front.push_str("# author: 作者\n"),
    }
    // The digest is the body's first paragraph: normalised as the body is.
    let digest = manuscript.first_paragraph.as_deref().map(|p| digest_of(&crate::check::typography::fix(p)));
    match digest.filter(|d| !d.is_empty()) {
        Some(digest) => front.push_str(&format!("digest: {}\n", quoted(&digest))),
        None => front.push_str("# digest: 摘要（120 字以内）\n"),
    }
    let first_picture = manuscript.images.iter().find(|f| f.format.is_supported()).map(|f| f.file_name.as_str());
    let image_key = if plan.kind == Kind::Poster { "image" } else { "cover" };
    match first_picture {
        Some(picture) => front.push_str(&format!(
            "{image_key}: {picture}     # the document's first picture; choose another if it suits better\n"
        )),
        None => {
            let file = if plan.kind == Kind::Poster { "poster.jpg" } else { "cover.jpg" };
            front.push_str(&format!("{image_key}: {file}     # the document has no picture: put one beside index.md\n"))
        }
    }
    if plan.kind == Kind::Topic {
        front.push_str("gather:\n  tags: []\n  paths: []\n");
    }
    front.push_str(&format!("account: {}\npublish_at: {} 08:00\ntags: []\n---\n\n", plan.account, plan.date));
    front + manuscript.markdown.trim_start()
}

/// Writes the item into `.wxpub/tmp/`, then renames it into `content/` whole.
fn write_item(
    project: &Path,
    plan: &ItemPlan,
    source: &str,
    figures: &[wxpub_docx::Figure],
) -> Result<(), ImportError> {
    let staging_root = project.join(".wxpub/tmp");
    let name = plan.folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // A folder of this import's own: never one a killed import left, stale pictures and all.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let staging = staging_root.join(format!("import-{name}-{}-{nanos}", std::process::id()));
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |reason| ImportError::Write { path, reason }
    };
    let result = (|| {
        std::fs::create_dir_all(&staging_root).map_err(write_error(&staging_root))?;
        std::fs::create_dir(&staging).map_err(write_error(&staging))?;
        let index = staging.join("index.md");
        std::fs::write(&index, source).map_err(write_error(&plan.folder.join("index.md")))?;
        for figure in figures {
            std::fs::write(staging.join(&figure.file_name), &figure.bytes)
                .map_err(write_error(&plan.folder.join(&figure.file_name)))?;
        }
        let parent = plan.folder.parent().unwrap_or(project);
        std::fs::create_dir_all(parent).map_err(write_error(parent))?;
        // A folder made meanwhile (another import, an editor) is not replaced.
        if plan.folder.exists() {
            return Err(ImportError::Item(NewItemError::Exists(plan.folder.clone())));
        }
        std::fs::rename(&staging, &plan.folder).map_err(write_error(&plan.folder))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_first_paragraph_is_cut_to_the_digest_limit() {
        let long = "青铜器".repeat(60);
        let digest = digest_of(&long);
        assert_eq!(digest.chars().count(), DIGEST_MAX_CHARS);
        assert!(digest.ends_with('…'));
        assert_eq!(digest_of("  短的\n摘要 "), "短的 摘要");
    }
}
