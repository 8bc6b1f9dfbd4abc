//! A paragraph's runs → one line (or a few, joined by hard breaks) of Markdown: text escaped,
//! formatting as `**`/`*`/`~~` markers that CommonMark will really read as such, links, images
//! and footnote references.
use crate::model::{Fmt, ImageUse, Inline};
use crate::{Figure, ImageFormat};

/// What the line is part of: how a line break is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `\` then a new line, indented by the continuation prefix.
    Block,
    /// `<br>`: a table row is one line.
    Cell,
    /// A space: a heading is one line.
    Heading,
}

pub(crate) struct Ctx<'a> {
    pub figures: &'a [Figure],
    /// Footnote label of each note, by index.
    pub note_labels: &'a [usize],
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String, Fmt),
    Break(String, Fmt),
    Note(String, Fmt),
    /// Formatting never crosses these: an image, a link's `[` or `](url)`.
    Barrier(String),
}

/// Renders a paragraph's inlines. `continuation` starts each line after a hard break (a list
/// item's indent, `> ` in a quote).
pub(crate) fn render(inlines: &[Inline], ctx: &Ctx<'_>, mode: Mode, continuation: &str) -> String {
    let mut pieces = pieces(inlines, ctx, mode, continuation);
    trim_lines(&mut pieces);
    escape_pieces(&mut pieces);
    spread_formatting(&mut pieces);
    move_spaces_out(&mut pieces);
    merge_text(&mut pieces);
    emit(&pieces)
}

fn pieces(inlines: &[Inline], ctx: &Ctx<'_>, mode: Mode, continuation: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut link: Option<String> = None;
    for inline in inlines {
        match inline {
            Inline::Text(text, fmt) => {
                // Links look underlined already; `<u>` inside one would be noise.
                let fmt = if link.is_some() { Fmt { underline: false, ..*fmt } } else { *fmt };
                let text = text.replace('\t', " ");
                match out.last_mut() {
                    Some(Piece::Text(last, last_fmt)) if *last_fmt == fmt => last.push_str(&text),
                    _ => out.push(Piece::Text(text, fmt)),
                }
            }
            Inline::Break => match mode {
                Mode::Block => out.push(Piece::Break(format!("\\\n{continuation}"), Fmt::default())),
                Mode::Cell => out.push(Piece::Break("<br>".into(), Fmt::default())),
                Mode::Heading => out.push(Piece::Text(" ".into(), Fmt::default())),
            },
            Inline::Note(index) => {
                let label = ctx.note_labels.get(*index).copied().unwrap_or(index + 1);
                out.push(Piece::Note(format!("[^{label}]"), Fmt::default()));
            }
            Inline::Image(image) => out.push(Piece::Barrier(image_markdown(image, ctx.figures))),
            Inline::LinkStart(url) if link.is_none() && !url.trim().is_empty() => {
                link = Some(url.clone());
                out.push(Piece::Barrier("[".into()));
            }
            Inline::LinkStart(_) => {}
            Inline::LinkEnd => {
                if let Some(url) = link.take() {
                    close_link(&mut out, &url);
                }
            }
        }
    }
    if let Some(url) = link {
        close_link(&mut out, &url);
    }
    out
}

/// Ends a link; a link with no text is dropped (Markdown would show `[](url)` as nothing).
fn close_link(out: &mut Vec<Piece>, url: &str) {
    if matches!(out.last(), Some(Piece::Barrier(b)) if b == "[") {
        out.pop();
        return;
    }
    out.push(Piece::Barrier(format!("]({})", link_destination(url))));
}

fn link_destination(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.trim().chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `![alt](figure-01.jpg "caption")`; an image WeChat cannot show is commented out, with what to do.
fn image_markdown(image: &ImageUse, figures: &[Figure]) -> String {
    let Some(figure) = figures.get(image.figure) else { return String::new() };
    let alt = escape(image.alt.as_deref().unwrap_or(""), false).replace('\n', " ");
    let mut md = format!("![{alt}]({}", figure.file_name);
    if let Some(caption) = image.caption.as_deref().filter(|c| !c.is_empty()) {
        let caption = caption.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " ");
        md.push_str(&format!(" \"{caption}\""));
    }
    md.push(')');
    if figure.format.is_supported() {
        return md;
    }
    let advice = match figure.format {
        ImageFormat::Other => "is in a format WeChat cannot show".to_string(),
        format => format!("is {}, which WeChat cannot show", format.name()),
    };
    let body = format!(
        "{md} — {} {advice}: convert it to PNG or JPEG, point the link at the new file and remove the comment marks",
        figure.file_name
    );
    // Nothing inside may end the comment early.
    format!("<!-- {} -->", body.replace("--", "- -"))
}

