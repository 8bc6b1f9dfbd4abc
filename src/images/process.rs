//! PROCESS: one source image → one WeChat-ready file. Decode (JPEG with DCT scaling), apply the
//! EXIF orientation, drop every piece of metadata (re-encoding from pixels writes none), resize
//! without upscaling, and encode under the size limit by searching the JPEG quality.
use std::io::Cursor;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage, RgbaImage, metadata::Orientation};

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
    use image::AnimationDecoder;
    let mut decoder =
        image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    decoder.set_limits(decoder_limits(settings)).map_err(decoding_error)?;
    let mut frames = 0;
    for frame in decoder.into_frames() {
        frame.map_err(decoding_error)?;
        frames += 1;
    }
    Ok(frames)
}

/// Decodes a non-JPEG image whole (for analysis such as `check`'s dark-mode rule), within the
/// decoder limits.
pub fn decode_limited(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImageSettings,
) -> Result<DynamicImage, ProcessError> {
    probe(bytes, settings)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(settings));
    reader.decode().map_err(decoding_error)
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
    let transparent = has_transparency(&image);
    let as_png = transparent || (format != ImageFormat::Jpeg && is_flat_graphic(&image));
    let limit = role.byte_limit(settings);

    let mut width = image.width().min(settings.max_width);
    loop {
        let resized = resize(&image, width, transparent)?;
        let (encoded, extension) = if as_png {
            (encode_png(&resized)?, "png")
        } else {
            let rgb = resized.to_rgb8();
            match encode_jpeg_under(&rgb, settings, limit)? {
                Some(bytes) => (bytes, "jpg"),
                None => (Vec::new(), "jpg"),
            }
        };
        if !encoded.is_empty() && encoded.len() <= limit {
            if width < image.width().min(settings.max_width) {
                notes.push(format!("downscaled to {width} px wide to fit under {} KB", limit / 1024));
            }
            let pixels = matches!(role, ImageRole::Cover { .. }).then(|| resized.to_rgb8());
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
    if format == ImageFormat::Jpeg {
        return decode_jpeg(bytes, settings.max_width, notes);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(settings));
    let mut decoder = reader.into_decoder().map_err(decoding_error)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    if decoder.icc_profile().ok().flatten().is_some() {
        notes.push("ICC colour profile dropped (colours are treated as sRGB)".into());
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(decoding_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// JPEG decoding with DCT scaling: a 24 MP photo headed for 1080 px is decoded at 1/2, 1/4 or
/// 1/8 size directly, which is most of what makes libvips fast.
fn decode_jpeg(bytes: &[u8], max_width: u32, notes: &mut Vec<String>) -> Result<DynamicImage, ProcessError> {
    let corrupt = |e: jpeg_decoder::Error| ProcessError::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(corrupt)?;
    let info = decoder.info().ok_or_else(|| ProcessError::Corrupt("no JPEG header".into()))?;
    let orientation = decoder
        .exif_data()
        .and_then(|exif| Orientation::from_exif_chunk(exif.strip_prefix(b"Exif\0\0").unwrap_or(exif)))
        .unwrap_or(Orientation::NoTransforms);
    if decoder.icc_profile().is_some() {
        notes.push("ICC colour profile dropped (colours are treated as sRGB)".into());
    }
    // The output width is the source height when the orientation turns the image.
    let turned = matches!(
        orientation,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    );
    let (src_w, src_h) = (info.width as u32, info.height as u32);
    let output_width = if turned { src_h } else { src_w };
    let (width, height) = if output_width > max_width {
        // Ask for the final size in the source's own orientation and aspect: the decoder picks
        // the smallest DCT scale that still covers it.
        let (w, h) = if turned {
            ((max_width as u64 * src_w as u64).div_ceil(src_h as u64) as u32, max_width)
        } else {
            (max_width, (max_width as u64 * src_h as u64).div_ceil(src_w as u64) as u32)
        };
        decoder.scale(w.min(u16::MAX as u32) as u16, h.min(u16::MAX as u32) as u16).map_err(corrupt)?
    } else {
        (info.width, info.height)
    };
    let pixels = decoder.decode().map_err(corrupt)?;
    let (width, height) = (width as u32, height as u32);
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8),
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let gray: Vec<u8> = pixels.chunks_exact(2).map(|p| p[0]).collect();
            image::GrayImage::from_raw(width, height, gray).map(DynamicImage::ImageLuma8)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Adobe CMYK JPEGs store inverted values.
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = p[3] as u32;
                    [(p[0] as u32 * k / 255) as u8, (p[1] as u32 * k / 255) as u8, (p[2] as u32 * k / 255) as u8]
                })
                .collect();
            RgbImage::from_raw(width, height, rgb).map(DynamicImage::ImageRgb8)
        }
    }
    .ok_or_else(|| ProcessError::Corrupt("decoded size does not match the header".into()))?;
    let mut image = image;
    image.apply_orientation(orientation);
    Ok(image)
}

