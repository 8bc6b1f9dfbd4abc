//! WeChat's dark-mode colour conversion, as the client applies it to an article's inline styles
//! (wechatjs/mp-darkmode, `doc/cn/principle.md`; summarised in docs/wechat-editor-rules.md,
//! "Dark mode").
//!
//! Pure functions: rendered HTML in, the HTML a dark-mode reader sees out; and the text/background
//! colour pairs of both modes, for the contrast check.
//!
//! The rules, in order:
//! - only background, text, border and text-shadow colours change; gradients are first mixed to
//!   one colour; SVG is skipped; `data-no-dark` keeps a node's own colours;
//! - backgrounds first: a grey (saturation 0) lighter than 40 % or anything brighter than 250
//!   (perceived brightness, 0–255) has its lightness mirrored (white becomes the page's #191919);
//!   else brighter than 190 is dimmed to 190; else an HSL lightness under 22 % is raised to 22 %;
//! - text and borders against the converted background (alpha blended with #191919): near-white
//!   text (≥ 250) stays; a brightness difference under 65 is widened to 65 (lightness mirrored
//!   first when that suffices), and never wider than the default text's 138 over the page;
//! - a node with a background image keeps its light background colour underneath, and the text
//!   over it keeps its colours.
use std::fmt::Write as _;

/// Page background and default text colour of WeChat's dark mode.
pub const DARK_BG: Rgba = Rgba { r: 25.0, g: 25.0, b: 25.0, a: 1.0 };
pub const DARK_TEXT: Rgba = Rgba { r: 163.0, g: 163.0, b: 163.0, a: 1.0 };
/// Default text colour of the light article page.
pub const LIGHT_TEXT: Rgba = Rgba { r: 25.0, g: 25.0, b: 25.0, a: 1.0 };
pub const WHITE: Rgba = Rgba { r: 255.0, g: 255.0, b: 255.0, a: 1.0 };

const WHITE_LIKE: f64 = 250.0;
const MAX_BG: f64 = 190.0;
const MIN_OFFSET: f64 = 65.0;
const HIGH_BG: f64 = 100.0;
const HIGH_GREY_LIGHTNESS: f64 = 40.0;
const LOW_LIGHTNESS: f64 = 22.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgba {
    pub r: f64,
    pub g: f64,
    pub b: f64,
    pub a: f64,
}

impl Rgba {
    pub fn rgb(r: f64, g: f64, b: f64) -> Rgba {
        Rgba { r, g, b, a: 1.0 }
    }

    /// Perceived brightness (W3C AERT): (299 R + 587 G + 114 B) / 1000, 0–255.
    pub fn brightness(&self) -> f64 {
        (self.r * 299.0 + self.g * 587.0 + self.b * 114.0) / 1000.0
    }

    /// (hue 0–360, saturation 0–100, lightness 0–100).
    pub fn hsl(&self) -> (f64, f64, f64) {
        let (r, g, b) = (self.r / 255.0, self.g / 255.0, self.b / 255.0);
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        let l = (max + min) / 2.0;
        if max == min {
            return (0.0, 0.0, l * 100.0);
        }
        let d = max - min;
        let s = if l > 0.5 { d / (2.0 - max - min) } else { d / (max + min) };
        let h = if max == r {
            (g - b) / d + if g < b { 6.0 } else { 0.0 }
        } else if max == g {
            (b - r) / d + 2.0
        } else {
            (r - g) / d + 4.0
        };
        (h * 60.0, s * 100.0, l * 100.0)
    }

    pub fn from_hsl(h: f64, s: f64, l: f64, a: f64) -> Rgba {
        let (s, l) = (s / 100.0, l / 100.0);
        let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
        let hp = (h.rem_euclid(360.0)) / 60.0;
        let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
        let (r, g, b) = match hp as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let m = l - c / 2.0;
        Rgba { r: (r + m) * 255.0, g: (g + m) * 255.0, b: (b + m) * 255.0, a }
    }

    /// CSS text: `#rrggbb`, or `rgba(…)` when not opaque.
    pub fn css(&self) -> String {
        let c = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        if self.a >= 1.0 {
            format!("#{:02x}{:02x}{:02x}", c(self.r), c(self.g), c(self.b))
        } else {
            format!("rgba({}, {}, {}, {})", c(self.r), c(self.g), c(self.b), (self.a * 1000.0).round() / 1000.0)
        }
    }

