//! BUILD: a [`Project`] → rendered items → processed images → `dist/`, incrementally.
//!
//! 1. [`render_all`] renders every item (in parallel; topic pages last, since they gather the
//!    others) and plans its images. `check` reads the same renders, so nothing renders twice.
//! 2. [`build`] processes the images of the items it writes (or finds them in the cache),
//!    replaces the placeholders with file names, and hands the result to [`output`], which
//!    writes only the items that changed, each swapped in whole, and the manifest last.
//!
//! Content hashes are the cache keys throughout; [`FileHashes`] reads a source again only when
//! its stat data changed, so an unchanged build costs a stat per file, not a read.
mod manifest;
mod memo;
mod output;
pub mod record;

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use crate::content::{self, Item, Kind};
use crate::images::{self, ImageJob, ImagePlanner, ImageRequestError, ImageRole, ImageSink, Planning};
use crate::project::Project;
use crate::render::{Layouts, RenderError, TopicEntry};
use crate::state::file_hashes::FileHashes;
use crate::util::diagnostics::Diagnostic;
use crate::util::progress::Progress;
pub use manifest::{Manifest, ManifestImage, ManifestItem};
pub use memo::{RENDER_CACHE_DIR, RenderMemo, entry_name as cache_entry_name, folder_listing};
pub use output::{OutputError, WriteReport};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An item, the layouts or the configuration cannot be built; the message names the file.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Image(#[from] images::ImageError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// One item, rendered: the HTML with image placeholders, and what the renderer noticed.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    pub references: usize,
    /// An image post's plain text (what goes out as its `content`).
    pub text: Option<String>,
    /// Keys of the items it links to, and where each link pointed when rendered.
    pub linked: Vec<String>,
    pub link_targets: Vec<Option<String>>,
    /// Whether the HTML depends on which items the project has (a relative link was looked
    /// up): a kept render without one holds when items are added or removed.
    pub looked_up_items: bool,
    pub diagnostics: Vec<Diagnostic>,
    pub cover: Option<ImageJob>,
    /// Every other image the item uses (a poster's image among them).
    pub images: Vec<ImageJob>,
    /// Images that cannot be used, when planned by path (`check` reports them by its own rules).
    pub image_problems: Vec<ImageRequestError>,
}

/// The renders of every item of a project, in the project's item order. A render kept from an
/// earlier build is the same shared value, so later stages can tell an unchanged item by
/// [`Arc::ptr_eq`] without comparing its HTML.
#[derive(Debug)]
pub struct Renders {
    results: Vec<Result<Arc<Rendered>, RenderError>>,
    /// How many items were rendered (the others were kept from an earlier render).
    pub rendered: usize,
}

impl Renders {
    /// The render of `project.items[index]`.
    pub fn get(&self, index: usize) -> Option<&Result<Arc<Rendered>, RenderError>> {
        self.results.get(index)
    }
}

/// Renders every item, reusing what `memo` kept of those whose inputs are unchanged. Topic
/// pages gather the items that are published (and drafts too when `gather_drafts`), in the order
/// their `gather` names them.
pub fn render_all(
    project: &Project,
    planning: Planning<'_>,
    gather_drafts: bool,
    memo: Option<&RenderMemo>,
) -> Result<Renders, BuildError> {
    let layouts = project.layouts().map_err(|e| BuildError::Invalid(e.to_string()))?;
    let rendered = std::sync::atomic::AtomicUsize::new(0);
    let render = |item: &Item| {
        kept_or_rendered(project, memo, item, planning, None, || {
            rendered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            render_one(project, layouts, item, planning, &[]).map(Arc::new)
        })
    };
    if let Some(memo) = memo {
        memo.prune(project);
    }
    let mut results: Vec<Option<Result<Arc<Rendered>, RenderError>>> =
        project.items.par_iter().map(|item| (item.kind != Kind::Topic).then(|| render(item))).collect();
    let gatherable: Vec<(&Item, Option<&ImageJob>)> = project
        .items
        .iter()
        .zip(&results)
        .filter(|(item, _)| item.kind != Kind::Topic && (gather_drafts || !item.meta.draft))
        .map(|(item, result)| {
            // A card shows the item's cover; a poster's, the poster itself.
            let rendered = result.as_ref().and_then(|r| r.as_ref().ok());
            let card_image = rendered
                .and_then(|r| r.cover.as_ref().or_else(|| r.images.iter().find(|job| job.role == ImageRole::Poster)));
            (item, card_image)
        })
        .collect();
    let topics: Vec<(usize, Result<Arc<Rendered>, RenderError>)> = project
        .items
        .par_iter()
        .enumerate()
        .filter(|(_, item)| item.kind == Kind::Topic)
        .map(|(index, topic)| (index, render_topic(project, layouts, topic, planning, &gatherable, memo, &rendered)))
        .collect();
    for (index, result) in topics {
        results[index] = Some(result);
    }
    Ok(Renders {
        results: results.into_iter().map(|r| r.expect("every item is rendered once")).collect(),
        rendered: rendered.into_inner(),
    })
}

