//! Property tests of the sanitizer on generated HTML and Markdown: no panic, well-formed output,
//! nothing outside the allow-lists, and every word outside a removed element kept, in order.
//!
//! CI runs `WXPUB_FUZZ_CASES` cases (default 20,000: about a second); run longer by hand:
//! `WXPUB_FUZZ_CASES=200000 WXPUB_FUZZ_SEED=7 cargo test --test it fuzz -- --nocapture`.
//! A failure prints the seed and the input that broke it.
use std::path::Path;

use wxpub::render::sanitize::{
    ALLOWED_CSS_PROPERTIES, ALLOWED_TAGS, SVG_ELEMENTS, TAG_ATTRIBUTES, is_allowed_image_src, is_wechat_article_url,
    sanitize,
};
use wxpub::render::{ImageRequestError, ImageRole, ImageSink};

fn cases() -> u64 {
    std::env::var("WXPUB_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn seed() -> u64 {
    std::env::var("WXPUB_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20261201)
}

const KEPT: &[&str] = &[
    "p",
    "span",
    "section",
    "div",
    "strong",
    "em",
    "b",
    "h2",
    "blockquote",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "td",
    "th",
    "a",
    "sup",
    "figure",
    "figcaption",
];
const VOID: &[&str] = &["br", "hr", "img"];
const UNWRAPPED: &[&str] =
    &["ins", "mark", "kbd", "small", "font", "center", "details", "summary", "custom-tag", "html", "body", "label"];
const REMOVED: &[&str] =
    &["script", "style", "iframe", "embed", "object", "noscript", "textarea", "select", "template", "use"];
const SVG: &[&str] = &["svg", "g", "rect", "text", "tspan", "animate", "set", "image", "foreignObject"];
/// SVG elements the sanitizer drops whole when an attribute is wrong (their text is not asserted).
const SVG_MAY_DROP: &[&str] = &["animate", "set", "animateTransform", "image", "foreignObject"];

const ATTRIBUTES: &[&str] = &[
    "style=\"color: red; position: absolute; background: url(http://e/x.png)\"",
    "style='background-image: u\\72l(http://e/x.png); margin: 0'",
    "style=\"background: image-set('x.png' 1x); color: #333\"",
    "style=\"background: -webkit-image-set(url(x.png) 1x)\"",
    "style=\"font-size: 15px !important; width: calc(100% - 2px)\"",
    "class=\"x\"",
    "id=y",
    "onclick=\"steal()\"",
    "onerror=alert(1)",
    "href=\"https://example.com/a\"",
    "href=\"https://mp.weixin.qq.com/s/abc\"",
    "href=\"javascript:alert(1)\"",
    "src=\"https://evil?.qpic.cn/a.png\"",
    "src=\"https://evil#.qpic.cn/a.png\"",
    "src=\"https://evil\\@mmbiz.qpic.cn/a.png\"",
    "src=\"https://mmbiz.qpic.cn/mmbiz_jpg/a/0\"",
    "src=\"images/a.jpg\"",
    "src=\"../../etc/passwd\"",
    "width=10",
    "attributeName=\"opacity\" begin=\"click\"",
    "begin=\"x.click\"",
    "href=\"#id\"",
    "fill=\"url(#g)\"",
    "colspan=2",
    "'",
    "\"",
];

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Normal,
    SelfClosing,
    Unclosed,
}

struct Generator {
    rng: fastrand::Rng,
    next_word: usize,
    html: String,
    /// Words that must survive, in order.
    kept: Vec<String>,
}

impl Generator {
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.usize(..list.len())]
    }

    fn word(&mut self, inside_removed: bool) {
        self.next_word += 1;
        let word = format!("w{}z", self.next_word);
        self.html.push_str(&word);
        self.html.push(' ');
        if !inside_removed {
            self.kept.push(word);
        }
    }

    fn noise(&mut self) {
        let bits = ["a < b ", "Vec<T> ", "1 > 0 ", "&amp; ", "<!-- c --> ", "</ghost> ", "< ", "</ ", "<!x> "];
        let piece = self.pick(&bits);
        self.html.push_str(piece);
    }

    fn nodes(&mut self, depth: usize, inside_removed: bool) {
        for _ in 0..self.rng.usize(0..4) {
            match self.rng.u8(0..10) {
                0..=3 => self.word(inside_removed),
                4 if !inside_removed => self.noise(),
                _ if depth < 5 => self.element(depth + 1, inside_removed),
                _ => self.word(inside_removed),
            }
        }
    }

    fn element(&mut self, depth: usize, inside_removed: bool) {
        let group = self.rng.u8(0..10);
        let tag = match group {
            0..=3 => self.pick(KEPT),
            4 => self.pick(VOID),
            5 | 6 => self.pick(UNWRAPPED),
            7 => self.pick(REMOVED),
            _ => self.pick(SVG),
        };
        let removed = REMOVED.iter().chain(["foreignObject"].iter()).any(|t| t.eq_ignore_ascii_case(tag));
        let form = if VOID.contains(&tag) || tag == "embed" {
            if self.rng.bool() { Form::SelfClosing } else { Form::Unclosed }
        } else if removed {
            // A removed element's content runs to its end tag, as browsers read raw text.
            if self.rng.u8(0..4) == 0 { Form::SelfClosing } else { Form::Normal }
        } else {
            match self.rng.u8(0..6) {
                0 => Form::SelfClosing,
                1 => Form::Unclosed,
                _ => Form::Normal,
            }
        };
        let upper = self.rng.u8(0..8) == 0;
        let name = if upper { tag.to_ascii_uppercase() } else { tag.to_string() };
        self.html.push('<');
        self.html.push_str(&name);
        for _ in 0..self.rng.usize(0..3) {
            self.html.push(' ');
            let attribute = self.pick(ATTRIBUTES);
            self.html.push_str(attribute);
        }
        if form == Form::SelfClosing {
            self.html.push_str("/>");
            return;
        }
        self.html.push('>');
        if VOID.contains(&tag) || tag == "embed" {
            return;
        }
        let hidden = inside_removed || removed || SVG_MAY_DROP.contains(&tag);
        self.nodes(depth, hidden);
        if form == Form::Normal {
            self.html.push_str(&format!("</{name}>"));
        }
    }
}

