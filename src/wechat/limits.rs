//! Every limit of the contract (docs/wechat-contract.md) in one place: `check` measures drafts with
//! them, `images` encodes under them, `publish` plans and reports with them, and the sandbox
//! enforces them, so that all four agree.

pub const TITLE_MAX_CHARS: usize = 32;
pub const AUTHOR_MAX_CHARS: usize = 16;
/// *(2026)* 120, aligned with the web editor (it was 128).
pub const DIGEST_MAX_CHARS: usize = 120;
/// Visible characters of `content` must stay under this (*(2026)*: the text, not the HTML).
pub const CONTENT_MAX_TEXT_CHARS: usize = 20_000;
/// *(2026)* An image post (贴图, `newspic`) holds 1 to this many photos (permanent material).
pub const NEWSPIC_MAX_IMAGES: usize = 20;
/// *(2026)* An image post's text, in characters. The contract says only "short"; this is what
/// the web editor's 贴图 text box takes — an assumption until a live account confirms it.
pub const NEWSPIC_MAX_TEXT_CHARS: usize = 1_000;
/// The UTF-8 bytes of `content` must stay under this.
pub const CONTENT_MAX_BYTES: usize = 1024 * 1024;
pub const SOURCE_URL_MAX_BYTES: usize = 1024;
/// Articles in one push (one draft).
pub const PUSH_MAX_ARTICLES: usize = 8;
/// `media/uploadimg` (images inside an article body): jpg/png under 1 MB.
pub const UPLOADIMG_MAX_BYTES: usize = 1024 * 1024;
/// Permanent image material (covers, posters, GIFs).
pub const IMAGE_MATERIAL_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Permanent thumb, voice and video material.
pub const THUMB_MAX_BYTES: usize = 64 * 1024;
pub const VOICE_MAX_BYTES: usize = 2 * 1024 * 1024;
pub const VIDEO_MAX_BYTES: usize = 10 * 1024 * 1024;
/// What an uploadimg URL typically measures (`http://mmbiz.qpic.cn/mmbiz_jpg/…/0?wx_fmt=jpeg`):
/// `check` sizes the HTML with image sources this long, as it will be sent.
pub const UPLOADED_IMAGE_URL_CHARS: usize = 120;
/// `comment/list` pages: `count` must be under 50 (88010 otherwise).
pub const COMMENT_PAGE_MAX: u32 = 49;
/// A reply to a comment: WeChat refuses an empty or too long one (88007) without saying how
/// long; assumed the length of a comment itself, 600 characters, until `doctor --probe` says
/// otherwise.
pub const COMMENT_REPLY_MAX_CHARS: usize = 600;

/// *(2026)* Daily quotas per account (reset at 00:00 Beijing time); past one a call answers 45009
/// until the next day. The sandbox enforces these; the client records its calls against them.
pub const DAILY_QUOTAS: &[(&str, u64)] = &[
    ("/cgi-bin/draft/add", 1000),
    ("/cgi-bin/freepublish/submit", 100),
    ("/cgi-bin/freepublish/get", 100),
    ("/cgi-bin/freepublish/delete", 10),
    ("/cgi-bin/message/mass/preview", 100),
];

/// The daily quota of an endpoint path, if it has one.
pub fn daily_quota(path: &str) -> Option<u64> {
    DAILY_QUOTAS.iter().find(|(p, _)| *p == path).map(|(_, n)| *n)
}

/// The Beijing day quotas are counted in, at `now`.
pub fn quota_day(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    crate::util::clock::beijing(now).date()
}

/// How long until the quotas reset (00:00 Beijing time) after `now`.
pub fn until_quota_reset(now: chrono::DateTime<chrono::Utc>) -> chrono::Duration {
    let beijing = crate::util::clock::beijing(now);
    let next_midnight = (beijing.date() + chrono::Days::new(1)).and_hms_opt(0, 0, 0).unwrap_or_default();
    next_midnight - beijing
}

/// How long an article's `content` is, each way WeChat or a person may count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSize {
    /// Visible characters: tags removed, each entity one character. What the 20,000 counts.
    pub text_chars: usize,
    /// Characters of the HTML source.
    pub html_chars: usize,
    /// UTF-8 bytes of the HTML source. What the 1 MB counts.
    pub bytes: usize,
}

impl ContentSize {
    pub fn of(html: &str) -> ContentSize {
        ContentSize {
            text_chars: crate::util::html::visible_chars(html),
            html_chars: html.chars().count(),
            bytes: html.len(),
        }
    }

    /// Whether WeChat takes content of this size (45002 otherwise).
    pub fn fits(&self) -> bool {
        self.text_chars < CONTENT_MAX_TEXT_CHARS && self.bytes < CONTENT_MAX_BYTES
    }
}

impl std::fmt::Display for ContentSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} visible characters (limit: under {CONTENT_MAX_TEXT_CHARS}), {} HTML characters, {} bytes (limit: under 1 MB)",
            self.text_chars, self.html_chars, self.bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_is_what_is_counted() {
        let html = r#"<section style="color:#333;font-size:16px"><p style="margin:0">青铜&nbsp;鼎 a &lt; b</p><!-- x --><img src="https://mmbiz.qpic.cn/a" alt="图"></section>"#;
        let size = ContentSize::of(html);
        assert_eq!(size.text_chars, "青铜 鼎 a < b".chars().count());
        assert_eq!(size.html_chars, html.chars().count());
        assert_eq!(size.bytes, html.len());
        // A lone & or < is text.
        assert_eq!(ContentSize::of("a & b < c").text_chars, 9);
        // Long HTML around little text fits; 20,000 visible characters do not.
        let styled = format!("<p style=\"{}\">{}</p>", "x".repeat(60_000), "字".repeat(19_999));
        assert!(ContentSize::of(&styled).fits());
        assert!(!ContentSize::of(&format!("<p>{}</p>", "字".repeat(20_000))).fits());
    }
}
