//! The rules themselves: pure functions of an item (and its neighbours) → diagnostics.
//!
//! One file per family: `front_matter` (the fields, the schedule, publish.lock, and what
//! compares items), `text` (the body's prose and Markdown), `images`, `links` (to other items)
//! and `rendered` (the render against WeChat's limits, and its colours). Here: the [`Context`]
//! every rule looks at, the word list, and [`check_content`], which runs the content rules.
use std::path::Path;

use serde::Deserialize;

use super::CheckError;
use crate::build::{Rendered, Renders};
use crate::config::Config;
use crate::content::{self, Item};
use crate::project::Project;
use crate::render::{Layouts, RenderError};
use crate::state::file_hashes::FileHashes;
use crate::util::diagnostics::{Diagnostic, Rule, line_col};

mod front_matter;
mod images;
mod links;
mod rendered;
mod text;

pub use front_matter::{check_across, check_meta};
use images::{check_cover, check_image_file, check_image_post};
pub use links::check_links;
use rendered::check_rendered;
use text::check_body;
pub use text::fix_typography;

/// A banned or discouraged word, with what to write instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Word {
    pub word: String,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    #[serde(default)]
    word: Vec<Word>,
}

impl Words {
    /// The listed words `text` contains.
    pub fn found_in<'w>(&'w self, text: &str) -> Vec<&'w Word> {
        self.word.iter().filter(|w| !w.word.is_empty() && text.contains(&w.word)).collect()
    }

    /// The list `[check] words` names (relative to the project), or none.
    pub fn of_project(root: &Path, config: &Config) -> Result<Words, CheckError> {
        match &config.check.words {
            Some(path) => Words::load(&root.join(path)),
            None => Ok(Words::default()),
        }
    }

    pub fn load(path: &Path) -> Result<Words, CheckError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CheckError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| CheckError::Words { path: path.to_path_buf(), message: e.to_string() })
    }
}

/// What every rule may look at.
pub struct Context<'a> {
    pub project: &'a Path,
    pub config: &'a Config,
    pub items: &'a [Item],
    pub now: chrono::DateTime<chrono::Utc>,
    layouts: Option<&'a Layouts>,
    /// Every item's render, in `items` order (none when the layouts cannot be loaded).
    renders: Option<&'a Renders>,
    /// Images' dimensions, remembered by their stat data.
    hashes: &'a FileHashes,
    /// What publish.lock records (empty when there is none or it cannot be read: `publish`
    /// reports a broken lock itself).
    lock: crate::state::ledger::Ledger,
    /// How links name other items (the renderer's own resolution).
    links: &'a crate::render::ItemLinks,
    /// Item key → its index in `items` (links and topic cards name items by key).
    index_of: std::collections::HashMap<String, usize>,
    /// Items whose publication is settled in publish.lock (see [`crate::state::ledger::Ledger::settled_items`]).
    settled: std::collections::BTreeSet<String>,
}

impl<'a> Context<'a> {
    pub fn new(
        project: &'a Project,
        renders: Option<&'a Renders>,
        hashes: &'a FileHashes,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let lock = crate::state::ledger::Ledger::load(&project.root).unwrap_or_default();
        Context {
            project: &project.root,
            config: &project.config,
            items: &project.items,
            now,
            layouts: project.layouts().ok(),
            renders,
            hashes,
            settled: lock.settled_items(),
            lock,
            links: &project.links,
            index_of: project.items.iter().enumerate().map(|(i, item)| (item.key(), i)).collect(),
        }
    }

    pub fn render_of(&self, item: &Item) -> Option<&'a Result<std::sync::Arc<Rendered>, RenderError>> {
        let index = *self.index_of.get(&item.key())?;
        self.renders?.get(index)
    }

    /// Whether publish.lock records `item` as published or being published (not failed).
    fn is_published(&self, item: &Item) -> bool {
        let key = item.key();
        self.lock
            .accounts
            .values()
            .flat_map(|a| a.pushes.values())
            .any(|push| push.items.contains(&key) && push.publication.as_ref().is_some_and(|p| !p.status.is_failed()))
    }

    /// Whether publish.lock records that `item`'s push publishes the server's draft as it is
    /// (`keep_server`): what the source says is no longer what goes out.
    fn keeps_server_draft(&self, item: &Item) -> bool {
        let key = item.key();
        self.lock
            .accounts
            .values()
            .flat_map(|a| a.pushes.values())
            .any(|push| push.keep_server && push.items.contains(&key))
    }
}

fn diag(item: &Item, line: usize, column: usize, rule: Rule, message: String, hint: &str) -> Diagnostic {
    Diagnostic {
        file: item.source_path.clone(),
        line,
        column,
        rule,
        severity: rule.default_severity(),
        message,
        hint: (!hint.is_empty()).then(|| hint.to_string()),
    }
}

fn at_key(item: &Item, key: &str, rule: Rule, message: String, hint: &str) -> Diagnostic {
    diag(item, content::key_line(item, key), 1, rule, message, hint)
}

fn at_offset(item: &Item, body_offset: usize, rule: Rule, message: String, hint: &str) -> Diagnostic {
    let (line, column) = line_col(&item.source, item.body_offset + body_offset);
    diag(item, line, column, rule, message, hint)
}

/// The rules on the item's text, images, links and render: a function of its source, its
/// render, the settings and which items exist.
pub fn check_content(ctx: &Context<'_>, item: &Item, words: &Words) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let meta = &item.meta;
    if let Some(cover) = &meta.cover {
        out.extend(check_cover(item, cover, ctx));
    }
    if let Some(image) = &meta.image {
        out.extend(check_image_file(item, image, content::key_line(item, "image"), 1, ctx, false));
    }
    out.extend(check_body(ctx, item, words));
    out.extend(check_rendered(ctx, item));
    if item.meta.format == content::Format::ImagePost {
        out.extend(check_image_post(item));
    }
    out
}
