//! HTML text helpers shared by every stage that writes or reads HTML (render, check, preview,
//! reports, the archive): escaping, entity decoding, and the small tokenizer pieces the
//! sanitizer, the dark-mode converter and the content-length count all walk HTML with.
use std::borrow::Cow;

/// Appends `text` with `& < > "` escaped, copying the runs between them in one go.
pub fn push_escaped(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// `text` with `& < > "` escaped: safe in element text and in double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Decodes the entities our renderer and typical hand-written HTML put in attribute values.
pub fn decode_entities(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = raw.to_string();
    for (entity, ch) in [
        ("&quot;", "\""),
        ("&#34;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ] {
        out = out.replace(entity, ch);
    }
    Cow::Owned(out)
}

/// The length of the tag name at the start of `text` (0 when it does not start with one).
pub fn tag_name_len(text: &str) -> usize {
    if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return 0;
    }
    text.bytes().position(|b| !(b.is_ascii_alphanumeric() || b == b'-')).unwrap_or(text.len())
}

/// Reads attributes up to the end of a start tag into `attributes` as (name, raw value) pairs
/// (replacing what it held). Returns the text after the tag's `>`.
pub fn parse_attributes<'t>(mut text: &'t str, attributes: &mut Vec<(&'t str, &'t str)>) -> &'t str {
    attributes.clear();
    loop {
        text = text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if text.is_empty() {
            return "";
        }
        if let Some(after) = text.strip_prefix('>') {
            return after;
        }
        let name_end =
            text.find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/').unwrap_or(text.len());
        let name = &text[..name_end.max(1).min(text.len())];
        text = text[name.len()..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let Some(after_eq) = text.strip_prefix('=') else {
            attributes.push((name, ""));
            continue;
        };
        let after_eq = after_eq.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let (value, remainder) = match after_eq.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = &after_eq[1..];
                match memchr::memchr(quote as u8, body.as_bytes()) {
                    Some(end) => (&body[..end], &body[end + 1..]),
                    None => (body, ""),
                }
            }
            _ => {
                let end = after_eq.find(|c: char| c.is_ascii_whitespace() || c == '>').unwrap_or(after_eq.len());
                (&after_eq[..end], &after_eq[end..])
            }
        };
        attributes.push((name, value));
        text = remainder;
    }
}

/// Characters a reader sees: everything outside tags and comments, an entity (`&nbsp;`,
/// `&#20013;`) counting as one.
/// Whether text holds what an HTML reader takes for markup (`<p`, `</`, `<!`): WeChat refuses
/// it where it wants plain text (an image post's text). `a < b` is text.
pub fn has_markup(text: &str) -> bool {
    text.match_indices('<')
        .any(|(at, _)| text[at + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!'))
}

/// The width of an HTML fragment's text in columns: a Chinese character (or full-width sign)
/// counts two, anything else one; tags count nothing, an entity one.
pub fn display_columns(html: &str) -> usize {
    let mut columns = 0;
    let mut in_tag = false;
    let mut in_entity = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '&' => {
                in_entity = true;
                columns += 1;
            }
            ';' if in_entity => in_entity = false,
            _ if in_entity => {}
            _ => columns += if is_cjk(c) { 2 } else { 1 },
        }
    }
    columns
}

pub fn visible_chars(html: &str) -> usize {
    let mut count = 0;
    let mut rest = html;
    loop {
        let Some(at) = rest.find(['<', '&']) else {
            return count + rest.chars().count();
        };
        count += rest[..at].chars().count();
        rest = &rest[at..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
        } else if rest.starts_with('<')
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
        {
            rest = skip_tag(rest);
        } else if rest.starts_with('&')
            && let Some(end) = rest[1..].find(';').filter(|&end| {
                end > 0 && end <= 32 && rest[1..1 + end].chars().all(|c| c.is_ascii_alphanumeric() || c == '#')
            })
        {
            count += 1;
            rest = &rest[end + 2..];
        } else {
            count += 1;
            rest = &rest[1..];
        }
    }
}

/// The visible text of each block of an HTML fragment (paragraphs, headings, list items,
/// captions, table cells…), entities decoded, whitespace collapsed, empty blocks left out: what
/// a reader sees paragraph by paragraph, for telling two versions of an article apart.
pub fn text_blocks(html: &str) -> Vec<String> {
    const BLOCKS: &[&str] = &[
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "figcaption",
        "blockquote",
        "section",
        "td",
        "th",
        "pre",
        "br",
        "div",
        "tr",
        "hr",
    ];
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let text = decode_entities(current).split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            blocks.push(text);
        }
        current.clear();
    };
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        current.push_str(&rest[..at]);
        let tag = &rest[at + 1..];
        if let Some(comment) = tag.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let name = tag.trim_start_matches('/');
        let name = &name[..tag_name_len(name)];
        if name.is_empty() {
            current.push('<');
            rest = tag;
            continue;
        }
        if BLOCKS.iter().any(|b| name.eq_ignore_ascii_case(b)) {
            flush(&mut current);
        }
        rest = skip_tag(&rest[at..]);
    }
    current.push_str(rest);
    flush(&mut current);
    blocks
}

/// The text after a tag that starts `text`, reading quoted attribute values whole.
pub fn skip_tag(text: &str) -> &str {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return &text[i + 1..],
            _ => {}
        }
    }
    ""
}

/// The addresses of the images an article shows: each `<img>`'s `data-src` (where WeChat's own
/// pages keep it) or else `src`, entities decoded, http(s) only, each once, in order.
pub fn image_sources(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut attributes = Vec::new();
    let mut rest = html;
    while let Some(at) = memchr::memchr(b'<', rest.as_bytes()) {
        let tag = &rest[at + 1..];
        let name_len = tag_name_len(tag);
        if !tag[..name_len].eq_ignore_ascii_case("img") {
            rest = if name_len == 0 { tag } else { skip_tag(&rest[at..]) };
            continue;
        }
        rest = parse_attributes(&tag[name_len..], &mut attributes);
        let source = attributes
            .iter()
            .find(|(name, value)| name.eq_ignore_ascii_case("data-src") && !value.is_empty())
            .or_else(|| attributes.iter().find(|(name, _)| name.eq_ignore_ascii_case("src")))
            .map(|(_, value)| decode_entities(value.trim()).into_owned());
        if let Some(url) = source.filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            && !found.contains(&url)
        {
            found.push(url);
        }
    }
    found
}

/// Whether `c` is a Chinese (CJK) character or punctuation mark, full-width forms included:
/// such text is set two columns wide and joins across line breaks without a space.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

#[cfg(test)]
mod image_source_tests {
    #[test]
    fn images_are_found_by_data_src_then_src_once_each() {
        let html = r#"<p>a<img src="https://x/1.jpg" alt="">b<IMG data-src="https://x/2.png?a=1&amp;b=2" src="data:,">
            <img src='https://x/1.jpg'><img src="/relative.jpg"><section><img></section></p>"#;
        assert_eq!(super::image_sources(html), ["https://x/1.jpg", "https://x/2.png?a=1&b=2"]);
    }
}