fn planner<'p>(project: &'p Project, item: &Item, planning: Planning<'p>) -> Result<ImagePlanner<'p>, RenderError> {
    Ok(ImagePlanner::new(&item.dir, &item.source_path, &project.config.images, planning)?)
}

fn render_one(
    project: &Project,
    layouts: &Layouts,
    item: &Item,
    planning: Planning<'_>,
    entries: &[TopicEntry],
) -> Result<Rendered, RenderError> {
    render_with(project, layouts, item, planner(project, item, planning)?, entries)
}

/// `item`'s render as `memo` kept it, if its inputs (and for a topic page, the cards it
/// gathers) are unchanged; otherwise rendered by `render` and kept.
fn kept_or_rendered(
    project: &Project,
    memo: Option<&RenderMemo>,
    item: &Item,
    planning: Planning<'_>,
    gathered: Option<&[TopicEntry]>,
    render: impl FnOnce() -> Result<Arc<Rendered>, RenderError>,
) -> Result<Arc<Rendered>, RenderError> {
    let Some(memo) = memo else { return render() };
    let inputs = match memo.lookup(project, item, planning, gathered) {
        memo::Lookup::Hit(kept) => return Ok(kept),
        memo::Lookup::Miss(inputs) => inputs,
    };
    let result = render();
    if let (Ok(rendered), Some(inputs)) = (&result, inputs) {
        memo.store(project, planning, inputs, rendered);
    }
    result
}

fn render_topic(
    project: &Project,
    layouts: &Layouts,
    topic: &Item,
    planning: Planning<'_>,
    gatherable: &[(&Item, Option<&ImageJob>)],
    memo: Option<&RenderMemo>,
    rendered: &std::sync::atomic::AtomicUsize,
) -> Result<Arc<Rendered>, RenderError> {
    let mut planner = planner(project, topic, planning)?;
    let entries = topic_entries(topic, gatherable, &project.links, &mut planner)?;
    kept_or_rendered(project, memo, topic, planning, Some(&entries), || {
        rendered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        render_with(project, layouts, topic, planner, &entries).map(Arc::new)
    })
}

fn render_with(
    project: &Project,
    layouts: &Layouts,
    item: &Item,
    mut planner: ImagePlanner<'_>,
    entries: &[TopicEntry],
) -> Result<Rendered, RenderError> {
    // An image post's first photo is its cover (WeChat crops it 2.35:1 and 1:1 for lists).
    let image_post = item.meta.format == content::Format::ImagePost;
    let cover_source = item.meta.cover.clone().or_else(|| image_post.then(|| first_photo(item)).flatten());
    let cover = match &cover_source {
        Some(cover) => {
            let focus = match &item.meta.cover_focus {
                Some(text) => images::crop::parse_focus(text).ok_or_else(|| RenderError::Source {
                    file: item.source_path.clone(),
                    line: content::key_line(item, "cover_focus"),
                    column: 1,
                    message: format!(
                        "cover_focus `{text}` must be `x,y` with both between 0 and 1 (0.5,0.5 is the centre)"
                    ),
                })?,
                None => (0.5, 0.5),
            };
            planner.request(cover, content::key_line(item, "cover"), ImageRole::Cover { focus })?;
            Some(cover.clone())
        }
        None => None,
    };
    let rendered = layouts.render_item(item, &project.config, entries, &project.links, &mut planner)?;
    let image_problems = planner.problems().to_vec();
    let mut images = planner.into_jobs();
    let cover = cover
        .and_then(|c| images.iter().position(|j| j.source == c && matches!(j.role, ImageRole::Cover { .. })))
        .map(|i| images.remove(i));
    Ok(Rendered {
        html: rendered.html,
        references: rendered.references.len(),
        text: image_post.then(|| crate::render::markdown::plain_text(item.body())),
        link_targets: rendered.linked.iter().map(|key| project.links.href(key)).collect(),
        linked: rendered.linked,
        looked_up_items: rendered.looked_up_items,
        diagnostics: rendered.diagnostics,
        cover,
        images,
        image_problems,
    })
}

