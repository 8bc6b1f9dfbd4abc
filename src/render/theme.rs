//! Themes: a table of inline styles per element and component, read from
//! `layouts/themes/NAME.toml`. The renderer writes these inline as it emits each tag (no CSS
//! inliner over finished HTML: that costs about 8× the Markdown parse).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::util::diagnostics::did_you_mean;

/// Every style key a theme may set, with what it styles. A theme that omits a key leaves that
/// element unstyled; a key not listed here is a typo and an error.
pub const STYLE_KEYS: &[(&str, &str)] = &[
    ("root", "the section wrapping the whole item"),
    ("p", "paragraphs"),
    ("h1", "level-1 headings"),
    ("h2", "level-2 headings"),
    ("h3", "level-3 headings"),
    ("h4", "level-4 to level-6 headings"),
    ("strong", "bold text"),
    ("em", "italic text"),
    ("del", "strikethrough"),
    ("a", "links to mp.weixin.qq.com articles (the only links WeChat keeps)"),
    ("ref_marker", "the [n] marker an outside link becomes"),
    ("blockquote", "block quotes"),
    ("hr", "horizontal rules"),
    ("code", "inline code"),
    ("code_block", "the scrolling box around a code block"),
    ("code_line", "one line of a code block"),
    ("list", "ul/ol"),
    ("list_item", "li, and one item of a nested list"),
    ("nested_list", "a list inside a list item (a section: WeChat adds bullets to lists nested directly)"),
    ("list_item_body", "the section holding one list item's content"),
    ("list_marker", "the bullet, number or check box drawn before an item"),
    ("table_wrap", "the scrolling box around a table"),
    ("table", "tables"),
    ("th", "header cells"),
    ("td", "body cells"),
    ("figure", "an image with its caption"),
    ("img", "images in figures"),
    ("img_inline", "images inside a line of text"),
    ("figcaption", "image captions"),
    ("footnotes", "the footnote section"),
    ("footnote", "one footnote"),
    ("references", "the section listing outside links"),
    ("references_title", "its heading"),
    ("reference", "one reference line"),
    ("artifact", "artifact card box"),
    ("artifact_title", "artifact card name"),
    ("artifact_field", "one label/value row of an artifact card"),
    ("artifact_label", "the label of a row"),
    ("exhibition", "exhibition box"),
    ("exhibition_title", "exhibition box title"),
    ("exhibition_field", "one row of an exhibition box"),
    ("exhibition_label", "the label of a row"),
    ("gallery", "image gallery box"),
    ("gallery_cell", "one image of a gallery"),
    ("note", "editor's note box"),
    ("booking", "the block around a mini-program card or link (visit booking, sign-up)"),
    ("note_title", "editor's note heading"),
    ("video", "the placeholder box of a `video` block, where an editor inserts the video in the web backend"),
    ("video_text", "its line 在此插入视频：TITLE（DURATION）"),
    ("video_note", "its note line"),
    ("header", "the account header partial"),
    ("footer", "the account footer partial"),
    ("poster_img", "the poster image"),
    ("toc", "a topic's table of contents"),
    ("toc_item", "one entry of it"),
    ("card", "a topic's card for one item"),
    ("card_img", "the card's cover image"),
    ("card_poster", "a poster card's image (the poster itself, narrower than a cover)"),
    ("card_link", "the card's title and read-more link, once the item is published"),
    ("card_more", "the card's read-more line"),
    ("card_title", "the card's title"),
    ("card_meta", "the card's date/kind line"),
    ("card_digest", "the card's digest"),
];

#[derive(Debug, Error)]
pub enum ThemeError {
    #[error(
        "cannot read theme {path}: {source}\n  hint: check `[site] theme` in publish.toml; themes live in layouts/themes/NAME.toml"
    )]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    description: String,
    styles: BTreeMap<String, String>,
}

