//! The rules on images: each reference's path, file, format and limits, the cover's size, PNGs
//! that vanish in dark mode, and what an image post (贴图) may hold.
use std::path::Path;

use pulldown_cmark::{Event, Parser, Tag};

use super::{Context, at_key, at_offset, diag};
use crate::content::{self, Item};
use crate::images::{SourcePathProblem, check_source_path};
use crate::render::markdown;
use crate::util::diagnostics::{Diagnostic, Rule};

const SMALL_IMAGE_WIDTH: u32 = 400;

/// An image post (贴图) is 1–20 photos and short plain text: what cannot be plain text is named
/// at its line, before anything is uploaded.
pub(super) fn check_image_post(item: &Item) -> Vec<Diagnostic> {
    use crate::wechat::limits::{NEWSPIC_MAX_IMAGES, NEWSPIC_MAX_TEXT_CHARS};
    let mut out = Vec::new();
    let mut photos = usize::from(item.meta.image.is_some());
    let plain = "an image post is photos and plain text";
    for (event, range) in Parser::new_ext(item.body(), markdown::options()).into_offset_iter() {
        let problem = match &event {
            Event::Start(Tag::Image { .. }) => {
                photos += 1;
                None
            }
            Event::Html(_) | Event::InlineHtml(_) => Some("raw HTML"),
            Event::Start(Tag::Table(_)) => Some("a table"),
            Event::Start(Tag::CodeBlock(_)) => Some("a code block or component"),
            Event::Start(Tag::FootnoteDefinition(_)) => Some("a footnote"),
            _ => None,
        };
        if let Some(what) = problem {
            out.push(at_offset(
                item,
                range.start,
                Rule::ImagePost,
                format!("{what} in an image post: WeChat takes its text as plain text only"),
                &format!("{plain}: remove it, or make this item an article (drop `format: image-post`)"),
            ));
        }
    }
    if photos == 0 || photos > NEWSPIC_MAX_IMAGES {
        out.push(at_key(
            item,
            "format",
            Rule::ImagePost,
            format!("an image post takes 1 to {NEWSPIC_MAX_IMAGES} photos; this one has {photos}"),
            "put the photos in the body as ![caption](photo.jpg) (a poster's `image` comes first), or split it",
        ));
    }
    let text = markdown::plain_text(item.body());
    if crate::util::html::has_markup(&text) {
        out.push(at_key(
            item,
            "format",
            Rule::ImagePost,
            "the image post's text would contain something WeChat reads as a tag (`<b>` in code or escaped)".into(),
            "write it without angle brackets, or use 〈〉",
        ));
    }
    let chars = text.chars().count();
    if chars > NEWSPIC_MAX_TEXT_CHARS {
        out.push(at_key(
            item,
            "format",
            Rule::ImagePost,
            format!("an image post's text is {chars} characters; WeChat takes {NEWSPIC_MAX_TEXT_CHARS}"),
            "shorten the text, or make this item an article",
        ));
    }
    out
}

pub(super) fn check_cover(item: &Item, cover: &str, ctx: &Context<'_>) -> Vec<Diagnostic> {
    let line = content::key_line(item, "cover");
    let mut out = check_image_file(item, cover, line, 1, ctx, false);
    if out.is_empty()
        && let Some((w, h)) = image_size(ctx, &item.dir.join(cover))
    {
        let wide_w = (w as f64).min(h as f64 * 2.35);
        let square = w.min(h);
        if wide_w < 900.0 || wide_w / 2.35 < 383.0 || square < 300 {
            out.push(diag(
                item,
                line,
                1,
                Rule::CoverSize,
                format!("cover is {w}×{h}: too small for a sharp 2.35:1 crop (900×383) and 1:1 crop (300×300)"),
                "use a larger cover image",
            ));
        }
    }
    out
}

/// An image's dimensions from its header (read again only when the file changed).
fn image_size(ctx: &Context<'_>, path: &Path) -> Option<(u32, u32)> {
    let metadata = std::fs::metadata(path).ok()?;
    ctx.hashes.dimensions(path, &metadata, read_dimensions)
}

fn read_dimensions(path: &Path) -> Option<(u32, u32)> {
    image::ImageReader::open(path).ok()?.with_guessed_format().ok()?.into_dimensions().ok()
}

