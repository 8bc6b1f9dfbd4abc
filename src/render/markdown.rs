//! Markdown events → WeChat-compatible HTML, with the theme's styles written inline as each tag
//! is emitted. Outside links become numbered references, images become figures pointing at
//! processed files, code is highlighted, museum components are rendered from fenced blocks.
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

use super::components::{self, COMPONENT_NAMES};
use super::sanitize::{self, is_wechat_article_url};
use super::{ImageSink, RenderContext, RenderError, highlight};
use crate::diagnostics::{Diagnostic, Rule, Severity};
use crate::html::{self, push_escaped};

/// How much of a raw link's text its reference keeps.
const REFERENCE_TEXT_MAX: usize = 300;

/// An outside link, listed at the end of the article as `[n] text: url`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reference {
    pub number: usize,
    pub text: String,
    pub url: String,
}

#[derive(Debug, Default)]
pub struct MarkdownOutput {
    pub html: String,
    pub references: Vec<Reference>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The language (or component) name of a fenced block: the first word of its info string.
pub fn fence_language(info: &str) -> &str {
    info.split_whitespace().next().unwrap_or("")
}

pub fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders `markdown` (which starts at byte `base` of the item's source file).
pub fn render(
    ctx: &RenderContext<'_>,
    markdown: &str,
    base: usize,
    sink: &mut dyn ImageSink,
) -> Result<MarkdownOutput, RenderError> {
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(markdown, options()).into_offset_iter().collect();
    let mut emitter = Emitter::new(ctx, base);
    emitter.run(&events, sink)?;
    Ok(emitter.finish())
}

struct ListState {
    next_number: Option<u64>,
}

enum LinkState {
    /// Rendered as text plus a `[n]` marker.
    Reference { url: String, text: String },
    /// Kept as `<a>`.
    WeChat,
    /// Relative or anchor link: text only.
    TextOnly,
}

struct ImageState {
    src: String,
    title: String,
    alt: String,
    offset: usize,
    figure: bool,
}

struct Emitter<'a> {
    ctx: &'a RenderContext<'a>,
    base: usize,
    out: String,
    saved: Vec<String>,
    lists: Vec<ListState>,
    /// Inside list items and footnotes, paragraphs are joined with `<br>` instead of `<p>`:
    /// WeChat splits block children of `<li>` onto separate lines.
    inline_paragraphs: Vec<usize>,
    /// The open paragraph is a lone image, emitted as a figure instead of `<p>`.
    figure_paragraph: bool,
    /// ` style="…"` of each column's header and body cells (the theme's cell style plus the
    /// column's alignment), built once per table.
    table_cell_attrs: Vec<[String; 2]>,
    table_cell: usize,
    in_table_head: bool,
    links: Vec<LinkState>,
    /// `<a>` tags opened in raw HTML: Some((url, text)) for an outside link that becomes a
    /// numbered reference at its `</a>`, None for one kept as written.
    raw_links: Vec<Option<(String, String)>>,
    image: Option<ImageState>,
    references: Vec<Reference>,
    reference_numbers: HashMap<String, usize>,
    footnote_numbers: HashMap<String, usize>,
    footnotes: Vec<(usize, String)>,
    current_footnote: Option<String>,
    code_block: Option<(String, usize, String)>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Emitter<'a> {
    fn new(ctx: &'a RenderContext<'a>, base: usize) -> Self {
        Emitter {
            ctx,
            base,
            out: String::with_capacity(16 * 1024),
            saved: Vec::new(),
            lists: Vec::new(),
            inline_paragraphs: Vec::new(),
            figure_paragraph: false,
            table_cell_attrs: Vec::new(),
            table_cell: 0,
            in_table_head: false,
            links: Vec::new(),
            raw_links: Vec::new(),
            image: None,
            references: Vec::new(),
            reference_numbers: HashMap::new(),
            footnote_numbers: HashMap::new(),
            footnotes: Vec::new(),
            current_footnote: None,
            code_block: None,
            diagnostics: Vec::new(),
        }
    }

    fn style(&self, key: &str) -> &'a str {
        self.ctx.theme.attr(key)
    }

