//! The document model → the Markdown body: captions joined to their images, the title heading
//! left out, heading levels made relative, lists, quotes, tables and footnote definitions.
use crate::Manuscript;
use crate::convert::is_caption_text;
use crate::inline::{self, Ctx, Mode};
use crate::model::{Block, Cell, Document, Inline, ListItem, Note, NoteKind, Para, ParaKind};

pub(crate) fn write(mut doc: Document) -> Manuscript {
    attach_captions(&mut doc);
    let first_heading = doc.blocks.iter().find_map(|b| match b {
        Block::Para(p @ Para { kind: ParaKind::Heading(_), .. }) => Some(p.plain_text()).filter(|t| !t.is_empty()),
        _ => None,
    });
    drop_title(&mut doc.blocks, doc.title.as_deref());
    let first_paragraph = doc.blocks.iter().find_map(|b| match b {
        Block::Para(p @ Para { kind: ParaKind::Body, .. }) if p.only_images().is_none() => {
            Some(p.plain_text()).filter(|t| !t.is_empty())
        }
        _ => None,
    });
    let labels = note_labels(&doc.notes);
    let ctx = Ctx { figures: &doc.figures, note_labels: &labels };
    let mut parts = body(&doc.blocks, &ctx);
    parts.extend(footnotes(&doc.notes, &labels, &ctx));
    let mut markdown = parts.join("\n\n");
    if !markdown.is_empty() {
        markdown.push('\n');
    }
    Manuscript {
        title: doc.title,
        author: doc.author,
        first_heading,
        first_paragraph,
        markdown,
        images: doc.figures,
        report: doc.report,
    }
}

/// A paragraph holding one image, followed by a caption paragraph (Caption style, or text that
/// starts like one): the caption becomes the image's and is not written again.
fn attach_captions(doc: &mut Document) {
    let mut i = 0;
    while i + 1 < doc.blocks.len() {
        let caption = match &doc.blocks[i + 1] {
            Block::Para(p)
                if p.kind == ParaKind::Caption || (p.kind == ParaKind::Body && is_caption_text(&p.plain_text())) =>
            {
                Some(p.plain_text()).filter(|t| !t.is_empty())
            }
            _ => None,
        };
        let single_image =
            matches!(&doc.blocks[i], Block::Para(p) if p.only_images().is_some_and(|imgs| imgs.len() == 1));
        if let (Some(caption), true) = (caption, single_image) {
            if let Block::Para(p) = &mut doc.blocks[i]
                && let Some(Inline::Image(image)) = p.inlines.iter_mut().find(|x| matches!(x, Inline::Image(_)))
            {
                image.caption = Some(caption.clone());
                if let Some(figure) = doc.figures.get_mut(image.figure) {
                    figure.caption.get_or_insert(caption);
                    if figure.alt.is_none() {
                        figure.alt.clone_from(&image.alt);
                    }
                }
            }
            doc.blocks.remove(i + 1);
        }
        i += 1;
    }
}

/// WeChat shows the title above the article: a first heading that repeats it goes. Without a
/// title property the CLI takes the first heading as the title, so it goes too.
fn drop_title(blocks: &mut Vec<Block>, title: Option<&str>) {
    let Some(Block::Para(first @ Para { kind: ParaKind::Heading(_), .. })) = blocks.first() else { return };
    let text = first.plain_text();
    let same = |a: &str, b: &str| a.split_whitespace().eq(b.split_whitespace());
    if !text.is_empty() && title.is_none_or(|t| same(t, &text)) {
        blocks.remove(0);
    }
}

/// Footnotes are numbered first, in order of first reference, then endnotes.
fn note_labels(notes: &[Note]) -> Vec<usize> {
    let footnotes = notes.iter().filter(|n| n.kind == NoteKind::Footnote).count();
    let (mut next_foot, mut next_end) = (1, footnotes + 1);
    notes
        .iter()
        .map(|n| {
            let counter = if n.kind == NoteKind::Footnote { &mut next_foot } else { &mut next_end };
            *counter += 1;
            *counter - 1
        })
        .collect()
}

fn body(blocks: &[Block], ctx: &Ctx<'_>) -> Vec<String> {
    let top = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Para(Para { kind: ParaKind::Heading(level), .. }) => Some(*level),
            _ => None,
        })
        .min()
        .unwrap_or(1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let run = |kind: fn(&ParaKind) -> bool| {
            blocks[i..]
                .iter()
                .map_while(|b| match b {
                    Block::Para(p) if kind(&p.kind) => Some(p),
                    _ => None,
                })
                .collect::<Vec<&Para>>()
        };
        let items = run(|k| matches!(k, ParaKind::Item(_)));
        let quotes = run(|k| matches!(k, ParaKind::Quote));
        let written = if !items.is_empty() {
            i += items.len();
            list(&items, ctx)
        } else if !quotes.is_empty() {
            i += quotes.len();
            quote(&quotes, ctx)
        } else {
            i += 1;
            match &blocks[i - 1] {
                Block::Para(p) => para(p, top, ctx),
                Block::Table(rows) => table(rows, ctx),
            }
        };
        if !written.trim().is_empty() {
            out.push(written);
        }
    }
    out
}

