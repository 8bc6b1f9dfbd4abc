//! The pixel work of `wxpub build` behind plain functions: decode (JPEG with DCT scaling, the
//! EXIF orientation applied), look at the pixels, resize, encode, crop.
//!
//! Every function here is non-generic on purpose: the codecs it calls are generic over their
//! reader or writer, and are compiled where they are instantiated — here, optimised, rather than
//! in wxpub, where a debug build would run them unoptimised (see Cargo.toml).
use std::io::Cursor;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage, RgbaImage, metadata::Orientation};

#[derive(Debug)]
pub enum Error {
    /// From the image crate (a limit, or a broken file).
    Image(image::ImageError),
    /// The file does not decode.
    Corrupt(String),
    /// It decodes, but cannot be resized or encoded as asked.
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Image(e) => write!(f, "{e}"),
            Error::Corrupt(message) | Error::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// A decoded image, oriented, and whether the file carried an ICC colour profile (dropped).
pub struct Decoded {
    pub image: DynamicImage,
    pub had_icc_profile: bool,
}

/// Decodes `bytes` of `format` within `limits`, with the EXIF orientation applied. A JPEG wider
/// than `max_width` is decoded at 1/2, 1/4 or 1/8 size directly (DCT scaling).
pub fn decode(bytes: &[u8], format: ImageFormat, limits: image::Limits, max_width: u32) -> Result<Decoded, Error> {
    if format == ImageFormat::Jpeg {
        return decode_jpeg(bytes, max_width);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(Error::Image)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let had_icc_profile = decoder.icc_profile().ok().flatten().is_some();
    let mut image = DynamicImage::from_decoder(decoder).map_err(Error::Image)?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, had_icc_profile })
}

/// Decodes a whole image of `format` within `limits`, as it is stored (no orientation).
pub fn decode_plain(bytes: &[u8], format: ImageFormat, limits: image::Limits) -> Result<DynamicImage, Error> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader.decode().map_err(Error::Image)
}

/// Counts a GIF's frames up to `stop_after` (decoding them one at a time, within `limits`).
pub fn gif_frames(bytes: &[u8], limits: image::Limits, stop_after: usize) -> Result<usize, Error> {
    use image::AnimationDecoder;
    let mut decoder =
        image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(|e| Error::Corrupt(e.to_string()))?;
    decoder.set_limits(limits).map_err(Error::Image)?;
    let mut frames = 0;
    for frame in decoder.into_frames() {
        frame.map_err(Error::Image)?;
        frames += 1;
        if frames >= stop_after {
            break;
        }
    }
    Ok(frames)
}

fn decode_jpeg(bytes: &[u8], max_width: u32) -> Result<Decoded, Error> {
    let corrupt = |e: jpeg_decoder::Error| Error::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(corrupt)?;
    let info = decoder.info().ok_or_else(|| Error::Corrupt("no JPEG header".into()))?;
    let orientation = decoder
        .exif_data()
        .and_then(|exif| Orientation::from_exif_chunk(exif.strip_prefix(b"Exif\0\0").unwrap_or(exif)))
        .unwrap_or(Orientation::NoTransforms);
    let had_icc_profile = decoder.icc_profile().is_some();
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
    .ok_or_else(|| Error::Corrupt("decoded size does not match the header".into()))?;
    let mut image = image;
    image.apply_orientation(orientation);
    Ok(Decoded { image, had_icc_profile })
}

/// True when some pixel is not fully opaque.
pub fn has_transparency(image: &DynamicImage) -> bool {
    if !image.color().has_alpha() {
        return false;
    }
    image.to_rgba8().pixels().any(|p| p.0[3] < 255)
}

/// A drawing, chart or screenshot: few distinct colours. PNG keeps it crisp and small.
pub fn is_flat_graphic(image: &DynamicImage) -> bool {
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

/// `image` at `width` (never wider than it is), as RGBA when `keep_alpha`, else RGB.
pub fn resize(image: &DynamicImage, width: u32, keep_alpha: bool) -> Result<DynamicImage, Error> {
    if width >= image.width() {
        return Ok(if keep_alpha {
            DynamicImage::ImageRgba8(image.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(image.to_rgb8())
        });
    }
    let height = ((image.height() as f64 * width as f64 / image.width() as f64).round() as u32).max(1);
    let (from, to) = ((image.width(), image.height()), (width, height));
    let resized = if keep_alpha {
        let raw = resize_pixels::<fr::pixels::U8x4>(image.to_rgba8().as_raw(), from, to)?;
        RgbaImage::from_raw(width, height, raw).map(DynamicImage::ImageRgba8)
    } else {
        let raw = resize_pixels::<fr::pixels::U8x3>(image.to_rgb8().as_raw(), from, to)?;
        RgbImage::from_raw(width, height, raw).map(DynamicImage::ImageRgb8)
    };
    resized.ok_or_else(|| Error::Failed("resize produced a wrong buffer size".into()))
}

/// Resizes raw pixels of type `P` from `from` to `to` (width, height). Typed, so that only the two
/// pixel types wxpub resizes are compiled: the untyped `Resizer::resize` instantiates the
/// convolutions of all thirteen, which made this crate the slowest of a cold build (199 s here,
/// against 105 s typed, both at opt-level 2).
fn resize_pixels<P: fr::PixelTrait>(source: &[u8], from: (u32, u32), to: (u32, u32)) -> Result<Vec<u8>, Error> {
    let failed = |e: &dyn std::fmt::Display| Error::Failed(format!("resize failed: {e}"));
    let src = fr::images::TypedImageRef::<P>::from_buffer(from.0, from.1, source).map_err(|e| failed(&e))?;
    let mut out = vec![0u8; to.0 as usize * to.1 as usize * P::size()];
    let mut dst = fr::images::TypedImage::<P>::from_buffer(to.0, to.1, &mut out).map_err(|e| failed(&e))?;
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new().resize_typed(&src, &mut dst, &options).map_err(|e| failed(&e))?;
    Ok(out)
}

/// The image's pixels as RGB.
pub fn to_rgb(image: &DynamicImage) -> RgbImage {
    image.to_rgb8()
}

/// The image's pixels as RGBA.
pub fn to_rgba(image: &DynamicImage) -> RgbaImage {
    image.to_rgba8()
}

/// A baseline JPEG of `rgb` at `quality` (1–100), with no metadata.
pub fn encode_jpeg(rgb: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    // Not `set_optimized_huffman_tables(true)`: in jpeg-encoder 0.7.1 it corrupted the colours of
    // a small image (a blue block decoded as dark green); the standard tables cost ~5 %.
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    let (w, h) = (u16::try_from(rgb.width()), u16::try_from(rgb.height()));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(Error::Failed(format!("{}×{} is too large for JPEG", rgb.width(), rgb.height())));
    };
    encoder
        .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::Failed(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

/// A PNG of `image`, with no metadata.
pub fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).map_err(|e| Error::Failed(format!("PNG encoding failed: {e}")))?;
    Ok(out.into_inner())
}

/// The `width`×`height` rectangle of `rgb` at (`x`, `y`).
pub fn crop(rgb: &RgbImage, x: u32, y: u32, width: u32, height: u32) -> RgbImage {
    image::imageops::crop_imm(rgb, x, y, width, height).to_image()
}