/// Leading and trailing spaces of the paragraph and of each line go (4 leading spaces would make
/// a code block); breaks at either end go too.
fn trim_lines(pieces: &mut Vec<Piece>) {
    while matches!(pieces.first(), Some(Piece::Break(..))) {
        pieces.remove(0);
    }
    while matches!(pieces.last(), Some(Piece::Break(..))) {
        pieces.pop();
    }
    let mut line_start = true;
    for i in 0..pieces.len() {
        let next_is_break = matches!(pieces.get(i + 1), Some(Piece::Break(..)) | None);
        match &mut pieces[i] {
            Piece::Text(text, _) => {
                if line_start {
                    *text = text.trim_start().to_string();
                }
                if next_is_break {
                    *text = text.trim_end().to_string();
                }
                line_start = line_start && text.is_empty();
            }
            Piece::Break(..) => line_start = true,
            Piece::Note(..) | Piece::Barrier(_) => line_start = false,
        }
    }
    pieces.retain(|p| !matches!(p, Piece::Text(text, _) if text.is_empty()));
}

fn escape_pieces(pieces: &mut [Piece]) {
    let mut line_start = true;
    for piece in pieces.iter_mut() {
        match piece {
            Piece::Text(text, _) => {
                *text = escape(text, line_start);
                line_start = false;
            }
            Piece::Break(..) => line_start = true,
            Piece::Note(..) | Piece::Barrier(_) => line_start = false,
        }
    }
}

