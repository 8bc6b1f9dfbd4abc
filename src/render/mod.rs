//! RENDER: Markdown events → WeChat transforms → inline styles → Tera layout → sanitize.
//!
//! The renderer is pure given an [`ImageSink`]: it *requests* each image it meets and gets the
//! final `src` at once; the images stage decides what that file is and produces it later.
pub mod components;
pub mod darkmode;
pub mod highlight;
pub mod links;
pub mod markdown;
pub mod sanitize;
pub mod theme;

use std::path::{Path, PathBuf};

use serde::Serialize;
use tera::Tera;
use thiserror::Error;

use crate::config::Config;
use crate::content::{Item, Kind};
pub use crate::images::{ImageRequestError, ImageRole, ImageSink};
use crate::util::diagnostics::{Diagnostic, line_col};
pub use components::{VIDEO_PLACEHOLDER_MARKER, format_duration, has_video_placeholder};
pub use links::{ItemLinks, LinkMode};
pub use markdown::Reference;
pub use theme::Theme;

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("{file}:{line}:{column}: {message}")]
    Source { file: PathBuf, line: usize, column: usize, message: String },
    #[error("layouts: {message}")]
    Layouts { message: String },
    #[error(transparent)]
    Theme(#[from] theme::ThemeError),
}

impl From<ImageRequestError> for RenderError {
    fn from(e: ImageRequestError) -> Self {
        RenderError::Source { file: e.file, line: e.line, column: 1, message: e.message }
    }
}

/// What a rendering step needs to know about the file it renders.
pub struct RenderContext<'a> {
    pub theme: &'a Theme,
    pub code_theme: String,
    pub line_breaks: crate::config::LineBreaks,
    /// The item's folder (relative links to other items start there).
    pub dir: &'a Path,
    pub links: &'a ItemLinks,
    /// `[miniprograms]` of publish.toml, for `booking` cards.
    pub miniprograms: &'a std::collections::BTreeMap<String, crate::config::MiniProgram>,
    pub file: &'a Path,
    pub source: &'a str,
}

impl RenderContext<'_> {
    /// 1-based line and column of a byte offset in the source file.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        line_col(self.source, offset)
    }

    pub fn error_at(&self, offset: usize, message: String) -> RenderError {
        let (line, column) = self.position(offset);
        RenderError::Source { file: self.file.to_path_buf(), line, column, message }
    }
}

/// A card on a topic page: one gathered item.
#[derive(Debug, Clone, Serialize)]
pub struct TopicEntry {
    pub key: String,
    pub kind: Kind,
    pub title: String,
    pub digest: String,
    pub date: String,
    /// Already resolved through the topic's image sink.
    pub cover_src: Option<String>,
    /// Where the card leads: the item's published URL (or its preview page); None until then.
    pub url: Option<String>,
}

/// The result of rendering one item: the exact HTML fragment WeChat receives, and what was
/// noticed on the way.
#[derive(Debug)]
pub struct RenderedItem {
    pub html: String,
    pub references: Vec<Reference>,
    /// Keys of the items it links to (topic pages: the items on their cards), each once.
    pub linked: Vec<String>,
    /// Whether its HTML depends on which items the project has (see
    /// [`markdown::MarkdownOutput::looked_up_items`]; a topic page's cards are its own input).
    pub looked_up_items: bool,
    pub diagnostics: Vec<Diagnostic>,
}

/// The loaded layouts (Tera templates) and theme of a project.
pub struct Layouts {
    tera: Tera,
    theme: Theme,
    code_theme: String,
    line_breaks: crate::config::LineBreaks,
    miniprograms: std::collections::BTreeMap<String, crate::config::MiniProgram>,
    references_title: String,
    site_name: String,
}

const REQUIRED_TEMPLATES: [&str; 3] = ["article.html", "poster.html", "topic.html"];

