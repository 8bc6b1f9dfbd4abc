//! Cover crop boxes: the largest box of a given aspect ratio inside the cover, centred on the
//! focus point as far as the edges allow, in the `X1_Y1_X2_Y2` (0..1) form WeChat asks for.

/// A crop box in 0..1 coordinates of the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropBox {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

impl CropBox {
    /// `X1_Y1_X2_Y2` with up to six decimals, as `pic_crop_235_1` / `pic_crop_1_1` expect.
    pub fn to_wechat(self) -> String {
        [self.x1, self.y1, self.x2, self.y2].map(format_coordinate).join("_")
    }

    /// The box in pixels of a `width`×`height` image: (x, y, w, h).
    pub fn to_pixels(self, width: u32, height: u32) -> (u32, u32, u32, u32) {
        let x = (self.x1 * width as f64).round() as u32;
        let y = (self.y1 * height as f64).round() as u32;
        let w = ((self.x2 - self.x1) * width as f64).round().max(1.0) as u32;
        let h = ((self.y2 - self.y1) * height as f64).round().max(1.0) as u32;
        (x.min(width - 1), y.min(height - 1), w.min(width - x.min(width - 1)), h.min(height - y.min(height - 1)))
    }
}

fn format_coordinate(value: f64) -> String {
    let text = format!("{:.6}", value.clamp(0.0, 1.0));
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() { "0".into() } else { trimmed.into() }
}

/// The crop box of aspect `ratio` (width / height) for a `width`×`height` image, centred on
/// `focus` (0..1 each) and shifted inside the image where the focus is near an edge.
pub fn crop_box(width: u32, height: u32, ratio: f64, focus: (f64, f64)) -> CropBox {
    let (w, h) = (width as f64, height as f64);
    let (crop_w, crop_h) = if w / h > ratio { (h * ratio, h) } else { (w, w / ratio) };
    let left = (focus.0.clamp(0.0, 1.0) * w - crop_w / 2.0).clamp(0.0, w - crop_w);
    let top = (focus.1.clamp(0.0, 1.0) * h - crop_h / 2.0).clamp(0.0, h - crop_h);
    CropBox { x1: left / w, y1: top / h, x2: (left + crop_w) / w, y2: (top + crop_h) / h }
}

/// Parses `cover_focus: x,y` (each 0..1).
pub fn parse_focus(text: &str) -> Option<(f64, f64)> {
    let (x, y) = text.split_once(',')?;
    let (x, y): (f64, f64) = (x.trim().parse().ok()?, y.trim().parse().ok()?);
    ((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y)).then_some((x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_crop_of_a_landscape_photo_uses_the_full_width() {
        // 1000×600 at 2.35:1 → 1000×425.53, centred vertically: y from 87.23 to 512.77.
        let b = crop_box(1000, 600, 2.35, (0.5, 0.5));
        assert_eq!(b.to_wechat(), "0_0.14539_1_0.85461");
    }

    #[test]
    fn square_crop_follows_the_focus_and_stops_at_the_edge() {
        // 1000×600 square → 600×600; focus x=0.9 would centre at 900 → clamped to 400..1000.
        let b = crop_box(1000, 600, 1.0, (0.9, 0.5));
        assert_eq!(b.to_wechat(), "0.4_0_1_1");
        assert_eq!(b.to_pixels(1000, 600), (400, 0, 600, 600));
    }

    #[test]
    fn focus_parsing() {
        assert_eq!(parse_focus("0.5, 0.4"), Some((0.5, 0.4)));
        assert_eq!(parse_focus("1.2,0"), None);
        assert_eq!(parse_focus("middle"), None);
    }
}
