//! The final pass over every rendered fragment: an allow-list of what the WeChat editor keeps.
//!
//! Why an allow-list (and why these entries): the draft API stores our HTML, then WeChat's editor
//! rewrites it (see shared/wechat-editor.md). What it does not keep, we remove here so that the
//! local preview looks like the published article:
//! - no `<style>`, `<link>`, `<script>`, `<iframe>`, forms or event handlers: stripped by WeChat
//!   (and scripts would be a hazard in our own preview);
//! - no `class` or `id`: WeChat removes them, and anything referring to an id renders blank;
//! - `<section>` rather than `<div>` for blocks: styles on `div` have been seen to break;
//! - links only to `mp.weixin.qq.com`; images only from our processed files or WeChat's CDN;
//! - in `style`, only the CSS properties below, filtered one by one, because one unknown
//!   declaration can make the editor drop the whole attribute. No `position` (dropped), no
//!   `url(…)` (outside resources are refused), no `!important` (defeats dark mode).
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Tags the WeChat editor keeps (text and structure). Raw-HTML `div`s are written as `section`.
pub const ALLOWED_TAGS: &[&str] = &[
    "section",
    "p",
    "span",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "del",
    "s",
    "sup",
    "sub",
    "blockquote",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "figure",
    "figcaption",
    "img",
    "a",
];

/// Tags removed together with everything inside them.
pub const REMOVED_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "noscript",
    "template",
    "textarea",
    "select",
    // SVG that renders blank or runs code in WeChat.
    "foreignObject",
    "use",
];

/// Inline SVG for tap-to-reveal layouts, limited to what is reported to survive the WeChat
/// editor (shared/wechat-editor.md, "SVG"): SMIL `<animate>`, `<set>` and `<animateTransform>`
/// started by a tap, `<image>` of our uploaded files, and explicit closing tags. Not kept:
/// `foreignObject`, `<use>` and anything that refers to an id (`href="#…"`, `url(#…)`,
/// `begin="id.click"`) — they render blank — and CSS animation (no `<style>` at all, and
/// `animation`/`transition` are not allowed CSS properties). Each entry: tag (as written out,
/// case matters in SVG) and its attributes.
pub const SVG_ELEMENTS: &[(&str, &[&str])] = &[
    ("svg", &["viewBox", "width", "height", "preserveAspectRatio", "xmlns", "xmlns:xlink", "opacity", "data-wxpub"]),
    ("g", &["opacity", "visibility", "transform", "data-wxpub"]),
    ("rect", &["x", "y", "width", "height", "rx", "ry", "fill", "stroke", "stroke-width", "opacity"]),
    ("image", &["x", "y", "width", "height", "href", "xlink:href", "preserveAspectRatio", "opacity"]),
    (
        "text",
        &["x", "y", "fill", "font-size", "font-weight", "font-family", "text-anchor", "letter-spacing", "opacity"],
    ),
    ("tspan", &["x", "y", "dx", "dy", "fill", "font-size", "font-weight"]),
    (
        "animate",
        &[
            "attributeName",
            "from",
            "to",
            "values",
            "dur",
            "begin",
            "fill",
            "restart",
            "calcMode",
            "keyTimes",
            "repeatCount",
        ],
    ),
    ("set", &["attributeName", "to", "begin", "dur", "fill", "restart"]),
    (
        "animateTransform",
        &["attributeName", "type", "from", "to", "values", "dur", "begin", "fill", "restart", "additive"],
    ),
];

/// What `<animate>` may change; `<set>` only `visibility`; `<animateTransform>` only `transform`.
pub const SVG_ANIMATED_ATTRIBUTES: &[&str] = &[
    "x",
    "y",
    "width",
    "height",
    "cx",
    "cy",
    "opacity",
    "d",
    "points",
    "stroke-width",
    "stroke-linecap",
    "stroke-dashoffset",
    "fill",
];

/// How an animation may start: on a tap (`mousedown` for older clients). Never by an id.
pub const SVG_BEGIN_VALUES: &[&str] = &["click", "mousedown"];

