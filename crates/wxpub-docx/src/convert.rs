//! WordprocessingML → the document model: paragraphs and their runs, tables, notes, images, and
//! a report entry for everything without a Markdown form.
use std::collections::{HashMap, HashSet};

use crate::image::ImageFormat;
use crate::model::{Block, Cell, Document, Fmt, ImageUse, Inline, ListItem, Note, NoteKind, Para, ParaKind};
use crate::numbering::Numbering;
use crate::package::{Package, Relationship};
use crate::styles::{self, Role, RunProps, Styles};
use crate::xml::Element;
use crate::{DocxError, Figure, Unconverted, UnconvertedKind};

type Result<T> = std::result::Result<T, DocxError>;

/// Characters of a report's snippet.
const SNIPPET_CHARS: usize = 40;

/// A complex field (`w:fldChar` begin … separate … end) or a simple one (`w:fldSimple`).
#[derive(Debug, Default)]
struct Field {
    instruction: String,
    /// Past `separate`: the shown result, which is kept.
    in_result: bool,
    /// A HYPERLINK field whose result is written as a link.
    link: bool,
    /// A table of contents or an index: its result is left out.
    dropped: bool,
    result_text: String,
    paragraph: usize,
}

impl Field {
    fn name(&self) -> String {
        self.instruction.split_whitespace().next().unwrap_or("").to_uppercase()
    }
}

struct OpenComment {
    id: String,
    paragraph: usize,
    text: String,
}

/// What one paragraph collects as its runs are read.
#[derive(Default)]
struct ParaBuilder {
    inlines: Vec<Inline>,
    /// The paragraph style's run formatting, under each run's.
    base: RunProps,
    heading: bool,
    /// Text boxes' paragraphs, written after this one.
    after: Vec<Block>,
    reported_hidden: bool,
    reported_format_change: bool,
}

pub(crate) fn convert(package: &mut Package<'_>) -> Result<Document> {
    let root_rels = package.relationships("")?;
    let main = internal_target(&root_rels, "officeDocument").unwrap_or_else(|| "word/document.xml".into());
    let Some(document) = package.xml(&main)? else { return Err(DocxError::MissingPart(main)) };
    let rels = package.relationships(&main)?;
    let dir = main.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let part = |kind: &str| internal_target(&rels, kind).unwrap_or_else(|| format!("{dir}/{kind}.xml"));
    let styles = Styles::parse(package.xml(&part("styles"))?.as_ref());
    let numbering = Numbering::parse(package.xml(&part("numbering"))?.as_ref());
    let footnotes = notes_by_id(package.xml(&part("footnotes"))?.as_ref());
    let endnotes = notes_by_id(package.xml(&part("endnotes"))?.as_ref());
    let comments = comments_by_id(package.xml(&part("comments"))?.as_ref());
    let core_part = internal_target(&root_rels, "core-properties").unwrap_or_else(|| "docProps/core.xml".into());
    let core = package.xml(&core_part)?;
    let property = |name: &str| {
        let text = core.as_ref()?.child(name)?.text();
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    };
    let (title, author) = (property("dc:title"), property("dc:creator"));

    let mut converter = Converter {
        package,
        styles,
        numbering,
        rels: rels.into_iter().map(|r| (r.id.clone(), r)).collect(),
        footnotes,
        endnotes,
        comments,
        note_index: HashMap::new(),
        notes: Vec::new(),
        figures: Vec::new(),
        figure_by_part: HashMap::new(),
        report: Vec::new(),
        paragraph: 0,
        nested: 0,
        fields: Vec::new(),
        open_comments: Vec::new(),
        reported_comments: HashSet::new(),
    };
    let mut blocks = Vec::new();
    if let Some(body) = document.child("w:body") {
        converter.blocks(body, &mut blocks)?;
    }
    converter.finish();
    Ok(Document { title, author, blocks, notes: converter.notes, figures: converter.figures, report: converter.report })
}

fn internal_target(rels: &[Relationship], kind: &str) -> Option<String> {
    rels.iter().find(|r| r.is(kind) && !r.external).map(|r| r.target.clone())
}

/// `w:footnote`/`w:endnote` by id, without the separators Word keeps among them.
fn notes_by_id(root: Option<&Element>) -> HashMap<String, Element> {
    let Some(root) = root else { return HashMap::new() };
    root.elements()
        .filter(|n| n.attr("w:type").is_none_or(|t| t == "normal"))
        .filter_map(|n| Some((n.attr("w:id")?.to_string(), n.clone())))
        .collect()
}

/// Comment id → "author: text".
fn comments_by_id(root: Option<&Element>) -> HashMap<String, String> {
    let Some(root) = root else { return HashMap::new() };
    root.children_named("w:comment")
        .filter_map(|c| {
            let text: Vec<String> = c.children_named("w:p").map(|p| p.text().trim().to_string()).collect();
            let text = text.join(" ").trim().to_string();
            let author = c.attr("w:author").unwrap_or("").trim();
            let detail = if author.is_empty() { text } else { format!("{author}: {text}") };
            Some((c.attr("w:id")?.to_string(), detail))
        })
        .collect()
}

