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
use crate::config::LineBreaks;
use crate::util::diagnostics::{Diagnostic, Rule, Severity};
use crate::util::html::{self, is_cjk, push_escaped};

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
    /// Keys of the items linked to, each once, in order.
    pub linked: Vec<String>,
    /// Whether a link was looked up among the project's items (a relative link, whether it
    /// named one or not): only then does the HTML depend on which items exist.
    pub looked_up_items: bool,
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

/// Bullets by nesting level (then repeating), so that a level can be told from its parent.
const BULLETS: [&str; 3] = [components::BULLET, "◦", "▪"];

/// Lists nested deeper than this get too narrow on a phone (each level indents 1.5em).
const LIST_DEPTH_MAX: usize = 4;

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
    /// Where each open block quote starts in `out`.
    quotes: Vec<usize>,
    /// Byte range in `out` of the last list marker drawn (a task list's check box replaces it).
    last_marker: Option<Range<usize>>,
    /// ` style="…"` of each column's header and body cells (the theme's cell style plus the
    /// column's alignment), built once per table.
    table_cell_attrs: Vec<[String; 2]>,
    table_cell: usize,
    /// Where the open cell's start tag begins in `out`.
    table_cell_start: usize,
    in_table_head: bool,
    links: Vec<LinkState>,
    /// `<a>` tags opened in raw HTML: Some((url, text)) for an outside link that becomes a
    /// numbered reference at its `</a>`, None for one kept as written.
    raw_links: Vec<Option<(String, String)>>,
    image: Option<ImageState>,
    references: Vec<Reference>,
    linked: Vec<String>,
    looked_up_items: bool,
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
            quotes: Vec::new(),
            last_marker: None,
            table_cell_attrs: Vec::new(),
            table_cell: 0,
            table_cell_start: 0,
            in_table_head: false,
            links: Vec::new(),
            raw_links: Vec::new(),
            image: None,
            references: Vec::new(),
            linked: Vec::new(),
            looked_up_items: false,
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
                Event::SoftBreak => self.soft_break(events, index),
                Event::HardBreak => self.out.push_str("<br>"),
                Event::Rule => {
                    let attr = self.style("hr");
                    self.out.push_str(&format!("<hr{attr}>"));
                }
                Event::TaskListMarker(done) => {
                    // The item's bullet was already drawn; replace it with a check box.
                    if let Some(marker) = self.last_marker.take() {
                        let mark = if *done { "☑" } else { "☐" };
                        self.out.replace_range(marker, mark);
                    }
                }
            }
        }
        Ok(())
    }

    // Long on purpose: one arm per pulldown-cmark start tag; splitting it would scatter the match that `end` mirrors.
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
            Tag::BlockQuote(_) => {
                self.quotes.push(self.out.len());
                self.open("blockquote", "blockquote");
            }
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
                if self.lists.len() == LIST_DEPTH_MAX {
                    self.warn(
                        range.start,
                        Rule::ListDepth,
                        format!("list nested {} levels deep", self.lists.len() + 1),
                        "each level indents further; past four levels the text is too narrow on a phone — flatten the list",
                    );
                }
                // Only the outermost list is a real `<ul>`/`<ol>`: WeChat's editor adds bullets to
                // a list nested directly in another and drops lists nested past two levels, so a
                // nested list is a section inside its parent item (as wenyan-core does).
                if self.lists.is_empty() {
                    let attr = self.style("list");
                    let tag = if start.is_some() { "ol" } else { "ul" };
                    self.out.push_str(&format!("<{tag}{attr}>"));
                } else {
                    self.open("section", "nested_list");
                }
                self.lists.push(ListState { next_number: *start });
            }
            Tag::Item => {
                let depth = self.lists.len();
                let marker = match self.lists.last_mut().and_then(|l| l.next_number.as_mut()) {
                    Some(n) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    None => BULLETS[(depth.max(1) - 1) % BULLETS.len()].to_string(),
                };
                let tag = if depth <= 1 { "li" } else { "section" };
                let item = self.style("list_item");
                let body = self.style("list_item_body");
                let marker_style = self.style("list_marker");
                self.out.push_str(&format!("<{tag}{item}><section{body}><span{marker_style}>"));
                let at = self.out.len();
                self.out.push_str(&marker);
                self.last_marker = Some(at..self.out.len());
                self.out.push_str("</span>");
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
                self.table_cell_start = self.out.len();
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
                    self.looked_up_items = true;
                    match self.ctx.links.target(self.ctx.dir, &url) {
                        // Another item: its published URL once it has one, text until then.
                        Some(key) => {
                            let href = self.ctx.links.href(&key);
                            if !self.linked.contains(&key) {
                                self.linked.push(key);
                            }
                            match href {
                                Some(href) => {
                                    let attr = self.style("a");
                                    self.out.push_str(&format!("<a href=\"{}\"{attr}>", html::escape(&href)));
                                    LinkState::WeChat
                                }
                                None => LinkState::TextOnly,
                            }
                        }
                        None => LinkState::TextOnly,
                    }
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
            TagEnd::BlockQuote(_) => {
                let start = self.quotes.pop().unwrap_or(0);
                self.ctx.theme.drop_last_paragraph_margin(&mut self.out, start);
                self.close("blockquote");
            }
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
                self.close(match (self.lists.is_empty(), ordered) {
                    (false, _) => "section",
                    (true, true) => "ol",
                    (true, false) => "ul",
                });
            }
            TagEnd::Item => {
                self.inline_paragraphs.pop();
                self.last_marker = None;
                self.out.push_str(if self.lists.len() <= 1 { "</section></li>" } else { "</section></section>" });
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
                self.keep_short_cell_on_one_line();
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

    /// A line break inside a paragraph. With `line_breaks = "hard"` it stays a line break;
    /// otherwise the lines join (a space between Latin words, nothing between Chinese
    /// characters: a space there would show as a gap) — except before an attribution line
    /// (`——策展人 王立`), which never continues the sentence above it.
    fn soft_break(&mut self, events: &[(Event<'_>, Range<usize>)], index: usize) {
        let next = events.get(index + 1).map(|e| &e.0);
        let attribution = matches!(next, Some(Event::Text(t)) if is_attribution(t));
        if self.ctx.line_breaks == LineBreaks::Hard || attribution {
            self.out.push_str("<br>");
            return;
        }
        const KEEP_THE_BREAK: &str = "end the line above with a backslash (\\) or two spaces to keep the break, or set `[build] line_breaks = \"hard\"` in publish.toml";
        if let Some(label) = label_line(events, index + 1) {
            let offset = events[index + 1].1.start;
            let message = format!("the line starting with `{label}` joins the line above it into one paragraph");
            self.warn(offset, Rule::MergedLines, message, KEEP_THE_BREAK);
        } else if is_bold_title_line(events, index) {
            let offset = events[index + 1].1.start;
            let message = "a bold title line and the line below it join into one paragraph".to_string();
            self.warn(offset, Rule::MergedLines, message, KEEP_THE_BREAK);
        }
        let prev_cjk = self.out.chars().last().is_some_and(is_cjk);
        let next_cjk = matches!(next, Some(Event::Text(t)) if t.chars().next().is_some_and(is_cjk));
        if !(prev_cjk || next_cjk) {
            self.out.push(' ');
        }
    }

    /// A short cell (a date, a catalogue number, 商代晚期) stays on one line: a wide table then
    /// scrolls sideways instead of breaking `QZM-2024-0032` at its hyphens. Longer cells wrap,
    /// at spaces and punctuation only (the theme's `word-break: keep-all`).
    fn keep_short_cell_on_one_line(&mut self) {
        const SHORT_CELL_COLUMNS: usize = 20;
        let cell = &self.out[self.table_cell_start..];
        let Some(tag_end) = cell.find('>') else { return };
        if html::display_columns(&cell[tag_end + 1..]) > SHORT_CELL_COLUMNS {
            return;
        }
        let at = self.table_cell_start;
        match cell[..tag_end].find(" style=\"") {
            Some(style) => self.out.insert_str(at + style + 8, "white-space: nowrap; "),
            None => self.out.insert_str(at + tag_end, " style=\"white-space: nowrap\""),
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
        MarkdownOutput {
            html: self.out,
            references: self.references,
            linked: self.linked,
            looked_up_items: self.looked_up_items,
            diagnostics: self.diagnostics,
        }
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

/// The text of an image post (贴图): what the Markdown says, without markup — paragraphs apart,
/// lines joined as the article renderer joins them, images left out (they are the post's photos).
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_image = false;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Image { .. }) => in_image = true,
            Event::End(TagEnd::Image) => in_image = false,
            Event::Text(text) | Event::Code(text) if !in_image => out.push_str(&text),
            Event::SoftBreak if !out.chars().last().is_some_and(is_cjk) => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => {
                let trimmed = out.trim_end_matches([' ', '\n']).len();
                out.truncate(trimmed);
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
            }
            _ => {}
        }
    }
    out.trim_end().to_string()
}

/// A line that names who said or wrote what precedes it: `——策展人 王立`, `—— 王立`.
fn is_attribution(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with("——") || text.starts_with("— ")
}

/// True when the soft break at `index` ends a line that is all bold from the paragraph's start
/// (`**青铜时代特展**` above its dates): a title, not the start of a sentence.
fn is_bold_title_line(events: &[(Event<'_>, Range<usize>)], index: usize) -> bool {
    let Some(before) = index.checked_sub(4) else { return false };
    matches!(
        &events[before..index],
        [
            (Event::Start(Tag::Paragraph), _),
            (Event::Start(Tag::Strong), _),
            (Event::Text(_), _),
            (Event::End(TagEnd::Strong), _)
        ]
    )
}

/// `主讲：` when the events from `index` start a line with a bold label (`**主讲：**…`): such
/// lines are meant as separate lines, and a soft break joins them.
fn label_line(events: &[(Event<'_>, Range<usize>)], index: usize) -> Option<String> {
    if !matches!(events.get(index), Some((Event::Start(Tag::Strong), _))) {
        return None;
    }
    let Some((Event::Text(text), _)) = events.get(index + 1) else { return None };
    let label = text.trim_end();
    let is_label = label.chars().count() <= 12 && (label.ends_with('：') || label.ends_with(':'));
    let after_strong = matches!(events.get(index + 2), Some((Event::End(TagEnd::Strong), _)));
    let label = label.to_string();
    // `**主讲**：` writes the colon after the bold text.
    if after_strong && !is_label {
        if let Some((Event::Text(rest), _)) = events.get(index + 3)
            && (rest.starts_with('：') || rest.starts_with(':'))
            && label.chars().count() <= 10
        {
            return Some(format!("{label}："));
        }
        return None;
    }
    (is_label && after_strong).then_some(label)
}
