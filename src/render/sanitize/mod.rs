//! The final pass over every rendered fragment: an allow-list of what the WeChat editor keeps.
//!
//! Why an allow-list (and why these entries): the draft API stores our HTML, then WeChat's editor
//! rewrites it (see docs/wechat-editor-rules.md). What it does not keep, we remove here so that the
//! local preview looks like the published article:
//! - no `<style>`, `<link>`, `<script>`, `<iframe>`, forms or event handlers: stripped by WeChat
//!   (and scripts would be a hazard in our own preview);
//! - no `class` or `id`: WeChat removes them, and anything referring to an id renders blank;
//! - `<section>` rather than `<div>` for blocks: styles on `div` have been seen to break;
//! - links only to `mp.weixin.qq.com`; images only from our processed files or WeChat's CDN;
//! - in `style`, only the [`ALLOWED_CSS_PROPERTIES`], filtered one by one, because one unknown
//!   declaration can make the editor drop the whole attribute. No `position` (dropped), no
//!   `url(…)` (outside resources are refused), no `!important` (defeats dark mode).
use crate::util::html::{decode_entities, parse_attributes, tag_name_len};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

mod policy;

use policy::{ALLOWED_CSS_FUNCTIONS, RAW_TEXT_TAGS, VOID_TAGS};
pub use policy::{
    ALLOWED_CSS_PROPERTIES, ALLOWED_TAGS, HTML_ELEMENTS, REMOVED_WITH_CONTENT, SVG_ANIMATED_ATTRIBUTES,
    SVG_BEGIN_VALUES, SVG_ELEMENTS, TAG_ATTRIBUTES,
};

/// Why an SVG element or attribute was removed, for the warning; None when it is kept.
fn svg_attribute_problem(tag: &str, attribute: &str, value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    let id_reference = attribute.ends_with("href") && lower.trim_start().starts_with('#');
    // SVG presentation attributes are read as CSS: an escape could spell `url(`.
    if lower.contains("url(") || id_reference || lower.contains("javascript:") || value.contains('\\') {
        return Some("refers to an id or an outside resource");
    }
    match (tag, attribute) {
        ("image", "href" | "xlink:href") if !is_allowed_image_src(value) => Some("image not uploaded through WeChat"),
        ("animate", "attributeName") if !SVG_ANIMATED_ATTRIBUTES.contains(&value) => {
            Some("animates an attribute WeChat drops")
        }
        ("set", "attributeName") if value != "visibility" => Some("`set` may only change visibility"),
        ("animateTransform", "attributeName") if value != "transform" => Some("animateTransform changes `transform`"),
        ("animateTransform", "type") if !["translate", "scale", "rotate", "skewX", "skewY"].contains(&value) => {
            Some("unknown transform type")
        }
        (_, "begin") if !SVG_BEGIN_VALUES.contains(&value) => Some("begins on something other than a tap"),
        _ => None,
    }
}

pub(crate) fn svg_element(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    SVG_ELEMENTS.iter().find(|(t, _)| t.eq_ignore_ascii_case(name)).copied()
}

/// What the sanitizer took out of a fragment, so that an editor hears of it at the source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// The element and everything inside it (`<script>`, `<iframe>`, `<embed>`, SVG `<use>`…).
    Element(String),
    /// The tag only: its text stays, its formatting goes (`<ins>`, `<font>`, `<center>`…).
    Unwrapped(String),
    /// An image whose source is neither a file of the item nor WeChat's CDN.
    Image(String),
    /// An event handler attribute (`onclick=`…).
    Handler(String),
    /// An SVG element or animation WeChat does not keep (why).
    Svg(String, &'static str),
    /// `<!--` that is never closed (shown as text, not allowed to hide the rest).
    OpenComment,
}

impl Removal {
    /// What the editor can do instead.
    pub fn hint(&self) -> &'static str {
        match self {
            Removal::Element(_) => "remove it from the Markdown; use an image or a component instead",
            Removal::Unwrapped(_) => {
                "use Markdown (**bold**, *italic*, ~~struck~~) or an allowed tag, or remove the tag"
            }
            Removal::Image(_) => "put the image beside index.md and write ![alt](file.jpg)",
            Removal::Handler(_) => "remove the on… attribute; articles cannot run scripts",
            Removal::Svg(..) => "use the reveal or compare component, or only what docs/editors-guide.md lists for SVG",
            Removal::OpenComment => "close the comment with --> (or delete it)",
        }
    }
}