/// Word writes new content twice inside `mc:AlternateContent` (a `wps` text box and its VML
/// copy): only one branch is read, the first Choice with content, else the Fallback.
fn choose(alternate: &Element) -> Option<&Element> {
    alternate
        .children_named("mc:Choice")
        .find(|c| c.elements().next().is_some())
        .or_else(|| alternate.child("mc:Fallback"))
}

pub(crate) fn snippet(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= SNIPPET_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(SNIPPET_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Is a caption's first words: 图1, 图 1, 图一, Figure 1, Fig. 1.
pub(crate) fn is_caption_text(text: &str) -> bool {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('图') {
        return rest.chars().next().is_some_and(|c| {
            c.is_ascii_digit() || "０１２３４５６７８９一二三四五六七八九十 \u{3000}:：-—.、".contains(c)
        });
    }
    let lower = text.to_lowercase();
    ["figure", "fig."]
        .iter()
        .any(|p| lower.strip_prefix(p).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == ' ')))
}

struct Converter<'p, 'a> {
    package: &'p mut Package<'a>,
    styles: Styles,
    numbering: Numbering,
    rels: HashMap<String, Relationship>,
    footnotes: HashMap<String, Element>,
    endnotes: HashMap<String, Element>,
    comments: HashMap<String, String>,
    note_index: HashMap<(NoteKind, String), usize>,
    notes: Vec<Note>,
    figures: Vec<Figure>,
    figure_by_part: HashMap<String, usize>,
    report: Vec<Unconverted>,
    /// The body paragraph being read (see `Unconverted::paragraph`).
    paragraph: usize,
    /// Above 0 inside a note or a text box, whose paragraphs belong to the one that holds them.
    nested: usize,
    /// Open fields, outermost first; a field may span runs and paragraphs.
    fields: Vec<Field>,
    open_comments: Vec<OpenComment>,
    reported_comments: HashSet<String>,
}

impl Converter<'_, '_> {
    fn report(&mut self, kind: UnconvertedKind, snippet_text: &str, detail: impl Into<String>, kept_text: bool) {
        self.report.push(Unconverted {
            kind,
            paragraph: self.paragraph.max(1),
            snippet: snippet(snippet_text),
            detail: detail.into(),
            kept_text,
        });
    }

    /// Whether text here is hidden from the Markdown: a field's instruction, or the result of a
    /// field that is left out.
    fn suppressed(&self) -> bool {
        self.fields.iter().any(|f| !f.in_result || f.dropped)
    }

    /// Fields never ended and comments never closed, at the end of the document.
    fn finish(&mut self) {
        while let Some(field) = self.fields.pop() {
            self.report_field(field);
        }
        let open: Vec<String> = self.open_comments.iter().map(|c| c.id.clone()).collect();
        for id in open {
            self.report_comment(&id);
        }
    }