/// Backslash-escapes what Markdown would read as syntax. `line_start`: the text begins a line,
/// where `-`, `+`, `=`, `>` and `1.` would start a list, a heading underline or a quote.
pub(crate) fn escape(text: &str, line_start: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let marker_end = if line_start { line_marker_end(text) } else { None };
    for (i, c) in text.char_indices() {
        let escape = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '#' | '|' | '~' => true,
            '&' => looks_like_entity(&text[i + 1..]),
            _ => Some(i) == marker_end,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The byte index of the character that would make a line a list item (`- `, `+ `, `1. `), a
/// quote (`>`), a thematic break (`---`) or a setext heading underline (`===`).
fn line_marker_end(text: &str) -> Option<usize> {
    let first = text.chars().next()?;
    let rest = &text[first.len_utf8()..];
    let ends_marker = |rest: &str| rest.is_empty() || rest.starts_with([' ', '\t']);
    let only = |c: char| text.chars().all(|x| x == c || x == ' ');
    match first {
        '>' => return Some(0),
        '-' | '+' if ends_marker(rest) => return Some(0),
        '-' | '=' if only(first) => return Some(0),
        _ => {}
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits)
        && matches!(text.as_bytes().get(digits), Some(b'.' | b')'))
        && ends_marker(&text[digits + 1..])
    {
        return Some(digits);
    }
    None
}

/// `&copy;`, `&#169;`: what CommonMark would turn into a character.
fn looks_like_entity(rest: &str) -> bool {
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '#').take(32).collect();
    !name.is_empty() && rest[name.len()..].starts_with(';')
}

/// A break or a note reference between two runs of the same formatting stays inside it, so
/// `**a\` newline `b**` is one bold span.
fn spread_formatting(pieces: &mut [Piece]) {
    for i in 0..pieces.len() {
        if !matches!(pieces[i], Piece::Break(..) | Piece::Note(..)) {
            continue;
        }
        let before = pieces[..i].iter().rev().find_map(text_fmt).unwrap_or_default();
        let after = pieces[i + 1..].iter().find_map(text_fmt).unwrap_or_default();
        if let Piece::Break(_, fmt) | Piece::Note(_, fmt) = &mut pieces[i] {
            *fmt = before.and(after);
        }
    }
}

/// The formatting of a text piece; Some(plain) at a barrier, which formatting does not cross.
fn text_fmt(piece: &Piece) -> Option<Fmt> {
    match piece {
        Piece::Text(_, fmt) => Some(*fmt),
        Piece::Barrier(_) => Some(Fmt::default()),
        Piece::Break(..) | Piece::Note(..) => None,
    }
}

fn fmt_of(piece: Option<&Piece>) -> Fmt {
    match piece {
        Some(Piece::Text(_, f) | Piece::Break(_, f) | Piece::Note(_, f)) => *f,
        Some(Piece::Barrier(_)) | None => Fmt::default(),
    }
}

/// `**bold **` does not close (a marker after a space cannot), so spaces at the edges of a
/// formatted run move outside it.
fn move_spaces_out(pieces: &mut Vec<Piece>) {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for i in 0..pieces.len() {
        let Piece::Text(text, fmt) = &pieces[i] else {
            out.push(pieces[i].clone());
            continue;
        };
        if *fmt == Fmt::default() {
            out.push(pieces[i].clone());
            continue;
        }
        let before = fmt.and(fmt_of(out.last()));
        let after = fmt.and(fmt_of(pieces.get(i + 1)));
        let core = text.trim();
        if core.is_empty() {
            out.push(Piece::Text(text.clone(), before.and(after)));
            continue;
        }
        let lead = &text[..text.len() - text.trim_start().len()];
        let trail = &text[text.trim_end().len()..];
        if !lead.is_empty() {
            out.push(Piece::Text(lead.to_string(), before));
        }
        out.push(Piece::Text(core.to_string(), *fmt));
        if !trail.is_empty() {
            out.push(Piece::Text(trail.to_string(), after));
        }
    }
    *pieces = out;
}

fn merge_text(pieces: &mut Vec<Piece>) {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces.drain(..) {
        if let (Some(Piece::Text(last, last_fmt)), Piece::Text(text, fmt)) = (out.last_mut(), &piece)
            && last_fmt == fmt
        {
            last.push_str(text);
            continue;
        }
        out.push(piece);
    }
    *pieces = out;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Bold,
    Italic,
    Strike,
    Underline,
    Sup,
    Sub,
}

const FLAGS: [Flag; 6] = [Flag::Bold, Flag::Italic, Flag::Strike, Flag::Underline, Flag::Sup, Flag::Sub];

impl Flag {
    fn on(self, fmt: Fmt) -> bool {
        match self {
            Flag::Bold => fmt.bold,
            Flag::Italic => fmt.italic,
            Flag::Strike => fmt.strike,
            Flag::Underline => fmt.underline,
            Flag::Sup => fmt.sup,
            Flag::Sub => fmt.sub,
        }
    }

    /// The Markdown marker, when there is one.
    fn marker(self) -> Option<&'static str> {
        match self {
            Flag::Bold => Some("**"),
            Flag::Italic => Some("*"),
            Flag::Strike => Some("~~"),
            Flag::Underline | Flag::Sup | Flag::Sub => None,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Flag::Bold => "strong",
            Flag::Italic => "em",
            Flag::Strike => "del",
            Flag::Underline => "u",
            Flag::Sup => "sup",
            Flag::Sub => "sub",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open(Flag, usize),
    Close(Flag, usize),
    Content(String),
}

/// Writes the pieces, opening and closing formatting so that spans nest: a span that outlasts
/// another is opened first.
fn emit(pieces: &[Piece]) -> String {
    let mut tokens: Vec<Token> = Vec::new();
    let mut stack: Vec<(Flag, usize)> = Vec::new();
    let mut spans = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let (content, fmt) = match piece {
            Piece::Text(t, f) | Piece::Break(t, f) | Piece::Note(t, f) => (t, *f),
            Piece::Barrier(t) => (t, Fmt::default()),
        };
        if let Some(pos) = stack.iter().position(|(flag, _)| !flag.on(fmt)) {
            while stack.len() > pos {
                let Some((flag, span)) = stack.pop() else { break };
                tokens.push(Token::Close(flag, span));
            }
        }
        let mut opening: Vec<Flag> =
            FLAGS.into_iter().filter(|f| f.on(fmt) && !stack.iter().any(|(g, _)| g == f)).collect();
        // Longer runs outside, so fewer spans are closed and opened again.
        opening.sort_by_key(|f| std::cmp::Reverse(pieces[i..].iter().take_while(|p| f.on(fmt_of(Some(p)))).count()));
        for flag in opening {
            spans += 1;
            stack.push((flag, spans));
            tokens.push(Token::Open(flag, spans));
        }
        tokens.push(Token::Content(content.clone()));
    }
    while let Some((flag, span)) = stack.pop() {
        tokens.push(Token::Close(flag, span));
    }
    let markdown = decide(&tokens, spans);
    let mut out = String::new();
    for token in &tokens {
        match token {
            Token::Content(text) => out.push_str(text),
            Token::Open(flag, span) | Token::Close(flag, span) => {
                let closing = matches!(token, Token::Close(..));
                match flag.marker() {
                    Some(marker) if markdown[*span] => out.push_str(marker),
                    _ => out.push_str(&format!("<{}{}>", if closing { "/" } else { "" }, flag.tag())),
                }
            }
        }
    }
    out
}

/// Which spans are written with Markdown markers (true) rather than tags. A span whose markers
/// CommonMark would not read falls back to tags, which can change what its neighbours' markers
/// touch, so this repeats until nothing changes (at most once per span).
fn decide(tokens: &[Token], spans: usize) -> Vec<bool> {
    let mut markdown: Vec<bool> = (0..=spans).map(|span| span > 0).collect();
    loop {
        let failing: Vec<usize> = (1..=spans).filter(|&s| markdown[s] && !markers_work(tokens, s, &markdown)).collect();
        if failing.is_empty() {
            return markdown;
        }
        for span in failing {
            markdown[span] = false;
        }
    }
}

/// The character a flag's Markdown marker is made of.
fn marker_char(flag: Flag) -> Option<char> {
    flag.marker().and_then(|m| m.chars().next())
}

/// Whether CommonMark reads the span's markers as emphasis: the opening delimiter run must be
/// left-flanking and the closing one right-flanking (spec 6.2), where a run takes in the
/// touching markers of the same character. A span opening right where another closes with the
/// same character (`**a***b*`) uses tags: such runs are read by the "multiple of 3" rule.
fn markers_work(tokens: &[Token], span: usize, markdown: &[bool]) -> bool {
    let open = tokens.iter().position(|t| matches!(t, Token::Open(_, s) if *s == span));
    let close = tokens.iter().position(|t| matches!(t, Token::Close(_, s) if *s == span));
    let (Some(open), Some(close), Some(flag)) = (open, close, open.and_then(|i| token_flag(&tokens[i]))) else {
        return false;
    };
    let Some(c) = marker_char(flag) else { return false };
    let same_run = |t: &Token| match t {
        Token::Open(f, s) | Token::Close(f, s) => markdown[*s] && marker_char(*f) == Some(c),
        Token::Content(_) => false,
    };
    if open > 0 && matches!(tokens[open - 1], Token::Close(..)) && same_run(&tokens[open - 1]) {
        return false;
    }
    let before = |i: usize| tokens[..i].iter().rev().find(|t| !same_run(t)).map(|t| edge_char(t, false));
    let after = |i: usize| tokens[i + 1..].iter().find(|t| !same_run(t)).map(|t| edge_char(t, true));
    let left_flanking = match after(open).flatten() {
        Some(next) if !next.is_whitespace() => {
            !is_punctuation(next) || before(open).flatten().is_none_or(is_space_or_punct)
        }
        _ => false,
    };
    let right_flanking = match before(close).flatten() {
        Some(prev) if !prev.is_whitespace() => {
            !is_punctuation(prev) || after(close).flatten().is_none_or(is_space_or_punct)
        }
        _ => false,
    };
    left_flanking && right_flanking
}

fn token_flag(token: &Token) -> Option<Flag> {
    match token {
        Token::Open(f, _) | Token::Close(f, _) => Some(*f),
        Token::Content(_) => None,
    }
}

/// The character of a token next to a delimiter run; a marker of another character or a tag
/// counts as punctuation.
fn edge_char(token: &Token, first: bool) -> Option<char> {
    match token {
        Token::Content(text) => {
            if first {
                text.chars().next()
            } else {
                text.chars().next_back()
            }
        }
        Token::Open(..) | Token::Close(..) => Some('*'),
    }
}

/// CommonMark's punctuation is Unicode's P and S classes; anything neither a letter, a digit nor
/// a space is taken as punctuation here. Erring that way only writes tags where markers would do.
fn is_punctuation(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

fn is_space_or_punct(c: char) -> bool {
    c.is_whitespace() || is_punctuation(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Fmt = Fmt { bold: true, italic: false, strike: false, underline: false, sup: false, sub: false };
    const I: Fmt = Fmt { bold: false, italic: true, ..B };
    const BI: Fmt = Fmt { italic: true, ..B };
    const U: Fmt = Fmt { bold: false, underline: true, ..B };

    fn plain() -> Fmt {
        Fmt::default()
    }

    fn md(inlines: &[Inline]) -> String {
        render(inlines, &Ctx { figures: &[], note_labels: &[] }, Mode::Block, "  ")
    }

    fn t(text: &str, fmt: Fmt) -> Inline {
        Inline::Text(text.into(), fmt)
    }

    #[test]
    fn runs_with_the_same_formatting_merge() {
        assert_eq!(md(&[t("连续", B), t("粗体", B), t("之后", plain())]), "**连续粗体**之后");
        assert_eq!(md(&[t("a", B), t("b", BI), t("c", B)]), "**a*b*c**");
        assert_eq!(md(&[t("a", BI), t("b", B)]), "***a*b**");
    }

    #[test]
    fn spaces_move_outside_markers() {
        assert_eq!(md(&[t("see ", plain()), t(" bold ", B), t("here", plain())]), "see  **bold** here");
        assert_eq!(md(&[t("a", plain()), t("  ", B), t("b", plain())]), "a  b");
    }

    #[test]
    fn markers_that_commonmark_would_not_read_become_tags() {
        // An opening marker after a letter and before punctuation does not open.
        assert_eq!(md(&[t("中", plain()), t("“引文”", B), t("中", plain())]), "中<strong>“引文”</strong>中");
        // …and a closing one after punctuation must be followed by a space or punctuation.
        assert_eq!(md(&[t("“引文”", B), t("后", plain())]), "<strong>“引文”</strong>后");
        assert_eq!(md(&[t("“引文”", B), t("。", plain())]), "**“引文”**。");
        assert_eq!(md(&[t("a", B), t("b", I)]), "**a**<em>b</em>");
        // Touching markers of one character are one delimiter run, judged as a whole.
        assert_eq!(md(&[t("、", plain()), t("粗斜体", BI), t("和", plain())]), "、***粗斜体***和");
        assert_eq!(md(&[t("下划线", U)]), "<u>下划线</u>");
        let sup = Fmt { sup: true, ..plain() };
        assert_eq!(md(&[t("m", plain()), t("2", sup)]), "m<sup>2</sup>");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            md(&[t("和 *星号* 与 [方括号] a_b <b> | ~ # `c` \\", plain())]),
            "和 \\*星号\\* 与 \\[方括号\\] a\\_b \\<b> \\| \\~ \\# \\`c\\` \\\\"
        );
        assert_eq!(md(&[t("1. 不是列表", plain())]), "1\\. 不是列表");
        assert_eq!(md(&[t("- 不是列表", plain())]), "\\- 不是列表");
        assert_eq!(md(&[t("> 不是引用", plain())]), "\\> 不是引用");
        assert_eq!(md(&[t("a - b > c 1. d", plain())]), "a - b > c 1. d");
        for as_is in ["-5℃", "58.3 cm", "+86", "2026年"] {
            assert_eq!(md(&[t(as_is, plain())]), as_is);
        }
        assert_eq!(md(&[t("---", plain())]), "\\---");
        assert_eq!(md(&[t("===", plain())]), "\\===");
        assert_eq!(md(&[t("+ 加号", plain())]), "\\+ 加号");
        assert_eq!(md(&[t("&copy; & &#169;", plain())]), "\\&copy; & \\&\\#169;");
        assert_eq!(md(&[t("x", plain()), Inline::Break, t("2) y", plain())]), "x\\\n  2\\) y");
    }

    #[test]
    fn breaks_are_hard_and_lines_trimmed() {
        assert_eq!(
            md(&[Inline::Break, t("  第一行 ", plain()), Inline::Break, t("  第二行", plain()), Inline::Break]),
            "第一行\\\n  第二行"
        );
        let cell =
            render(&[t("a", B), Inline::Break, t("b", B)], &Ctx { figures: &[], note_labels: &[] }, Mode::Cell, "");
        assert_eq!(cell, "**a<br>b**");
        let heading = render(
            &[t("a", plain()), Inline::Break, t("b", plain())],
            &Ctx { figures: &[], note_labels: &[] },
            Mode::Heading,
            "",
        );
        assert_eq!(heading, "a b");
    }

    #[test]
    fn links_and_notes() {
        let inlines = [
            t("详见", plain()),
            Inline::LinkStart("https://example.org/a b(1)".into()),
            t("网站", B),
            Inline::LinkEnd,
            Inline::Note(0),
            Inline::LinkStart("https://example.org".into()),
            Inline::LinkEnd,
        ];
        let out = render(&inlines, &Ctx { figures: &[], note_labels: &[3] }, Mode::Block, "");
        assert_eq!(out, "详见[**网站**](https://example.org/a%20b%281%29)[^3]");
    }
}