/// Start and end tags of `html` as (name, closing, attribute text); panics on a `<` that starts
/// neither (the sanitizer escapes those).
fn tags(html: &str) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let closing = rest.starts_with('/');
        let body = rest.trim_start_matches('/');
        let end = body.find('>').expect("every tag ends");
        let tag = &body[..end];
        let name_end = tag.find(' ').unwrap_or(tag.len());
        out.push((tag[..name_end].to_string(), closing, tag[name_end..].to_string()));
        rest = &body[end + 1..];
    }
    out
}

/// The (name, value) pairs of a written attribute list: always ` name="value"`.
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let after = &rest[eq + 2..];
        let close = after.find('"').expect("attribute values are quoted");
        out.push((name, after[..close].replace("&quot;", "\"").replace("&amp;", "&")));
        rest = &after[close + 1..];
    }
    assert!(rest.trim().is_empty(), "attribute text left over: {rest:?}");
    out
}

fn assert_clean(input: &str, output: &str) {
    let context = || format!("\ninput:  {input}\noutput: {output}");
    let mut open: Vec<String> = Vec::new();
    for (name, closing, attribute_text) in tags(output) {
        let svg = SVG_ELEMENTS.iter().find(|(t, _)| *t == name);
        assert!(
            ALLOWED_TAGS.contains(&name.as_str()) || svg.is_some(),
            "tag <{name}> escaped the allow-list{}",
            context()
        );
        if closing {
            assert_eq!(open.pop().as_deref(), Some(name.as_str()), "end tag </{name}> out of order{}", context());
            continue;
        }
        if !["br", "hr", "img"].contains(&name.as_str()) {
            open.push(name.clone());
        }
        let allowed: &[&str] = match svg {
            Some((_, attrs)) => attrs,
            None => TAG_ATTRIBUTES.iter().find(|(t, _)| *t == name).map_or(&[], |(_, a)| *a),
        };
        for (attribute, value) in attributes(&attribute_text) {
            if attribute == "style" {
                for declaration in value.split(';') {
                    let (property, v) = declaration.split_once(':').expect("property:value");
                    assert!(ALLOWED_CSS_PROPERTIES.contains(&property), "CSS {property}{}", context());
                    let lower = v.to_ascii_lowercase();
                    assert!(
                        !lower.contains("url(") && !lower.contains("image-set(") && !lower.contains('\\'),
                        "CSS value {v}{}",
                        context()
                    );
                }
                continue;
            }
            assert!(allowed.contains(&attribute.as_str()), "<{name} {attribute}> escaped the allow-list{}", context());
            match (name.as_str(), attribute.as_str()) {
                ("img", "src") | ("image", "href") => {
                    assert!(is_allowed_image_src(&value), "image {value}{}", context())
                }
                ("a", "href") => assert!(is_wechat_article_url(&value), "link {value}{}", context()),
                _ => {}
            }
        }
    }
    assert!(open.is_empty(), "left open: {open:?}{}", context());
}