    /// This colour over `under` (alpha compositing), opaque.
    pub fn over(&self, under: Rgba) -> Rgba {
        let mix = |a: f64, b: f64| a * self.a + b * (1.0 - self.a);
        Rgba::rgb(mix(self.r, under.r), mix(self.g, under.g), mix(self.b, under.b))
    }

    /// WCAG relative luminance.
    pub fn luminance(&self) -> f64 {
        let channel = |v: f64| {
            let v = v / 255.0;
            if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)
    }
}

/// WCAG contrast ratio of two opaque colours (1–21).
pub fn contrast(a: Rgba, b: Rgba) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Parses a CSS colour: `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`, `rgba()`, and common names.
pub fn parse_color(text: &str) -> Option<Rgba> {
    let text = text.trim().trim_end_matches("!important").trim().to_ascii_lowercase();
    if let Some(hex) = text.strip_prefix('#') {
        let digit = |i: usize, n: usize| u8::from_str_radix(hex.get(i..i + n)?, 16).ok().map(f64::from);
        return match hex.len() {
            3 => Some(Rgba::rgb(digit(0, 1)? * 17.0, digit(1, 1)? * 17.0, digit(2, 1)? * 17.0)),
            6 => Some(Rgba::rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
            8 => Some(Rgba { a: digit(6, 2)? / 255.0, ..Rgba::rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?) }),
            _ => None,
        };
    }
    if let Some(inner) = text.strip_prefix("rgba(").or_else(|| text.strip_prefix("rgb(")) {
        let parts: Vec<f64> = inner
            .trim_end_matches(')')
            .split([',', ' ', '/'])
            .filter(|p| !p.is_empty())
            .map(|p| p.trim_end_matches('%').parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()?;
        return match parts.as_slice() {
            [r, g, b] => Some(Rgba::rgb(*r, *g, *b)),
            [r, g, b, a] => Some(Rgba { r: *r, g: *g, b: *b, a: *a }),
            _ => None,
        };
    }
    let named = match text.as_str() {
        "white" => (255, 255, 255),
        "black" | "windowtext" => (0, 0, 0),
        "red" => (255, 0, 0),
        "green" => (0, 128, 0),
        "blue" => (0, 0, 255),
        "gray" | "grey" => (128, 128, 128),
        "silver" => (192, 192, 192),
        "orange" => (255, 165, 0),
        "yellow" => (255, 255, 0),
        "brown" => (165, 42, 42),
        "navy" => (0, 0, 128),
        "transparent" => return Some(Rgba { r: 255.0, g: 255.0, b: 255.0, a: 0.0 }),
        _ => return None,
    };
    Some(Rgba::rgb(f64::from(named.0), f64::from(named.1), f64::from(named.2)))
}

/// Scales a colour to perceived brightness `limit`, keeping its hue where the channels allow.
fn adjust_to_brightness(limit: f64, c: Rgba) -> Rgba {
    let brightness = c.brightness();
    if brightness <= 0.0 {
        // Pure black has no hue to keep: the grey of that brightness.
        return Rgba { a: c.a, ..Rgba::rgb(limit, limit, limit) };
    }
    let ratio = limit / brightness;
    let (mut r, mut g, mut b) = ((c.r * ratio).min(255.0), (c.g * ratio).min(255.0), (c.b * ratio).min(255.0));
    // A channel that hit 0 or 255 cannot carry its share: another one makes up the brightness.
    if g == 0.0 || r == 255.0 || b == 255.0 {
        g = (limit * 1000.0 - r * 299.0 - b * 114.0) / 587.0;
    } else if r == 0.0 {
        r = (limit * 1000.0 - g * 587.0 - b * 114.0) / 299.0;
    } else if b == 0.0 || g == 255.0 {
        b = (limit * 1000.0 - r * 299.0 - g * 587.0) / 114.0;
    }
    Rgba { r: r.clamp(0.0, 255.0), g: g.clamp(0.0, 255.0), b: b.clamp(0.0, 255.0), a: c.a }
}

/// A background colour in dark mode.
pub fn convert_background(c: Rgba) -> Rgba {
    let (_, s, l) = c.hsl();
    let brightness = c.brightness();
    let dark_bg_lightness = DARK_BG.hsl().2;
    let converted = if (s == 0.0 && l > HIGH_GREY_LIGHTNESS) || brightness > WHITE_LIKE {
        Rgba::from_hsl(0.0, 0.0, (100.0 + dark_bg_lightness - l).min(100.0), 1.0)
    } else if brightness > MAX_BG {
        adjust_to_brightness(MAX_BG, c)
    } else if l < LOW_LIGHTNESS {
        let (h, s, _) = c.hsl();
        Rgba::from_hsl(h, s, LOW_LIGHTNESS, 1.0)
    } else {
        c
    };
    Rgba { a: c.a, ..converted }
}

/// A text (or border) colour in dark mode, over the already converted background `bg`.
pub fn convert_text(text: Rgba, bg: Rgba) -> Rgba {
    convert_text_depth(text, bg, 0)
}

fn convert_text_depth(text: Rgba, bg: Rgba, depth: u8) -> Rgba {
    let bg_brightness = bg.brightness() * bg.a + DARK_BG.brightness() * (1.0 - bg.a);
    let text_brightness = text.brightness();
    let offset = (bg_brightness - text_brightness).abs();
    let max_offset = DARK_TEXT.brightness() - DARK_BG.brightness();
    if text_brightness >= WHITE_LIKE {
        return text;
    }
    if offset > max_offset && bg_brightness <= DARK_BG.brightness() + 2.0 {
        return adjust_to_brightness(max_offset + bg_brightness, text);
    }
    if offset >= MIN_OFFSET {
        return text;
    }
    let (h, s, l) = text.hsl();
    if bg_brightness >= HIGH_BG {
        // A light background: darken the text, by mirroring its lightness first.
        if l > 90.0 - HIGH_GREY_LIGHTNESS && depth < 4 {
            return convert_text_depth(Rgba::from_hsl(h, s, 90.0 - l, text.a), bg, depth + 1);
        }
        adjust_to_brightness(max_offset.min(bg_brightness - MIN_OFFSET), text)
    } else {
        // A dark background: lighten the text.
        if l <= HIGH_GREY_LIGHTNESS && depth < 4 {
            return convert_text_depth(Rgba::from_hsl(h, s, 90.0 - l, text.a), bg, depth + 1);
        }
        adjust_to_brightness(max_offset.min(bg_brightness + MIN_OFFSET), text)
    }
}

/// Mixes a gradient's colours into one, each next colour weighted by its own alpha (as the
/// `color` library's `mix` does).
pub fn mix(colors: &[Rgba]) -> Option<Rgba> {
    let (first, rest) = colors.split_first()?;
    let mut result = *first;
    for next in rest {
        let p = next.a;
        let w = 2.0 * p - 1.0;
        let a = next.a - result.a;
        let w1 = (if w * a == -1.0 { w } else { (w + a) / (1.0 + w * a) } + 1.0) / 2.0;
        let w2 = 1.0 - w1;
        result = Rgba {
            r: w1 * next.r + w2 * result.r,
            g: w1 * next.g + w2 * result.g,
            b: w1 * next.b + w2 * result.b,
            a: next.a * p + result.a * (1.0 - p),
        };
    }
    Some(result)
}

/// Colour tokens in a CSS value: hex, rgb()/rgba(), names.
fn color_tokens(value: &str) -> Vec<(std::ops::Range<usize>, Rgba)> {
    let mut found = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &value[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-');
        let end = if let Some(hex) = rest.strip_prefix('#') {
            1 + hex.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(hex.len())
        } else if starts_word && rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("rgb") {
            rest.find(')').map_or(rest.len(), |e| e + 1)
        } else if starts_word && bytes[i].is_ascii_alphabetic() {
            rest.find(|c: char| !(c.is_ascii_alphabetic() || c == '-')).unwrap_or(rest.len())
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        if let Some(color) = parse_color(&rest[..end]) {
            found.push((i..i + end, color));
        }
        i += end.max(1);
    }
    found
}

/// The colours of one element, light and dark, as its children inherit them.
#[derive(Debug, Clone, Copy)]
struct Context {
    light_bg: Rgba,
    dark_bg: Rgba,
    light_text: Rgba,
    dark_text: Rgba,
    bg_image: bool,
    svg: bool,
    font_px: f64,
    bold: bool,
    /// Line of the element that set the current text colour (for messages), as a style index.
    origin: usize,
}

/// WCAG AA contrast for body text; large text needs 3:1.
pub const AA_BODY: f64 = 4.5;
pub const AA_LARGE: f64 = 3.0;

/// A run of text with its colours in both modes (for the contrast check).
impl TextSample {
    /// The contrast WCAG AA asks of this text.
    pub fn required_contrast(&self) -> f64 {
        if self.large { AA_LARGE } else { AA_BODY }
    }

    pub fn light_contrast(&self) -> f64 {
        contrast(self.light_fg, self.light_bg)
    }

    pub fn dark_contrast(&self) -> f64 {
        contrast(self.dark_fg, self.dark_bg)
    }
}

#[derive(Debug, Clone)]
pub struct TextSample {
    pub text: String,
    pub light_fg: Rgba,
    pub light_bg: Rgba,
    pub dark_fg: Rgba,
    pub dark_bg: Rgba,
    /// WCAG "large text" (≥ 24 px, or ≥ 18.66 px bold): 3:1 suffices.
    pub large: bool,
    /// The `style` attribute of the element that set the text colour.
    pub style: String,
}

type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Start tag → (inherited colours, its rewrite, the context its children inherit). Kept per
/// thread across calls: every item of a build uses the same theme, so an article repeats a few
/// dozen styled start tags hundreds of times and the next article repeats most of them again.
/// Keyed by the tag first: a tag nearly always sits in one or two contexts, so a short scan
/// beats hashing the context too.
type DarkMemo = FastMap<String, Vec<([u64; 6], String, Context)>>;

/// Beyond this many remembered tags the memo starts over (a long preview session edits a theme
/// many times; stale entries would only cost memory).
const DARK_MEMO_LIMIT: usize = 20_000;

thread_local! {
    static DARK_MEMO: std::cell::RefCell<(DarkMemo, usize)> = std::cell::RefCell::default();
}

struct Walk {
    out: String,
    samples: Vec<TextSample>,
    styles: Vec<String>,
    collect_samples: bool,
    memo: DarkMemo,
    memo_len: usize,
}

fn context_key(c: &Context) -> [u64; 6] {
    let bits = |v: &Rgba| {
        (v.r.to_bits() ^ v.g.to_bits().rotate_left(16) ^ v.b.to_bits().rotate_left(32)) ^ v.a.to_bits().rotate_left(48)
    };
    [
        bits(&c.light_bg),
        bits(&c.dark_bg),
        bits(&c.light_text),
        bits(&c.dark_text),
        u64::from(c.bg_image) | u64::from(c.svg) << 1 | u64::from(c.bold) << 2,
        // `origin` is left out: it only matters when sampling, which does not use the memo.
        c.font_px.to_bits(),
    ]
}

const VOID: &[&str] = &["img", "br", "hr", "input", "meta", "link", "source", "wbr", "col"];

/// Converts rendered HTML to what dark-mode readers see.
pub fn to_dark(html: &str) -> String {
    let state = walk(html, false);
    DARK_MEMO.set((state.memo, state.memo_len));
    state.out
}

/// The text runs of rendered HTML with their colours in light and dark mode.
pub fn text_samples(html: &str) -> Vec<TextSample> {
    walk(html, true).samples
}

fn walk(html: &str, collect_samples: bool) -> Walk {
    let root = Context {
        light_bg: WHITE,
        dark_bg: DARK_BG,
        light_text: LIGHT_TEXT,
        dark_text: DARK_TEXT,
        bg_image: false,
        svg: false,
        font_px: 17.0,
        bold: false,
        origin: 0,
    };
    let mut state = Walk {
        out: String::with_capacity(html.len() + html.len() / 8),
        samples: Vec::new(),
        styles: vec![String::new()],
        collect_samples,
        memo: DarkMemo::default(),
        memo_len: 0,
    };
    if !collect_samples {
        (state.memo, state.memo_len) = DARK_MEMO.take();
    }
    let mut stack: Vec<(&str, Context)> = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(start) = memchr::memchr(b'<', rest.as_bytes()) else {
            text(&mut state, rest, stack.last().map_or(&root, |s| &s.1));
            break;
        };
        text(&mut state, &rest[..start], stack.last().map_or(&root, |s| &s.1));
        let tag_end = memchr::memchr(b'>', &rest.as_bytes()[start..]).map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..tag_end];
        rest = &rest[tag_end..];
        if let Some(name) = tag.strip_prefix("</") {
            let name = name.strip_suffix('>').unwrap_or(name).trim_ascii();
            if let Some(at) = stack.iter().rposition(|(n, _)| n.eq_ignore_ascii_case(name)) {
                stack.truncate(at);
            }
            state.out.push_str(tag);
            continue;
        }
        if tag.starts_with("<!") {
            state.out.push_str(tag);
            continue;
        }
        let parent = stack.last().map_or(root, |s| s.1);
        let name_len = tag.as_bytes()[1..].iter().position(|b| !b.is_ascii_alphanumeric()).unwrap_or(tag.len() - 1);
        let name = &tag[1..1 + name_len];
        // Samples name the style that set a colour, so they need every element walked.
        let context = if state.collect_samples {
            let (rewritten, context) = element(&mut state, tag, &name.to_ascii_lowercase(), parent);
            state.out.push_str(&rewritten);
            context
        } else if !has_style(tag) && !parent.svg && !name.eq_ignore_ascii_case("svg") {
            // No colours of its own: only boldness passes down.
            state.out.push_str(tag);
            let mut context = parent;
            context.bold |= ["strong", "b", "h1", "h2", "h3", "h4", "th"].iter().any(|t| t.eq_ignore_ascii_case(name));
            context
        } else {
            let key = context_key(&parent);
            let remembered = state.memo.get(tag).and_then(|seen| seen.iter().find(|(k, _, _)| *k == key));
            if let Some((_, rewritten, context)) = remembered {
                state.out.push_str(rewritten);
                *context
            } else {
                let (rewritten, context) = element(&mut state, tag, &name.to_ascii_lowercase(), parent);
                state.out.push_str(&rewritten);
                if state.memo_len >= DARK_MEMO_LIMIT {
                    state.memo.clear();
                    state.memo_len = 0;
                }
                state.memo.entry(tag.to_string()).or_default().push((key, rewritten, context));
                state.memo_len += 1;
                context
            }
        };
        if !VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) && !tag.ends_with("/>") {
            stack.push((name, context));
        }
    }
    state
}