/// Path, existence, format and limits of one image reference.
pub(super) fn check_image_file(
    item: &Item,
    src: &str,
    line: usize,
    column: usize,
    ctx: &Context<'_>,
    body: bool,
) -> Vec<Diagnostic> {
    let d = |rule, message: String, hint: &str| vec![diag(item, line, column, rule, message, hint)];
    match check_source_path(src) {
        Ok(()) => {}
        Err(SourcePathProblem::Outside) => {
            return d(
                Rule::ImagePath,
                format!("outside image `{src}`"),
                "WeChat removes images not uploaded through it: save the file beside index.md",
            );
        }
        Err(SourcePathProblem::LeavesFolder) => {
            return d(
                Rule::ImagePath,
                format!("image path `{src}` leaves the item's folder"),
                "put the image beside index.md",
            );
        }
        Err(SourcePathProblem::Format(extension)) => {
            return d(
                Rule::ImageFormat,
                format!("`{src}`: `.{extension}` is not a supported image format"),
                "use JPEG, PNG, GIF, WebP or BMP",
            );
        }
    }
    let relative = Path::new(src);
    let extension = relative.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    let path = item.dir.join(relative);
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => metadata,
        Ok(_) => {
            return d(
                Rule::ImageFormat,
                format!("`{src}` is not a regular file (a folder, pipe or device)"),
                "put the image file itself there",
            );
        }
        Err(_) => {
            return d(
                Rule::ImageMissing,
                format!("image `{src}` not found"),
                "check the file name (it is case-sensitive) and that the file is committed",
            );
        }
    };
    let Some((w, h)) = ctx.hashes.dimensions(&path, &metadata, read_dimensions) else {
        return d(
            Rule::ImageFormat,
            format!("`{src}` has no readable image header"),
            "re-export the image; the file may be damaged or mislabelled",
        );
    };
    let settings = &ctx.config.images;
    if let Some(refusal) = crate::images::refuse_dimensions(w, h, settings) {
        return d(Rule::ImageLimit, format!("`{src}`: {refusal}"), "scale it down before adding it");
    }
    if extension == "gif" {
        let size = metadata.len();
        if size > settings.material_max_bytes {
            return d(
                Rule::ImageLimit,
                format!(
                    "GIF `{src}` is {:.1} MB, over the {:.0} MB material limit",
                    size as f64 / 1048576.0,
                    settings.material_max_bytes as f64 / 1048576.0
                ),
                "shorten it, reduce colours or size, or publish it as a video",
            );
        }
    }
    if extension == "png"
        && let Some(share) = dark_on_transparent(&path, settings)
    {
        return d(
            Rule::DarkTransparentImage,
            format!(
                "`{src}` is transparent and {:.0} % of its visible pixels are dark: it vanishes in dark mode",
                share * 100.0
            ),
            "flatten it onto a white (or light) background before adding it",
        );
    }
    if body && w < SMALL_IMAGE_WIDTH {
        return d(
            Rule::ImageSmall,
            format!("`{src}` is only {w} px wide"),
            "use an image at least 400 px wide (1080 px is ideal)",
        );
    }
    Vec::new()
}

/// A PNG with transparency whose visible pixels are mostly dark: on WeChat's dark background
/// (#191919) it all but disappears.
pub fn dark_on_transparent(path: &Path, settings: &crate::config::Images) -> Option<f64> {
    let bytes = std::fs::read(path).ok()?;
    if !bytes.starts_with(b"\x89PNG") {
        return None;
    }
    let image = crate::images::decode_limited(&bytes, image::ImageFormat::Png, settings).ok()?;
    if !image.color().has_alpha() {
        return None;
    }
    let rgba = image.to_rgba8();
    let (mut transparent, mut visible, mut dark) = (0u64, 0u64, 0u64);
    for pixel in rgba.pixels() {
        let [r, g, b, a] = pixel.0;
        if a < 128 {
            transparent += 1;
            continue;
        }
        visible += 1;
        let brightness = (f64::from(r) * 299.0 + f64::from(g) * 587.0 + f64::from(b) * 114.0) / 1000.0;
        // Less than the 65 brightness steps the dark-mode text rule asks for over #191919.
        if brightness < 25.0 + 65.0 {
            dark += 1;
        }
    }
    let total = transparent + visible;
    (total > 0 && transparent * 10 >= total && visible > 0 && dark * 2 > visible).then(|| dark as f64 / visible as f64)
}