impl Layouts {
    /// Loads `layouts/**/*.html` and the configured theme.
    pub fn load(layouts_dir: &Path, config: &Config) -> Result<Layouts, RenderError> {
        let pattern = format!("{}/**/*.html", layouts_dir.display());
        let mut tera = Tera::new(&pattern).map_err(|e| RenderError::Layouts { message: tera_message(&e) })?;
        // Tera's default escaping also encodes `/` and `'`, which costs characters of WeChat's
        // content limit and makes URLs unreadable in the references list.
        tera.set_escape_fn(crate::util::html::escape);
        for name in REQUIRED_TEMPLATES {
            if !tera.get_template_names().any(|n| n == name) {
                return Err(RenderError::Layouts {
                    message: format!(
                        "{} has no {name}; every project needs article.html, poster.html and topic.html",
                        layouts_dir.display()
                    ),
                });
            }
        }
        let theme = Theme::load(layouts_dir, &config.site.theme)?;
        Ok(Layouts {
            tera,
            theme,
            code_theme: config.build.code_theme.clone(),
            line_breaks: config.build.line_breaks,
            miniprograms: config.miniprograms.clone(),
            references_title: config.build.references_title.clone(),
            site_name: config.site.name.clone(),
        })
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Renders one item to its final, sanitized HTML fragment.
    pub fn render_item(
        &self,
        item: &Item,
        config: &Config,
        topic_entries: &[TopicEntry],
        links: &ItemLinks,
        sink: &mut dyn ImageSink,
    ) -> Result<RenderedItem, RenderError> {
        let ctx = RenderContext {
            theme: &self.theme,
            code_theme: self.code_theme.clone(),
            line_breaks: self.line_breaks,
            dir: &item.dir,
            links,
            miniprograms: &self.miniprograms,
            file: &item.source_path,
            source: &item.source,
        };
        let body = markdown::render(&ctx, item.body(), item.body_offset, sink)?;
        let account = config.accounts.get(&item.meta.account);

        let mut context = tera::Context::new();
        context.insert("site", &serde_json::json!({ "name": self.site_name }));
        context.insert(
            "account",
            &serde_json::json!({
                "key": item.meta.account,
                "name": account.map(|a| a.name.as_str()).unwrap_or(""),
                "kind": account.map(|a| a.kind),
            }),
        );
        context.insert("item", &item.meta);
        context.insert("kind", &item.kind);
        context.insert("slug", &item.slug);
        context.insert("theme", self.theme.styles());
        // The body goes in after the templates have run: Tera copies its whole context for
        // every template it renders, and the body is most of an item's bytes.
        context.insert("content", CONTENT_SLOT);
        context.insert("references", &body.references);
        context.insert("references_title", &self.references_title);
        context.insert("entries", topic_entries);
        if item.kind == Kind::Poster {
            let image = item.meta.image.as_deref().unwrap_or_default();
            let src = sink.request(image, crate::content::key_line(item, "image"), ImageRole::Poster)?;
            context.insert("poster_src", &src);
        }
        for (slot, partial) in
            [("header", account.and_then(|a| a.header.as_ref())), ("footer", account.and_then(|a| a.footer.as_ref()))]
        {
            let html = match partial {
                Some(name) => self.render_template(name, &context)?,
                None => String::new(),
            };
            context.insert(slot, &html);
        }
        let template = match item.kind {
            Kind::Article => "article.html",
            Kind::Poster => "poster.html",
            Kind::Topic => "topic.html",
        };
        let page = compact(&self.render_template(template, &context)?);
        let html = if page.contains(CONTENT_SLOT) {
            page.replace(CONTENT_SLOT, &compact(&body.html))
        } else {
            // A template that escapes or filters `content` (anything but `{{ content | safe }}`)
            // gets the real body, as it would without the slot.
            context.insert("content", &body.html);
            compact(&self.render_template(template, &context)?)
        };
        let mut linked = body.linked;
        for entry in topic_entries {
            if !linked.contains(&entry.key) {
                linked.push(entry.key.clone());
            }
        }
        Ok(RenderedItem {
            html: sanitize::sanitize(&html),
            references: body.references,
            linked,
            looked_up_items: body.looked_up_items,
            diagnostics: body.diagnostics,
        })
    }

    fn render_template(&self, name: &str, context: &tera::Context) -> Result<String, RenderError> {
        self.tera
            .render(name, context)
            .map_err(|e| RenderError::Layouts { message: format!("{name}: {}", tera_message(&e)) })
    }
}

/// Stands in for the body while the templates run. Shaped like an element so that [`compact`]
/// joins it to its neighbours exactly as it joins the body (which starts and ends with a tag).
const CONTENT_SLOT: &str = "<wxpub-content></wxpub-content>";

/// Drops the indentation and newlines between tags that templates carry: whitespace between
/// blocks shows up as stray gaps in the WeChat editor.
fn compact(html: &str) -> String {
    if memchr::memchr(b'\n', html.as_bytes()).is_none() && html.trim().len() == html.len() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    for line in html.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if !out.is_empty() && !out.ends_with('>') && !trimmed.starts_with('<') {
            out.push(' ');
        }
        out.push_str(trimmed);
    }
    out
}

fn tera_message(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}