    /// The style attribute of a table cell: the theme's `th` or `td` style and the alignment.
    fn cell_attr(&self, key: &str, alignment: Alignment) -> String {
        let mut style = self.ctx.theme.style(key).to_string();
        let align = match alignment {
            Alignment::Left => "left",
            Alignment::Center => "center",
            Alignment::Right => "right",
            Alignment::None => return super::theme::style_attr(style.trim()),
        };
        if !style.is_empty() && !style.trim_end().ends_with(';') {
            style.push(';');
        }
        style.push_str(" text-align: ");
        style.push_str(align);
        super::theme::style_attr(style.trim())
    }

    fn open(&mut self, tag: &str, key: &str) {
        let attr = self.style(key);
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push_str(attr);
        self.out.push('>');
    }

    fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    fn warn(&mut self, offset: usize, rule: Rule, message: String, hint: &str) {
        let (line, column) = self.ctx.position(self.base + offset);
        self.diagnostics.push(Diagnostic {
            file: self.ctx.file.to_path_buf(),
            line,
            column,
            rule,
            severity: Severity::Warning,
            message,
            hint: Some(hint.to_string()),
        });
    }

    fn in_inline_paragraph_context(&self) -> bool {
        !self.inline_paragraphs.is_empty()
    }

    fn run(&mut self, events: &[(Event<'_>, Range<usize>)], sink: &mut dyn ImageSink) -> Result<(), RenderError> {
        for (index, (event, range)) in events.iter().enumerate() {
            if let Some((_, _, text)) = &mut self.code_block
                && let Event::Text(t) = event
            {
                text.push_str(t);
                continue;
            }
            if let Some(image) = &mut self.image {
                match event {
                    Event::Text(t) | Event::Code(t) => {
                        image.alt.push_str(t);
                        continue;
                    }
                    Event::End(TagEnd::Image) => {}
                    _ => continue,
                }
            }
            match event {
                Event::Start(tag) => self.start(tag, events, index, range),
                Event::End(tag) => self.end(*tag, sink)?,
                Event::Text(text) => self.text(text),
                Event::Code(code) => {
                    self.open("code", "code");
                    push_escaped(&mut self.out, code);
                    self.close("code");
                }
                Event::InlineMath(math) | Event::DisplayMath(math) => push_escaped(&mut self.out, math),
                Event::Html(html) | Event::InlineHtml(html) => {
                    let html = self.raw_html(html, range.start, sink)?;
                    self.check_raw_html(&html, range.start);
                    self.out.push_str(&html);
                }
                Event::FootnoteReference(label) => {
                    let next = self.footnote_numbers.len() + 1;
                    let number = *self.footnote_numbers.entry(label.to_string()).or_insert(next);
                    self.open("sup", "ref_marker");
                    self.out.push_str(&format!("({number})"));
                    self.close("sup");
                }
                Event::SoftBreak => self.soft_break(events.get(index + 1).map(|e| &e.0)),
                Event::HardBreak => self.out.push_str("<br>"),
                Event::Rule => {
                    let attr = self.style("hr");
                    self.out.push_str(&format!("<hr{attr}>"));
                }
                Event::TaskListMarker(done) => {
                    // The item's bullet was already drawn; replace it with a check box.
                    let bullet = format!("{}</span>", components::BULLET);
                    if let Some(pos) = self.out.rfind(&bullet) {
                        let mark = if *done { "☑" } else { "☐" };
                        self.out.replace_range(pos..pos + components::BULLET.len(), mark);
                    }
                }
            }
        }
        Ok(())
    }

    fn start(&mut self, tag: &Tag<'_>, events: &[(Event<'_>, Range<usize>)], index: usize, range: &Range<usize>) {
        match tag {
            Tag::Paragraph => {
                if let Some(count) = self.inline_paragraphs.last_mut() {
                    // A second paragraph inside a list item or footnote continues on a new line.
                    if *count > 0 {
                        self.out.push_str("<br>");
                    }
                    *count += 1;
                } else if is_lone_image_paragraph(events, index) {
                    self.figure_paragraph = true;
                } else {
                    self.open("p", "p");
                }
            }
            Tag::Heading { level, .. } => {
                let (tag, key) = heading(*level);
                self.open(tag, key);
            }
            Tag::BlockQuote(_) => self.open("blockquote", "blockquote"),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => fence_language(info).to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                let content_start = events.get(index + 1).map_or(range.start, |e| e.1.start);
                self.code_block = Some((lang, content_start, String::new()));
            }
            Tag::HtmlBlock => {}
            Tag::List(start) => {
                if self.lists.len() >= 2 {
                    self.warn(
                        range.start,
                        Rule::ListDepth,
                        format!("list nested {} levels deep", self.lists.len() + 1),
                        "WeChat drops content nested more than two levels deep; flatten the list",
                    );
                }
                self.lists.push(ListState { next_number: *start });
                let attr = self.style("list");
                let tag = if start.is_some() { "ol" } else { "ul" };
                self.out.push_str(&format!("<{tag}{attr}>"));
            }
            Tag::Item => {
                let marker = match self.lists.last_mut().and_then(|l| l.next_number.as_mut()) {
                    Some(n) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    None => components::BULLET.to_string(),
                };
                let item = self.style("list_item");
                let body = self.style("list_item_body");
                let marker_style = self.style("list_marker");
                self.out.push_str(&format!("<li{item}><section{body}><span{marker_style}>{marker}</span>"));
                self.inline_paragraphs.push(0);
            }
            Tag::FootnoteDefinition(label) => {
                self.saved.push(std::mem::take(&mut self.out));
                self.current_footnote = Some(label.to_string());
                self.inline_paragraphs.push(0);
            }
            Tag::Table(alignments) => {
                self.table_cell_attrs =
                    alignments.iter().map(|a| [self.cell_attr("th", *a), self.cell_attr("td", *a)]).collect();
                self.open("section", "table_wrap");
                self.open("table", "table");
            }
            Tag::TableHead => {
                self.in_table_head = true;
                self.table_cell = 0;
                self.out.push_str("<thead><tr>");
            }
            Tag::TableRow => {
                self.table_cell = 0;
                self.out.push_str("<tr>");
            }
            Tag::TableCell => {
                let (tag, kind) = if self.in_table_head { ("th", 0) } else { ("td", 1) };
                let attr = match self.table_cell_attrs.get(self.table_cell) {
                    Some(attrs) => attrs[kind].as_str(),
                    None => self.style(tag),
                };
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push_str(attr);
                self.out.push('>');
            }
            Tag::Emphasis => self.open("em", "em"),
            Tag::Strong => self.open("strong", "strong"),
            Tag::Strikethrough => self.open("del", "del"),
            Tag::Superscript => self.out.push_str("<sup>"),
            Tag::Subscript => self.out.push_str("<sub>"),
            Tag::Link { link_type, dest_url, .. } => {
                let url = dest_url.to_string();
                let state = if is_wechat_article_url(&url) {
                    let attr = self.style("a");
                    self.out.push_str(&format!("<a href=\"{}\"{attr}>", html::escape(&url)));
                    LinkState::WeChat
                } else if url.starts_with("http://") || url.starts_with("https://") || *link_type == LinkType::Email {
                    LinkState::Reference { url, text: String::new() }
                } else {
                    LinkState::TextOnly
                };
                self.links.push(state);
            }
            Tag::Image { dest_url, title, .. } => {
                let figure = self.figure_paragraph;
                self.image = Some(ImageState {
                    src: dest_url.to_string(),
                    title: title.to_string(),
                    alt: String::new(),
                    offset: range.start,
                    figure,
                });
            }
            Tag::MetadataBlock(_) | Tag::DefinitionList | Tag::DefinitionListTitle | Tag::DefinitionListDefinition => {}
        }
    }

    fn end(&mut self, tag: TagEnd, sink: &mut dyn ImageSink) -> Result<(), RenderError> {
        match tag {
            TagEnd::Paragraph => {
                if self.in_inline_paragraph_context() {
                } else if self.figure_paragraph {
                    self.figure_paragraph = false;
                } else {
                    self.close("p");
                }
            }
            TagEnd::Heading(level) => self.close(heading(level).0),
            TagEnd::BlockQuote(_) => self.close("blockquote"),
            TagEnd::CodeBlock => {
                let (lang, start, text) = self.code_block.take().expect("code block open");
                if COMPONENT_NAMES.contains(&lang.as_str()) {
                    let html = components::render(self.ctx, &lang, &text, self.base + start, sink)?;
                    self.out.push_str(&html);
                } else {
                    let code = highlight::highlight(
                        &text,
                        &lang,
                        &self.ctx.code_theme,
                        self.ctx.theme.style("code_line"),
                        self.ctx.theme.style("code_block"),
                    );
                    self.open("section", "code_block");
                    self.out.push_str(&code);
                    self.close("section");
                }
            }
            TagEnd::HtmlBlock => {}
            TagEnd::List(ordered) => {
                self.lists.pop();
                self.close(if ordered { "ol" } else { "ul" });
            }
            TagEnd::Item => {
                self.inline_paragraphs.pop();
                self.out.push_str("</section></li>");
            }
            TagEnd::FootnoteDefinition => {
                self.inline_paragraphs.pop();
                let body = std::mem::replace(&mut self.out, self.saved.pop().unwrap_or_default());
                if let Some(label) = self.current_footnote.take() {
                    let next = self.footnote_numbers.len() + 1;
                    let number = *self.footnote_numbers.entry(label).or_insert(next);
                    self.footnotes.push((number, body));
                }
            }
            TagEnd::Table => self.out.push_str("</tbody></table></section>"),
            TagEnd::TableHead => {
                self.in_table_head = false;
                self.out.push_str("</tr></thead><tbody>");
            }
            TagEnd::TableRow => self.out.push_str("</tr>"),
            TagEnd::TableCell => {
                self.close(if self.in_table_head { "th" } else { "td" });
                self.table_cell += 1;
            }
            TagEnd::Emphasis => self.close("em"),
            TagEnd::Strong => self.close("strong"),
            TagEnd::Strikethrough => self.close("del"),
            TagEnd::Superscript => self.close("sup"),
            TagEnd::Subscript => self.close("sub"),
            TagEnd::Link => match self.links.pop() {
                Some(LinkState::WeChat) => self.close("a"),
                Some(LinkState::Reference { url, text }) => {
                    let number = self.reference_number(&url, &text);
                    self.open("sup", "ref_marker");
                    self.out.push_str(&format!("[{number}]"));
                    self.close("sup");
                }
                Some(LinkState::TextOnly) | None => {}
            },
            TagEnd::Image => {
                let image = self.image.take().expect("image open");
                let line = self.ctx.position(self.base + image.offset).0;
                let src = sink.request(&image.src, line, super::ImageRole::Body)?;
                let caption = if image.title.is_empty() { image.alt.clone() } else { image.title.clone() };
                if image.figure {
                    self.out.push_str(&components::figure(self.ctx.theme, &src, &image.alt, &caption));
                } else {
                    let attr = self.style("img_inline");
                    self.out.push_str(&format!(
                        "<img src=\"{}\" alt=\"{}\"{attr}>",
                        html::escape(&src),
                        html::escape(&image.alt)
                    ));
                }
            }
            TagEnd::MetadataBlock(_)
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        self.collect_link_text(text);
        push_escaped(&mut self.out, text);
    }

    /// Text inside open outside links is also their reference's text.
    fn collect_link_text(&mut self, text: &str) {
        for link in &mut self.links {
            if let LinkState::Reference { text: link_text, .. } = link {
                link_text.push_str(text);
            }
        }
        // Only the innermost raw link, and only so much: an unclosed `<a>` must not collect the
        // rest of the article (once per open link).
        if let Some(Some((_, link_text))) = self.raw_links.last_mut()
            && link_text.len() < REFERENCE_TEXT_MAX
        {
            link_text.push_str(text);
        }
    }

    /// Raw HTML as the editor wrote it, made to behave like the Markdown around it: an outside
    /// `<a href>` becomes a numbered reference, a local `<img src>` goes through the image
    /// pipeline like `![]()`, and a "tag" that is no HTML element (`Vec<T>`) is text. Everything
    /// else passes to the sanitizer as written.
    fn raw_html(&mut self, html: &str, offset: usize, sink: &mut dyn ImageSink) -> Result<String, RenderError> {
        let mut out = String::with_capacity(html.len());
        let mut attributes = Vec::new();
        let mut rest = html;
        while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
            let text = &rest[..lt];
            self.collect_link_text(text);
            out.push_str(text);
            rest = &rest[lt..];
            // Comments and declarations pass through unread: a commented-out tag does nothing.
            if rest.starts_with("<!") || rest.starts_with("<?") {
                let end = if rest.starts_with("<!--") {
                    rest.find("-->").map(|e| e + 3)
                } else {
                    rest.find('>').map(|e| e + 1)
                };
                let end = end.unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                continue;
            }
            let closing = rest.starts_with("</");
            let after = &rest[if closing { 2 } else { 1 }..];
            let name_len = html::tag_name_len(after);
            if name_len == 0 {
                out.push('<');
                rest = &rest[1..];
                continue;
            }
            let name = &after[..name_len];
            if !sanitize::is_element_name(name) {
                out.push_str("&lt;");
                rest = &rest[1..];
                continue;
            }
            let remainder = html::parse_attributes(&after[name_len..], &mut attributes);
            let tag = &rest[..rest.len() - remainder.len()];
            rest = remainder;
            let attribute = |wanted: &str| {
                attributes.iter().find(|(a, _)| a.eq_ignore_ascii_case(wanted)).map(|(_, v)| html::decode_entities(v))
            };
            match (name.to_ascii_lowercase().as_str(), closing) {
                ("a", false) => {
                    let href = attribute("href").map(|h| h.trim().to_string()).unwrap_or_default();
                    let outside =
                        href.starts_with("http://") || href.starts_with("https://") || href.starts_with("mailto:");
                    if outside && !is_wechat_article_url(&href) {
                        self.raw_links.push(Some((href, String::new())));
                    } else {
                        self.raw_links.push(None);
                        out.push_str(tag);
                    }
                }
                ("a", true) => match self.raw_links.pop() {
                    Some(Some((url, text))) => {
                        let number = self.reference_number(&url, &text);
                        let marker = self.style("ref_marker");
                        out.push_str(&format!("<sup{marker}>[{number}]</sup>"));
                    }
                    _ => out.push_str(tag),
                },
                ("img", false) => match attribute("src") {
                    Some(src) if !src.contains(':') && !src.starts_with('/') && !src.is_empty() => {
                        let line = self.ctx.position(self.base + offset).0;
                        let processed = sink.request(&src, line, super::ImageRole::Body)?;
                        out.push_str("<img");
                        for (name, value) in &attributes {
                            let value = if name.eq_ignore_ascii_case("src") {
                                Cow::Borrowed(processed.as_str())
                            } else {
                                html::decode_entities(value)
                            };
                            out.push_str(&format!(" {name}=\"{}\"", html::escape(&value)));
                        }
                        out.push('>');
                    }
                    _ => out.push_str(tag),
                },
                _ => out.push_str(tag),
            }
        }
        self.collect_link_text(rest);
        out.push_str(rest);
        Ok(out)
    }

    /// A line break inside a paragraph: a space between Latin words, nothing between Chinese
    /// characters (a space there would show as a gap).
    fn soft_break(&mut self, next: Option<&Event<'_>>) {
        let prev_cjk = self.out.chars().last().is_some_and(is_cjk);
        let next_cjk = matches!(next, Some(Event::Text(t)) if t.chars().next().is_some_and(is_cjk));
        if !(prev_cjk || next_cjk) {
            self.out.push(' ');
        }
    }

    fn reference_number(&mut self, url: &str, text: &str) -> usize {
        if let Some(number) = self.reference_numbers.get(url) {
            return *number;
        }
        let number = self.references.len() + 1;
        self.references.push(Reference { number, text: text.trim().to_string(), url: url.to_string() });
        self.reference_numbers.insert(url.to_string(), number);
        number
    }

    /// Warns of everything the sanitizer will take out of this raw-HTML fragment (the same scan
    /// that removes it, so `build` and `check` say exactly what happens), and of SVG and CSS
    /// that WeChat's editor breaks after saving.
    fn check_raw_html(&mut self, html: &str, offset: usize) {
        for (at, removal) in sanitize::audit(html) {
            self.warn(offset + at, Rule::RawHtml, removal.to_string(), removal.hint());
        }
        let lower = html.to_ascii_lowercase();
        let svg_problems = [
            ("href=\"#", "an id reference (href=\"#…\")"),
            ("url(#", "an id reference (url(#…))"),
            ("@keyframes", "CSS animation (@keyframes)"),
            ("transition", "CSS transition"),
            ("animation:", "CSS animation"),
            (".click", "an animation started by an id (begin=\"id.click\")"),
        ];
        if lower.contains("<svg") || lower.contains("<animate") || lower.contains("<set") {
            for (needle, what) in svg_problems {
                if lower.contains(needle) {
                    self.warn(
                        offset,
                        Rule::RawHtml,
                        format!("raw SVG: {what} removed: WeChat does not keep it"),
                        "use the reveal or compare component, or only what docs/editors-guide.md lists for SVG",
                    );
                }
            }
        }
    }

    fn finish(mut self) -> MarkdownOutput {
        if !self.footnotes.is_empty() {
            self.footnotes.sort_by_key(|(n, _)| *n);
            let section = self.style("footnotes");
            let item = self.style("footnote");
            self.out.push_str(&format!("<section{section}>"));
            for (number, body) in &self.footnotes {
                self.out.push_str(&format!("<p{item}>({number}) {body}</p>"));
            }
            self.out.push_str("</section>");
        }
        MarkdownOutput { html: self.out, references: self.references, diagnostics: self.diagnostics }
    }
}

fn heading(level: HeadingLevel) -> (&'static str, &'static str) {
    match level {
        HeadingLevel::H1 => ("h1", "h1"),
        HeadingLevel::H2 => ("h2", "h2"),
        HeadingLevel::H3 => ("h3", "h3"),
        HeadingLevel::H4 => ("h4", "h4"),
        HeadingLevel::H5 => ("h5", "h4"),
        HeadingLevel::H6 => ("h6", "h4"),
    }
}

/// True when the paragraph starting at `index` holds exactly one image and nothing else.
fn is_lone_image_paragraph(events: &[(Event<'_>, Range<usize>)], index: usize) -> bool {
    if !matches!(events.get(index), Some((Event::Start(Tag::Paragraph), _))) {
        return false;
    }
    if !matches!(events.get(index + 1), Some((Event::Start(Tag::Image { .. }), _))) {
        return false;
    }
    let mut i = index + 2;
    while let Some((event, _)) = events.get(i) {
        match event {
            Event::End(TagEnd::Image) => return matches!(events.get(i + 1), Some((Event::End(TagEnd::Paragraph), _))),
            Event::Start(Tag::Image { .. }) => return false,
            _ => i += 1,
        }
    }
    false
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}