/// Whether `name` (any case) is an HTML or SVG element name.
pub fn is_element_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    HTML_ELEMENTS.contains(&lower.as_str())
        || svg_element(name).is_some()
        || REMOVED_WITH_CONTENT.iter().any(|t| t.eq_ignore_ascii_case(name))
        || ["path", "circle", "ellipse", "line", "polyline", "polygon", "defs", "lineargradient", "clippath", "mask"]
            .contains(&lower.as_str())
}

impl std::fmt::Display for Removal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Removal::Element(tag) => write!(f, "raw <{tag}> removed with its content: WeChat does not allow it"),
            Removal::Unwrapped(tag) => write!(f, "raw <{tag}> unwrapped: WeChat drops the tag, its text stays"),
            Removal::Image(src) => {
                write!(f, "raw <img src=\"{src}\"> removed: not a file of this item nor WeChat's CDN")
            }
            Removal::Handler(name) => write!(f, "event handler attribute `{name}` removed: WeChat strips scripts"),
            Removal::Svg(tag, why) => write!(f, "raw SVG <{tag}> removed: {why}"),
            Removal::OpenComment => write!(f, "an HTML comment is never closed: it is shown as text"),
        }
    }
}

/// Cleans a fragment against the allow-lists (`policy.rs`).
///
/// A single forward scan over the text, not a DOM: it runs over every rendered item on every
/// build and preview reload, and measured here (`cargo bench --bench render`) a DOM round trip
/// or a general streaming rewriter cost more than rendering the Markdown itself. The input is
/// our own renderer's output plus whatever raw HTML an editor wrote, so the scanner is strict
/// about what it *emits*: only allowed tags and attributes, always quoted, and well formed —
/// a stray end tag is dropped and every element left open is closed at the end. A removed
/// element written void or self-closing (`<embed …>`, `<iframe …/>`), or one whose end tag never
/// comes, removes only its own tag: what follows it is never lost.
pub fn sanitize(html: &str) -> String {
    scan(html, &mut |_, _| {})
}

/// What [`sanitize`] would remove from `html`, in order, each with the byte offset of its tag
/// in `html`. `render` calls it on each raw-HTML fragment of the Markdown, so that `build` and
/// `check` report the same removals at the same source lines.
pub fn audit(html: &str) -> Vec<(usize, Removal)> {
    let mut removals = Vec::new();
    scan(html, &mut |offset, removal| removals.push((offset, removal)));
    removals
}

