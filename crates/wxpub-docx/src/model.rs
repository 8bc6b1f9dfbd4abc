//! What the conversion reads a document into before writing Markdown: the Markdown needs the
//! whole document at once (heading levels relative to the top one, a caption after its image,
//! footnote numbers, where one list ends and the next starts).
use crate::{Figure, Unconverted};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Fmt {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub underline: bool,
    pub sup: bool,
    pub sub: bool,
}

impl Fmt {
    pub fn and(self, other: Fmt) -> Fmt {
        Fmt {
            bold: self.bold && other.bold,
            italic: self.italic && other.italic,
            strike: self.strike && other.strike,
            underline: self.underline && other.underline,
            sup: self.sup && other.sup,
            sub: self.sub && other.sub,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NoteKind {
    Footnote,
    Endnote,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inline {
    Text(String, Fmt),
    Break,
    /// Opens an outside link; closed by the next `LinkEnd`.
    LinkStart(String),
    LinkEnd,
    /// A footnote or endnote reference: the index into `Document::notes`.
    Note(usize),
    Image(ImageUse),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageUse {
    /// Index into `Document::figures`.
    pub figure: usize,
    pub alt: Option<String>,
    pub caption: Option<String>,
    /// Anchored (floating) rather than in the line of text.
    pub floating: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListItem {
    pub ordered: bool,
    pub number: u32,
    /// The left indent in twips, which orders nesting.
    pub indent: i64,
    /// Which Word list (abstract numbering) the item belongs to.
    pub list: u32,
    /// False when Word numbers this item anew (a restart, or another list's first item).
    pub continues: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParaKind {
    Body,
    /// 0 for the Title style, else 1–9.
    Heading(u8),
    Quote,
    Caption,
    Item(ListItem),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Para {
    pub kind: ParaKind,
    pub inlines: Vec<Inline>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    pub paras: Vec<Para>,
    /// Grid columns covered (w:gridSpan).
    pub span: usize,
    /// Continues the merged cell above (w:vMerge without "restart").
    pub merged_above: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    Para(Para),
    /// Rows of cells; rows may be ragged.
    Table(Vec<Vec<Cell>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub kind: NoteKind,
    pub paras: Vec<Para>,
}

#[derive(Debug, Default)]
pub(crate) struct Document {
    pub title: Option<String>,
    pub author: Option<String>,
    pub blocks: Vec<Block>,
    pub notes: Vec<Note>,
    pub figures: Vec<Figure>,
    pub report: Vec<Unconverted>,
}

impl Para {
    /// The text without formatting, links or notes.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for inline in &self.inlines {
            match inline {
                Inline::Text(text, _) => out.push_str(text),
                Inline::Break => out.push(' '),
                _ => {}
            }
        }
        out.trim().to_string()
    }

    /// The images, when the paragraph holds images and nothing else but spaces.
    pub fn only_images(&self) -> Option<Vec<&ImageUse>> {
        let mut images = Vec::new();
        for inline in &self.inlines {
            match inline {
                Inline::Image(image) => images.push(image),
                Inline::Text(text, _) if text.trim().is_empty() => {}
                Inline::Break | Inline::LinkStart(_) | Inline::LinkEnd => {}
                _ => return None,
            }
        }
        if images.is_empty() { None } else { Some(images) }
    }

    pub fn is_empty(&self) -> bool {
        self.inlines.iter().all(|i| match i {
            Inline::Text(text, _) => text.trim().is_empty(),
            Inline::Break | Inline::LinkStart(_) | Inline::LinkEnd => true,
            Inline::Note(_) | Inline::Image(_) => false,
        })
    }
}
