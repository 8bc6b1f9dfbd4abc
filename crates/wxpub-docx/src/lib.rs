//! wxpub's DOCX reader (issue #40, `wxpub import docx`): a Word manuscript → Markdown for a wxpub
//! item, the images it holds, and a report of what had no Markdown form. It reads bytes and
//! returns values; it writes no file and prints nothing — the CLI makes the item folder.
//!
//! # Why a reader of our own
//! The crates that read DOCX, as their documentation describes them when this was written, each
//! miss part of what an import needs: `docx-rs` is "a .docx file writer" first (its `read_docx`
//! fills the writer's model, made to write a document back rather than to convert one),
//! `docx-rust` (0.1, a fork of `docx`) parses into serde models, `docx-reader` (a fork of
//! `docx-rs`) says it is not ready for use, and `rust-docx` (0.2) is a recent parser and model.
//! None converts to Markdown, so we would walk their models anyway, and what we need is exactly
//! where models differ: which branch of `mc:AlternateContent` to take (Word writes every text box
//! twice), the displayed result of complex fields spread over runs, the final text of tracked
//! changes, numbering that continues across lists, footnotes and endnotes, comments' anchors. So:
//! a small reader over `zip` and `quick-xml`, both already in wxpub's build. It reads
//! `word/document.xml` (found through the package relationships), `styles.xml`, `numbering.xml`,
//! `footnotes.xml`, `endnotes.xml`, `comments.xml`, the document's relationships (images,
//! hyperlinks) and `docProps/core.xml`.
//!
//! # The Markdown written
//! - **Headings** from Heading 1–9 and Title styles (by style name or id, through `basedOn`) or an
//!   outline level on the style or paragraph. Levels stay relative: the body's top level becomes
//!   `##`, since WeChat shows the article's title above the body. When the body *starts* with a
//!   heading whose text is the title — the title property, or, when there is none, that heading
//!   itself (which the CLI then takes as the title) — it is left out of the body. A numbered
//!   heading keeps its number as text ("1.2 ", "一、").
//! - **Bold** `**`, *italic* `*`, ~~strike~~ `~~`; underline has no Markdown form and is written
//!   `<u>…</u>`, which wxpub's sanitizer keeps; superscript and subscript `<sup>`/`<sub>`.
//!   Adjacent runs with the same formatting are merged; spaces move outside the markers; where
//!   CommonMark would not see a marker (`中**“引文”**中`: a marker between a letter and a
//!   quotation mark does not open), that span is written as `<strong>`, `<em>` or `<del>` instead.
//! - A **line break** inside a paragraph is `\` at the end of the line; tabs become spaces.
//! - **Lists**: `-` for bullets, `1.` for numbers with Word's own numbering (a list that goes on
//!   after a paragraph starts at its number, `3.`); nesting from the level (`w:ilvl`) or, for Word's
//!   single-level "List Bullet 2" styles, from the indentation. A list that restarts right after
//!   another switches to `1)`, which CommonMark reads as a new list.
//! - **Tables** as pipe tables, the first row as the header; a merged cell's text is written into
//!   every cell it covers (nothing is lost, a reader sees the value on each row; a text over 200
//!   characters only into the first, so a hostile table cannot multiply it); paragraphs in a cell
//!   are joined with `<br>`.
//! - **Footnotes and endnotes** as Markdown footnotes `[^1]`, defined at the end, endnotes
//!   numbered after the footnotes.
//! - **Links**: `[text](url)` for outside links; links inside the document stay text.
//! - **Quotes**: paragraphs in a quote style (Quote, Intense Quote, 引用, any name with "quote")
//!   become `> ` block quotes.
//! - **Images** become `figure-01.png`, `figure-02.jpg`… in order of first use, the extension from
//!   the bytes; an image used twice is one file. A paragraph holding one image followed by a
//!   caption (style Caption/题注, or text starting "图1", "Figure 1", "Fig. 1") is written
//!   `![alt](figure-01.jpg "caption")`, which wxpub renders as a figure with that caption; the
//!   caption paragraph is not repeated. EMF, WMF, TIFF, SVG and unknown formats are still
//!   extracted but written as an HTML comment, `<!-- ![alt](figure-03.emf "caption") … -->`, which
//!   the article does not show, and reported: convert the file and uncomment the line.
//!
//! What has no Markdown form is listed in [`Manuscript::report`] with the paragraph it was in; where
//! it holds text, the text is kept in the body (text boxes after their paragraph, fields' shown
//! results, inserted text, equations' text with `<sup>`/`<sub>`). Deleted text, comments and
//! hidden text are not.
#![forbid(unsafe_code)]