/// An image post's first photo: a poster's image, else the first image of the body.
fn first_photo(item: &Item) -> Option<String> {
    if let Some(image) = &item.meta.image {
        return Some(image.clone());
    }
    pulldown_cmark::Parser::new_ext(item.body(), crate::render::markdown::options()).find_map(|event| match event {
        pulldown_cmark::Event::Start(pulldown_cmark::Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
        _ => None,
    })
}

/// The cards of a topic page, in the order its `gather` lists paths, then tagged items by date.
fn topic_entries(
    topic: &Item,
    gatherable: &[(&Item, Option<&ImageJob>)],
    links: &crate::render::ItemLinks,
    planner: &mut ImagePlanner<'_>,
) -> Result<Vec<TopicEntry>, RenderError> {
    let gather = topic.meta.gather.clone().unwrap_or_default();
    let mut chosen: Vec<(&Item, Option<&ImageJob>)> = Vec::new();
    for path in &gather.paths {
        let key = path.trim_matches('/');
        let Some(found) = gatherable.iter().find(|(item, _)| item.key() == key) else {
            return Err(RenderError::Source {
                file: topic.source_path.clone(),
                line: content::key_line(topic, "gather"),
                column: 1,
                message: format!("gather: no item `{key}` (write paths as articles/FOLDER or posters/FOLDER)"),
            });
        };
        chosen.push(*found);
    }
    let mut tagged: Vec<(&Item, Option<&ImageJob>)> = gatherable
        .iter()
        .filter(|(item, _)| {
            item.meta.tags.iter().any(|t| gather.tags.contains(t)) && !chosen.iter().any(|(c, _)| c.key() == item.key())
        })
        .copied()
        .collect();
    tagged.sort_by(|(a, _), (b, _)| (&a.meta.publish_at, &a.slug).cmp(&(&b.meta.publish_at, &b.slug)));
    chosen.extend(tagged);

    Ok(chosen
        .into_iter()
        .map(|(item, cover)| TopicEntry {
            key: item.key(),
            kind: item.kind,
            title: item.meta.title.clone(),
            digest: item.meta.digest.clone().unwrap_or_default(),
            date: item.meta.publish_at.as_deref().map(|d| d.chars().take(10).collect()).unwrap_or_default(),
            cover_src: cover.map(|job| planner.adopt(job)),
            url: links.href(&item.key()),
        })
        .collect())
}

/// One item rendered in another of the project's themes, its images taken from the image cache
/// (the preview's themes side by side). Nothing is written; links open preview pages.
pub fn render_in_theme(
    root: &std::path::Path,
    key: &str,
    theme: &str,
    hashes: &FileHashes,
) -> Result<String, BuildError> {
    let mut project = Project::load(root).map_err(|e| BuildError::Invalid(e.to_string()))?;
    project.links.mode = crate::render::LinkMode::Preview;
    project.config.site.theme = theme.to_string();
    project.layouts = Layouts::load(&project.root.join("layouts"), &project.config);
    let index = project
        .items
        .iter()
        .position(|item| item.key() == key)
        .ok_or_else(|| BuildError::Invalid(format!("no item `{key}`")))?;
    let item = &project.items[index];
    let rendered = if item.kind == Kind::Topic {
        // A topic page gathers the others: render them all.
        let mut renders = render_all(&project, Planning::ByContent(hashes), true, None)?;
        renders.results.swap_remove(index)?
    } else {
        let layouts = project.layouts().map_err(|e| BuildError::Invalid(e.to_string()))?;
        Arc::new(render_one(&project, layouts, item, Planning::ByContent(hashes), &[])?)
    };
    let jobs: Vec<&ImageJob> = rendered.images.iter().chain(&rendered.cover).collect();
    let cache_dir = images::cache_dir(&project.root);
    let report = images::process_all(&jobs, &project.config.images, &cache_dir, &crate::util::progress::Silent)?;
    Ok(images::resolve_placeholders(&rendered.html, &report.processed))
}

/// Where and what to build.
pub struct BuildOptions<'a> {
    /// Where the build is written (`dist/`); `None`: nowhere — the preview serves its pages from
    /// memory and their images from the image cache, so it writes no item folder at all.
    pub output_dir: Option<PathBuf>,
    /// Drafts too (the preview), not only what may be published.
    pub drafts: bool,
    /// The source hashes remembered from earlier builds.
    pub hashes: &'a FileHashes,
    /// Renders kept from earlier builds (in this process, or on disk), if they are kept.
    pub memo: Option<&'a RenderMemo>,
    pub progress: &'a dyn Progress,
}