/// A loaded theme: style key → CSS declarations.
#[derive(Debug, Clone, Default)]
pub struct Theme {
    pub name: String,
    pub description: String,
    styles: BTreeMap<String, String>,
    /// ` style="…"` per key, built once: the renderer writes one per tag.
    attrs: BTreeMap<String, String>,
}

impl Theme {
    /// Boxes are padded evenly: when the box written from `from` on ends with a paragraph (a
    /// quote, a note), that paragraph loses its bottom margin, which would otherwise add to the
    /// box's own padding.
    pub fn drop_last_paragraph_margin(&self, html: &mut String, from: usize) {
        if !html.ends_with("</p>") {
            return;
        }
        let open = format!("<p{}>", self.attr("p"));
        if let Some(at) = html[from..].rfind(&open) {
            let at = from + at;
            let style = self.style("p").trim().trim_end_matches(';');
            let style =
                if style.is_empty() { "margin-bottom: 0".to_string() } else { format!("{style}; margin-bottom: 0") };
            html.replace_range(at..at + open.len(), &format!("<p{}>", style_attr(&style)));
        }
    }

    pub fn load(layouts: &Path, name: &str) -> Result<Theme, ThemeError> {
        let path = layouts.join("themes").join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read { path: path.clone(), source })?;
        Theme::parse(name, &text).map_err(|message| ThemeError::Invalid { path, message })
    }

    pub fn parse(name: &str, text: &str) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for key in file.styles.keys() {
            if !STYLE_KEYS.iter().any(|(k, _)| k == key) {
                let hint = did_you_mean(key, STYLE_KEYS.iter().map(|(k, _)| *k))
                    .map(|s| format!(" — did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(format!("`styles.{key}` is not a style key{hint}"));
            }
        }
        let mut styles = file.styles;
        // Every key is there for the templates, empty when unset: a theme written before a key
        // existed still renders (that element unstyled) instead of failing in Tera.
        for (key, _) in STYLE_KEYS {
            styles.entry(key.to_string()).or_default();
        }
        let attrs = styles.iter().map(|(key, value)| (key.clone(), style_attr(value))).collect();
        Ok(Theme { name: name.into(), description: file.description, styles, attrs })
    }

    /// The declarations for `key` (empty when the theme leaves it unstyled).
    pub fn style(&self, key: &str) -> &str {
        debug_assert!(STYLE_KEYS.iter().any(|(k, _)| *k == key), "unknown style key {key}");
        self.styles.get(key).map_or("", String::as_str)
    }

    /// ` style="…"` for `key`, or nothing when unstyled. Values are attribute-escaped.
    pub fn attr(&self, key: &str) -> &str {
        debug_assert!(STYLE_KEYS.iter().any(|(k, _)| *k == key), "unknown style key {key}");
        self.attrs.get(key).map_or("", String::as_str)
    }

    pub fn styles(&self) -> &BTreeMap<String, String> {
        &self.styles
    }
}

/// ` style="…"` for raw declarations, or nothing when empty.
pub fn style_attr(declarations: &str) -> String {
    if declarations.is_empty() {
        String::new()
    } else {
        format!(" style=\"{}\"", declarations.replace('&', "&amp;").replace('"', "&quot;"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_style_key_is_refused_with_suggestion() {
        let err = Theme::parse("t", "[styles]\nparagraf = \"color: red\"\n").unwrap_err();
        assert!(err.contains("styles.paragraf"), "{err}");
        let err = Theme::parse("t", "[styles]\nblockquot = \"color: red\"\n").unwrap_err();
        assert!(err.contains("did you mean `blockquote`"), "{err}");
    }

    #[test]
    fn attr_escapes_quotes() {
        let theme = Theme::parse("t", "[styles]\np = 'font-family: \"Noto Serif\"'\n").unwrap();
        assert_eq!(theme.attr("p"), " style=\"font-family: &quot;Noto Serif&quot;\"");
        assert_eq!(theme.attr("h1"), "");
    }
}