/// Why an SVG element or attribute was removed, for the warning; None when it is kept.
fn svg_attribute_problem(tag: &str, attribute: &str, value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    let id_reference = attribute.ends_with("href") && lower.trim_start().starts_with('#');
    if lower.contains("url(") || id_reference || lower.contains("javascript:") {
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

fn svg_element(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    SVG_ELEMENTS.iter().find(|(t, _)| t.eq_ignore_ascii_case(name)).copied()
}

/// Attributes kept per tag (plus `style` on every tag).
const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("img", &["src", "alt", "width", "height", "data-ratio", "data-w"]),
    ("a", &["href", "title"]),
    ("td", &["colspan", "rowspan", "align"]),
    ("th", &["colspan", "rowspan", "align"]),
    ("ol", &["start"]),
];

/// CSS properties kept in `style` attributes; everything else is dropped declaration by
/// declaration. Layout is limited to what renders the same in the WeChat client's web view.
pub const ALLOWED_CSS_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "background",
    "background-image",
    "font-size",
    "font-weight",
    "font-style",
    "font-family",
    "line-height",
    "letter-spacing",
    "text-align",
    "text-indent",
    "text-decoration",
    "text-shadow",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-color",
    "border-style",
    "border-width",
    "border-radius",
    "border-collapse",
    "border-spacing",
    "width",
    "max-width",
    "min-width",
    "height",
    "max-height",
    "display",
    "vertical-align",
    "white-space",
    "word-break",
    "word-wrap",
    "overflow-wrap",
    "overflow",
    "overflow-x",
    "overflow-y",
    "box-sizing",
    "box-shadow",
    "opacity",
    "list-style-type",
    "table-layout",
];

/// Cleans a fragment against the allow-lists above.
///
/// A single forward scan over the text, not a DOM: it runs over every rendered item on every
/// build and preview reload, and measured here (`cargo bench --bench render`) a DOM round trip
/// or a general streaming rewriter cost more than rendering the Markdown itself. The input is
/// our own renderer's output plus whatever raw HTML an editor wrote, so the scanner is strict
/// about what it *emits* (only allowed tags and attributes, always quoted) and lenient about
/// what it reads; it does not repair unbalanced tags (browsers and WeChat's editor do).
pub fn sanitize(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut styles = STYLE_MEMO.take();
    if styles.len() >= STYLE_MEMO_LIMIT {
        styles.clear();
    }
    // One buffer for every tag's attributes.
    let mut attributes: Vec<(&str, &str)> = Vec::new();
    let mut rest = html;
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
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
                out.push_str("</");
                out.push_str(tag);
                out.push('>');
            }
        } else {
            let after = &rest[1..];
            let name_len = tag_name_len(after);
            if name_len == 0 {
                out.push_str("&lt;");
                rest = after;
                continue;
            }
            let name = &after[..name_len];
            let remainder = parse_attributes(&after[name_len..], &mut attributes);
            rest = remainder;
            let self_closing = after[name_len..after.len() - remainder.len()].trim_end().ends_with("/>");
            if let Some(removed) = REMOVED_WITH_CONTENT.iter().find(|t| t.eq_ignore_ascii_case(name)) {
                rest = skip_past_end_tag(rest, removed);
            } else if let Some((tag, allowed)) = svg_element(name) {
                let mut kept = String::new();
                let mut broken = false;
                for &(attr, raw) in &attributes {
                    if attr.eq_ignore_ascii_case("style") {
                        push_style_attribute(&mut kept, &mut styles, raw);
                    } else if let Some(attr) = allowed.iter().find(|a| a.eq_ignore_ascii_case(attr)) {
                        let value = decode_entities(raw);
                        if svg_attribute_problem(tag, attr, &value).is_some() {
                            // An animation that cannot run as written is dropped whole.
                            broken |= matches!(tag, "animate" | "set" | "animateTransform" | "image");
                            continue;
                        }
                        push_attribute(&mut kept, attr, &value);
                    }
                }
                if broken {
                    if !self_closing {
                        rest = skip_past_end_tag(rest, tag);
                    }
                } else {
                    out.push('<');
                    out.push_str(tag);
                    out.push_str(&kept);
                    out.push('>');
                    if self_closing {
                        // WeChat keeps SVG only with explicit closing tags.
                        out.push_str(&format!("</{tag}>"));
                    }
                }
            } else if let Some(tag) = output_tag(name) {
                out.push('<');
                out.push_str(tag);
                let allowed = TAG_ATTRIBUTES.iter().find(|(t, _)| *t == tag).map_or(&[][..], |(_, attrs)| *attrs);
                for &(attr, raw) in &attributes {
                    if attr.eq_ignore_ascii_case("style") {
                        push_style_attribute(&mut out, &mut styles, raw);
                    } else if let Some(attr) = allowed.iter().find(|a| a.eq_ignore_ascii_case(attr)) {
                        let value = decode_entities(raw);
                        if let Some(kept) = filter_attribute(tag, attr, &value) {
                            push_attribute(&mut out, attr, &kept);
                        }
                    }
                }
                out.push('>');
            }
        }
    }
    out.push_str(rest);
    STYLE_MEMO.set(styles);
    out
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