fn para(p: &Para, top: u8, ctx: &Ctx<'_>) -> String {
    match p.kind {
        ParaKind::Heading(level) => {
            let text = inline::render(&p.inlines, ctx, Mode::Heading, "");
            if text.is_empty() {
                return String::new();
            }
            // The body's top level is ## (# is the article's title); Markdown stops at ######.
            let depth = (2 + usize::from(level.saturating_sub(top))).min(6);
            format!("{} {text}", "#".repeat(depth))
        }
        _ => inline::render(&p.inlines, ctx, Mode::Block, ""),
    }
}

fn quote(paras: &[&Para], ctx: &Ctx<'_>) -> String {
    let lines: Vec<String> = paras
        .iter()
        .map(|p| inline::render(&p.inlines, ctx, Mode::Block, "> "))
        .filter(|l| !l.is_empty())
        .map(|l| format!("> {l}"))
        .collect();
    lines.join("\n>\n")
}

/// One open list level while a list is written.
struct Level {
    indent: i64,
    /// The column of this level's markers.
    column: usize,
    /// The column its items' text starts at (where a nested list's markers go).
    content: usize,
    ordered: bool,
    delimiter: char,
    last: Option<(u32, u32)>,
}

/// Consecutive list paragraphs as one Markdown list, nested by indent, each level's markers at
/// the column where its parent's text starts.
fn list(items: &[&Para], ctx: &Ctx<'_>) -> String {
    let mut stack: Vec<Level> = Vec::new();
    let mut lines = Vec::new();
    for item in items {
        let ParaKind::Item(ListItem { ordered, number, indent, list, continues }) = item.kind else { continue };
        while stack.last().is_some_and(|top| top.indent > indent) {
            stack.pop();
        }
        if stack.last().is_none_or(|top| top.indent < indent) {
            let column = stack.last().map_or(0, |top| top.content);
            stack.push(Level { indent, column, content: column + 2, ordered, delimiter: '.', last: None });
        }
        let Some(level) = stack.last_mut() else { continue };
        // Two numbered lists in a row are one list to CommonMark unless the delimiter changes.
        let follows = level.last.is_some_and(|(l, n)| l == list && n.checked_add(1) == Some(number)) && continues;
        if ordered && level.ordered && level.last.is_some() && !follows {
            level.delimiter = if level.delimiter == '.' { ')' } else { '.' };
        }
        level.ordered = ordered;
        level.last = Some((list, number));
        let marker = if ordered { format!("{number}{}", level.delimiter) } else { "-".to_string() };
        level.content = level.column + marker.len() + 1;
        let continuation = " ".repeat(level.content);
        let text = inline::render(&item.inlines, ctx, Mode::Block, &continuation);
        lines.push(format!("{}{marker} {text}", " ".repeat(level.column)));
    }
    lines.join("\n")
}

/// Merged text longer than this is written once, in the merge's first cell: repeating it would
/// let a hostile table (a long text merged over thousands of rows) multiply the output.
const REPEAT_MAX_CHARS: usize = 200;

/// A pipe table: the first row is the header; a merged cell's text is written into every cell
/// it covers (a long text only into the first).
fn table(rows: &[Vec<Cell>], ctx: &Ctx<'_>) -> String {
    let mut grid: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut line: Vec<String> = Vec::new();
        for cell in row {
            let text = if cell.merged_above {
                let above = grid.last().and_then(|above| above.get(line.len())).cloned().unwrap_or_default();
                if above.chars().count() <= REPEAT_MAX_CHARS { above } else { String::new() }
            } else {
                cell_text(cell, ctx)
            };
            let repeat = text.chars().count() <= REPEAT_MAX_CHARS;
            line.push(text.clone());
            for _ in 1..cell.span {
                line.push(if repeat { text.clone() } else { String::new() });
            }
        }
        grid.push(line);
    }
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return String::new();
    }
    let row_line = |cells: &[String]| {
        let mut line = String::from("|");
        for i in 0..width {
            let text = cells.get(i).map(String::as_str).unwrap_or("");
            line.push_str(&format!(" {text} |"));
        }
        line
    };
    let mut out = vec![row_line(&grid[0]), format!("|{}", " --- |".repeat(width))];
    out.extend(grid[1..].iter().map(|r| row_line(r)));
    out.join("\n")
}

