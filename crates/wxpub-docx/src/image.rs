//! What an embedded image is, from its bytes: Word keeps the extension a picture was pasted
//! with, which may not match what it holds.

/// The format of an embedded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Bmp,
    Webp,
    Tiff,
    /// Windows Enhanced Metafile: Word's format for pasted charts and drawings.
    Emf,
    /// Windows Metafile.
    Wmf,
    Svg,
    Other,
}

impl ImageFormat {
    /// From the first bytes; Other when none matches.
    pub fn sniff(bytes: &[u8]) -> ImageFormat {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => ImageFormat::Jpeg,
            [0x89, b'P', b'N', b'G', ..] => ImageFormat::Png,
            [b'G', b'I', b'F', b'8', ..] => ImageFormat::Gif,
            [b'B', b'M', ..] => ImageFormat::Bmp,
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => ImageFormat::Webp,
            [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => ImageFormat::Tiff,
            // EMR_HEADER (type 1) with the " EMF" signature at byte 40.
            [0x01, 0x00, 0x00, 0x00, ..] if bytes.get(40..44) == Some(b" EMF") => ImageFormat::Emf,
            // A placeable WMF's key, or a plain WMF header (memory or disk metafile, version 3).
            [0xD7, 0xCD, 0xC6, 0x9A, ..] | [0x01 | 0x02, 0x00, 0x09, 0x00, ..] => ImageFormat::Wmf,
            _ if is_svg(bytes) => ImageFormat::Svg,
            _ => ImageFormat::Other,
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Webp => "webp",
            ImageFormat::Tiff => "tif",
            ImageFormat::Emf => "emf",
            ImageFormat::Wmf => "wmf",
            ImageFormat::Svg => "svg",
            ImageFormat::Other => "bin",
        }
    }

    /// Whether wxpub's image pipeline can decode it for WeChat (it reads JPEG, PNG, GIF, BMP and
    /// WebP and writes what WeChat shows).
    pub fn is_supported(self) -> bool {
        matches!(self, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::Bmp | ImageFormat::Webp)
    }

    /// The name for the report and the Markdown comment.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Webp => "WebP",
            ImageFormat::Tiff => "TIFF",
            ImageFormat::Emf => "EMF",
            ImageFormat::Wmf => "WMF",
            ImageFormat::Svg => "SVG",
            ImageFormat::Other => "unknown format",
        }
    }
}

fn is_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let head = String::from_utf8_lossy(head);
    let head = head.trim_start_matches('\u{FEFF}').trim_start();
    head.starts_with("<svg") || (head.starts_with("<?xml") && head.contains("<svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(ImageFormat::sniff(b"\xFF\xD8\xFF\xE0rest"), ImageFormat::Jpeg);
        assert_eq!(ImageFormat::sniff(b"\x89PNG\r\n\x1a\n"), ImageFormat::Png);
        assert_eq!(ImageFormat::sniff(b"GIF89a"), ImageFormat::Gif);
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), ImageFormat::Webp);
        assert_eq!(ImageFormat::sniff(b"II*\0"), ImageFormat::Tiff);
        let mut emf = vec![1, 0, 0, 0];
        emf.resize(40, 0);
        emf.extend(b" EMF");
        assert_eq!(ImageFormat::sniff(&emf), ImageFormat::Emf);
        assert_eq!(ImageFormat::sniff(&[0xD7, 0xCD, 0xC6, 0x9A, 0]), ImageFormat::Wmf);
        assert_eq!(ImageFormat::sniff(b"<?xml version=\"1.0\"?><svg/>"), ImageFormat::Svg);
        assert_eq!(ImageFormat::sniff(b""), ImageFormat::Other);
        assert!(!ImageFormat::Emf.is_supported() && ImageFormat::Jpeg.is_supported());
    }
}
