//! `wxpub build`: load → render → images → write `dist/` atomically, with a manifest.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::config::Config;
use crate::content::{self, Item, Kind, Video};
use crate::diagnostics::Diagnostic;
use crate::images::{self, ImageJob, ImagePlanner, ImageRole, Processed};
use crate::render::{ImageSink, Layouts, RenderError, TopicEntry};

/// Everything one build produced, before it is written.
pub struct BuiltItem<'a> {
    pub item: &'a Item,
    pub html: String,
    pub references: usize,
    pub cover: Option<ImageJob>,
    pub images: Vec<ImageJob>,
}

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
    pub cover: Option<ManifestImage>,
    /// Posters: the poster image (also in `images`), uploaded as material for the cover.
    pub poster: Option<ManifestImage>,
    pub images: Vec<ManifestImage>,
    pub illustrations: Vec<String>,
    pub videos: Vec<Video>,
}

pub struct BuildOutcome {
    pub manifest: Manifest,
    pub diagnostics: Vec<Diagnostic>,
    pub output_dir: PathBuf,
    /// Images decoded in this build, and images found in the cache.
    pub images_decoded: usize,
    pub images_cached: usize,
    /// What the image pipeline noticed (downscaled to fit, profile dropped, …).
    pub image_notes: Vec<String>,
}

