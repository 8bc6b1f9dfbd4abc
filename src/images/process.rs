//! PROCESS: one source image → one WeChat-ready file. Decode (JPEG with DCT scaling), apply the
//! EXIF orientation, drop every piece of metadata (re-encoding from pixels writes none), resize
//! without upscaling, and encode under the size limit by searching the JPEG quality.
use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, RgbImage};
use wxpub_imaging as imaging;

use super::{ImageRole, ImageSettings};

/// The result of processing: encoded bytes and what happened on the way.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
    /// Things an editor should know (downscaled to fit, ICC profile dropped, …).
    pub notes: Vec<String>,
    /// Cover only: the processed cover, decoded, for the crop previews.
    pub pixels: Option<RgbImage>,
}

/// Why an image could not be processed; the caller adds the file and the item.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{0}")]
    Refused(String),
    #[error("cannot decode it ({0}); is the file complete and really an image?")]
    Corrupt(String),
}

/// Whether declared dimensions are within `[images] max_megapixels` and `max_side`: checked on
/// the header, before anything is allocated. `check` asks the same question.
pub fn refuse_dimensions(width: u32, height: u32, settings: &ImageSettings) -> Option<String> {
    let megapixels = width as f64 * height as f64 / 1e6;
    if megapixels > settings.max_megapixels {
        return Some(format!(
            "{width}×{height} is {megapixels:.0} megapixels, over [images] max_megapixels = {}; refused before decoding — scale it down first",
            settings.max_megapixels
        ));
    }
    if width.max(height) > settings.max_side {
        return Some(format!(
            "{width}×{height} has a side over [images] max_side = {} px; refused before decoding — crop or scale it first",
            settings.max_side
        ));
    }
    None
}

/// What any decoder may allocate: no side over `max_side`, and no more than `max_megapixels` of
/// RGBA pixels (plus room for a decoder's own tables). This also holds for what the header does
/// not declare, such as a GIF frame far larger than its logical screen.
pub fn decoder_limits(settings: &ImageSettings) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(settings.max_side);
    limits.max_image_height = Some(settings.max_side);
    limits.max_alloc = Some((settings.max_megapixels * 1e6 * 4.0) as u64 + (64 << 20));
    limits
}

/// An error from the image crate: a limit is a refusal with the reason, anything else corrupt.
fn decoding_error(e: image::ImageError) -> ProcessError {
    match e {
        image::ImageError::Limits(limit) => ProcessError::Refused(format!(
            "decoding it would need more memory than [images] max_megapixels / max_side allow ({limit}); the file declares more than it shows — re-export it"
        )),
        other => ProcessError::Corrupt(other.to_string()),
    }
}

/// An error of the pixel work: a decoding error as [`decoding_error`] says, a broken file
/// corrupt, a failed resize or encode refused.
fn pixel_error(e: imaging::Error) -> ProcessError {
    match e {
        imaging::Error::Image(e) => decoding_error(e),
        imaging::Error::Corrupt(message) => ProcessError::Corrupt(message),
        imaging::Error::Failed(message) => ProcessError::Refused(message),
    }
}

/// Reads only the header: format and dimensions. Refuses decompression bombs before decoding.
pub fn probe(bytes: &[u8], settings: &ImageSettings) -> Result<(ImageFormat, u32, u32), ProcessError> {
    let reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    let format =
        reader.format().ok_or_else(|| ProcessError::Refused("not a JPEG, PNG, WebP, GIF or BMP image".into()))?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif | ImageFormat::Bmp)
    {
        return Err(ProcessError::Refused(format!(
            "{format:?} images are not supported (use JPEG, PNG, WebP, GIF or BMP)"
        )));
    }
    let (width, height) = reader.into_dimensions().map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    if let Some(refusal) = refuse_dimensions(width, height, settings) {
        return Err(ProcessError::Refused(refusal));
    }
    Ok((format, width, height))
}

