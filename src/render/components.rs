//! Museum components editors write in Markdown without HTML: fenced blocks whose info string
//! names the component and whose body is YAML (or plain text for `note`).
//!
//! ````markdown
//! ```artifact
//! name: 兽面纹青铜鼎
//! period: 商代晚期
//! material: 青铜
//! dimensions: 高 38 厘米，口径 30 厘米
//! number: 馆藏 0032
//! image: ding.jpg
//! ```
//! ````
use serde::Deserialize;
use sha2::Digest;

use super::theme::Theme;
use super::{ImageSink, RenderContext, RenderError};
use crate::util::html::{escape as escape_attr, push_escaped};

pub const COMPONENT_NAMES: &[&str] =
    &["artifact", "exhibition", "gallery", "note", "qr", "reveal", "compare", "fold", "booking", "video"];

/// The bullet drawn before unordered list items (WeChat resets list markers).
pub const BULLET: &str = "•";

/// A card (or, without an image, a text link) that opens a mini program: visit booking
/// (预约参观), event sign-up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Booking {
    /// A `[miniprograms.NAME]` of publish.toml; may be left out when only one is configured.
    #[serde(default)]
    program: Option<String>,
    /// The page to open; default: the mini program's `path`.
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    title: Option<String>,
    /// The card's picture (beside index.md); without one the block is a text link.
    #[serde(default)]
    image: Option<String>,
    /// The text link's words (default: the title).
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Artifact {
    name: String,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    material: Option<String>,
    #[serde(default)]
    dimensions: Option<String>,
    /// Collection (accession) number.
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exhibition {
    title: String,
    #[serde(default)]
    dates: Option<String>,
    #[serde(default)]
    venue: Option<String>,
    #[serde(default)]
    booking: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Gallery {
    images: Vec<GalleryImage>,
    /// 2 or 3 images per row.
    #[serde(default = "default_columns")]
    columns: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GalleryImage {
    src: String,
    #[serde(default)]
    caption: String,
}

/// Tap to reveal: a cover (an image, or a title card) that fades away on a tap to show what is
/// beneath it (an image and/or text). One inline SVG, using only what survives WeChat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reveal {
    #[serde(default)]
    cover: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    hint: Option<String>,
}

/// Tap to switch from one image to another (before/after a restoration).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Compare {
    before: String,
    after: String,
    #[serde(default)]
    before_label: Option<String>,
    #[serde(default)]
    after_label: Option<String>,
    /// Width:height of the images, e.g. "3:2" (default) or "4:3".
    #[serde(default)]
    aspect: Option<String>,
}

/// Tap to expand: a long text and/or a run of images collapsed to its first lines; a tap opens
/// the whole of it in place (the article below moves down).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fold {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    images: Vec<GalleryImage>,
    /// Width:height of the images, e.g. "3:2" (default) or "4:3".
    #[serde(default)]
    aspect: Option<String>,
    /// Text lines shown while folded (default 4).
    #[serde(default)]
    teaser_lines: Option<u32>,
    #[serde(default)]
    hint: Option<String>,
}

/// viewBox width of the interactive components; heights follow the content.
const SVG_WIDTH: u32 = 1080;
const SVG_FONT: u32 = 40;
const SVG_LINE: u32 = 64;
const SVG_MARGIN: u32 = 60;

/// Breaks text into lines that fit the SVG width (a CJK character is one em, Latin half).
fn wrap_lines(text: &str) -> Vec<String> {
    let width_ems = f64::from(SVG_WIDTH - 2 * SVG_MARGIN) / f64::from(SVG_FONT);
    let mut lines = Vec::new();
    for paragraph in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (mut line, mut ems) = (String::new(), 0.0);
        for c in paragraph.chars() {
            let w = if c.is_ascii() { 0.55 } else { 1.0 };
            // Closing punctuation never starts a line: it may hang past the margin.
            let hangs = "，。、；：！？”’）」』》".contains(c);
            if ems + w > width_ems && !hangs {
                lines.push(std::mem::take(&mut line));
                ems = 0.0;
            }
            line.push(c);
            ems += w;
        }
        lines.push(line);
    }
    lines
}

/// The `color` (or another property) a theme style sets, for SVG attributes.
fn theme_color(theme: &Theme, key: &str, property: &str) -> Option<String> {
    theme
        .style(key)
        .split(';')
        .filter_map(|d| d.split_once(':'))
        .find(|(k, _)| k.trim() == property)
        .map(|(_, v)| v.trim().to_string())
}

/// The interactive components' text, paper and accent colours, taken from the theme so that
/// the SVG matches the article around it.
fn svg_colors(theme: &Theme) -> (String, String, String) {
    (
        theme_color(theme, "root", "color").unwrap_or_else(|| "#333333".into()),
        theme_color(theme, "artifact", "background-color").unwrap_or_else(|| "#fdfaf3".into()),
        theme_color(theme, "h2", "color").unwrap_or_else(|| "#5b3a1e".into()),
    )
}

