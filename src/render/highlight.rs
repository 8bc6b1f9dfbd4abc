//! Code highlighting with inline-styled spans, keeping whitespace the WeChat editor would
//! collapse: lines are joined with `<br>`, spaces become `&nbsp;`, each line is a `nowrap` span
//! so long lines scroll horizontally inside the block instead of wrapping.
use std::sync::OnceLock;

use std::cell::RefCell;
use std::collections::HashMap;

use syntect::highlighting::{FontStyle, HighlightIterator, HighlightState, Highlighter, Style, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};

use super::darkmode;

struct Assets {
    syntaxes: SyntaxSet,
    themes: ThemeSet,
}

/// Loaded once, on the first code block: loading costs tens of milliseconds.
fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| Assets { syntaxes: SyntaxSet::load_defaults_newlines(), themes: ThemeSet::load_defaults() })
}

/// One highlighter per code theme, built once (it sorts the theme's selectors).
fn highlighter(code_theme: &str) -> &'static Highlighter<'static> {
    static HIGHLIGHTERS: OnceLock<HashMap<&'static str, Highlighter<'static>>> = OnceLock::new();
    let highlighters = HIGHLIGHTERS.get_or_init(|| {
        assets().themes.themes.iter().map(|(name, theme)| (name.as_str(), Highlighter::new(theme))).collect()
    });
    highlighters.get(code_theme).or_else(|| highlighters.get("InspiredGitHub")).expect("syntect bundles InspiredGitHub")
}

/// (token colour, block background bits) → the readable CSS colour.
type ReadableColors = HashMap<([u8; 3], [u64; 4]), String>;

thread_local! {
    /// Readable token colours by (token colour, block background): the search for a readable
    /// shade runs the dark-mode conversion dozens of times.
    static READABLE: RefCell<ReadableColors> = RefCell::new(HashMap::new());
}

/// Names of the bundled code themes (for `[build] code_theme`).
pub fn theme_names() -> Vec<String> {
    assets().themes.themes.keys().cloned().collect()
}

/// Renders `code` as highlighted lines. `lang` may be empty or unknown (plain text then).
/// `line_style` is the theme's per-line style; each line gets `white-space: nowrap` too.
/// `block_style` is the code block's own style: token colours are made readable on its
/// background, in light mode and after WeChat's dark-mode conversion.
pub fn highlight(code: &str, lang: &str, code_theme: &str, line_style: &str, block_style: &str) -> String {
    let assets = assets();
    let syntax = assets.syntaxes.find_syntax_by_token(lang).unwrap_or_else(|| assets.syntaxes.find_syntax_plain_text());
    let highlighter = highlighter(code_theme);
    let mut parse_state = ParseState::new(syntax);
    let mut highlight_state = HighlightState::new(highlighter, ScopeStack::new());
    let background = block_style
        .split(';')
        .filter_map(|d| d.split_once(':'))
        .find(|(k, _)| k.trim().starts_with("background"))
        .and_then(|(_, v)| darkmode::parse_color(v))
        .unwrap_or(darkmode::WHITE);
    let background_key = [background.r, background.g, background.b, background.a].map(f64::to_bits);
    let line_attr = format!(" style=\"{}white-space: nowrap\"", with_semicolon(line_style));
    let mut out = String::with_capacity(code.len() * 4);
    for (index, line) in syntect::util::LinesWithEndings::from(code).enumerate() {
        if index > 0 {
            out.push_str("<br>");
        }
        out.push_str("<span");
        out.push_str(&line_attr);
        out.push('>');
        match parse_state.parse_line(line, &assets.syntaxes) {
            Ok(ops) => {
                let regions: Vec<(Style, &str)> =
                    HighlightIterator::new(&mut highlight_state, &ops, line, highlighter).collect();
                push_regions(&mut out, &regions, &mut |c| {
                    READABLE.with_borrow_mut(|cache| {
                        cache
                            .entry(([c.r, c.g, c.b], background_key))
                            .or_insert_with(|| readable(c, background))
                            .clone()
                    })
                })
            }
            Err(_) => push_code_text(&mut out, line),
        }
        out.push_str("</span>");
    }
    out
}