/// Counts the frames of a GIF (decoding them one at a time, each within the decoder limits).
pub fn gif_frames(bytes: &[u8], settings: &ImageSettings) -> Result<usize, ProcessError> {
    imaging::gif_frames(bytes, decoder_limits(settings), usize::MAX).map_err(pixel_error)
}

/// Decodes a non-JPEG image whole (for analysis such as `check`'s dark-mode rule), within the
/// decoder limits.
pub fn decode_limited(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImageSettings,
) -> Result<DynamicImage, ProcessError> {
    probe(bytes, settings)?;
    imaging::decode_plain(bytes, format, decoder_limits(settings)).map_err(pixel_error)
}

/// Decodes, orients, resizes and encodes one image for `role`.
pub fn process(
    bytes: &[u8],
    format: ImageFormat,
    role: &ImageRole,
    settings: &ImageSettings,
) -> Result<Encoded, ProcessError> {
    let mut notes = Vec::new();
    let image = decode(bytes, format, settings, &mut notes)?;
    let transparent = imaging::has_transparency(&image);
    let as_png = transparent || (format != ImageFormat::Jpeg && imaging::is_flat_graphic(&image));
    let limit = role.byte_limit(settings);

    let mut width = image.width().min(settings.max_width);
    loop {
        let resized = imaging::resize(&image, width, transparent).map_err(pixel_error)?;
        let (encoded, extension) = if as_png {
            (encode_png(&resized)?, "png")
        } else {
            let rgb = imaging::to_rgb(&resized);
            match encode_jpeg_under(&rgb, settings, limit)? {
                Some(bytes) => (bytes, "jpg"),
                None => (Vec::new(), "jpg"),
            }
        };
        if !encoded.is_empty() && encoded.len() <= limit {
            if width < image.width().min(settings.max_width) {
                notes.push(format!("downscaled to {width} px wide to fit under {} KB", limit / 1024));
            }
            let pixels = matches!(role, ImageRole::Cover { .. }).then(|| imaging::to_rgb(&resized));
            return Ok(Encoded {
                bytes: encoded,
                extension,
                width: resized.width(),
                height: resized.height(),
                notes,
                pixels,
            });
        }
        // Still too large at the lowest allowed quality: scale down and try again.
        let next = (width as f64 * 0.85) as u32;
        if next < 64 {
            return Err(ProcessError::Refused(format!("cannot get it under {} KB even at 64 px wide", limit / 1024)));
        }
        width = next;
    }
}

fn decode(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImageSettings,
    notes: &mut Vec<String>,
) -> Result<DynamicImage, ProcessError> {
    let decoded = imaging::decode(bytes, format, decoder_limits(settings), settings.max_width).map_err(pixel_error)?;
    if decoded.had_icc_profile {
        notes.push("ICC colour profile dropped (colours are treated as sRGB)".into());
    }
    Ok(decoded.image)
}

pub fn encode_jpeg(rgb: &RgbImage, quality: u8) -> Result<Vec<u8>, ProcessError> {
    imaging::encode_jpeg(rgb, quality).map_err(pixel_error)
}

/// The best quality between `[images] jpeg_quality_min` and `_max` whose file fits in `limit`
/// (binary search: a handful of encodes), or None when even the lowest does not fit.
fn encode_jpeg_under(rgb: &RgbImage, settings: &ImageSettings, limit: usize) -> Result<Option<Vec<u8>>, ProcessError> {
    let top = encode_jpeg(rgb, settings.jpeg_quality_max)?;
    if top.len() <= limit {
        return Ok(Some(top));
    }
    let (mut low, mut high) = (settings.jpeg_quality_min, settings.jpeg_quality_max - 1);
    let mut best = None;
    while low <= high {
        let mid = low + (high - low) / 2;
        let bytes = encode_jpeg(rgb, mid)?;
        if bytes.len() <= limit {
            best = Some(bytes);
            low = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            high = mid - 1;
        }
    }
    Ok(best)
}

fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, ProcessError> {
    imaging::encode_png(image).map_err(pixel_error)
}