/// Everything one build produced.
pub struct Build {
    pub manifest: Manifest,
    /// What the renderer noticed in the items written.
    pub diagnostics: Vec<Diagnostic>,
    /// Images decoded in this build, and images found in the cache.
    pub images_decoded: usize,
    pub images_cached: usize,
    /// What the image pipeline noticed (downscaled to fit, profile dropped, …), for the items
    /// whose images were looked at (with [`build_after`], those that changed).
    pub image_notes: Vec<String>,
    /// Source files read to hash them (0 when nothing changed since the last build).
    pub files_hashed: usize,
    /// Items rendered (the others' renders were kept from an earlier build).
    pub items_rendered: usize,
    pub written: WriteReport,
    /// `content.html` of each item of the manifest, in its order.
    pub html: Vec<String>,
    /// Whether each item of the manifest, in its order, is as the previous build given to
    /// [`build_after`] left it (the same render, so the same entry, HTML and files).
    pub unchanged: Vec<bool>,
    /// The render of each item of the manifest, in its order.
    item_renders: Vec<Arc<Rendered>>,
    /// Every item's render, for `check` to read.
    pub renders: Renders,
}

/// Builds the project into `options.output_dir` (if any), writing only what changed.
pub fn build(project: &Project, options: &BuildOptions<'_>) -> Result<Build, BuildError> {
    build_after(project, options, None)
}