pub fn run(project: &Path, out: Option<PathBuf>, drafts: bool, quiet: bool) -> Result<ExitCode> {
    let outcome = build_project(project, out, drafts, !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()))?;
    for diagnostic in &outcome.diagnostics {
        eprintln!("{diagnostic}");
    }
    for note in &outcome.image_notes {
        eprintln!("note: {note}");
    }
    if !quiet {
        let count = |kind| outcome.manifest.items.iter().filter(|i| i.kind == kind).count();
        let images: usize =
            outcome.manifest.items.iter().map(|i| i.images.len() + usize::from(i.cover.is_some())).sum();
        println!(
            "built {} items ({} articles, {} posters, {} topic pages, {} images: {} processed, {} from cache) into {} — {} warning(s)",
            outcome.manifest.items.len(),
            count(Kind::Article),
            count(Kind::Poster),
            count(Kind::Topic),
            images,
            outcome.images_decoded,
            outcome.images_cached,
            outcome.output_dir.display(),
            outcome.diagnostics.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the project into its output directory. The previous output is replaced only when
/// every item rendered and every file was written.
pub fn build_project(project: &Path, out: Option<PathBuf>, drafts: bool, progress: bool) -> Result<BuildOutcome> {
    let config = Config::load(project)?;
    let items = content::load_items(project)?;
    let layouts = Layouts::load(&project.join("layouts"), &config)?;
    let tz = config.timezone();
    let selected: Vec<&Item> = items.iter().filter(|item| drafts || !item.meta.draft).collect();

    let mut built: Vec<BuiltItem<'_>> = Vec::new();
    let mut diagnostics = Vec::new();
    // Topics gather the others, so they are rendered last.
    let (topics, others): (Vec<&Item>, Vec<&Item>) = selected.iter().partition(|item| item.kind == Kind::Topic);
    for item in others.into_iter().chain(topics) {
        validate_item(item, &config, tz)?;
        let mut planner = ImagePlanner::new(&item.dir, &item.source_path, &config.images)?;
        let cover = match &item.meta.cover {
            Some(cover) => {
                let focus = match &item.meta.cover_focus {
                    Some(text) => images::crop::parse_focus(text).with_context(|| {
                        format!(
                            "{}:{}: cover_focus `{text}` must be `x,y` with both between 0 and 1 (0.5,0.5 is the centre)",
                            item.source_path.display(),
                            content::key_line(item, "cover_focus")
                        )
                    })?,
                    None => (0.5, 0.5),
                };
                planner.request(cover, content::key_line(item, "cover"), ImageRole::Cover { focus })?;
                Some(cover.clone())
            }
            None => None,
        };
        let entries = if item.kind == Kind::Topic { topic_entries(item, &built, &mut planner)? } else { Vec::new() };
        let rendered = layouts.render_item(item, &config, &entries, &mut planner)?;
        diagnostics.extend(rendered.diagnostics);
        let mut images = planner.into_jobs();
        let cover = cover
            .and_then(|c| images.iter().position(|j| j.source == c && matches!(j.role, ImageRole::Cover { .. })))
            .map(|i| images.remove(i));
        built.push(BuiltItem { item, html: rendered.html, references: rendered.references.len(), cover, images });
    }
    built.sort_by(|a, b| (a.item.kind, &a.item.slug).cmp(&(b.item.kind, &b.item.slug)));

    // Every image of every item, processed once (or found in the cache).
    let cache_dir = project.join(".wxpub/cache/images");
    let jobs: Vec<&ImageJob> = built.iter().flat_map(|b| b.images.iter().chain(&b.cover)).collect();
    let report = images::process_all(&jobs, &config.images, &cache_dir, progress)?;
    let mut image_notes = Vec::new();
    for job in &jobs {
        for note in &report.processed[&job.key].notes {
            let line = format!("{}:{}: image `{}`: {note}", job.item_file.display(), job.line, job.source);
            if !image_notes.contains(&line) {
                image_notes.push(line);
            }
        }
    }
    for b in &mut built {
        b.html = images::resolve_placeholders(&b.html, &report.processed);
    }

    let manifest = Manifest {
        site: config.site.name.clone(),
        items: built.iter().map(|b| manifest_item(b, tz, &report.processed)).collect(),
    };
    let output_dir = out.unwrap_or_else(|| project.join(&config.site.output_dir));
    write_output(&output_dir, &built, &manifest, &cache_dir)?;
    Ok(BuildOutcome {
        manifest,
        diagnostics,
        output_dir,
        images_decoded: report.decoded,
        images_cached: report.from_cache,
        image_notes,
    })
}

fn validate_item(item: &Item, config: &Config, tz: chrono_tz::Tz) -> Result<()> {
    let at = |key: &str| format!("{}:{}", item.source_path.display(), content::key_line(item, key));
    if !config.accounts.contains_key(&item.meta.account) {
        let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        bail!(
            "{}: account `{}` is not defined in publish.toml (defined: {})",
            at("account"),
            item.meta.account,
            known.join(", ")
        );
    }
    if let Some(when) = &item.meta.publish_at
        && content::parse_publish_at(when, tz).is_none()
    {
        bail!(
            "{}: publish_at `{when}` is not a time; write it as `YYYY-MM-DD HH:MM` in {}",
            at("publish_at"),
            config.site.timezone
        );
    }
    Ok(())
}

/// The cards of a topic page, in the order its `gather` lists paths, then tagged items by date.
fn topic_entries(
    topic: &Item,
    built: &[BuiltItem<'_>],
    planner: &mut ImagePlanner,
) -> Result<Vec<TopicEntry>, RenderError> {
    let gather = topic.meta.gather.clone().unwrap_or_default();
    let mut chosen: Vec<&BuiltItem<'_>> = Vec::new();
    for path in &gather.paths {
        let key = path.trim_matches('/');
        let Some(found) = built.iter().find(|b| b.item.key() == key) else {
            return Err(RenderError::Source {
                file: topic.source_path.clone(),
                line: content::key_line(topic, "gather"),
                column: 1,
                message: format!("gather: no item `{key}` (write paths as articles/FOLDER or posters/FOLDER)"),
            });
        };
        chosen.push(found);
    }
    let mut tagged: Vec<&BuiltItem<'_>> = built
        .iter()
        .filter(|b| {
            b.item.meta.tags.iter().any(|t| gather.tags.contains(t))
                && !chosen.iter().any(|c| c.item.key() == b.item.key())
        })
        .collect();
    tagged.sort_by(|a, b| (&a.item.meta.publish_at, &a.item.slug).cmp(&(&b.item.meta.publish_at, &b.item.slug)));
    chosen.extend(tagged);

    chosen
        .into_iter()
        .map(|b| {
            let cover_src = b.cover.as_ref().map(|job| planner.adopt(job));
            Ok(TopicEntry {
                key: b.item.key(),
                kind: b.item.kind,
                title: b.item.meta.title.clone(),
                digest: b.item.meta.digest.clone().unwrap_or_default(),
                date: b.item.meta.publish_at.as_deref().map(|d| d.chars().take(10).collect()).unwrap_or_default(),
                cover_src,
            })
        })
        .collect()
}

fn manifest_item(built: &BuiltItem<'_>, tz: chrono_tz::Tz, processed: &BTreeMap<String, Processed>) -> ManifestItem {
    let meta = &built.item.meta;
    let describe = |job: &ImageJob| ManifestImage {
        source: job.source.clone(),
        source_sha256: job.source_sha256.clone(),
        output: processed[&job.key].clone(),
    };
    ManifestItem {
        key: built.item.key(),
        kind: built.item.kind,
        slug: built.item.slug.clone(),
        source: built.item.source_path.clone(),
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
        content_chars: built.html.chars().count(),
        content_bytes: built.html.len(),
        references: built.references,
        cover: built.cover.as_ref().map(describe),
        poster: built.images.iter().find(|j| j.role == ImageRole::Poster).map(describe),
        images: built.images.iter().map(describe).collect(),
        illustrations: meta.illustrations.clone(),
        videos: meta.videos.clone(),
    }
}

/// Writes everything into a fresh sibling folder, then swaps it in: a failed build never leaves
/// a half-written output behind.
fn write_output(output_dir: &Path, built: &[BuiltItem<'_>], manifest: &Manifest, cache_dir: &Path) -> Result<()> {
    if output_dir.exists() && !output_dir.is_dir() {
        bail!(
            "{} is a file, not a folder: the build is written there — move the file away or choose another --out",
            output_dir.display()
        );
    }
    if output_dir.exists()
        && !output_dir.join("manifest.json").exists()
        && output_dir.read_dir().with_context(|| format!("cannot read {}", output_dir.display()))?.next().is_some()
    {
        bail!(
            "{} exists and was not written by wxpub (no manifest.json); refusing to replace it — choose another --out or remove it",
            output_dir.display()
        );
    }
    // The old output is deleted after the swap; find out now whether it can be, rather than
    // leave a half-deleted copy behind.
    if let Some(read_only) = first_read_only_dir(output_dir) {
        bail!(
            "cannot replace {}: {} is read-only — make it writable (chmod -R u+w {}) or choose another --out",
            output_dir.display(),
            read_only.display(),
            output_dir.display()
        );
    }
    let name = output_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "dist".into());
    let parent = output_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = parent.join(format!(".{name}.building-{}", std::process::id()));
    let result = write_tree(&staging, built, manifest, cache_dir);
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(err);
    }
    let previous = parent.join(format!(".{name}.previous-{}", std::process::id()));
    if output_dir.exists()
        && let Err(e) = std::fs::rename(output_dir, &previous)
    {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e).with_context(|| format!("cannot move the old {} aside", output_dir.display()));
    }
    if let Err(e) = std::fs::rename(&staging, output_dir) {
        // Put the old output back: a failed build leaves what was there.
        let _ = std::fs::remove_dir_all(&staging);
        if previous.exists() {
            let _ = std::fs::rename(&previous, output_dir);
        }
        return Err(e).with_context(|| format!("cannot move the new build into {}", output_dir.display()));
    }
    if previous.exists() {
        std::fs::remove_dir_all(&previous).with_context(|| format!("cannot remove {}", previous.display()))?;
    }
    Ok(())
}

/// The first folder at or under `dir` whose permissions forbid writing (so its entries could not
/// be deleted), if any.
fn first_read_only_dir(dir: &Path) -> Option<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_dir())
        .find(|entry| entry.metadata().is_ok_and(|m| m.permissions().readonly()))
        .map(|entry| entry.path().to_path_buf())
}