fn text(state: &mut Walk, text: &str, context: &Context) {
    state.out.push_str(text);
    if !state.collect_samples || context.svg || text.trim().is_empty() {
        return;
    }
    let over = |bg: Rgba, page: Rgba| if bg.a < 1.0 { bg.over(page) } else { bg };
    state.samples.push(TextSample {
        text: text.trim().chars().take(24).collect(),
        light_fg: context.light_text.over(over(context.light_bg, WHITE)),
        light_bg: over(context.light_bg, WHITE),
        dark_fg: context.dark_text.over(over(context.dark_bg, DARK_BG)),
        dark_bg: over(context.dark_bg, DARK_BG),
        large: context.font_px >= 24.0 || (context.bold && context.font_px >= 18.66),
        style: state.styles.get(context.origin).cloned().unwrap_or_default(),
    });
}

/// Rewrites one start tag's style for dark mode and returns the context its children inherit.
fn element(state: &mut Walk, tag: &str, name: &str, parent: Context) -> (String, Context) {
    let mut context = parent;
    if name == "svg" || parent.svg {
        context.svg = true;
        return (tag.to_string(), context);
    }
    let no_dark = tag.contains("data-no-dark");
    let Some((style_start, style_end)) = style_span(tag) else {
        if matches!(name, "strong" | "b" | "h1" | "h2" | "h3" | "h4" | "th") {
            context.bold = true;
        }
        return (tag.to_string(), context);
    };
    let style = &tag[style_start..style_end];
    let decoded = style.replace("&quot;", "\"").replace("&#39;", "'");
    state.styles.push(decoded.clone());
    let index = state.styles.len() - 1;
    let declarations: Vec<(String, String)> = decoded
        .split(';')
        .filter_map(|d| d.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    for (key, value) in &declarations {
        match key.as_str() {
            "font-size" => {
                if let Some(px) = value.strip_suffix("px").and_then(|v| v.trim().parse().ok()) {
                    context.font_px = px;
                }
            }
            "font-weight" => context.bold = value == "bold" || value.parse::<u32>().is_ok_and(|w| w >= 600),
            _ => {}
        }
    }
    if matches!(name, "strong" | "b" | "th") {
        context.bold = true;
    }

    // Background first.
    let mut has_bg = false;
    let mut out_decls: Vec<(String, String)> = Vec::with_capacity(declarations.len() + 1);
    let mut has_color = false;
    for (key, value) in &declarations {
        if key.starts_with("background") {
            if value.contains("url(") {
                context.bg_image = true;
            }
            let colors: Vec<Rgba> = color_tokens(value).into_iter().map(|(_, c)| c).collect();
            if let Some(light) = if value.contains("gradient") { mix(&colors) } else { colors.first().copied() } {
                has_bg = true;
                context.light_bg = light;
                context.dark_bg = if no_dark || context.bg_image { light } else { convert_background(light) };
                if !no_dark && !context.bg_image {
                    let converted = if value.contains("gradient") {
                        context.dark_bg.css()
                    } else {
                        replace_colors(value, convert_background)
                    };
                    out_decls.push((key.clone(), converted));
                    continue;
                }
            }
        }
        if key == "color" {
            has_color = true;
        }
        out_decls.push((key.clone(), value.clone()));
    }
    // Then text, borders and shadows against the background this element ends up on.
    let bg_for_text = context.dark_bg;
    for (key, value) in out_decls.iter_mut() {
        if key == "color" {
            if let Some(light) = parse_color(value) {
                context.light_text = light;
                context.origin = index;
                context.dark_text = if no_dark || context.bg_image { light } else { convert_text(light, bg_for_text) };
                if !no_dark && !context.bg_image {
                    *value = context.dark_text.css();
                }
            }
        } else if key.starts_with("border") && !no_dark && !context.bg_image {
            *value = replace_colors(value, |c| convert_text(c, bg_for_text));
        } else if key == "text-shadow" && !no_dark {
            *value = replace_colors(value, convert_background);
        }
    }
    if has_bg && !has_color && !no_dark && !context.bg_image {
        // The inherited text colour, re-judged against this new background.
        context.dark_text = convert_text(parent.light_text, bg_for_text);
        out_decls.push(("color".into(), context.dark_text.css()));
    }
    let mut new_style = String::new();
    for (i, (key, value)) in out_decls.iter().enumerate() {
        if i > 0 {
            new_style.push(';');
        }
        let _ = write!(new_style, "{key}:{value}");
    }
    let escaped = new_style.replace('"', "&quot;");
    (format!("{}{}{}", &tag[..style_start], escaped, &tag[style_end..]), context)
}

fn replace_colors(value: &str, convert: impl Fn(Rgba) -> Rgba) -> String {
    let mut out = String::with_capacity(value.len());
    let mut last = 0;
    for (range, color) in color_tokens(value) {
        out.push_str(&value[last..range.start]);
        out.push_str(&convert(color).css());
        last = range.end;
    }
    out.push_str(&value[last..]);
    out
}

/// Finds ` style="` in a start tag (a precomputed searcher: this runs for every tag).
fn style_finder() -> &'static memchr::memmem::Finder<'static> {
    static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
    FINDER.get_or_init(|| memchr::memmem::Finder::new(" style=\""))
}

/// Whether a start tag has a `style` attribute (without finding where its value ends: this runs
/// for every tag, most of which the memo then answers).
fn has_style(tag: &str) -> bool {
    style_finder().find(tag.as_bytes()).is_some()
}

/// Byte range of the `style` attribute's value inside a start tag (double-quoted, as the
/// sanitizer writes it).
fn style_span(tag: &str) -> Option<(usize, usize)> {
    let at = style_finder().find(tag.as_bytes())? + " style=\"".len();
    let end = at + tag[at..].find('"')?;
    Some((at, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Rgba {
        parse_color(text).unwrap()
    }

    fn close(a: Rgba, b: Rgba) -> bool {
        (a.r - b.r).abs() < 1.0 && (a.g - b.g).abs() < 1.0 && (a.b - b.b).abs() < 1.0 && (a.a - b.a).abs() < 0.01
    }

    #[test]
    fn white_background_becomes_the_dark_page() {
        // #ffffff: grey, lightness 100 > 40 → lightness 100 + 9.8 − 100 = 9.8 % → #191919.
        assert_eq!(convert_background(hex("#ffffff")).css(), "#191919");
    }

    #[test]
    fn light_grey_background_mirrors_its_lightness() {
        // #f0f0f0: grey, lightness 94.1 % → 100 + 9.8 − 94.1 = 15.7 % → 40 (0x28).
        assert_eq!(convert_background(hex("#f0f0f0")).css(), "#282828");
    }

    #[test]
    fn near_white_tinted_background_counts_as_white() {
        // #fbf8f1: brightness (251·299 + 248·587 + 241·114)/1000 = 248.1 — not > 250, and not a
        // grey (saturation ≠ 0), so the 190 rule applies: × 190/248.1 = 0.7658 →
        // (192.2, 189.9, 184.6) = #c0beb9.
        let dark = convert_background(hex("#fbf8f1"));
        assert!((dark.brightness() - 190.0).abs() < 0.01, "{dark:?}");
        assert_eq!(dark.css(), "#c0beb9");
        // #fffffe: brightness 254.9 > 250 → treated as white: lightness 99.8 → 10 % → #1a1a1a.
        assert_eq!(convert_background(hex("#fffffe")).css(), "#1a1a1a");
    }

    #[test]
    fn bright_coloured_background_is_dimmed_to_190() {
        // #ffd700 (gold): brightness 76.245 + 126.206 = 202.45 > 190 → ratio 0.9385; red hits
        // 255 × 0.9385 = 239.3 (no clamp), blue 0 → blue recomputed: (190000 − 239.3·299 −
        // 201.8·587)/114 = 0 → (239, 202, 0).
        let dark = convert_background(hex("#ffd700"));
        assert!((dark.brightness() - 190.0).abs() < 0.5, "{dark:?}");
    }

    #[test]
    fn very_dark_background_is_raised_to_22_percent_lightness() {
        // #0a0a3c: brightness 18.6, lightness 13.7 % < 22 → hsl(240, 71.4 %, 22 %) = (16, 16, 96).
        let dark = convert_background(hex("#0a0a3c"));
        assert!((dark.hsl().2 - 22.0).abs() < 0.2, "{:?}", dark.hsl());
    }

    #[test]
    fn mid_background_is_kept() {
        // #8b4513: brightness 41.6 + 40.5 + 2.2 = 84.2 (≤ 190), lightness 31 % (≥ 22) → unchanged.
        assert_eq!(convert_background(hex("#8b4513")).css(), "#8b4513");
    }

    #[test]
    fn alpha_is_kept_on_backgrounds() {
        let dark = convert_background(hex("rgba(255, 255, 255, 0.5)"));
        assert_eq!(dark.css(), "rgba(25, 25, 25, 0.5)");
    }

    #[test]
    fn dark_text_on_the_dark_page_is_lifted_to_the_default_offset() {
        // #333333 (brightness 51) on #191919 (25): offset 26 < 65; background brightness 25 <
        // 100 → lightness 20 % ≤ 40 → mirrored to 70 % = #b3b3b3 (179); offset 154 > 138 and the
        // background ≤ 27 → scaled to 138 + 25 = 163 → #a3a3a3, the default dark text.
        assert_eq!(convert_text(hex("#333333"), DARK_BG).css(), "#a3a3a3");
    }

    #[test]
    fn near_white_text_is_left_alone() {
        // #fafafa: brightness 250 ≥ 250.
        assert_eq!(convert_text(hex("#fafafa"), DARK_BG).css(), "#fafafa");
    }

    #[test]
    fn text_far_enough_from_its_background_is_kept() {
        // #b8860b (dark goldenrod): brightness 55 + 78.6 + 1.3 = 134.9 on #191919 (25): offset
        // 109.9 ≥ 65 and ≤ 138 → unchanged.
        assert_eq!(convert_text(hex("#b8860b"), DARK_BG).css(), "#b8860b");
    }

    #[test]
    fn text_on_a_light_background_is_darkened_to_65_below_it() {
        // Background #c0bdb8 (brightness 190); text #aaaaaa (170): offset 20 < 65; background ≥
        // 100 and lightness 66.7 % > 50 → mirrored to 23.3 % (0.233 × 255 = 59.5 → #3c3c3c):
        // offset 130 ≥ 65 → kept.
        let text = convert_text(hex("#aaaaaa"), hex("#c0bdb8"));
        assert_eq!(text.css(), "#3c3c3c");
        // Text #00e000 (brightness 131.5, lightness 43.9 % ≤ 50) on #c0bdb8 (189.3): offset 57.8
        // < 65, nothing to mirror → scaled to min(138, 189.3 − 65) = 124.3.
        let bg = hex("#c0bdb8");
        let text = convert_text(hex("#00e000"), bg);
        assert!((text.brightness() - (bg.brightness() - 65.0)).abs() < 0.2, "{text:?}");
    }

    #[test]
    fn a_translucent_background_counts_with_the_page_under_it() {
        // rgba(255,255,255,0.1): effective brightness 255·0.1 + 25·0.9 = 48; text #555555 (85):
        // offset 37 < 65; 48 < 100; lightness 33.3 % ≤ 40 → mirrored to 56.7 % (#919191, 145):
        // offset 97 ≥ 65 → kept.
        let text = convert_text(hex("#555555"), hex("rgba(255,255,255,0.1)"));
        assert_eq!(text.css(), "#919191");
    }

    #[test]
    fn gradients_are_mixed_to_one_colour_first() {
        // Two opaque colours: the second has weight 1 → the mix is the last colour.
        assert!(close(mix(&[hex("#ff0000"), hex("#0000ff")]).unwrap(), hex("#0000ff")));
        // A half-transparent second colour: p = 0.5, w = 0, a = −0.5 → w1 = (−0.5 + 1)/2 = 0.25:
        // 0.25·(0,0,255) + 0.75·(255,0,0) = (191.25, 0, 63.75), alpha 0.5·0.5 + 1·0.5 = 0.75.
        let m = mix(&[hex("#ff0000"), hex("rgba(0,0,255,0.5)")]).unwrap();
        assert!(close(m, Rgba { r: 191.25, g: 0.0, b: 63.75, a: 0.75 }), "{m:?}");
        let html = r#"<section style="background-image:linear-gradient(#ffffff, #ffffff)">x</section>"#;
        assert!(to_dark(html).contains("#191919"), "{}", to_dark(html));
    }

    #[test]
    fn html_is_converted_background_first_and_svg_and_no_dark_are_skipped() {
        let html = concat!(
            r#"<section style="background-color:#ffffff;color:#333333;border:1px solid #eeeeee">a"#,
            r#"<p style="color:#888888">b</p></section>"#,
            r#"<svg><rect style="fill:#ffffff"></rect></svg>"#,
            r#"<p data-no-dark="" style="color:#333333;background-color:#ffffff">c</p>"#,
            r#"<section style="background-image:url(x.png);background-color:#ffffff;color:#333333">d</section>"#,
        );
        let dark = to_dark(html);
        assert!(
            dark.starts_with(r#"<section style="background-color:#191919;color:#a3a3a3;border:1px solid"#),
            "{dark}"
        );
        assert!(dark.contains(r#"<svg><rect style="fill:#ffffff"></rect></svg>"#));
        assert!(dark.contains(r#"<p data-no-dark="" style="color:#333333;background-color:#ffffff">c</p>"#));
        assert!(dark.contains("background-image:url(x.png);background-color:#ffffff;color:#333333"), "{dark}");
        // A background with no text colour of its own gets the inherited one, re-judged.
        let dark = to_dark(r#"<section style="color:#333333"><p style="background-color:#f3eee4">e</p></section>"#);
        assert!(dark.contains("background-color:#") && dark.contains(";color:#"), "{dark}");
    }

    #[test]
    fn samples_carry_both_modes_and_the_contrast_is_wcag() {
        let samples = text_samples(r#"<p style="color:#999999;font-size:15px">hello</p>"#);
        assert_eq!(samples.len(), 1);
        // #999999 on white: (1.05)/(0.3185 + 0.05) = 2.85.
        assert!((contrast(samples[0].light_fg, samples[0].light_bg) - 2.85).abs() < 0.01);
        assert!(!samples[0].large);
        assert_eq!(samples[0].style, "color:#999999;font-size:15px");
    }

    #[test]
    fn a_remembered_tag_is_rewritten_for_the_background_it_sits_on() {
        let span = r#"<span style="color: #555555">字</span>"#;
        let on_white = format!(r#"<section style="background-color: #ffffff">{span}</section>"#);
        let on_sand = format!(r#"<section style="background-color: #d8c8a0">{span}</section>"#);
        let span_of = |html: &str| html[html.find("<span").unwrap()..html.find(">字").unwrap()].to_string();
        DARK_MEMO.take();
        let cold_white = span_of(&to_dark(&on_white));
        DARK_MEMO.take();
        let cold_sand = span_of(&to_dark(&on_sand));
        assert_ne!(cold_white, cold_sand, "the backgrounds convert differently, so the text does too");
        // Warm: the same start tag now sits in both contexts of one memo, in either order.
        let both = to_dark(&format!("{on_white}{on_sand}{on_white}"));
        let spans: Vec<String> = both.match_indices("<span").map(|(at, _)| span_of(&both[at..])).collect();
        assert_eq!(spans, [cold_white.clone(), cold_sand, cold_white]);
    }
}