/// True when some pixel is not fully opaque.
fn has_transparency(image: &DynamicImage) -> bool {
    if !image.color().has_alpha() {
        return false;
    }
    image.to_rgba8().pixels().any(|p| p.0[3] < 255)
}

/// A drawing, chart or screenshot: few distinct colours. PNG keeps it crisp and small.
fn is_flat_graphic(image: &DynamicImage) -> bool {
    let rgb = image.to_rgb8();
    let mut seen = std::collections::HashSet::new();
    // A sample is enough to tell a photo (thousands of colours) from a flat graphic.
    let step = (rgb.pixels().len() / 20_000).max(1);
    for pixel in rgb.pixels().step_by(step) {
        seen.insert(pixel.0);
        if seen.len() > 256 {
            return false;
        }
    }
    true
}

fn resize(image: &DynamicImage, width: u32, keep_alpha: bool) -> Result<DynamicImage, ProcessError> {
    let failed = |e: &dyn std::fmt::Display| ProcessError::Refused(format!("resize failed: {e}"));
    if width >= image.width() {
        return Ok(if keep_alpha {
            DynamicImage::ImageRgba8(image.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(image.to_rgb8())
        });
    }
    let height = ((image.height() as f64 * width as f64 / image.width() as f64).round() as u32).max(1);
    let (source, pixel_type): (Vec<u8>, fr::PixelType) = if keep_alpha {
        (image.to_rgba8().into_raw(), fr::PixelType::U8x4)
    } else {
        (image.to_rgb8().into_raw(), fr::PixelType::U8x3)
    };
    let src =
        fr::images::Image::from_vec_u8(image.width(), image.height(), source, pixel_type).map_err(|e| failed(&e))?;
    let mut dst = fr::images::Image::new(width, height, pixel_type);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new().resize(&src, &mut dst, &options).map_err(|e| failed(&e))?;
    let raw = dst.into_vec();
    let resized = if keep_alpha {
        RgbaImage::from_raw(width, height, raw).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(width, height, raw).map(DynamicImage::ImageRgb8)
    };
    resized.ok_or_else(|| ProcessError::Refused("resize produced a wrong buffer size".into()))
}

pub fn encode_jpeg(rgb: &RgbImage, quality: u8) -> Result<Vec<u8>, ProcessError> {
    let mut out = Vec::new();
    // Not `set_optimized_huffman_tables(true)`: in jpeg-encoder 0.7.1 it corrupted the colours of
    // a small image here (a blue block decoded as dark green); the standard tables cost ~5 %.
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    let (w, h) = (u16::try_from(rgb.width()), u16::try_from(rgb.height()));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(ProcessError::Refused(format!("{}×{} is too large for JPEG", rgb.width(), rgb.height())));
    };
    encoder
        .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| ProcessError::Refused(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
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
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| ProcessError::Refused(format!("PNG encoding failed: {e}")))?;
    Ok(out.into_inner())
}