#[test]
fn generated_html_comes_out_well_formed_allowed_and_with_every_outside_word() {
    let mut rng = fastrand::Rng::with_seed(seed());
    for case in 0..cases() {
        let mut generator = Generator {
            rng: fastrand::Rng::with_seed(rng.u64(..)),
            next_word: 0,
            html: String::new(),
            kept: Vec::new(),
        };
        generator.nodes(0, false);
        let input = generator.html.clone();
        let output = sanitize(&input);
        assert_clean(&input, &output);
        let mut from = 0;
        for word in &generator.kept {
            match output[from..].find(word.as_str()) {
                Some(at) => from += at + word.len(),
                None => panic!("case {case} (seed {}): `{word}` lost\ninput:  {input}\noutput: {output}", seed()),
            }
        }
        // Sanitizing twice changes nothing: the output is its own fixed point.
        assert_eq!(sanitize(&output), output, "not idempotent\ninput: {input}");
    }
}

#[test]
fn arbitrary_bytes_never_panic_and_come_out_well_formed() {
    let mut rng = fastrand::Rng::with_seed(seed() ^ 0x5eed);
    let alphabet: Vec<char> = "<>/=\"' abcdefgimnoprstuvwxyzABSCRIPT-!?&;:#()\\\n展品".chars().collect();
    for _ in 0..cases() {
        let len = rng.usize(0..200);
        let input: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
        let output = sanitize(&input);
        assert_clean(&input, &output);
    }
}

struct NameSink;

impl ImageSink for NameSink {
    fn request(&mut self, src: &str, _line: usize, _role: ImageRole) -> Result<String, ImageRequestError> {
        Ok(format!("images/{}.jpg", src.len()))
    }
}

#[test]
fn generated_markdown_with_raw_html_renders_and_sanitizes_clean() {
    let theme = wxpub::render::Theme::load(&crate::support::example_root().join("layouts"), "museum").unwrap();
    let pieces = [
        "# 标题\n\n",
        "段落 **粗** *斜* `code` ",
        "- 一\n  - 二\n    - 三\n",
        "> 引用\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n",
        "```html\n<p>not a tag</p>\n```\n",
        "[外链](https://example.com) ",
        "![图](a.jpg)\n",
        "<embed src=\"intro.mp4\">\n",
        "<iframe src=\"https://v.example\"/>\n",
        "<font color=red>字</font> ",
        "<a href=\"https://example.com\">raw link</a> ",
        "<img src=\"local.jpg\" width=300> ",
        "Vec<T> and Option<String> ",
        "<svg viewBox=\"0 0 1 1\"><use href=\"#x\"/><rect width=\"1\"/></svg>\n",
        "<script>alert(1)",
        "</section></p>",
        "<details><summary>更多</summary>内容</details>\n",
        "\n\n",
        "[^1]\n\n[^1]: 注释\n",
    ];
    let mut rng = fastrand::Rng::with_seed(seed() ^ 0x3d);
    let links = wxpub::render::ItemLinks::default();
    let miniprograms = std::collections::BTreeMap::new();
    for _ in 0..cases() / 5 {
        let source: String = (0..rng.usize(1..12)).map(|_| pieces[rng.usize(..pieces.len())]).collect();
        let ctx = wxpub::render::RenderContext {
            theme: &theme,
            code_theme: "InspiredGitHub".into(),
            line_breaks: if rng.bool() { wxpub::config::LineBreaks::Soft } else { wxpub::config::LineBreaks::Hard },
            dir: Path::new("."),
            links: &links,
            miniprograms: &miniprograms,
            file: Path::new("index.md"),
            source: &source,
        };
        let rendered = wxpub::render::markdown::render(&ctx, &source, 0, &mut NameSink).expect("renders");
        let output = sanitize(&rendered.html);
        assert_clean(&source, &output);
    }
}