// Long on purpose: the scanner's state machine, one branch per kind of tag; splitting it would scatter shared state.
fn scan(html: &str, report: &mut dyn FnMut(usize, Removal)) -> String {
    let mut out = String::with_capacity(html.len());
    let mut styles = STYLE_MEMO.take();
    if styles.len() >= STYLE_MEMO_LIMIT {
        styles.clear();
    }
    // One buffer for every tag's attributes.
    let mut attributes: Vec<(&str, &str)> = Vec::new();
    // Elements written and not closed yet, innermost last.
    let mut open: Vec<&'static str> = Vec::new();
    let mut rest = html;
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            match after.find("-->") {
                Some(end) => rest = &after[end + 3..],
                // Never closed: shown as text rather than swallowing the rest of the article.
                None => {
                    report(html.len() - rest.len(), Removal::OpenComment);
                    out.push_str("&lt;!--");
                    rest = after;
                }
            }
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => {
                    out.push_str("&lt;");
                    rest = &rest[1..];
                }
            }
        } else if let Some(after) = rest.strip_prefix("</") {
            let name_len = tag_name_len(after);
            if name_len == 0 {
                out.push_str("&lt;/");
                rest = after;
                continue;
            }
            let name = &after[..name_len];
            rest = memchr::memchr(b'>', after.as_bytes()).map_or("", |end| &after[end + 1..]);
            if let Some(tag) = output_tag(name).or_else(|| svg_element(name).map(|(t, _)| t)) {
                // Close up to the matching open element; an end tag nothing opened is dropped.
                if let Some(depth) = open.iter().rposition(|t| *t == tag) {
                    for inner in open.drain(depth..).rev() {
                        push_end_tag(&mut out, inner);
                    }
                }
            }
        } else {
            let after = &rest[1..];
            let name_len = tag_name_len(after);
            if name_len == 0 {
                out.push_str("&lt;");
                rest = after;
                continue;
            }
            let at = html.len() - rest.len();
            let mut report = |removal| report(at, removal);
            let name = &after[..name_len];
            let remainder = parse_attributes(&after[name_len..], &mut attributes);
            rest = remainder;
            let self_closing = after[name_len..after.len() - remainder.len()].trim_end().ends_with("/>");
            for &(attr, _) in &attributes {
                if is_event_handler(attr) {
                    report(Removal::Handler(attr.to_ascii_lowercase()));
                }
            }
            if let Some(removed) = REMOVED_WITH_CONTENT.iter().find(|t| t.eq_ignore_ascii_case(name)) {
                report(Removal::Element((*removed).to_string()));
                if !self_closing && *removed != "embed" {
                    rest = skip_past_end_tag(rest, removed).unwrap_or(rest);
                }
            } else if let Some((tag, allowed)) = svg_element(name) {
                let mut kept = String::new();
                let mut broken = None;
                for &(attr, raw) in &attributes {
                    if attr.eq_ignore_ascii_case("style") {
                        push_style_attribute(&mut kept, &mut styles, raw);
                    } else if let Some(attr) = allowed.iter().find(|a| a.eq_ignore_ascii_case(attr)) {
                        let value = decode_entities(raw);
                        if let Some(why) = svg_attribute_problem(tag, attr, &value) {
                            // An animation that cannot run as written is dropped whole.
                            if matches!(tag, "animate" | "set" | "animateTransform" | "image") {
                                broken = Some(why);
                            }
                            continue;
                        }
                        push_attribute(&mut kept, attr, &value);
                    }
                }
                if let Some(why) = broken {
                    report(Removal::Svg(tag.to_string(), why));
                    if !self_closing {
                        rest = skip_past_end_tag(rest, tag).unwrap_or(rest);
                    }
                } else {
                    out.push('<');
                    out.push_str(tag);
                    out.push_str(&kept);
                    out.push('>');
                    if self_closing {
                        // WeChat keeps SVG only with explicit closing tags.
                        push_end_tag(&mut out, tag);
                    } else {
                        open.push(tag);
                    }
                }
            } else if let Some(tag) = output_tag(name) {
                let allowed = TAG_ATTRIBUTES.iter().find(|(t, _)| *t == tag).map_or(&[][..], |(_, attrs)| *attrs);
                if tag == "img" {
                    let src =
                        attributes.iter().find(|(a, _)| a.eq_ignore_ascii_case("src")).map(|(_, v)| decode_entities(v));
                    if !src.as_deref().is_some_and(is_allowed_image_src) {
                        // An <img> without a usable source is a broken image on the phone.
                        report(Removal::Image(src.unwrap_or_default().into_owned()));
                        continue;
                    }
                }
                // `href=""` only on a mini-program text link; anywhere else it is an empty link.
                let miniprogram_link = tag == "a"
                    && attributes.iter().any(|(a, v)| {
                        a.eq_ignore_ascii_case("data-miniprogram-appid")
                            && crate::config::is_miniprogram_appid(&decode_entities(v))
                    });
                out.push('<');
                out.push_str(tag);
                for &(attr, raw) in &attributes {
                    if attr.eq_ignore_ascii_case("style") {
                        push_style_attribute(&mut out, &mut styles, raw);
                    } else if let Some(attr) = allowed.iter().find(|a| a.eq_ignore_ascii_case(attr)) {
                        let value = decode_entities(raw);
                        if *attr == "href" && value.is_empty() && !miniprogram_link {
                            continue;
                        }
                        if let Some(kept) = filter_attribute(tag, attr, &value) {
                            push_attribute(&mut out, attr, &kept);
                        }
                    }
                }
                out.push('>');
                if !VOID_TAGS.contains(&tag) {
                    if self_closing {
                        push_end_tag(&mut out, tag);
                    } else {
                        open.push(tag);
                    }
                }
            } else {
                report(Removal::Unwrapped(name.to_ascii_lowercase()));
            }
        }
    }
    out.push_str(rest);
    for tag in open.into_iter().rev() {
        push_end_tag(&mut out, tag);
    }
    STYLE_MEMO.set(styles);
    out
}

