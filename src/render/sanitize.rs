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
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Tags the WeChat editor keeps (text and structure). `div` is mapped to nothing: our renderer
/// never emits it, and raw-HTML `div`s are unwrapped rather than kept.
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
pub const REMOVED_WITH_CONTENT: &[&str] =
    &["script", "style", "iframe", "object", "embed", "noscript", "template", "textarea", "select"];

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

fn tag_attributes() -> HashMap<&'static str, HashSet<&'static str>> {
    TAG_ATTRIBUTES.iter().map(|(tag, attrs)| (*tag, attrs.iter().copied().collect())).collect()
}

fn builder() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(ALLOWED_TAGS.iter().copied().collect())
            .clean_content_tags(REMOVED_WITH_CONTENT.iter().copied().collect())
            .tag_attributes(tag_attributes())
            .generic_attributes(["style"].into_iter().collect())
            .url_schemes(["https", "http"].into_iter().collect())
            .url_relative(ammonia::UrlRelative::PassThrough)
            .link_rel(None)
            .strip_comments(true)
            .attribute_filter(filter_attribute);
        builder
    })
}

/// Cleans a fragment against the allow-lists above.
pub fn sanitize(html: &str) -> String {
    builder().clean(html).to_string()
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
            kept.push(format!("{property}: {value}"));
        }
    }
    kept.join("; ")
}

/// Links WeChat keeps in article bodies: other Official Account articles.
pub fn is_wechat_article_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        r == "mp.weixin.qq.com" || r.starts_with("mp.weixin.qq.com/") || r.starts_with("mp.weixin.qq.com?")
    })
}

/// Image sources that survive: our processed files (relative, inside the item) or WeChat's CDN.
fn is_allowed_image_src(src: &str) -> bool {
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
    fn strips_scripts_styles_iframes_handlers_class_and_id() {
        let dirty = r#"<p class="x" id="y" onclick="steal()">hi<script>alert(1)</script></p><style>p{}</style><iframe src="https://e.com"></iframe>"#;
        assert_eq!(sanitize(dirty), "<p>hi</p>");
    }

    #[test]
    fn filters_css_declaration_by_declaration() {
        let html = r#"<section style="color: red; position: absolute; background: url(http://x/y.png); font-size: 15px !important; margin: 0 auto">x</section>"#;
        assert_eq!(sanitize(html), r#"<section style="color: red; margin: 0 auto">x</section>"#);
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