fn cell_text(cell: &Cell, ctx: &Ctx<'_>) -> String {
    let lines: Vec<String> = cell
        .paras
        .iter()
        .map(|p| inline::render(&flat_inlines(p), ctx, Mode::Cell, ""))
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("<br>")
}

/// A paragraph where blocks cannot nest (a cell, a footnote): a list item keeps its marker as text.
fn flat_inlines(p: &Para) -> Vec<Inline> {
    let ParaKind::Item(item) = &p.kind else { return p.inlines.clone() };
    let marker = if item.ordered { format!("{}. ", item.number) } else { "• ".to_string() };
    let mut inlines = vec![Inline::Text(marker, Default::default())];
    inlines.extend(p.inlines.iter().cloned());
    inlines
}

fn footnotes(notes: &[Note], labels: &[usize], ctx: &Ctx<'_>) -> Vec<String> {
    let mut order: Vec<usize> = (0..notes.len()).collect();
    order.sort_by_key(|&i| labels.get(i).copied().unwrap_or(usize::MAX));
    order
        .into_iter()
        .map(|i| {
            let paras: Vec<String> = notes[i]
                .paras
                .iter()
                .map(|p| inline::render(&flat_inlines(p), ctx, Mode::Block, "    "))
                .filter(|t| !t.is_empty())
                .collect();
            let label = labels.get(i).copied().unwrap_or(i + 1);
            format!("[^{label}]: {}", paras.join("\n\n    ")).trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Fmt;

    fn text(s: &str) -> Vec<Inline> {
        vec![Inline::Text(s.into(), Fmt::default())]
    }

    fn item(s: &str, ordered: bool, number: u32, indent: i64, continues: bool) -> Para {
        Para { kind: ParaKind::Item(ListItem { ordered, number, indent, list: 1, continues }), inlines: text(s) }
    }

    fn write_blocks(blocks: Vec<Block>) -> String {
        write(Document { title: Some("T".into()), blocks, ..Document::default() }).markdown
    }

    #[test]
    fn lists_nest_by_indent_and_number_like_word() {
        let blocks = vec![
            Block::Para(item("one", true, 1, 360, false)),
            Block::Para(item("sub", false, 1, 720, false)),
            Block::Para(item("two", true, 2, 360, true)),
            Block::Para(item("restarted", true, 1, 360, false)),
            Block::Para(Para { kind: ParaKind::Body, inlines: text("between") }),
            Block::Para(item("three", true, 3, 360, true)),
            Block::Para(item("twelve", true, 12, 360, false)),
            Block::Para(item("nested", true, 1, 1080, false)),
        ];
        assert_eq!(
            write_blocks(blocks),
            "1. one\n   - sub\n2. two\n1) restarted\n\nbetween\n\n3. three\n12) twelve\n    1. nested\n"
        );
    }

    #[test]
    fn tables_write_merged_text_into_every_cell() {
        let cell = |s: &str, span: usize, merged_above: bool| Cell {
            paras: vec![Para { kind: ParaKind::Body, inlines: text(s) }],
            span,
            merged_above,
        };
        let rows = vec![
            vec![cell("名称", 1, false), cell("年代", 1, false)],
            vec![cell("鼎", 1, false), cell("商", 1, false)],
            vec![cell("尊", 1, false), cell("", 1, true)],
            vec![cell("a|b", 2, false)],
        ];
        assert_eq!(
            write_blocks(vec![Block::Table(rows)]),
            "| 名称 | 年代 |\n| --- | --- |\n| 鼎 | 商 |\n| 尊 | 商 |\n| a\\|b | a\\|b |\n"
        );
    }

    #[test]
    fn headings_are_relative_and_the_title_heading_goes() {
        let heading = |s: &str, level| Block::Para(Para { kind: ParaKind::Heading(level), inlines: text(s) });
        let blocks = vec![heading("T", 0), heading("Part", 2), heading("Sub", 3), heading("Deep", 9)];
        assert_eq!(write_blocks(blocks), "## Part\n\n### Sub\n\n###### Deep\n");
        let kept = vec![heading("Another", 1), heading("Sub", 2)];
        assert_eq!(write_blocks(kept), "## Another\n\n### Sub\n");
    }

    #[test]
    fn quotes_join_their_paragraphs() {
        let q = |s: &str| Block::Para(Para { kind: ParaKind::Quote, inlines: text(s) });
        assert_eq!(write_blocks(vec![q("a"), q("b")]), "> a\n>\n> b\n");
    }
}
