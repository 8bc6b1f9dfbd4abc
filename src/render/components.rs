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

use super::markdown::{escape_attr, push_escaped};
use super::theme::Theme;
use super::{ImageSink, RenderContext, RenderError};

pub const COMPONENT_NAMES: &[&str] = &["artifact", "exhibition", "gallery", "note", "qr"];

/// The bullet drawn before unordered list items (WeChat resets list markers).
pub const BULLET: &str = "•";

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
        "note" => {
            let mut html = format!("<section{}><p{}>编者按</p>", theme.attr("note"), theme.attr("note_title"));
            for paragraph in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                html.push_str(&format!("<p{}>", theme.attr("p")));
                push_escaped(&mut html, &paragraph.replace('\n', ""));
                html.push_str("</p>");
            }
            html.push_str("</section>");
            Ok(html)
        }
        _ => unreachable!("only COMPONENT_NAMES are dispatched here"),
    }
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

fn parse_yaml<T: serde::de::DeserializeOwned>(
    ctx: &RenderContext<'_>,
    body: &str,
    first_line: usize,
) -> Result<T, RenderError> {
    crate::diagnostics::parse_yaml(body).map_err(|e| RenderError::Source {
        file: ctx.file.to_path_buf(),
        line: first_line + e.line - 1,
        column: e.column,
        message: format!("in this component block: {}", e.message),
    })
}