fn push_end_tag(out: &mut String, tag: &str) {
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// `onclick`, `onerror`, `onload`…: an attribute that runs script.
fn is_event_handler(attribute: &str) -> bool {
    let bytes = attribute.as_bytes();
    bytes.len() > 2 && bytes[..2].eq_ignore_ascii_case(b"on") && bytes[2..].iter().all(u8::is_ascii_alphabetic)
}

/// Raw `style` value → the ` style="…"` attribute written for it. Kept per thread across calls:
/// every item of a build uses the same theme, so the same few dozen styles recur thousands of
/// times in an item and again in the next one.
type StyleMemo = HashMap<String, String, foldhash::fast::RandomState>;

/// Beyond this many remembered styles the memo starts over (raw HTML in many items could
/// otherwise grow it without end).
const STYLE_MEMO_LIMIT: usize = 20_000;

thread_local! {
    static STYLE_MEMO: std::cell::RefCell<StyleMemo> = std::cell::RefCell::default();
}

/// Writes the ` style="…"` attribute for a raw `style` value (nothing if no declaration is
/// kept), filtered once and then taken from the memo.
fn push_style_attribute(out: &mut String, styles: &mut StyleMemo, raw: &str) {
    if let Some(attribute) = styles.get(raw) {
        out.push_str(attribute);
        return;
    }
    let kept = filter_style(&decode_entities(raw));
    let mut attribute = String::new();
    if !kept.is_empty() {
        push_attribute(&mut attribute, "style", &kept);
    }
    out.push_str(&attribute);
    styles.insert(raw.to_string(), attribute);
}

/// Writes ` name="value"`, the value escaped for a double-quoted attribute.
fn push_attribute(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    push_attr_value(out, value);
    out.push('"');
}

/// The tag written for an allowed input tag: `div` becomes `section` (styles on `div` have been
/// seen to break in WeChat's editor); unknown tags are dropped and their content kept.
fn output_tag(name: &str) -> Option<&'static str> {
    // What our renderer writes most, matched before any hashing (callgrind: without this match
    // the sanitizer runs 7 % more instructions).
    let common = match name {
        "p" => Some("p"),
        "span" => Some("span"),
        "section" => Some("section"),
        "strong" => Some("strong"),
        "td" => Some("td"),
        "tr" => Some("tr"),
        "br" => Some("br"),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    // The rest of the list by hash (this runs for every tag); upper case only in raw HTML.
    static BY_NAME: OnceLock<HashMap<&'static str, &'static str, foldhash::fast::RandomState>> = OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| ALLOWED_TAGS.iter().map(|t| (*t, *t)).chain([("div", "section")]).collect());
    match by_name.get(name) {
        Some(tag) => Some(tag),
        None if name.bytes().any(|b| b.is_ascii_uppercase()) => {
            by_name.get(name.to_ascii_lowercase().as_str()).copied()
        }
        None => None,
    }
}

/// The text after the end tag of a removed element whose start tag has just been read
/// (case-insensitive; nested elements of the same name are counted, except in raw-text
/// elements), or None when it has no end tag — then only the start tag is removed.
fn skip_past_end_tag<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let bytes = text.as_bytes();
    let name = name.as_bytes();
    let raw_text = RAW_TEXT_TAGS.iter().any(|t| t.as_bytes().eq_ignore_ascii_case(name));
    let mut depth = 1usize;
    for at in memchr::memchr_iter(b'<', bytes) {
        let closing = bytes.get(at + 1) == Some(&b'/');
        let start = at + 1 + usize::from(closing);
        let named = bytes.get(start..start + name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name))
            && bytes.get(start + name.len()).is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'-'));
        if !named {
            continue;
        }
        let end = memchr::memchr(b'>', &bytes[start..]).map(|e| start + e);
        if closing {
            depth -= 1;
            if depth == 0 || raw_text {
                return Some(end.map_or("", |e| &text[e + 1..]));
            }
        } else if !raw_text && !end.is_some_and(|e| bytes[..e].ends_with(b"/")) {
            depth += 1;
        }
    }
    None
}

fn push_attr_value(out: &mut String, value: &str) {
    crate::util::html::push_escaped(out, value);
}

fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        (_, "style") => {
            let kept = filter_style(value);
            (!kept.is_empty()).then_some(Cow::Owned(kept))
        }
        // `href=""` is how a mini-program text link is written.
        ("a", "href") => (value.is_empty() || is_wechat_article_url(value)).then_some(Cow::Borrowed(value)),
        (_, "data-miniprogram-appid") => crate::config::is_miniprogram_appid(value).then_some(Cow::Borrowed(value)),
        ("mp-miniprogram", "data-miniprogram-imageurl") => is_allowed_image_src(value).then_some(Cow::Borrowed(value)),
        ("img", "src") => is_allowed_image_src(value).then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// Whether a declaration's value is safe to keep: no CSS escape (`u\72l(` is `url(`), no
/// comment (`u/**/rl(`), no `!important` (defeats dark mode), and only allowed functions.
fn is_safe_css_value(value: &str) -> bool {
    if value.is_empty() || value.contains('\\') || value.contains("/*") {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if lower.contains("!important") || lower.contains("javascript:") {
        return false;
    }
    let bytes = lower.as_bytes();
    memchr::memchr_iter(b'(', bytes).all(|open| {
        let name_start = bytes[..open]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
            .map_or(0, |i| i + 1);
        ALLOWED_CSS_FUNCTIONS.contains(&&lower[name_start..open])
    })
}

/// Keeps the allowed declarations of a `style` value, in order, dropping the others one by one.
pub fn filter_style(style: &str) -> String {
    let mut kept = Vec::new();
    for declaration in style.split(';') {
        let Some((property, value)) = declaration.split_once(':') else { continue };
        let property = property.trim().to_ascii_lowercase();
        let value = value.trim();
        if is_safe_css_value(value) && ALLOWED_CSS_PROPERTIES.contains(&property.as_str()) {
            kept.push(format!("{property}:{value}"));
        }
    }
    // Compact form: the HTML as sent must stay under 1 MB (docs/wechat-contract.md, "Drafts").
    kept.join(";")
}

/// Links WeChat keeps in article bodies: other Official Account articles.
pub fn is_wechat_article_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        r == "mp.weixin.qq.com" || r.starts_with("mp.weixin.qq.com/") || r.starts_with("mp.weixin.qq.com?")
    })
}