fn tag_name_len(text: &str) -> usize {
    if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return 0;
    }
    text.bytes().position(|b| !(b.is_ascii_alphanumeric() || b == b'-')).unwrap_or(text.len())
}

/// Reads attributes up to the end of a start tag into `attributes` as (name, raw value) pairs
/// (replacing what it held). Returns the text after the tag's `>`.
fn parse_attributes<'t>(mut text: &'t str, attributes: &mut Vec<(&'t str, &'t str)>) -> &'t str {
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

/// Skips a removed element's content up to and including its end tag (case-insensitive).
fn skip_past_end_tag<'t>(text: &'t str, name: &str) -> &'t str {
    let closing = format!("</{}", name.to_ascii_lowercase());
    let lower = text.to_ascii_lowercase();
    match lower.find(&closing) {
        Some(start) => {
            let after = &text[start + closing.len()..];
            after.find('>').map_or("", |end| &after[end + 1..])
        }
        None => "",
    }
}

fn push_attr_value(out: &mut String, value: &str) {
    super::markdown::push_escaped(out, value);
}

fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        (_, "style") => {
            let kept = filter_style(value);
            (!kept.is_empty()).then_some(Cow::Owned(kept))
        }
        ("a", "href") => is_wechat_article_url(value).then_some(Cow::Borrowed(value)),
        ("img", "src") => is_allowed_image_src(value).then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// Decodes the entities our renderer and typical hand-written HTML put in attribute values.
fn decode_entities(raw: &str) -> Cow<'_, str> {
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

/// Keeps the allowed declarations of a `style` value, in order, dropping the others one by one.
pub fn filter_style(style: &str) -> String {
    let mut kept = Vec::new();
    for declaration in style.split(';') {
        let Some((property, value)) = declaration.split_once(':') else { continue };
        let property = property.trim().to_ascii_lowercase();
        let value = value.trim();
        let lower = value.to_ascii_lowercase();
        let safe_value = !value.is_empty()
            && !lower.contains("url(")
            && !lower.contains("expression(")
            && !lower.contains("javascript:")
            && !lower.contains("!important");
        if safe_value && ALLOWED_CSS_PROPERTIES.contains(&property.as_str()) {
            kept.push(format!("{property}:{value}"));
        }
    }
    // Compact form: the 20,000-character content limit counts markup too.
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
fn is_allowed_image_src(src: &str) -> bool {
    if let Some(key) = src.strip_prefix(crate::images::PLACEHOLDER) {
        return key.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(rest) = src.strip_prefix("https://").or_else(|| src.strip_prefix("http://")) {
        let host = rest.split('/').next().unwrap_or("");
        return host == "mmbiz.qpic.cn" || host.ends_with(".qpic.cn") || host == "127.0.0.1" || host == "localhost";
    }
    !src.contains(':') && !src.starts_with('/') && !src.split('/').any(|part| part == "..")
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
        assert_eq!(sanitize(html), "<img src=\"images/a.jpg\" alt=\"say &quot;hi&quot;\"><td colspan=\"2\">");
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
}