mod convert;
mod image;
mod inline;
mod markdown;
mod model;
mod numbering;
mod package;
mod styles;
mod xml;

use std::fmt;

pub use image::ImageFormat;

/// Limits that keep a hostile file (a zip bomb) from exhausting memory. Sizes are unpacked bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// One part (an image, document.xml).
    pub max_entry_bytes: u64,
    /// Everything read from the package together.
    pub max_total_bytes: u64,
    /// Entries in the ZIP directory.
    pub max_entries: usize,
    /// Unpacked ÷ packed size of an XML part over 1 MiB. Word's XML packs about 5–20 to 1; a
    /// bomb's runs of one byte pack about 1000 to 1.
    pub max_ratio: u64,
}

impl Default for Limits {
    /// 64 MiB a part (a 24-megapixel photo saved as PNG is about 50 MB), 200 MiB in all (the
    /// issue's 300 MB peak memory, with room for the Markdown), 10,000 entries, ratio 200.
    fn default() -> Self {
        Limits { max_entry_bytes: 64 << 20, max_total_bytes: 200 << 20, max_entries: 10_000, max_ratio: 200 }
    }
}

/// A converted manuscript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manuscript {
    /// The title property (docProps/core.xml `dc:title`), when set.
    pub title: Option<String>,
    /// The author property (`dc:creator`), when set.
    pub author: Option<String>,
    /// The text of the first heading (Title style included), for a title when there is no property.
    pub first_heading: Option<String>,
    /// The plain text of the first ordinary paragraph (not a heading, list, quote, caption or
    /// table), for the digest.
    pub first_paragraph: Option<String>,
    /// The body as Markdown, ending with one newline (empty for an empty document).
    pub markdown: String,
    /// The images, in order of first use; `markdown` refers to them by `file_name`.
    pub images: Vec<Figure>,
    /// What had no Markdown form, in document order.
    pub report: Vec<Unconverted>,
}

/// One image of the document.
#[derive(Clone, PartialEq, Eq)]
pub struct Figure {
    /// `figure-01.jpg`…: numbered in order of first use, the extension from the bytes.
    pub file_name: String,
    /// The bytes exactly as embedded.
    pub bytes: Vec<u8>,
    /// The alt text (Word's "description", else its title) of the first use.
    pub alt: Option<String>,
    /// The caption of the first use that has one.
    pub caption: Option<String>,
    pub format: ImageFormat,
}

impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Figure")
            .field("file_name", &self.file_name)
            .field("bytes", &self.bytes.len())
            .field("alt", &self.alt)
            .field("caption", &self.caption)
            .field("format", &self.format)
            .finish()
    }
}