/// Image sources that survive: our processed files (relative, inside the item, or the build's
/// placeholder for one not processed yet) or WeChat's CDN.
///
/// A URL is parsed, never matched as text: `https://evil?.qpic.cn/`, `https://evil#.qpic.cn` and
/// `https://evil\@mmbiz.qpic.cn/` all name the host `evil`. Loopback hosts are the sandbox's
/// stand-in for the CDN (a phone cannot load them, so nothing leaks through them).
pub fn is_allowed_image_src(src: &str) -> bool {
    // Browsers strip leading whitespace and control characters: " //evil.com/a.png" is an
    // outside URL. No image source we keep has any.
    if src.bytes().any(|b| b <= b' ') {
        return false;
    }
    if let Some(key) = src.strip_prefix(crate::images::PLACEHOLDER) {
        return key.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if src.contains(':') {
        let Ok(url) = url::Url::parse(src) else { return false };
        if !matches!(url.scheme(), "https" | "http") || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        return match url.host() {
            Some(url::Host::Domain(host)) => {
                let host = host.to_ascii_lowercase();
                host == "qpic.cn" || host.ends_with(".qpic.cn") || host.ends_with(".qlogo.cn") || host == "localhost"
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
    }
    !src.starts_with('/') && !src.contains('\\') && !src.split('/').any(|part| part == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_keeps_tap_animations_and_drops_ids_foreign_objects_and_outside_images() {
        let svg = concat!(
            r##"<svg viewBox="0 0 100 50" id="x"><g opacity="1"><rect x="0" y="0" width="100" height="50" fill="#ffffff"/>"##,
            r#"<animate attributeName="opacity" from="1" to="0" begin="click" dur="0.5s" fill="freeze"/></g>"#,
            r#"<animate attributeName="opacity" begin="other.click" to="0"></animate>"#,
            r#"<set attributeName="onclick" to="x" begin="click"/>"#,
            r##"<use href="#x"></use><foreignObject><p>html</p></foreignObject>"##,
            r#"<image href="https://evil.example/a.png" width="10"/><image href="images/a.jpg" width="10"/>"#,
            r##"<rect fill="url(#grad)" width="1"></rect><script>alert(1)</script></svg>"##
        );
        assert_eq!(
            sanitize(svg),
            concat!(
                r##"<svg viewBox="0 0 100 50"><g opacity="1"><rect x="0" y="0" width="100" height="50" fill="#ffffff"></rect>"##,
                r#"<animate attributeName="opacity" from="1" to="0" begin="click" dur="0.5s" fill="freeze"></animate></g>"#,
                r#"<image href="images/a.jpg" width="10"></image><rect width="1"></rect></svg>"#
            )
        );
    }

    #[test]
    fn strips_scripts_styles_iframes_handlers_class_and_id() {
        let dirty = r#"<p class="x" id="y" onclick="steal()">hi<script>alert(1)</script></p><style>p{}</style><iframe src="https://e.com"></iframe>"#;
        assert_eq!(sanitize(dirty), "<p>hi</p>");
    }

    #[test]
    fn filters_css_declaration_by_declaration() {
        let html = r#"<section style="color: red; position: absolute; background: url(http://x/y.png); font-size: 15px !important; margin: 0 auto">x</section>"#;
        assert_eq!(sanitize(html), r#"<section style="color:red;margin:0 auto">x</section>"#);
    }

    #[test]
    fn div_becomes_section_and_comments_and_unknown_tags_go() {
        let html =
            "<div style=\"color: red\"><!-- note --><font>text</font> 1 < 2</div><SCRIPT type=x>bad()</ScRiPt>ok";
        assert_eq!(sanitize(html), "<section style=\"color:red\">text 1 &lt; 2</section>ok");
    }

    #[test]
    fn upper_case_tags_come_out_lower_case_and_a_remembered_style_is_filtered_the_same() {
        let html = r#"<DIV STYLE="color: red; position: fixed"><Em>x</Em><TD COLSPAN=2 ID=x>y</TD></DIV>"#;
        let clean = r#"<section style="color:red"><em>x</em><td colspan="2">y</td></section>"#;
        // The second call takes the style from the memo the first one filled.
        assert_eq!(sanitize(html), clean);
        assert_eq!(sanitize(html), clean);
        assert_eq!(sanitize(r#"<p style="color: red; position: fixed">z</p>"#), r#"<p style="color:red">z</p>"#);
    }

    #[test]
    fn attribute_forms_are_read_and_rewritten_quoted() {
        let html = "<img src=images/a.jpg alt='say \"hi\"' onerror=x data-x=1><td colspan=2 class=x>";
        assert_eq!(sanitize(html), "<img src=\"images/a.jpg\" alt=\"say &quot;hi&quot;\"><td colspan=\"2\"></td>");
    }

    #[test]
    fn quoted_font_names_survive() {
        let html = r#"<p style="font-family: &quot;Noto Serif SC&quot;, serif; position: fixed">x</p>"#;
        assert_eq!(sanitize(html), r#"<p style="font-family:&quot;Noto Serif SC&quot;, serif">x</p>"#);
    }

    #[test]
    fn keeps_only_wechat_links_and_local_or_cdn_images() {
        let html = r#"<a href="https://example.com">a</a><a href="https://mp.weixin.qq.com/s/abc">b</a><img src="https://evil.com/x.png"><img src="images/ab.jpg"><img src="../../etc/passwd">"#;
        let clean = sanitize(html);
        assert!(clean.contains(r#"<a>a</a>"#), "{clean}");
        assert!(clean.contains(r#"href="https://mp.weixin.qq.com/s/abc""#));
        assert!(!clean.contains("evil.com") && !clean.contains("passwd"));
        assert!(clean.contains(r#"src="images/ab.jpg""#));
    }

    #[test]
    fn a_void_or_self_closing_removed_element_takes_nothing_after_it() {
        assert_eq!(sanitize("<p>a</p><embed src=\"intro.mp4\"><p>b</p>"), "<p>a</p><p>b</p>");
        assert_eq!(sanitize("<p>a</p><iframe src=\"x\"/><p>b</p>"), "<p>a</p><p>b</p>");
        assert_eq!(sanitize("<p>a<style/>b</p>"), "<p>ab</p>");
        assert_eq!(sanitize("<svg><use href=\"#x\"/><foreignObject/><rect></rect></svg>"), "<svg><rect></rect></svg>");
        // No end tag at all: only the start tag goes.
        assert_eq!(sanitize("<p>a<iframe src=x>b</p>"), "<p>ab</p>");
        // Nested elements of the same name are counted; raw text ends at the first end tag.
        assert_eq!(sanitize("<object><object></object>x</object>y"), "y");
        assert_eq!(sanitize("<script>a<script>b</script>c"), "c");
    }

    #[test]
    fn output_is_well_formed_whatever_the_input() {
        assert_eq!(sanitize("<section><p>a</section>b</p></em>"), "<section><p>a</p></section>b");
        assert_eq!(sanitize("<ul><li>a<li>b"), "<ul><li>a<li>b</li></li></ul>");
        assert_eq!(sanitize("<p/>x<br/>"), "<p></p>x<br>");
    }

    #[test]
    fn removals_are_reported_with_their_offsets() {
        let found = audit("<p onclick=x>a</p><ins>b</ins><embed src=y><img src=\"https://evil.example/a.png\">");
        assert_eq!(
            found,
            vec![
                (0, Removal::Handler("onclick".into())),
                (18, Removal::Unwrapped("ins".into())),
                (30, Removal::Element("embed".into())),
                (43, Removal::Image("https://evil.example/a.png".into())),
            ]
        );
        assert_eq!(audit("<p style=\"color:red\">ok</p>"), vec![]);
    }

    #[test]
    fn image_hosts_are_parsed_not_matched_as_text() {
        for bad in [
            "https://evil?.qpic.cn/a.png",
            "https://evil#.qpic.cn/a.png",
            "https://evil\\@mmbiz.qpic.cn/a.png",
            "https://user@mmbiz.qpic.cn/a.png",
            "https://mmbiz.qpic.cn.evil.com/a.png",
            "javascript://mmbiz.qpic.cn/%0aalert(1)",
            "data:image/png;base64,AAAA",
            "//mmbiz.qpic.cn/a.png",
            "images\\..\\..\\x.png",
        ] {
            assert!(!is_allowed_image_src(bad), "{bad}");
        }
        for good in [
            "https://mmbiz.qpic.cn/mmbiz_jpg/abc/0?wx_fmt=jpeg",
            "http://mmbiz.qpic.cn/a",
            "https://wx.qlogo.cn/x",
            "images/a.jpg",
            "http://127.0.0.1:8964/media/a.jpg",
        ] {
            assert!(is_allowed_image_src(good), "{good}");
        }
    }

    #[test]
    fn no_url_bearing_css_survives_however_it_is_written() {
        for bad in [
            "background: url(http://e/x.png)",
            "background: URL( 'http://e/x.png' )",
            "background-image: u\\72l(http://e/x.png)",
            "background-image: \\75rl(x)",
            "background: image-set('x.png' 1x)",
            "background: -webkit-image-set(url(x.png) 1x)",
            "background: u/**/rl(x)",
            "width: expression(alert(1))",
            "background: element(#x)",
        ] {
            assert_eq!(filter_style(bad), "", "{bad}");
        }
        assert_eq!(
            filter_style("color: rgba(0, 0, 0, 0.5); background: linear-gradient(#fff, #eee); width: calc(100% - 2px)"),
            "color:rgba(0, 0, 0, 0.5);background:linear-gradient(#fff, #eee);width:calc(100% - 2px)"
        );
    }

    #[test]
    fn review_findings_stay_fixed() {
        // Leading whitespace would make a protocol-relative outside URL.
        assert!(!is_allowed_image_src(" //evil.com/a.png") && !is_allowed_image_src("\n//evil.com/a.png"));
        assert_eq!(sanitize(r#"<svg><image href=" //evil.com/a.png" width="9"/></svg>"#), "<svg></svg>");
        // An escape in an SVG presentation attribute (read as CSS) is dropped.
        assert_eq!(
            sanitize(r#"<svg><rect fill="u\72l(https://e/x.svg#g)" width="1"/></svg>"#),
            r#"<svg><rect width="1"></rect></svg>"#
        );
        // A comment never closed is shown as text and reported, never swallowing the rest.
        let out = sanitize("<p>a</p><!-- todo <p>b</p>");
        assert!(out.contains("&lt;!-- todo") && out.contains("<p>b</p>"), "{out}");
        assert_eq!(audit("<p>a</p><!-- todo"), vec![(8, Removal::OpenComment)]);
        assert_eq!(sanitize("a <? b"), "a &lt;? b");
    }
}