/// [`build`], after `previous` was built into the same folder by this process: an item whose
/// render is the very one `previous` had (kept by the memo, so unchanged) keeps its manifest
/// entry, HTML and files as they are, without looking at its images or its folder in the
/// output again. This is what keeps a preview's rebuild after one save in proportion to the
/// save, not to the project.
pub fn build_after(
    project: &Project,
    options: &BuildOptions<'_>,
    previous: Option<Build>,
) -> Result<Build, BuildError> {
    let items = project.buildable_items().map_err(|e| BuildError::Invalid(e.to_string()))?;
    if items.is_empty() {
        return Err(BuildError::Invalid(
            content::ContentError::Empty { dir: project.root.join("content") }.to_string(),
        ));
    }
    let hashes_before = options.hashes.files_read();
    let renders = render_all(project, Planning::ByContent(options.hashes), options.drafts, options.memo)?;
    let tz = project.config.timezone();
    let mut selected: Vec<(&Item, &Arc<Rendered>)> = Vec::new();
    for (item, result) in items.iter().zip(&renders.results) {
        if item.meta.draft && !options.drafts {
            continue;
        }
        validate_item(project, item)?;
        match result {
            Ok(rendered) => selected.push((item, rendered)),
            Err(e) => return Err(BuildError::Invalid(e.to_string())),
        }
    }
    let diagnostics: Vec<Diagnostic> = selected.iter().flat_map(|(_, r)| r.diagnostics.iter().cloned()).collect();

    // What the previous build made of the items whose render is unchanged.
    let mut previous = previous.map(PreviousBuild::new).unwrap_or_default();
    let kept: Vec<Option<(ManifestItem, String)>> =
        selected.iter().map(|(item, rendered)| previous.take(&item.key(), rendered)).collect();

    // Every image of every other item, processed once (or found in the cache).
    let cache_dir = images::cache_dir(&project.root);
    let jobs: Vec<&ImageJob> = selected
        .iter()
        .zip(&kept)
        .filter(|(_, kept)| kept.is_none())
        .flat_map(|((_, r), _)| r.images.iter().chain(&r.cover))
        .collect();
    let report = images::process_all(&jobs, &project.config.images, &cache_dir, options.progress)?;
    let mut image_notes = Vec::new();
    for job in &jobs {
        for note in &report.processed[&job.key].notes {
            let line = format!("{}:{}: image `{}`: {note}", job.item_file.display(), job.line, job.source);
            if !image_notes.contains(&line) {
                image_notes.push(line);
            }
        }
    }
    let unchanged: Vec<bool> = kept.iter().map(Option::is_some).collect();
    let (entries, html): (Vec<ManifestItem>, Vec<String>) = selected
        .par_iter()
        .zip(kept)
        .map(|((item, r), kept)| {
            kept.unwrap_or_else(|| {
                let html = images::resolve_placeholders(&r.html, &report.processed);
                (manifest::describe(item, &html, r, tz, &report.processed), html)
            })
        })
        .unzip();
    let manifest = Manifest { site: project.config.site.name.clone(), items: entries };
    let written = match &options.output_dir {
        Some(output_dir) => {
            let outputs: Vec<output::OutputItem<'_>> = manifest
                .items
                .iter()
                .zip(&html)
                .zip(&unchanged)
                .map(|((entry, html), unchanged)| output::OutputItem {
                    folder: entry.key.clone(),
                    title: &entry.title,
                    content_html: html,
                    images: entry.image_files(),
                    written_before: *unchanged,
                })
                .collect();
            output::write(output_dir, &outputs, &manifest, &cache_dir)?
        }
        None => WriteReport::default(),
    };
    if let Err(e) = options.hashes.save() {
        image_notes
            .push(format!("the source hashes could not be remembered ({e}); the next build reads every image again"));
    }
    let item_renders = selected.iter().map(|(_, r)| Arc::clone(r)).collect();
    Ok(Build {
        manifest,
        diagnostics,
        images_decoded: report.decoded,
        images_cached: report.from_cache,
        image_notes,
        files_hashed: options.hashes.files_read() - hashes_before,
        items_rendered: renders.rendered,
        written,
        html,
        unchanged,
        item_renders,
        renders,
    })
}

/// A previous build's items by key: its render, manifest entry and HTML.
#[derive(Default)]
struct PreviousBuild {
    items: std::collections::HashMap<String, (Arc<Rendered>, ManifestItem, String)>,
}

impl PreviousBuild {
    fn new(build: Build) -> PreviousBuild {
        let items = build
            .manifest
            .items
            .into_iter()
            .zip(build.html)
            .zip(build.item_renders)
            .map(|((entry, html), rendered)| (entry.key.clone(), (rendered, entry, html)))
            .collect();
        PreviousBuild { items }
    }

    /// The entry and HTML of `key`, if it was built from this very render.
    fn take(&mut self, key: &str, rendered: &Arc<Rendered>) -> Option<(ManifestItem, String)> {
        let (before, ..) = self.items.get(key)?;
        if !Arc::ptr_eq(before, rendered) {
            return None;
        }
        self.items.remove(key).map(|(_, entry, html)| (entry, html))
    }
}

fn validate_item(project: &Project, item: &Item) -> Result<(), BuildError> {
    let config = &project.config;
    let at = |key: &str| format!("{}:{}", item.source_path.display(), content::key_line(item, key));
    if !config.accounts.contains_key(&item.meta.account) {
        let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        return Err(BuildError::Invalid(format!(
            "{}: account `{}` is not defined in publish.toml (defined: {})",
            at("account"),
            item.meta.account,
            known.join(", ")
        )));
    }
    if let Some(when) = &item.meta.publish_at
        && content::parse_publish_at(when, config.timezone()).is_none()
    {
        return Err(BuildError::Invalid(format!(
            "{}: publish_at `{when}` is not a time; write it as `YYYY-MM-DD HH:MM` in {}",
            at("publish_at"),
            config.site.timezone
        )));
    }
    Ok(())
}