/// Something in the document that has no Markdown form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    pub kind: UnconvertedKind,
    /// The body paragraph it was in, counting from 1 the paragraphs that hold text, an image or
    /// something reported (table cells included, in reading order). Inside a footnote, a text box
    /// or a comment range, the paragraph that holds its reference or anchor.
    pub paragraph: usize,
    /// The text there, to find it in Word: the text box's, the inserted or deleted text, the
    /// field's result, the commented text; at most 40 characters.
    pub snippet: String,
    /// What it was: the comment's author and text, the field's instruction, the image's file and
    /// format.
    pub detail: String,
    /// Whether its text is in the Markdown.
    pub kept_text: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnconvertedKind {
    TextBox,
    /// A drawn shape, with or without text (its text is kept like a text box's).
    Shape,
    Comment,
    TrackedChange,
    Field,
    Equation,
    /// EMF, WMF, TIFF or an unknown format: extracted, but WeChat cannot show it.
    UnsupportedImage,
    /// An image linked to a file outside the document, or whose part is missing.
    MissingImage,
    /// An embedded object (a spreadsheet, an old equation): its preview image is kept when it has one.
    EmbeddedObject,
    Chart,
    /// SmartArt: its text lives in parts this reader does not convert.
    Diagram,
    HiddenText,
    /// A symbol-font character (Wingdings, Symbol) with no Unicode equivalent known here.
    Symbol,
    /// A table inside a table cell: its cells are flattened into the outer cell.
    NestedTable,
}

impl UnconvertedKind {
    fn describe(self) -> &'static str {
        match self {
            UnconvertedKind::TextBox => "text box",
            UnconvertedKind::Shape => "shape",
            UnconvertedKind::Comment => "comment",
            UnconvertedKind::TrackedChange => "tracked change",
            UnconvertedKind::Field => "field",
            UnconvertedKind::Equation => "equation",
            UnconvertedKind::UnsupportedImage => "image WeChat cannot show",
            UnconvertedKind::MissingImage => "missing image",
            UnconvertedKind::EmbeddedObject => "embedded object",
            UnconvertedKind::Chart => "chart",
            UnconvertedKind::Diagram => "SmartArt diagram",
            UnconvertedKind::HiddenText => "hidden text",
            UnconvertedKind::Symbol => "symbol character",
            UnconvertedKind::NestedTable => "table in a table",
        }
    }
}

impl fmt::Display for Unconverted {
    /// One line for the import's report: `paragraph 12: comment (王立: 请核对年代) at “商代晚期” — not in the body`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "paragraph {}: {}", self.paragraph, self.kind.describe())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        if !self.snippet.is_empty() {
            write!(f, " at “{}”", self.snippet)?;
        }
        f.write_str(if self.kept_text { " — its text is kept" } else { " — not in the body" })
    }
}

/// Why a file could not be read. Each message says what the file is and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DocxError {
    #[error("this is not a Word document (.docx): it is {found}. Open it in Word or LibreOffice and save it as .docx")]
    NotDocx { found: &'static str },
    #[error(
        "this is a Word 97–2003 document (.doc), not a .docx: open it in Word or LibreOffice and save it as \
         \"Word Document (.docx)\""
    )]
    LegacyDoc,
    #[error(
        "this document is password-protected (an encrypted .docx): open it in Word, remove the password \
         (File → Info → Protect Document → Encrypt with Password, empty it) and save it again"
    )]
    Encrypted,
    #[error(
        "the file is a ZIP package without {0}, so not a Word document (.docx): open it in Word or LibreOffice \
         and save it as .docx"
    )]
    MissingPart(String),
    #[error(
        "the document is refused as too large or a zip bomb: {part}: {reason}. If it is a genuine manuscript, \
         make its pictures smaller in Word (Picture Format → Compress Pictures) and save it again"
    )]
    TooLarge { part: String, reason: String },
    #[error("the document is damaged ({0}): open it in Word, which can repair it, and save it again")]
    Damaged(String),
    #[error(
        "the document's {part} is not well-formed XML ({message}): open it in Word or LibreOffice and save it again"
    )]
    Xml { part: String, message: String },
}

/// Reads a .docx from its bytes. Only the parts the conversion needs are unpacked, each under
/// `limits`.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Manuscript, DocxError> {
    let mut package = package::Package::open(bytes, limits)?;
    let document = convert::convert(&mut package)?;
    Ok(markdown::write(document))
}