fn write_tree(root: &Path, built: &[BuiltItem<'_>], manifest: &Manifest, cache_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    for (b, entry) in built.iter().zip(&manifest.items) {
        let dir = root.join(b.item.kind.folder()).join(&b.item.slug);
        let image_dir = dir.join("images");
        std::fs::create_dir_all(&image_dir).with_context(|| format!("cannot create {}", image_dir.display()))?;
        std::fs::write(dir.join("content.html"), &b.html)?;
        std::fs::write(dir.join("index.html"), browser_page(&b.item.meta.title, &b.html))?;
        let mut files: Vec<&str> = entry.images.iter().chain(&entry.cover).map(|i| i.output.file.as_str()).collect();
        // The cover crop previews go beside the item, for editors to look at.
        if let Some(crops) = entry.cover.as_ref().and_then(|c| c.output.crops.as_ref()) {
            files.extend([crops.preview_235_1.as_str(), crops.preview_1_1.as_str()]);
        }
        for file in files {
            let target = image_dir.join(file);
            if !target.exists() {
                std::fs::copy(images::cached_file(cache_dir, file), &target)
                    .with_context(|| format!("{}: cannot write image {file}", b.item.source_path.display()))?;
            }
        }
    }
    let json = serde_json::to_string_pretty(manifest)?;
    std::fs::write(root.join("manifest.json"), json + "\n")?;
    Ok(())
}

/// `content.html` wrapped so that it opens in a browser at phone width, with nothing added that
/// could style it (the fragment must carry its own inline styles).
fn browser_page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n<body style=\"margin: 0 auto; max-width: 677px; padding: 16px;\">\n{content}\n</body>\n</html>\n",
        crate::render::markdown::escape_attr(title)
    )
}