    fn blocks(&mut self, parent: &Element, out: &mut Vec<Block>) -> Result<()> {
        for child in parent.elements() {
            match child.name.as_str() {
                "w:p" => self.para(child, out)?,
                "w:tbl" => {
                    let rows = self.table(child)?;
                    if !rows.is_empty() {
                        out.push(Block::Table(rows));
                    }
                }
                "w:sdt" => {
                    if let Some(content) = child.child("w:sdtContent") {
                        self.blocks(content, out)?;
                    }
                }
                "w:customXml" | "w:ins" | "w:moveTo" => self.blocks(child, out)?,
                "mc:AlternateContent" => {
                    if let Some(branch) = choose(child) {
                        self.blocks(branch, out)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn para(&mut self, p: &Element, out: &mut Vec<Block>) -> Result<()> {
        if self.nested == 0 {
            self.paragraph += 1;
        }
        let reports_before = self.report.len();
        let ppr = p.child("w:pPr");
        let style = ppr.and_then(|x| x.child_val("w:pStyle"));
        let (kind, label) = self.para_kind(ppr, style);
        let mut builder = ParaBuilder {
            heading: matches!(kind, ParaKind::Heading(_)),
            // A heading's, quote's or caption's look is its style's; only ordinary paragraphs
            // take bold or italic from their style.
            base: if matches!(kind, ParaKind::Body | ParaKind::Item(_)) {
                self.styles.run_props(style)
            } else {
                RunProps::default()
            },
            ..ParaBuilder::default()
        };
        if let Some(label) = label {
            builder.inlines.push(Inline::Text(format!("{label} "), Fmt::default()));
        }
        if ppr.is_some_and(|x| x.child("w:pPrChange").is_some()) {
            self.report(UnconvertedKind::TrackedChange, &p.text(), "a paragraph formatting change", true);
            builder.reported_format_change = true;
        }
        for child in p.elements() {
            self.inline(child, &mut builder)?;
        }
        // A link (a HYPERLINK field) still open at the paragraph's end closes with it.
        for field in self.fields.iter_mut().filter(|f| f.link) {
            field.link = false;
            builder.inlines.push(Inline::LinkEnd);
        }
        let para = Para { kind, inlines: builder.inlines };
        let empty = para.is_empty();
        if empty && builder.after.is_empty() && self.report.len() == reports_before && self.nested == 0 {
            self.paragraph -= 1;
        }
        if !empty {
            out.extend(split_floating_images(para));
        }
        out.append(&mut builder.after);
        Ok(())
    }

    /// The paragraph's kind, and a numbered heading's number ("1.2").
    fn para_kind(&mut self, ppr: Option<&Element>, style: Option<&str>) -> (ParaKind, Option<String>) {
        let role = match ppr.and_then(|x| x.child_val("w:outlineLvl")).and_then(|v| v.parse::<u8>().ok()) {
            Some(level) if level < 9 => Role::Heading(level + 1),
            _ => self.styles.role(style),
        };
        let num = match ppr.and_then(|x| x.child("w:numPr")) {
            Some(num_pr) => styles::num_pr(num_pr),
            None => self.styles.numbering(style),
        }
        .filter(|(id, _)| *id != 0);
        match (role, num) {
            (Role::Heading(level), Some((id, ilvl))) => {
                self.numbering.next(id, ilvl, &self.styles);
                (ParaKind::Heading(level), self.numbering.label(id, ilvl, &self.styles))
            }
            (Role::Heading(level), None) => (ParaKind::Heading(level), None),
            (Role::Title, _) => (ParaKind::Heading(0), None),
            (Role::Caption, _) => (ParaKind::Caption, None),
            (role, Some((id, ilvl))) => match self.list_item(ppr, style, id, ilvl) {
                Some(item) => (ParaKind::Item(item), None),
                None if role == Role::Quote => (ParaKind::Quote, None),
                None => (ParaKind::Body, None),
            },
            (Role::Quote, None) => (ParaKind::Quote, None),
            (Role::Body, None) => (ParaKind::Body, None),
        }
    }

    fn list_item(&mut self, ppr: Option<&Element>, style: Option<&str>, id: u32, ilvl: u8) -> Option<ListItem> {
        let level = self.numbering.level(id, ilvl, &self.styles)?;
        let numbered = self.numbering.next(id, ilvl, &self.styles)?;
        // Word's "List Bullet 2" styles are single-level lists told apart by their indent only,
        // so nesting follows the indent: the paragraph's, else its list level's, else its style's.
        let indent = ppr
            .and_then(styles::indent)
            .or(level.indent)
            .or_else(|| self.styles.indent(style))
            .unwrap_or(360 * (i64::from(ilvl) + 1));
        Some(ListItem {
            ordered: level.is_ordered(),
            number: numbered.number,
            indent,
            list: numbered.list,
            continues: numbered.continues,
        })
    }

    fn inline(&mut self, e: &Element, b: &mut ParaBuilder) -> Result<()> {
        match e.name.as_str() {
            "w:r" => self.run(e, b)?,
            "w:hyperlink" => self.hyperlink(e, b)?,
            "w:ins" | "w:moveTo" => {
                let what = if e.is("w:ins") { "inserted" } else { "moved here" };
                self.report(UnconvertedKind::TrackedChange, &e.text(), format!("{what} (the text is kept)"), true);
                for child in e.elements() {
                    self.inline(child, b)?;
                }
            }
            "w:del" | "w:moveFrom" => {
                let what = if e.is("w:del") { "deleted" } else { "moved away" };
                self.report(UnconvertedKind::TrackedChange, &e.text(), format!("{what} (the text is left out)"), false);
            }
            "w:fldSimple" => self.simple_field(e, b)?,
            "w:smartTag" | "w:customXml" | "w:bdo" | "w:dir" => {
                for child in e.elements() {
                    self.inline(child, b)?;
                }
            }
            "w:sdt" => {
                if let Some(content) = e.child("w:sdtContent") {
                    for child in content.elements() {
                        self.inline(child, b)?;
                    }
                }
            }
            "mc:AlternateContent" => {
                if let Some(branch) = choose(e) {
                    for child in branch.elements() {
                        self.inline(child, b)?;
                    }
                }
            }
            "m:oMath" | "m:oMathPara" => self.equation(e, b),
            "w:commentRangeStart" => {
                if let Some(id) = e.attr("w:id") {
                    let paragraph = self.paragraph.max(1);
                    self.open_comments.push(OpenComment { id: id.to_string(), paragraph, text: String::new() });
                }
            }
            "w:commentRangeEnd" => {
                if let Some(id) = e.attr("w:id") {
                    self.report_comment(id);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn run(&mut self, r: &Element, b: &mut ParaBuilder) -> Result<()> {
        let rpr = r.child("w:rPr");
        let style = rpr.and_then(|x| x.child_val("w:rStyle"));
        let direct = rpr.map(RunProps::parse).unwrap_or_default();
        let props = b.base.overlay(self.styles.run_props(style)).overlay(direct);
        if props.hidden == Some(true) {
            let text = r.text();
            if !b.reported_hidden && !text.trim().is_empty() {
                b.reported_hidden = true;
                self.report(UnconvertedKind::HiddenText, &text, "text formatted as hidden", false);
            }
            return Ok(());
        }
        if !b.reported_format_change && rpr.is_some_and(|x| x.child("w:rPrChange").is_some()) {
            b.reported_format_change = true;
            self.report(
                UnconvertedKind::TrackedChange,
                &r.text(),
                "a formatting change (the new formatting is used)",
                true,
            );
        }
        let fmt = Fmt {
            bold: props.bold == Some(true) && !b.heading,
            italic: props.italic == Some(true),
            strike: props.strike == Some(true),
            underline: props.underline == Some(true),
            sup: props.vert == Some(Some(true)),
            sub: props.vert == Some(Some(false)),
        };
        for child in r.elements() {
            self.run_content(child, b, fmt)?;
        }
        Ok(())
    }

    fn run_content(&mut self, e: &Element, b: &mut ParaBuilder, fmt: Fmt) -> Result<()> {
        match e.name.as_str() {
            "w:t" => self.text(b, &e.text(), fmt),
            "w:tab" | "w:ptab" => self.text(b, " ", fmt),
            "w:noBreakHyphen" => self.text(b, "-", fmt),
            // Page and column breaks are layout; the article has no pages.
            "w:br" | "w:cr" if !matches!(e.attr("w:type"), Some("page" | "column")) && !self.suppressed() => {
                b.inlines.push(Inline::Break);
            }
            "w:sym" => self.symbol(e, b, fmt),
            "w:fldChar" => self.field_char(e, b),
            "w:instrText" => {
                if let Some(field) = self.fields.last_mut().filter(|f| !f.in_result) {
                    field.instruction.push_str(&e.text());
                }
            }
            "w:footnoteReference" => self.note_reference(NoteKind::Footnote, e.attr("w:id"), b)?,
            "w:endnoteReference" => self.note_reference(NoteKind::Endnote, e.attr("w:id"), b)?,
            "w:commentReference" => {
                if let Some(id) = e.attr("w:id") {
                    self.report_comment(id);
                }
            }
            "w:drawing" => self.drawing(e, b)?,
            "w:pict" => self.vml(e, b, None)?,
            "w:object" => {
                let prog_id = e.find("o:OLEObject").and_then(|o| o.attr("ProgID")).unwrap_or("").to_string();
                self.vml(e, b, Some(&prog_id))?;
            }
            "mc:AlternateContent" => {
                if let Some(branch) = choose(e) {
                    for child in branch.elements() {
                        self.run_content(child, b, fmt)?;
                    }
                }
            }
            // Ruby (pinyin over characters): the base text is the text.
            "w:ruby" => {
                if let Some(base) = e.child("w:rubyBase") {
                    for r in base.children_named("w:r") {
                        self.run(r, b)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, b: &mut ParaBuilder, text: &str, fmt: Fmt) {
        if text.is_empty() || self.suppressed() {
            return;
        }
        for comment in &mut self.open_comments {
            if comment.text.chars().count() < SNIPPET_CHARS * 2 {
                comment.text.push_str(text);
            }
        }
        if let Some(field) = self.fields.last_mut() {
            field.result_text.push_str(text);
        }
        match b.inlines.last_mut() {
            Some(Inline::Text(last, last_fmt)) if *last_fmt == fmt => last.push_str(text),
            _ => b.inlines.push(Inline::Text(text.to_string(), fmt)),
        }
    }

    /// A symbol-font character: kept when it is ordinary Unicode, reported when it is a
    /// private-use code point that only means something in that font.
    fn symbol(&mut self, e: &Element, b: &mut ParaBuilder, fmt: Fmt) {
        let font = e.attr("w:font").unwrap_or("");
        let code = e.attr("w:char").and_then(|c| u32::from_str_radix(c, 16).ok());
        match code.and_then(char::from_u32) {
            Some(c) if !('\u{E000}'..='\u{F8FF}').contains(&c) => self.text(b, &c.to_string(), fmt),
            _ => {
                let context = plain(&b.inlines);
                let detail = format!("{font} character {}", e.attr("w:char").unwrap_or("?"));
                self.report(UnconvertedKind::Symbol, &tail(&context), detail, false);
            }
        }
    }

    fn hyperlink(&mut self, e: &Element, b: &mut ParaBuilder) -> Result<()> {
        // An anchor inside the document stays text: the article has no bookmarks.
        let url = e.attr("r:id").and_then(|id| self.rels.get(id)).filter(|r| r.external).map(|r| r.target.clone());
        let linked = url.is_some() && !self.suppressed();
        if let Some(url) = url.filter(|_| linked) {
            b.inlines.push(Inline::LinkStart(url));
        }
        for child in e.elements() {
            self.inline(child, b)?;
        }
        if linked {
            b.inlines.push(Inline::LinkEnd);
        }
        Ok(())
    }

    fn field_char(&mut self, e: &Element, b: &mut ParaBuilder) {
        match e.attr("w:fldCharType") {
            Some("begin") => {
                let paragraph = self.paragraph.max(1);
                self.fields.push(Field { paragraph, ..Field::default() });
            }
            Some("separate") => {
                let outer_suppressed = self.fields.len() > 1 && {
                    let outer = &self.fields[..self.fields.len() - 1];
                    outer.iter().any(|f| !f.in_result || f.dropped)
                };
                if let Some(field) = self.fields.last_mut() {
                    field.in_result = true;
                    start_result(field, b, outer_suppressed);
                }
            }
            Some("end") => {
                if let Some(field) = self.fields.pop() {
                    if field.link {
                        b.inlines.push(Inline::LinkEnd);
                    }
                    if !self.suppressed() {
                        self.report_field(field);
                    }
                }
            }
            _ => {}
        }
    }

    fn simple_field(&mut self, e: &Element, b: &mut ParaBuilder) -> Result<()> {
        let outer_suppressed = self.suppressed();
        let mut field = Field {
            instruction: e.attr("w:instr").unwrap_or("").to_string(),
            in_result: true,
            paragraph: self.paragraph.max(1),
            ..Field::default()
        };
        start_result(&mut field, b, outer_suppressed);
        self.fields.push(field);
        for child in e.elements() {
            self.inline(child, b)?;
        }
        if let Some(field) = self.fields.pop() {
            if field.link {
                b.inlines.push(Inline::LinkEnd);
            }
            if !outer_suppressed {
                self.report_field(field);
            }
        }
        Ok(())
    }

    /// Reports a field, except a HYPERLINK written as a link (that has its Markdown form).
    fn report_field(&mut self, field: Field) {
        let name = field.name();
        if name == "HYPERLINK" && !field.result_text.is_empty() && hyperlink_url(&field.instruction).is_some() {
            return;
        }
        let instruction = snippet(field.instruction.trim());
        let (detail, kept) = if field.dropped {
            (format!("{instruction}: a generated table of contents or index, left out"), false)
        } else if field.result_text.trim().is_empty() {
            (format!("{instruction}: no result shown"), false)
        } else {
            (format!("{instruction}: its shown result is kept as text"), true)
        };
        self.report.push(Unconverted {
            kind: UnconvertedKind::Field,
            paragraph: field.paragraph,
            snippet: snippet(&field.result_text),
            detail,
            kept_text: kept,
        });
    }

    fn report_comment(&mut self, id: &str) {
        if !self.reported_comments.insert(id.to_string()) {
            return;
        }
        let open = self.open_comments.iter().position(|c| c.id == id).map(|i| self.open_comments.remove(i));
        let (paragraph, anchored) = match open {
            Some(c) => (c.paragraph, c.text),
            None => (self.paragraph.max(1), String::new()),
        };
        let detail =
            self.comments.get(id).cloned().unwrap_or_else(|| format!("comment {id}, missing from comments.xml"));
        self.report.push(Unconverted {
            kind: UnconvertedKind::Comment,
            paragraph,
            snippet: snippet(&anchored),
            detail,
            kept_text: false,
        });
    }

    /// An equation as text, with its superscripts and subscripts (`S=πr<sup>2</sup>`).
    fn equation(&mut self, e: &Element, b: &mut ParaBuilder) {
        let mut parts = Vec::new();
        math(e, Fmt::default(), &mut parts);
        let text: String = parts.iter().map(|(t, _)| t.as_str()).collect();
        for (part, fmt) in &parts {
            self.text(b, part, *fmt);
        }
        self.report(UnconvertedKind::Equation, &text, "an equation, kept as text", !text.trim().is_empty());
    }

    fn note_reference(&mut self, kind: NoteKind, id: Option<&str>, b: &mut ParaBuilder) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        if self.suppressed() {
            return Ok(());
        }
        let key = (kind, id.to_string());
        let index = match self.note_index.get(&key) {
            Some(&index) => index,
            None => {
                let source = match kind {
                    NoteKind::Footnote => self.footnotes.remove(id),
                    NoteKind::Endnote => self.endnotes.remove(id),
                };
                let Some(note) = source else { return Ok(()) };
                // The note's own fields and paragraphs are its own: the body's open fields wait.
                let fields = std::mem::take(&mut self.fields);
                self.nested += 1;
                let mut blocks = Vec::new();
                let converted = self.blocks(&note, &mut blocks);
                self.nested -= 1;
                self.fields = fields;
                converted?;
                self.notes.push(Note { kind, paras: flatten(blocks) });
                self.note_index.insert(key, self.notes.len() - 1);
                self.notes.len() - 1
            }
        };
        b.inlines.push(Inline::Note(index));
        Ok(())
    }

    fn drawing(&mut self, d: &Element, b: &mut ParaBuilder) -> Result<()> {
        for frame in d.elements().filter(|f| f.is("wp:inline") || f.is("wp:anchor")) {
            let floating = frame.is("wp:anchor");
            let doc_pr = frame.child("wp:docPr");
            let alt = doc_pr.and_then(|p| non_empty(p.attr("descr")).or_else(|| non_empty(p.attr("title"))));
            let Some(graphic) = frame.find("a:graphicData") else { continue };
            let mut pictures = Vec::new();
            graphic.find_all("pic:pic", &mut pictures);
            for picture in &pictures {
                match picture.find("a:blip") {
                    Some(blip) => self.blip(blip, alt.clone(), floating, b)?,
                    None => self.report(
                        UnconvertedKind::MissingImage,
                        alt.as_deref().unwrap_or(""),
                        "a picture with no image",
                        false,
                    ),
                }
            }
            let mut shapes = Vec::new();
            graphic.find_all("wps:wsp", &mut shapes);
            for shape in &shapes {
                let text_box =
                    shape.child("wps:cNvSpPr").and_then(|p| p.attr("txBox")).is_some_and(|v| v == "1" || v == "true");
                let kind = if text_box { UnconvertedKind::TextBox } else { UnconvertedKind::Shape };
                match shape.find("w:txbxContent") {
                    Some(content) => self.text_box(content, kind, b)?,
                    None => self.report(kind, "", "a drawn shape without text, left out", false),
                }
            }
            if pictures.is_empty() && shapes.is_empty() {
                let (kind, detail) = if graphic.find("c:chart").is_some() {
                    (UnconvertedKind::Chart, "a chart, left out: paste it as a picture")
                } else if graphic.find("dgm:relIds").is_some() {
                    (UnconvertedKind::Diagram, "SmartArt, left out: paste it as a picture or retype its text")
                } else {
                    (UnconvertedKind::Shape, "a drawing, left out")
                };
                self.report(kind, alt.as_deref().unwrap_or(""), detail, false);
            }
        }
        Ok(())
    }

    /// Legacy VML (`w:pict`) and embedded objects (`w:object`, with `prog_id`): their images
    /// (an object's is its preview) and text boxes.
    fn vml(&mut self, e: &Element, b: &mut ParaBuilder, prog_id: Option<&str>) -> Result<()> {
        let mut images = Vec::new();
        e.find_all("v:imagedata", &mut images);
        if let Some(prog_id) = prog_id {
            let (kind, what) = if prog_id.starts_with("Equation") {
                (UnconvertedKind::Equation, "an Equation Editor object")
            } else {
                (UnconvertedKind::EmbeddedObject, "an embedded object")
            };
            let preview = if images.is_empty() { "no preview to keep" } else { "its preview picture is kept" };
            self.report(kind, &tail(&plain(&b.inlines)), format!("{what} ({prog_id}); {preview}"), false);
        }
        for image in &images {
            let alt = non_empty(image.attr("o:title"));
            match image.attr("r:id").or_else(|| image.attr("r:pict")) {
                Some(id) => self.image(id, alt, false, b)?,
                None => self.report(UnconvertedKind::MissingImage, "", "a picture with no image", false),
            }
        }
        let mut boxes = Vec::new();
        e.find_all("v:textbox", &mut boxes);
        for text_box in &boxes {
            if let Some(content) = text_box.find("w:txbxContent") {
                self.text_box(content, UnconvertedKind::TextBox, b)?;
            }
        }
        if prog_id.is_none() && images.is_empty() && boxes.is_empty() {
            let shapes = ["v:shape", "v:rect", "v:roundrect", "v:oval", "v:line", "v:polyline", "v:group"];
            if e.elements().any(|c| shapes.contains(&c.name.as_str())) {
                self.report(UnconvertedKind::Shape, "", "a drawn shape without text, left out", false);
            }
        }
        Ok(())
    }

    /// A text box's paragraphs follow the paragraph that holds it.
    fn text_box(&mut self, content: &Element, kind: UnconvertedKind, b: &mut ParaBuilder) -> Result<()> {
        let at = self.report.len();
        self.nested += 1;
        let mut blocks = Vec::new();
        let converted = self.blocks(content, &mut blocks);
        self.nested -= 1;
        converted?;
        let text: Vec<String> = flatten(blocks.clone()).iter().map(Para::plain_text).collect();
        let text = text.join(" ");
        let detail = if text.trim().is_empty() { "no text" } else { "its text follows the paragraph" };
        self.report(kind, &text, detail, !text.trim().is_empty());
        // Listed before what was found inside it.
        if let Some(entry) = self.report.pop() {
            self.report.insert(at, entry);
        }
        b.after.extend(blocks);
        Ok(())
    }

    fn blip(&mut self, blip: &Element, alt: Option<String>, floating: bool, b: &mut ParaBuilder) -> Result<()> {
        match (blip.attr("r:embed"), blip.attr("r:link")) {
            (Some(id), _) => self.image(id, alt, floating, b),
            (None, Some(id)) => {
                let target = self.rels.get(id).map(|r| r.target.clone()).unwrap_or_default();
                let alt_text = alt.unwrap_or_default();
                self.report(
                    UnconvertedKind::MissingImage,
                    &alt_text,
                    format!("linked to {target}, not embedded"),
                    false,
                );
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    fn image(&mut self, id: &str, alt: Option<String>, floating: bool, b: &mut ParaBuilder) -> Result<()> {
        if self.suppressed() {
            return Ok(());
        }
        let alt_text = alt.clone().unwrap_or_default();
        let Some(rel) = self.rels.get(id).cloned() else {
            self.report(UnconvertedKind::MissingImage, &alt_text, format!("relationship {id} is missing"), false);
            return Ok(());
        };
        if rel.external {
            self.report(
                UnconvertedKind::MissingImage,
                &alt_text,
                format!("linked to {}, not embedded", rel.target),
                false,
            );
            return Ok(());
        }
        let figure = match self.figure_by_part.get(&rel.target) {
            Some(&index) => index,
            None => {
                let Some(bytes) = self.package.read(&rel.target, false)? else {
                    self.report(UnconvertedKind::MissingImage, &alt_text, format!("{} is missing", rel.target), false);
                    return Ok(());
                };
                let format = ImageFormat::sniff(&bytes);
                let file_name = format!("figure-{:02}.{}", self.figures.len() + 1, format.extension());
                if !format.is_supported() {
                    let detail = format!("{file_name} is {}: convert it to PNG or JPEG", format.name());
                    self.report(UnconvertedKind::UnsupportedImage, &alt_text, detail, false);
                }
                self.figures.push(Figure { file_name, bytes, alt: alt.clone(), caption: None, format });
                self.figure_by_part.insert(rel.target.clone(), self.figures.len() - 1);
                self.figures.len() - 1
            }
        };
        b.inlines.push(Inline::Image(ImageUse { figure, alt, caption: None, floating }));
        Ok(())
    }

    fn table(&mut self, tbl: &Element) -> Result<Vec<Vec<Cell>>> {
        let mut rows = Vec::new();
        for tr in rows_of(tbl) {
            let trpr = tr.child("w:trPr");
            if trpr.is_some_and(|t| t.child("w:del").is_some()) {
                self.report(UnconvertedKind::TrackedChange, &tr.text(), "a deleted table row (left out)", false);
                continue;
            }
            let mut cells = Vec::new();
            let before = trpr.and_then(|t| t.child_val("w:gridBefore")).and_then(|v| v.parse::<usize>().ok());
            if let Some(span) = before.filter(|n| *n > 0) {
                cells.push(Cell { paras: Vec::new(), span: span.min(64), merged_above: false });
            }
            for tc in cells_of(tr) {
                let tcpr = tc.child("w:tcPr");
                let span = tcpr.and_then(|t| t.child_val("w:gridSpan")).and_then(|v| v.parse::<usize>().ok());
                let merged_above =
                    tcpr.and_then(|t| t.child("w:vMerge")).is_some_and(|m| m.attr("w:val") != Some("restart"));
                let paras = self.cell(tc)?;
                cells.push(Cell { paras, span: span.unwrap_or(1).clamp(1, 64), merged_above });
            }
            rows.push(cells);
        }
        Ok(rows)
    }

    fn cell(&mut self, tc: &Element) -> Result<Vec<Para>> {
        let mut blocks = Vec::new();
        self.blocks(tc, &mut blocks)?;
        if blocks.iter().any(|b| matches!(b, Block::Table(_))) {
            let text = tc.text();
            self.report(UnconvertedKind::NestedTable, &text, "its cells are written into the outer cell", true);
        }
        Ok(flatten(blocks))
    }
}

/// The start of a field's result: a HYPERLINK becomes a link, a table of contents or an index is
/// left out (its entries are page numbers of a paper layout).
fn start_result(field: &mut Field, b: &mut ParaBuilder, outer_suppressed: bool) {
    match field.name().as_str() {
        "HYPERLINK" if !outer_suppressed => {
            if let Some(url) = hyperlink_url(&field.instruction) {
                b.inlines.push(Inline::LinkStart(url));
                field.link = true;
            }
        }
        "TOC" | "INDEX" | "TOA" => field.dropped = true,
        _ => {}
    }
}

/// OMML → text runs: scripts as superscript or subscript, fractions as a/b, roots as √(x),
/// delimiters and n-ary operators with their characters.
fn math(e: &Element, fmt: Fmt, out: &mut Vec<(String, Fmt)>) {
    let push = |text: &str, out: &mut Vec<(String, Fmt)>| out.push((text.to_string(), fmt));
    let property = |name: &str, default: &str| {
        e.elements()
            .find(|c| c.name.ends_with("Pr"))
            .and_then(|p| p.child(name))
            .and_then(|c| c.attr("m:val"))
            .map_or_else(|| default.to_string(), str::to_string)
    };
    match e.name.as_str() {
        "m:t" => push(&e.text(), out),
        "m:sup" => e.elements().for_each(|c| math(c, Fmt { sup: true, ..fmt }, out)),
        "m:sub" => e.elements().for_each(|c| math(c, Fmt { sub: true, ..fmt }, out)),
        "m:f" => {
            for (i, part) in e.elements().filter(|c| c.is("m:num") || c.is("m:den")).enumerate() {
                if i > 0 {
                    push("/", out);
                }
                math(part, fmt, out);
            }
        }
        "m:rad" => {
            push("√(", out);
            e.children_named("m:e").for_each(|c| math(c, fmt, out));
            push(")", out);
        }
        "m:d" => {
            push(&property("m:begChr", "("), out);
            for (i, part) in e.children_named("m:e").enumerate() {
                if i > 0 {
                    push(&property("m:sepChr", "|"), out);
                }
                math(part, fmt, out);
            }
            push(&property("m:endChr", ")"), out);
        }
        "m:nary" => {
            push(&property("m:chr", "∫"), out);
            e.elements().for_each(|c| math(c, fmt, out));
        }
        _ => e.elements().for_each(|c| math(c, fmt, out)),
    }
}

/// `HYPERLINK "https://…" \o "tip"` → the URL; None for `HYPERLINK \l "bookmark"` (inside the
/// document).
fn hyperlink_url(instruction: &str) -> Option<String> {
    let rest = instruction.trim().get("HYPERLINK".len()..)?.trim();
    if rest.starts_with("\\l") {
        return None;
    }
    let url = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split_whitespace().next()?,
    };
    let url = url.trim();
    (!url.is_empty() && !url.starts_with('\\')).then(|| url.to_string())
}

fn rows_of(tbl: &Element) -> Vec<&Element> {
    let mut out = Vec::new();
    for child in tbl.elements() {
        match child.name.as_str() {
            "w:tr" => out.push(child),
            "w:sdt" | "w:customXml" => {
                let inner = child.child("w:sdtContent").unwrap_or(child);
                out.extend(inner.children_named("w:tr"));
            }
            _ => {}
        }
    }
    out
}

fn cells_of(tr: &Element) -> Vec<&Element> {
    let mut out = Vec::new();
    for child in tr.elements() {
        match child.name.as_str() {
            "w:tc" => out.push(child),
            "w:sdt" | "w:customXml" => {
                let inner = child.child("w:sdtContent").unwrap_or(child);
                out.extend(inner.children_named("w:tc"));
            }
            _ => {}
        }
    }
    out
}

/// Blocks as paragraphs, for a cell or a note: a table's rows become lines of its cells' text.
fn flatten(blocks: Vec<Block>) -> Vec<Para> {
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Para(p) => out.push(p),
            Block::Table(rows) => {
                let mut inlines = Vec::new();
                for row in rows {
                    if !inlines.is_empty() {
                        inlines.push(Inline::Break);
                    }
                    for (i, cell) in row.into_iter().enumerate() {
                        if i > 0 {
                            inlines.push(Inline::Text(" / ".into(), Fmt::default()));
                        }
                        for (j, para) in cell.paras.into_iter().enumerate() {
                            if j > 0 {
                                inlines.push(Inline::Text(" ".into(), Fmt::default()));
                            }
                            inlines.extend(para.inlines);
                        }
                    }
                }
                out.push(Para { kind: ParaKind::Body, inlines });
            }
        }
    }
    out
}

/// A floating picture anchored in a paragraph of text is a figure of its own, before the text.
fn split_floating_images(para: Para) -> Vec<Block> {
    let has_floating = para.inlines.iter().any(|i| matches!(i, Inline::Image(img) if img.floating));
    if !has_floating || para.only_images().is_some() {
        return vec![Block::Para(para)];
    }
    let (images, rest): (Vec<Inline>, Vec<Inline>) =
        para.inlines.into_iter().partition(|i| matches!(i, Inline::Image(img) if img.floating));
    let mut out: Vec<Block> =
        images.into_iter().map(|image| Block::Para(Para { kind: ParaKind::Body, inlines: vec![image] })).collect();
    let text = Para { kind: para.kind, inlines: rest };
    if !text.is_empty() {
        out.push(Block::Para(text));
    }
    out
}

fn plain(inlines: &[Inline]) -> String {
    Para { kind: ParaKind::Body, inlines: inlines.to_vec() }.plain_text()
}

/// The last words before a point, for a snippet.
fn tail(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars[chars.len().saturating_sub(SNIPPET_CHARS)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_are_told_by_their_first_words() {
        for yes in ["图1 鼎", "图 2", "图一 鼎", "图1-2", "Figure 3. The same", "Fig. 4"] {
            assert!(is_caption_text(yes), "{yes}");
        }
        for no in ["图书馆", "Figures show", "鼎"] {
            assert!(!is_caption_text(no), "{no}");
        }
    }

    #[test]
    fn hyperlink_instructions_give_their_url() {
        assert_eq!(hyperlink_url(r#" HYPERLINK "https://a.org/x" \o "tip" "#).as_deref(), Some("https://a.org/x"));
        assert_eq!(hyperlink_url(" HYPERLINK https://a.org ").as_deref(), Some("https://a.org"));
        assert_eq!(hyperlink_url(r#"HYPERLINK \l "_Toc1""#), None);
        assert_eq!(hyperlink_url("HYPER"), None);
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        assert_eq!(snippet(" a\n b "), "a b");
        let long = "字".repeat(50);
        assert_eq!(snippet(&long).chars().count(), SNIPPET_CHARS);
        assert!(snippet(&long).ends_with('…'));
    }
}