/// A token colour darkened (HSL lightness, hue kept) until it reaches WCAG AA (4.5:1) on the
/// block's background in light mode and after WeChat's dark-mode conversion: code-theme colours
/// such as comment grey are often 3:1, and mid-tones stay mid-tones on the dark page.
fn readable(c: syntect::highlighting::Color, background: darkmode::Rgba) -> String {
    let dark_background = darkmode::convert_background(background);
    let passes = |fg: darkmode::Rgba| {
        let dark = darkmode::convert_text(fg, dark_background).over(dark_background.over(darkmode::DARK_BG));
        darkmode::contrast(fg, background) >= 4.5
            && darkmode::contrast(dark, dark_background.over(darkmode::DARK_BG)) >= 4.5
    };
    let mut fg = darkmode::Rgba::rgb(f64::from(c.r), f64::from(c.g), f64::from(c.b));
    let (h, s, mut l) = fg.hsl();
    while !passes(fg) && l > 0.0 {
        l = (l - 2.0).max(0.0);
        fg = darkmode::Rgba::from_hsl(h, s, l, 1.0);
    }
    fg.css()
}

fn with_semicolon(style: &str) -> String {
    let trimmed = style.trim();
    if trimmed.is_empty() || trimmed.ends_with(';') { format!("{trimmed} ") } else { format!("{trimmed}; ") }
}

/// Writes one line's regions, merging neighbours of the same colour (and whitespace into its
/// neighbour): a span per token would spend WeChat's 20,000-character budget on markup.
fn push_regions(
    out: &mut String,
    regions: &[(Style, &str)],
    color: &mut dyn FnMut(syntect::highlighting::Color) -> String,
) {
    let mut runs: Vec<(Style, String)> = Vec::new();
    for (style, text) in regions {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            continue;
        }
        match runs.last_mut() {
            Some((last, run)) if same_look(last, style) || text.trim().is_empty() => run.push_str(text),
            _ => runs.push((*style, text.to_string())),
        }
    }
    for (style, text) in runs {
        out.push_str(&format!("<span style=\"color: {}", color(style.foreground)));
        if style.font_style.contains(FontStyle::BOLD) {
            out.push_str("; font-weight: bold");
        }
        if style.font_style.contains(FontStyle::ITALIC) {
            out.push_str("; font-style: italic");
        }
        out.push_str("\">");
        push_code_text(out, &text);
        out.push_str("</span>");
    }
}

fn same_look(a: &Style, b: &Style) -> bool {
    a.foreground == b.foreground && a.font_style == b.font_style
}

/// Escapes code text; every space becomes `&nbsp;` and a tab four of them, so indentation and
/// alignment survive the editor.
fn push_code_text(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            ' ' => out.push_str("&nbsp;"),
            '\t' => out.push_str("&nbsp;&nbsp;&nbsp;&nbsp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_indentation_and_line_breaks() {
        let html = highlight("fn main() {\n    let x = 1;\n}\n", "rust", "InspiredGitHub", "", "");
        assert_eq!(html.matches("<br>").count(), 2);
        assert!(html.contains("&nbsp;&nbsp;&nbsp;&nbsp;"), "{html}");
        assert!(html.contains("color: #"), "{html}");
    }

    #[test]
    fn token_colours_are_darkened_until_readable_in_both_modes() {
        // InspiredGitHub's comment grey #969896 on #f8f8f8 is 2.74:1.
        let html = highlight("# a comment\n", "python", "InspiredGitHub", "", "background-color: #f8f8f8");
        let colour = html.split("color: ").nth(1).unwrap()[..7].to_string();
        let fg = darkmode::parse_color(&colour).unwrap();
        let bg = darkmode::parse_color("#f8f8f8").unwrap();
        assert!(darkmode::contrast(fg, bg) >= 4.5, "{colour}");
        let dark_bg = darkmode::convert_background(bg);
        assert!(darkmode::contrast(darkmode::convert_text(fg, dark_bg), dark_bg) >= 4.5, "{colour}");
        assert_eq!(fg.hsl().0.round(), darkmode::parse_color("#969896").unwrap().hsl().0.round(), "hue kept");
    }

    #[test]
    fn a_120_column_line_stays_one_line() {
        let line = "x".repeat(120);
        let html = highlight(&line, "", "InspiredGitHub", "", "");
        assert!(!html.contains("<br>"));
        assert!(html.contains("white-space: nowrap"));
        assert!(html.contains(&line));
    }
}