/// Wrapped text lines as one SVG `<text>`: the first baseline `first_dy` below `top`, the next
/// ones a line apart.
fn push_text_lines(svg: &mut String, lines: &[String], top: u32, first_dy: u32, ink: &str) {
    svg.push_str(&format!(r#"<text x="{SVG_MARGIN}" y="{top}" font-size="{SVG_FONT}" fill="{ink}">"#));
    for (i, line) in lines.iter().enumerate() {
        let dy = if i == 0 { first_dy } else { SVG_LINE };
        svg.push_str(&format!(r#"<tspan x="{SVG_MARGIN}" dy="{dy}">{}</tspan>"#, escape_attr(line)));
    }
    svg.push_str("</text>");
}

/// An uploaded image filling a `width` × `height` box at `y`, cropped to it.
fn svg_image(src: &str, y: u32, width: u32, height: u32) -> String {
    format!(
        r#"<image href="{}" x="0" y="{y}" width="{width}" height="{height}" preserveAspectRatio="xMidYMid slice"></image>"#,
        escape_attr(src)
    )
}

/// The fade that removes a cover layer on a tap, once.
const FADE_ON_TAP: &str = r#"<animate attributeName="opacity" from="1" to="0" dur="0.6s" begin="click" fill="freeze" restart="never"></animate>"#;

fn parse_aspect(aspect: Option<&str>) -> Option<(u32, u32)> {
    let (w, h) = aspect.unwrap_or("3:2").split_once(':')?;
    let (w, h): (f64, f64) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0.0 && h > 0.0 && w / h <= 4.0 && h / w <= 4.0)
        .then(|| (SVG_WIDTH, (f64::from(SVG_WIDTH) * h / w).round() as u32))
}

/// A component's text fields must not hold another component: WeChat does not survive nested
/// animated SVG reliably.
fn refuse_nesting(
    ctx: &RenderContext<'_>,
    offset: usize,
    name: &str,
    fields: &[Option<&str>],
) -> Result<(), RenderError> {
    for field in fields.iter().flatten() {
        if let Some(inner) = COMPONENT_NAMES.iter().find(|c| field.contains(&format!("```{c}"))) {
            return Err(ctx.error_at(
                offset,
                format!("{name}: a `{inner}` block inside a `{name}` block; components cannot be nested (WeChat does not keep nested animated SVG) — put them one after another"),
            ));
        }
    }
    Ok(())
}

fn reveal_svg(
    ctx: &RenderContext<'_>,
    reveal: &Reveal,
    offset: usize,
    line: usize,
    sink: &mut dyn ImageSink,
) -> Result<String, RenderError> {
    if reveal.image.is_none() && reveal.text.is_none() {
        return Err(ctx.error_at(offset, "reveal: give what is revealed: `image:`, `text:` or both".into()));
    }
    if reveal.cover.is_none() && reveal.title.is_none() {
        return Err(
            ctx.error_at(offset, "reveal: give the cover: `cover:` (an image) or `title:` (a title card)".into())
        );
    }
    refuse_nesting(ctx, offset, "reveal", &[reveal.text.as_deref(), reveal.title.as_deref(), reveal.hint.as_deref()])?;
    let (ink, paper, accent) = svg_colors(ctx.theme);
    let image_height = if reveal.image.is_some() { SVG_WIDTH * 2 / 3 } else { 0 };
    let lines = reveal.text.as_deref().map(wrap_lines).unwrap_or_default();
    let text_height = if lines.is_empty() { 0 } else { SVG_MARGIN + lines.len() as u32 * SVG_LINE + SVG_MARGIN / 2 };
    let height = (image_height + text_height).max(360);
    let mut svg = format!(
        r#"<svg data-wxpub="reveal" viewBox="0 0 {SVG_WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" style="display:block;margin:0 0 16px 0">"#
    );
    // What is revealed, drawn first (underneath).
    svg.push_str(&format!(r#"<rect x="0" y="0" width="{SVG_WIDTH}" height="{height}" fill="{paper}"></rect>"#));
    if let Some(image) = &reveal.image {
        let src = sink.request(image, line, super::ImageRole::Body)?;
        svg.push_str(&svg_image(&src, 0, SVG_WIDTH, image_height));
    }
    if !lines.is_empty() {
        push_text_lines(&mut svg, &lines, image_height + SVG_MARGIN, SVG_FONT, &ink);
    }
    // The cover, on top; a tap fades it away.
    svg.push_str(r#"<g data-wxpub="cover" opacity="1">"#);
    match &reveal.cover {
        Some(cover) => {
            let src = sink.request(cover, line, super::ImageRole::Body)?;
            svg.push_str(&svg_image(&src, 0, SVG_WIDTH, height));
        }
        None => {
            svg.push_str(&format!(r#"<rect x="0" y="0" width="{SVG_WIDTH}" height="{height}" fill="{accent}"></rect>"#))
        }
    }
    if let Some(title) = &reveal.title {
        svg.push_str(&format!(
            r##"<text x="{}" y="{}" font-size="56" font-weight="bold" text-anchor="middle" fill="#ffffff">{}</text>"##,
            SVG_WIDTH / 2,
            height / 2,
            escape_attr(title)
        ));
    }
    let hint = reveal.hint.as_deref().unwrap_or("轻触揭晓");
    svg.push_str(&format!(
        r##"<rect x="{}" y="{}" width="320" height="72" rx="36" fill="#000000" opacity="0.45"></rect><text x="{}" y="{}" font-size="34" text-anchor="middle" fill="#ffffff">{}</text>"##,
        SVG_WIDTH / 2 - 160,
        height - 112,
        SVG_WIDTH / 2,
        height - 64,
        escape_attr(hint)
    ));
    svg.push_str(FADE_ON_TAP);
    svg.push_str("</g></svg>");
    Ok(svg)
}

fn compare_svg(
    ctx: &RenderContext<'_>,
    compare: &Compare,
    offset: usize,
    line: usize,
    sink: &mut dyn ImageSink,
) -> Result<String, RenderError> {
    let (width, height) = parse_aspect(compare.aspect.as_deref())
        .ok_or_else(|| ctx.error_at(offset, "compare: `aspect` must be width:height such as 3:2 or 4:3".into()))?;
    refuse_nesting(ctx, offset, "compare", &[compare.before_label.as_deref(), compare.after_label.as_deref()])?;
    let before = sink.request(&compare.before, line, super::ImageRole::Body)?;
    let after = sink.request(&compare.after, line, super::ImageRole::Body)?;
    let label = |text: &str| {
        format!(
            r##"<rect x="24" y="24" width="{}" height="64" rx="8" fill="#000000" opacity="0.5"></rect><text x="48" y="68" font-size="34" fill="#ffffff">{}</text>"##,
            48 + text.chars().count() as u32 * 36,
            escape_attr(text)
        )
    };
    let image = |src: &str| svg_image(src, 0, width, height);
    let mut svg = format!(
        r#"<svg data-wxpub="compare" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" style="display:block;margin:0 0 16px 0">"#
    );
    svg.push_str(&image(&after));
    svg.push_str(&label(compare.after_label.as_deref().unwrap_or("修复后")));
    svg.push_str(r#"<g data-wxpub="cover" opacity="1">"#);
    svg.push_str(&image(&before));
    svg.push_str(&label(compare.before_label.as_deref().unwrap_or("修复前")));
    svg.push_str(&format!(
        r##"<text x="{}" y="{}" font-size="30" text-anchor="end" fill="#ffffff">轻触对比 ›</text>"##,
        width - 32,
        height - 36
    ));
    svg.push_str(FADE_ON_TAP);
    svg.push_str("</g></svg>");
    Ok(svg)
}

/// Article width, in CSS pixels, for which a fold's open height is exact: the text column of a
/// 390-point-wide phone (WeChat pads the article 16 px each side). Only the outer `<svg height>`
/// can change the page's layout (SVG animation cannot animate a viewBox or `auto`), so the open
/// height is a pixel figure: on wider screens the opened content is scaled to fit that height
/// (a little narrower than the column), on narrower ones a small blank remains below it.
const FOLD_REFERENCE_WIDTH: f64 = 358.0;
/// Height, in CSS pixels, of the "tap to expand" bar at the bottom of a folded block.
const FOLD_HINT_HEIGHT: u32 = 36;

/// A fold: the content drawn once, at its open size, inside an outer `<svg>` whose pixel
/// height grows from folded to open on a tap (the outer `<svg>` clips what is below its height,
/// so the folded state is the top of the open one, with no second copy of the markup). Over it,
/// the teaser layer — a fade into the paper colour, the hint bar and a transparent rect that
/// catches a tap anywhere — hides itself on the tap (`set visibility`), while the tap bubbles to
/// the outer `<svg>` and starts its growth.
fn fold_svg(
    ctx: &RenderContext<'_>,
    fold: &Fold,
    offset: usize,
    line: usize,
    sink: &mut dyn ImageSink,
) -> Result<String, RenderError> {
    if fold.text.is_none() && fold.images.is_empty() {
        return Err(ctx.error_at(offset, "fold: give what is folded: `text:`, `images:` or both".into()));
    }
    let (_, image_height) = parse_aspect(fold.aspect.as_deref())
        .ok_or_else(|| ctx.error_at(offset, "fold: `aspect` must be width:height such as 3:2 or 4:3".into()))?;
    let teaser_lines = fold.teaser_lines.unwrap_or(4);
    if !(1..=20).contains(&teaser_lines) {
        return Err(ctx.error_at(offset, "fold: `teaser_lines` must be between 1 and 20".into()));
    }
    let captions: Vec<Option<&str>> = fold.images.iter().map(|i| Some(i.caption.as_str())).collect();
    let mut fields = vec![fold.text.as_deref(), fold.title.as_deref(), fold.hint.as_deref()];
    fields.extend(captions);
    refuse_nesting(ctx, offset, "fold", &fields)?;
    let (ink, paper, accent) = svg_colors(ctx.theme);

    // The content, laid out once in viewBox units (SVG_WIDTH wide).
    let mut content = String::new();
    let mut y = SVG_MARGIN / 2;
    if let Some(title) = &fold.title {
        y += 56;
        content.push_str(&format!(
            r#"<text x="{SVG_MARGIN}" y="{y}" font-size="48" font-weight="bold" fill="{accent}">{}</text>"#,
            escape_attr(title)
        ));
        y += SVG_MARGIN / 2;
    }
    let lines = fold.text.as_deref().map(wrap_lines).unwrap_or_default();
    let mut teaser_height = y + SVG_MARGIN;
    if !lines.is_empty() {
        push_text_lines(&mut content, &lines, y, SVG_LINE, &ink);
        teaser_height = y + (teaser_lines.min(lines.len() as u32) + 1) * SVG_LINE;
        y += lines.len() as u32 * SVG_LINE + SVG_MARGIN / 2;
    }
    for (index, image) in fold.images.iter().enumerate() {
        let src = sink.request(&image.src, line, super::ImageRole::Body)?;
        y += SVG_MARGIN / 2;
        content.push_str(&svg_image(&src, y, SVG_WIDTH, image_height));
        if lines.is_empty() && index == 0 {
            // An image-only fold shows the top half of its first image.
            teaser_height = y + image_height / 2;
        }
        y += image_height;
        if !image.caption.trim().is_empty() {
            y += 48;
            content.push_str(&format!(
                r#"<text x="{}" y="{y}" font-size="32" text-anchor="middle" fill="{ink}" opacity="0.8">{}</text>"#,
                SVG_WIDTH / 2,
                escape_attr(image.caption.trim())
            ));
        }
    }
    let full_height = y + SVG_MARGIN;
    let to_px = |units: u32| (f64::from(units) * FOLD_REFERENCE_WIDTH / f64::from(SVG_WIDTH)).ceil() as u32;
    let open_px = to_px(full_height);
    let teaser_px = to_px(teaser_height.min(full_height)) + FOLD_HINT_HEIGHT;
    if teaser_px >= open_px {
        return Err(ctx.error_at(
            offset,
            "fold: the content is no longer than its teaser; write it out without `fold`, or lower `teaser_lines`"
                .into(),
        ));
    }
    let hint = fold.hint.as_deref().unwrap_or("展开全文 ▾");
    let hint_y = teaser_px - FOLD_HINT_HEIGHT;
    let mut svg = format!(
        r#"<svg data-wxpub="fold" width="100%" height="{teaser_px}" xmlns="http://www.w3.org/2000/svg" style="display:block;margin:0 0 16px 0">"#
    );
    svg.push_str(&format!(
        r#"<animate attributeName="height" from="{teaser_px}" to="{open_px}" dur="0.4s" begin="click" fill="freeze" restart="never"></animate>"#
    ));
    svg.push_str(&format!(
        r#"<svg width="100%" height="{open_px}" viewBox="0 0 {SVG_WIDTH} {full_height}" preserveAspectRatio="xMidYMin meet"><rect x="0" y="0" width="{SVG_WIDTH}" height="{full_height}" fill="{paper}"></rect>{content}</svg>"#
    ));
    svg.push_str(r#"<g data-wxpub="teaser" visibility="visible">"#);
    svg.push_str(HIDE_ON_TAP);
    svg.push_str(&format!(r#"<rect x="0" y="0" width="100%" height="{teaser_px}" fill="{paper}" opacity="0"></rect>"#));
    for (step, opacity) in [(3, "0.35"), (2, "0.6"), (1, "0.85")] {
        svg.push_str(&format!(
            r#"<rect x="0" y="{}" width="100%" height="12" fill="{paper}" opacity="{opacity}"></rect>"#,
            hint_y.saturating_sub(step * 12)
        ));
    }
    svg.push_str(&format!(
        r#"<rect x="0" y="{hint_y}" width="100%" height="{FOLD_HINT_HEIGHT}" fill="{paper}"></rect><text x="50%" y="{}" font-size="15" text-anchor="middle" fill="{accent}">{}</text>"#,
        hint_y + 23,
        escape_attr(hint)
    ));
    svg.push_str("</g></svg>");
    Ok(svg)
}

const HIDE_ON_TAP: &str =
    r#"<set attributeName="visibility" to="hidden" begin="click" fill="freeze" restart="never"></set>"#;

/// Static fallback of the interactive components, for print and places without SVG animation:
/// every state shown, one after another (the cover, then what it reveals; a fold's teaser, then
/// the whole of it).
pub fn static_fallback(html: &str) -> String {
    let mut out = String::with_capacity(html.len() * 2);
    let mut rest = html;
    while let Some(start) = rest.find("<svg data-wxpub=\"") {
        out.push_str(&rest[..start]);
        let Some(len) = svg_element_len(&rest[start..]) else { break };
        let svg = &rest[start..start + len];
        rest = &rest[start + len..];
        let open_height = attribute_of(svg, "<animate attributeName=\"height\"", "to").map(str::to_string);
        let still = without_elements(&without_elements(svg, "animate"), "set");
        out.push_str(&still);
        out.push_str(&final_state(&still, open_height.as_deref()));
    }
    out.push_str(rest);
    out
}

/// The state after the tap: a cover removed, or a fold opened (its teaser layer removed, the
/// outer height set to the open one).
fn final_state(still: &str, open_height: Option<&str>) -> String {
    if let Some(teaser) = still.find("<g data-wxpub=\"teaser\"") {
        let Some(end) = still[teaser..].find("</g>") else { return still.to_string() };
        let mut opened = format!("{}{}", &still[..teaser], &still[teaser + end + "</g>".len()..]);
        if let (Some(height), Some(folded)) = (open_height, attribute_of(still, "<svg", "height")) {
            opened = opened.replacen(&format!("height=\"{folded}\""), &format!("height=\"{height}\""), 1);
        }
        return opened;
    }
    match (still.find("<g data-wxpub=\"cover\""), still.rfind("</g>")) {
        (Some(g), Some(end)) => format!("{}{}", &still[..g], &still[end + 4..]),
        _ => still.to_string(),
    }
}

/// Length of the `<svg>` element at the start of `text`, nested `<svg>`s included.
fn svg_element_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0;
    loop {
        let next = text[at..].find('<')? + at;
        if text[next..].starts_with("<svg") {
            depth += 1;
        } else if text[next..].starts_with("</svg>") {
            depth -= 1;
            if depth == 0 {
                return Some(next + "</svg>".len());
            }
        }
        at = next + 1;
    }
}

/// `text` without the `<name …></name>` elements (our SVG always closes them explicitly).
fn without_elements(text: &str, name: &str) -> String {
    let (open, close) = (format!("<{name} "), format!("</{name}>"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        rest = rest[start..].find(&close).map_or("", |end| &rest[start + end + close.len()..]);
    }
    out.push_str(rest);
    out
}

/// The value of `attribute` in the first tag of `text` that starts with `tag_start`.
fn attribute_of<'t>(text: &'t str, tag_start: &str, attribute: &str) -> Option<&'t str> {
    let tag = &text[text.find(tag_start)?..];
    let tag = &tag[..tag.find('>')?];
    let needle = format!(" {attribute}=\"");
    let value = &tag[tag.find(&needle)? + needle.len()..];
    Some(&value[..value.find('"')?])
}

/// A QR code of a link (a survey, a booking page), generated at build time: WeChat bodies
/// cannot link outside, but readers can scan or long-press a code.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Qr {
    url: String,
    #[serde(default)]
    caption: Option<String>,
}

/// The QR code of `url` as a PNG: black modules on white, 4-module quiet zone, at least 480 px.
pub fn qr_png(url: &str) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| format!("cannot encode it as a QR code: {e}"))?;
    let image = code.render::<image::Luma<u8>>().min_dimensions(480, 480).quiet_zone(true).build();
    let mut bytes = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| format!("cannot write the QR code: {e}"))?;
    Ok(bytes)
}

fn default_columns() -> u8 {
    2
}

/// Renders the component `name` from its block body, which starts at byte `offset` of the file.
pub fn render(
    ctx: &RenderContext<'_>,
    name: &str,
    body: &str,
    offset: usize,
    sink: &mut dyn ImageSink,
) -> Result<String, RenderError> {
    let first_line = ctx.position(offset).0;
    let theme = ctx.theme;
    match name {
        "artifact" => {
            let card: Artifact = parse_yaml(ctx, body, first_line)?;
            let rows = [
                ("年代", &card.period),
                ("材质", &card.material),
                ("尺寸", &card.dimensions),
                ("藏品编号", &card.number),
            ];
            let parts =
                CardParts { title: &card.name, image: &card.image, rows: &rows, description: &card.description };
            info_card(theme, "artifact", &parts, first_line, sink)
        }
        "exhibition" => {
            let show: Exhibition = parse_yaml(ctx, body, first_line)?;
            let rows = [("展期", &show.dates), ("地点", &show.venue), ("预约", &show.booking)];
            let parts =
                CardParts { title: &show.title, image: &show.image, rows: &rows, description: &show.description };
            info_card(theme, "exhibition", &parts, first_line, sink)
        }
        "gallery" => {
            let gallery: Gallery = parse_yaml(ctx, body, first_line)?;
            if gallery.images.is_empty() || !(2..=3).contains(&gallery.columns) {
                return Err(ctx.error_at(offset, "gallery: give `images:` (at least one) and `columns:` 2 or 3".into()));
            }
            // inline-block cells: WeChat keeps them, unlike flex or grid in older clients.
            let width = if gallery.columns == 2 { "48%" } else { "31.5%" };
            let mut html = format!("<section{}>", theme.attr("gallery"));
            for image in &gallery.images {
                let src = sink.request(&image.src, first_line, super::ImageRole::Body)?;
                let cell = format!(
                    "display: inline-block; vertical-align: top; width: {width}; margin: 0 0.75% 8px 0.75%; {}",
                    theme.style("gallery_cell")
                );
                html.push_str(&format!("<section{}>", super::theme::style_attr(cell.trim())));
                html.push_str(&figure(theme, &src, &image.caption, &image.caption));
                html.push_str("</section>");
            }
            html.push_str("</section>");
            Ok(html)
        }
        "qr" => {
            let qr: Qr = parse_yaml(ctx, body, first_line)?;
            if !(qr.url.starts_with("https://") || qr.url.starts_with("http://")) {
                return Err(ctx.error_at(offset, format!("qr: `url` must be an http(s) address, not `{}`", qr.url)));
            }
            let png = qr_png(&qr.url).map_err(|m| ctx.error_at(offset, format!("qr: {m}")))?;
            let src = sink.generated(
                &format!("qr-{}.png", &hex::encode(sha2::Sha256::digest(qr.url.as_bytes()))[..12]),
                png,
                first_line,
            )?;
            let caption = qr.caption.unwrap_or_else(|| "长按或扫描二维码".into());
            Ok(figure(theme, &src, &caption, &caption))
        }
        "reveal" => drawn(ctx, body, offset, first_line, sink, reveal_svg),
        "compare" => drawn(ctx, body, offset, first_line, sink, compare_svg),
        "fold" => drawn(ctx, body, offset, first_line, sink, fold_svg),
        "booking" => drawn(ctx, body, offset, first_line, sink, booking_card),
        "video" => {
            // The same reading as the item's list of videos (`Item::video_blocks`), which the
            // yearly figures count.
            let block = crate::content::parse_video_block(body, first_line).map_err(|e| RenderError::Source {
                file: ctx.file.to_path_buf(),
                line: first_line + e.line - 1,
                column: e.column,
                message: format!("in this video block: {}", e.message),
            })?;
            Ok(video_placeholder(theme, &block))
        }
        "note" => {
            let mut html = format!("<section{}><p{}>编者按</p>", theme.attr("note"), theme.attr("note_title"));
            for paragraph in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                html.push_str(&format!("<p{}>", theme.attr("p")));
                push_escaped(&mut html, &paragraph.replace('\n', ""));
                html.push_str("</p>");
            }
            theme.drop_last_paragraph_margin(&mut html, 0);
            html.push_str("</section>");
            Ok(html)
        }
        _ => unreachable!("only COMPONENT_NAMES are dispatched here"),
    }
}

fn booking_card(
    ctx: &RenderContext<'_>,
    booking: &Booking,
    offset: usize,
    first_line: usize,
    sink: &mut dyn ImageSink,
) -> Result<String, RenderError> {
    let configured = || ctx.miniprograms.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
    let (name, program) = match &booking.program {
        Some(name) => match ctx.miniprograms.get(name) {
            Some(program) => (name.as_str(), program),
            None => {
                return Err(ctx.error_at(
                    offset,
                    format!(
                        "booking: no mini program `{name}` in publish.toml — add [miniprograms.{name}] with its appid{}",
                        if ctx.miniprograms.is_empty() { String::new() } else { format!(", or use one of: {}", configured()) }
                    ),
                ));
            }
        },
        None if ctx.miniprograms.len() == 1 => {
            let (name, program) = ctx.miniprograms.iter().next().expect("one mini program");
            (name.as_str(), program)
        }
        None => {
            return Err(ctx.error_at(
                offset,
                if ctx.miniprograms.is_empty() {
                    "booking: no mini program is configured — add [miniprograms.NAME] with appid, path and title to publish.toml".to_string()
                } else {
                    format!("booking: name the mini program with `program:` (one of: {})", configured())
                },
            ));
        }
    };
    if !crate::config::is_miniprogram_appid(&program.appid) {
        return Err(ctx.error_at(
            offset,
            format!(
                "booking: [miniprograms.{name}] appid `{}` is not a mini program AppID (wx followed by 16 hex digits; see 小程序管理 in the web backend)",
                program.appid
            ),
        ));
    }
    let path = booking.path.clone().unwrap_or_else(|| program.path.clone());
    if path.trim().is_empty() {
        return Err(
            ctx.error_at(offset, format!("booking: which page? give `path:` here or `path` in [miniprograms.{name}]"))
        );
    }
    let title = booking
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| if program.title.is_empty() { "预约参观".to_string() } else { program.title.clone() });
    let data = format!(
        "data-miniprogram-appid=\"{}\" data-miniprogram-path=\"{}\"",
        escape_attr(&program.appid),
        escape_attr(&path)
    );
    let wrapper = ctx.theme.attr("booking");
    match &booking.image {
        // The card WeChat draws: its picture must be an uploadimg URL, like body images.
        Some(image) => {
            let src = sink.request(image, first_line, super::ImageRole::Body)?;
            Ok(format!(
                "<section{wrapper}><mp-miniprogram {data} data-miniprogram-title=\"{}\" data-miniprogram-imageurl=\"{}\"></mp-miniprogram></section>",
                escape_attr(&title),
                escape_attr(&src)
            ))
        }
        None => {
            let mut html = format!("<p{wrapper}><a {data} href=\"\"{}>", ctx.theme.attr("a"));
            push_escaped(&mut html, booking.text.as_deref().unwrap_or(&title));
            html.push_str("</a></p>");
            Ok(html)
        }
    }
}

/// The text that opens a video placeholder: the publisher knows a draft still waits for its
/// video by finding it in the draft's visible text.
pub const VIDEO_PLACEHOLDER_MARKER: &str = "在此插入视频：";

/// A box's look when the theme leaves `video` unstyled: it must stand out in any theme.
const VIDEO_BOX_STYLE: &str = "margin: 0 0 20px 0; padding: 16px 14px; border: 2px dashed #999999; border-radius: 6px; text-align: center; color: #444444";
const VIDEO_TEXT_STYLE: &str = "margin: 0; font-size: 16px; font-weight: bold";
const VIDEO_NOTE_STYLE: &str = "margin: 6px 0 0 0; font-size: 14px";

/// A duration as readers say it: `3 分 20 秒`, `1 小时 2 分`, `45 秒`, `1 小时 5 秒`.
pub fn format_duration(seconds: u32) -> String {
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut parts = Vec::new();
    if hours > 0 {
        parts.push(format!("{hours} 小时"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes} 分"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds} 秒"));
    }
    parts.join(" ")
}

/// The placeholder box of a `video` block, which an editor replaces by the video in the web
/// backend: `在此插入视频：修复过程（3 分 20 秒）`, and the note on a line of its own. Plain
/// sections and paragraphs with inline styles, which WeChat's editor keeps as they are.
fn video_placeholder(theme: &Theme, block: &crate::content::VideoBlock) -> String {
    let attr = |key: &str, fallback: &str| {
        if theme.style(key).trim().is_empty() {
            super::theme::style_attr(fallback)
        } else {
            theme.attr(key).to_string()
        }
    };
    let mut html = format!("<section{}><p{}>", attr("video", VIDEO_BOX_STYLE), attr("video_text", VIDEO_TEXT_STYLE));
    push_escaped(
        &mut html,
        &format!("{VIDEO_PLACEHOLDER_MARKER}{}（{}）", block.title, format_duration(block.seconds)),
    );
    html.push_str("</p>");
    if let Some(note) = &block.note {
        html.push_str(&format!("<p{}>", attr("video_note", VIDEO_NOTE_STYLE)));
        push_escaped(&mut html, note);
        html.push_str("</p>");
    }
    html.push_str("</section>");
    html
}

/// Whether `html` still shows a video placeholder: its visible text (tags left out, entities
/// decoded) holds [`VIDEO_PLACEHOLDER_MARKER`]. Reads WeChat's stored copy of a draft as well
/// as wxpub's own HTML, whatever markup the editor wrapped around the text.
pub fn has_video_placeholder(html: &str) -> bool {
    // Not a search of the markup: the marker may be split by tags or written as character
    // references, and an attribute or comment holding it is not a placeholder.
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        text.push_str(&rest[..at]);
        rest = &rest[at..];
        rest = match rest.strip_prefix("<!--") {
            Some(comment) => comment.find("-->").map_or("", |end| &comment[end + 3..]),
            None if rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') => {
                crate::util::html::skip_tag(rest)
            }
            None => {
                text.push('<');
                &rest[1..]
            }
        };
    }
    text.push_str(rest);
    decode_character_references(&crate::util::html::decode_entities(&text)).contains(VIDEO_PLACEHOLDER_MARKER)
}

/// `text` with its numeric character references (`&#22312;`, `&#xFF1A;`) decoded.
fn decode_character_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let digits = &rest[2..];
        let (radix, digits) = match digits.strip_prefix(['x', 'X']) {
            Some(hex) => (16, hex),
            None => (10, digits),
        };
        let decoded = digits.find(';').filter(|end| (1..=8).contains(end)).and_then(|end| {
            let c = u32::from_str_radix(&digits[..end], radix).ok().and_then(char::from_u32)?;
            Some((c, &digits[end + 1..]))
        });
        match decoded {
            Some((c, after)) => {
                out.push(c);
                rest = after;
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// An image with an optional caption.
pub fn figure(theme: &Theme, src: &str, alt: &str, caption: &str) -> String {
    let mut html = format!(
        "<figure{}><img src=\"{}\" alt=\"{}\"{}>",
        theme.attr("figure"),
        escape_attr(src),
        escape_attr(alt),
        theme.attr("img")
    );
    if !caption.is_empty() {
        html.push_str(&format!("<figcaption{}>", theme.attr("figcaption")));
        push_escaped(&mut html, caption);
        html.push_str("</figcaption>");
    }
    html.push_str("</figure>");
    html
}

/// What an artifact card and an exhibition box have in common.
struct CardParts<'a> {
    title: &'a str,
    image: &'a Option<String>,
    rows: &'a [(&'a str, &'a Option<String>)],
    description: &'a Option<String>,
}

/// A boxed card: optional image, title, labelled rows, description. `style` names the theme keys
/// (`artifact`, `artifact_title`, `artifact_field`, `artifact_label`; the same for `exhibition`).
fn info_card(
    theme: &Theme,
    style: &str,
    parts: &CardParts<'_>,
    line: usize,
    sink: &mut dyn ImageSink,
) -> Result<String, RenderError> {
    let (field, label) = (format!("{style}_field"), format!("{style}_label"));
    let mut html = format!("<section{}>", theme.attr(style));
    if let Some(image) = parts.image {
        let src = sink.request(image, line, super::ImageRole::Body)?;
        html.push_str(&figure(theme, &src, parts.title, ""));
    }
    html.push_str(&format!("<p{}>", theme.attr(&format!("{style}_title"))));
    push_escaped(&mut html, parts.title);
    html.push_str("</p>");
    push_rows(&mut html, theme, &field, &label, parts.rows);
    push_description(&mut html, theme, &field, parts.description);
    html.push_str("</section>");
    Ok(html)
}

fn push_rows(html: &mut String, theme: &Theme, field: &str, label: &str, rows: &[(&str, &Option<String>)]) {
    for (name, value) in rows {
        if let Some(value) = value {
            html.push_str(&format!("<p{}><span{}>{name}</span>", theme.attr(field), theme.attr(label)));
            push_escaped(html, value);
            html.push_str("</p>");
        }
    }
}

fn push_description(html: &mut String, theme: &Theme, field: &str, description: &Option<String>) {
    if let Some(text) = description {
        html.push_str(&format!("<p{}>", theme.attr(field)));
        push_escaped(html, text.trim());
        html.push_str("</p>");
    }
}

/// What draws a block read as `T`: its context, the block, its offset and first line, where
/// its images go.
type Draw<T> = fn(&RenderContext<'_>, &T, usize, usize, &mut dyn ImageSink) -> Result<String, RenderError>;

/// The block whose YAML `body` reads as `T`, drawn by `draw`.
fn drawn<T: serde::de::DeserializeOwned>(
    ctx: &RenderContext<'_>,
    body: &str,
    offset: usize,
    first_line: usize,
    sink: &mut dyn ImageSink,
    draw: Draw<T>,
) -> Result<String, RenderError> {
    let block: T = parse_yaml(ctx, body, first_line)?;
    draw(ctx, &block, offset, first_line, sink)
}

fn parse_yaml<T: serde::de::DeserializeOwned>(
    ctx: &RenderContext<'_>,
    body: &str,
    first_line: usize,
) -> Result<T, RenderError> {
    crate::util::diagnostics::parse_yaml(body).map_err(|e| RenderError::Source {
        file: ctx.file.to_path_buf(),
        line: first_line + e.line - 1,
        column: e.column,
        message: format!("in this component block: {}", e.message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_readers_say_them() {
        assert_eq!(format_duration(200), "3 分 20 秒");
        assert_eq!(format_duration(3720), "1 小时 2 分");
        assert_eq!(format_duration(45), "45 秒");
        assert_eq!(format_duration(180), "3 分");
        assert_eq!(format_duration(3605), "1 小时 5 秒");
    }

    fn block(note: Option<&str>) -> crate::content::VideoBlock {
        crate::content::VideoBlock {
            title: "修复过程 <1>".into(),
            duration: "3:20".into(),
            seconds: 200,
            note: note.map(str::to_string),
            line: 1,
        }
    }

    #[test]
    fn the_placeholder_box_says_what_to_insert_and_survives_the_sanitizer() {
        let theme = Theme::parse(
            "t",
            "[styles]\nvideo = \"border: 2px dashed #b8860b; padding: 16px\"\nvideo_text = \"color: #5b3a1e\"\n",
        )
        .unwrap();
        let html = video_placeholder(&theme, &block(Some("放在第二段之后")));
        assert_eq!(super::super::sanitize::audit(&html), [], "WeChat's rules remove nothing: {html}");
        let html = super::super::sanitize::sanitize(&html);
        assert!(html.contains("在此插入视频：修复过程 &lt;1&gt;（3 分 20 秒）</p>"), "{html}");
        assert!(html.contains("border:2px dashed #b8860b"), "{html}");
        assert!(html.contains(">放在第二段之后</p></section>"), "the note on a line of its own: {html}");
        assert!(has_video_placeholder(&html));
        // A theme without the keys still draws a box that stands out; no note, no second line.
        let html = video_placeholder(&Theme::parse("bare", "[styles]\n").unwrap(), &block(None));
        assert!(html.contains("dashed") && html.matches("<p").count() == 1, "{html}");
    }

    #[test]
    fn a_placeholder_is_found_in_the_visible_text_only() {
        assert!(has_video_placeholder("<p>在此插入视频：修复过程（3 分 20 秒）</p>"));
        // As WeChat's editor may store it: split by markup, or as character references.
        assert!(has_video_placeholder("<p><span>在此插入</span><strong>视频</strong>：修复过程</p>"));
        assert!(has_video_placeholder("<p>&#22312;&#27492;插入视频&#xFF1A;修复过程</p>"));
        assert!(!has_video_placeholder("<p>视频：修复过程</p><mpvideo data-title=\"修复过程\"></mpvideo>"));
        assert!(!has_video_placeholder("<p title=\"在此插入视频：\">已插入</p><!-- 在此插入视频： -->"));
        assert!(!has_video_placeholder("<p>在此插入<!-- x -->图片：a</p>"));
    }
}
