//! Code highlighting with inline-styled spans, keeping whitespace the WeChat editor would
//! collapse: lines are joined with `<br>`, spaces become `&nbsp;`, each line is a `nowrap` span
//! so long lines scroll horizontally inside the block instead of wrapping.
//!
//! Two engines, one look. The languages museum teams write most (Python, JavaScript,
//! TypeScript, shell, JSON, HTML, CSS) are parsed with tree-sitter, several times faster than syntect's regex
//! grammars; every other language goes through syntect. Either way the colours come from the
//! same syntect code theme: each tree-sitter capture is given the TextMate scope the theme
//! already colours (`keyword` → `keyword.control`, …), so `[build] code_theme` means one thing.
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use syntect::highlighting::{FontStyle, HighlightIterator, HighlightState, Highlighter, Style, ThemeSet};
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};
use tree_sitter_highlight::{HighlightConfiguration, HighlightEvent};

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

/// A code theme ready to use, built once per theme and shared by every thread.
struct CodeTheme {
    /// syntect's highlighter (building it sorts the theme's selectors).
    highlighter: Highlighter<'static>,
    /// Per tree-sitter grammar, the theme's style for each capture in `CAPTURE_SCOPES` order,
    /// resolved on the grammar's first use.
    capture_styles: Vec<OnceLock<Vec<Style>>>,
}

impl CodeTheme {
    fn capture_styles(&self, grammar: usize) -> &[Style] {
        self.capture_styles[grammar].get_or_init(|| {
            let g = &GRAMMARS[grammar];
            let base = Scope::new(g.base_scope).expect("a valid base scope");
            CAPTURE_SCOPES
                .iter()
                .map(|(name, scope)| {
                    let scope = g.overrides.iter().find(|(n, _)| n == name).map_or(*scope, |(_, s)| *s);
                    self.highlighter.style_for_stack(&[base, Scope::new(scope).expect("a valid scope")])
                })
                .collect()
        })
    }
}

/// The named code theme (InspiredGitHub for a name syntect does not bundle; the config check
/// has already said so).
fn code_theme(name: &str) -> &'static CodeTheme {
    static THEMES: OnceLock<HashMap<&'static str, CodeTheme>> = OnceLock::new();
    let themes = THEMES.get_or_init(|| {
        let theme = |theme| CodeTheme {
            highlighter: Highlighter::new(theme),
            capture_styles: GRAMMARS.iter().map(|_| OnceLock::new()).collect(),
        };
        assets().themes.themes.iter().map(|(name, t)| (name.as_str(), theme(t))).collect()
    });
    themes.get(name).or_else(|| themes.get("InspiredGitHub")).expect("syntect bundles InspiredGitHub")
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

/// Fence names that ask for plain text on purpose.
const PLAIN_NAMES: &[&str] = &["text", "txt", "plain", "plaintext", "none", "nohighlight", "output"];

/// Whether a code fence's language name is highlighted by either engine, or asks for plain
/// text (an empty name does too). `wxpub check` warns about the others: they are shown plain.
pub fn knows_language(lang: &str) -> bool {
    lang.is_empty()
        || PLAIN_NAMES.iter().any(|p| p.eq_ignore_ascii_case(lang))
        || grammar(lang).is_some()
        || assets().syntaxes.find_syntax_by_token(lang).is_some()
}

/// Every language name a fence may use (for suggestions): tree-sitter's fence names, syntect's
/// file extensions and its syntax names in lower case.
pub fn language_names() -> Vec<String> {
    let mut names: Vec<String> = GRAMMARS.iter().flat_map(|g| g.tokens.iter().map(|t| t.to_string())).collect();
    for syntax in assets().syntaxes.syntaxes() {
        names.extend(syntax.file_extensions.iter().cloned());
        names.push(syntax.name.to_lowercase());
    }
    names.sort();
    names.dedup();
    names
}

/// Renders `code` as highlighted lines. `lang` may be empty or unknown (plain text then).
/// `line_style` is the theme's per-line style; each line gets `white-space: nowrap` too.
/// `block_style` is the code block's own style: token colours are made readable on its
/// background, in light mode and after WeChat's dark-mode conversion.
/// Beyond these sizes a block is shown plain. Some grammars cost far more than linear time on
/// hostile input (a 250 KB unbalanced HTML block took 10 s), and a block this long cannot be
/// published anyway: WeChat takes under 20,000 visible characters per article.
pub const HIGHLIGHT_MAX_BYTES: usize = 20_000;
/// Regex grammars backtrack on very long lines (minified code).
pub const HIGHLIGHT_MAX_LINE: usize = 2_000;

pub fn highlight(code: &str, lang: &str, code_theme: &str, line_style: &str, block_style: &str) -> String {
    let theme = self::code_theme(code_theme);
    let too_big = code.len() > HIGHLIGHT_MAX_BYTES || code.lines().any(|line| line.len() > HIGHLIGHT_MAX_LINE);
    let lines = if too_big {
        syntect_lines(code, "txt", &theme.highlighter)
    } else {
        grammar(lang)
            .and_then(|grammar| tree_sitter_lines(code, grammar, theme))
            .unwrap_or_else(|| syntect_lines(code, lang, &theme.highlighter))
    };
    let background = block_style
        .split(';')
        .filter_map(|d| d.split_once(':'))
        .find(|(k, _)| k.trim().starts_with("background"))
        .and_then(|(_, v)| darkmode::parse_color(v))
        .unwrap_or(darkmode::WHITE);
    let background_key = [background.r, background.g, background.b, background.a].map(f64::to_bits);
    let line_attr = format!(" style=\"{}white-space: nowrap\"", with_semicolon(line_style));
    let mut out = String::with_capacity(code.len() * 4);
    for (index, regions) in lines.iter().enumerate() {
        if index > 0 {
            out.push_str("<br>");
        }
        out.push_str("<span");
        out.push_str(&line_attr);
        out.push('>');
        push_regions(&mut out, regions, &mut |c| {
            READABLE.with_borrow_mut(|cache| {
                cache.entry(([c.r, c.g, c.b], background_key)).or_insert_with(|| readable(c, background)).clone()
            })
        });
        out.push_str("</span>");
    }
    out
}

/// One line of code as (style, text) regions.
type Line<'a> = Vec<(Style, &'a str)>;

/// Lines the way syntect splits them (`LinesWithEndings`): a final line without a newline
/// counts, an empty last line after a newline does not.
fn syntect_lines<'a>(code: &'a str, lang: &str, highlighter: &Highlighter) -> Vec<Line<'a>> {
    let assets = assets();
    let syntax = assets.syntaxes.find_syntax_by_token(lang).unwrap_or_else(|| assets.syntaxes.find_syntax_plain_text());
    let mut parse_state = ParseState::new(syntax);
    let mut highlight_state = HighlightState::new(highlighter, ScopeStack::new());
    syntect::util::LinesWithEndings::from(code)
        .map(|line| match parse_state.parse_line(line, &assets.syntaxes) {
            Ok(ops) => HighlightIterator::new(&mut highlight_state, &ops, line, highlighter).collect(),
            Err(_) => vec![(highlighter.get_default(), line)],
        })
        .collect()
}

/// A language tree-sitter highlights: the fence names that select it, its base TextMate scope
/// (for the theme's language-specific rules), captures whose usual scope it overrides, and the
/// grammar with the queries it ships.
struct Grammar {
    tokens: &'static [&'static str],
    base_scope: &'static str,
    overrides: &'static [(&'static str, &'static str)],
    language: tree_sitter_language::LanguageFn,
    /// Highlight queries, in the order the grammar's own `tree-sitter.json` lists them.
    highlights: &'static [&'static str],
    injections: &'static str,
    /// Local-variable queries, in the same order.
    locals: &'static [&'static str],
}

/// Tree-sitter capture names → the TextMate scope whose colour the code theme gives them.
/// Plain identifiers and properties map to `source` (the theme's default colour) because
/// syntect's own grammars leave them uncoloured too; themes that colour `variable` would
/// otherwise paint every name.
const CAPTURE_SCOPES: &[(&str, &str)] = &[
    ("attribute", "entity.other.attribute-name"),
    ("charset", "keyword.control.at-rule"),
    ("comment", "comment.line"),
    ("constant", "constant.other"),
    ("constant.builtin", "constant.language"),
    ("constructor", "support.class"),
    ("embedded", "source"),
    ("escape", "constant.character.escape"),
    ("function", "entity.name.function"),
    ("function.builtin", "support.function.builtin"),
    ("function.method", "entity.name.function"),
    ("import", "keyword.control.at-rule"),
    ("keyframes", "keyword.control.at-rule"),
    ("keyword", "keyword.control"),
    ("media", "keyword.control.at-rule"),
    ("namespace", "keyword.control.at-rule"),
    ("number", "constant.numeric"),
    ("operator", "keyword.operator"),
    ("property", "source"),
    ("punctuation", "punctuation"),
    ("punctuation.bracket", "punctuation"),
    ("punctuation.delimiter", "punctuation"),
    ("punctuation.special", "punctuation.section.embedded"),
    ("string", "string.quoted"),
    ("string.special", "string.regexp"),
    ("string.special.key", "support.type.property-name"),
    ("supports", "keyword.control.at-rule"),
    ("tag", "entity.name.tag"),
    ("tag.error", "entity.name.tag"),
    ("type", "entity.name.type"),
    ("type.builtin", "support.type"),
    ("variable", "source"),
    ("variable.builtin", "variable.language"),
    ("variable.parameter", "variable.parameter"),
];

/// The languages tree-sitter highlights (chosen for what museum teams write: data scripts, web
/// pages, shell); every other fence name goes to syntect.
const GRAMMARS: &[Grammar] = &[
    Grammar {
        tokens: &["python", "py", "python3", "py3"],
        base_scope: "source.python",
        overrides: &[],
        language: tree_sitter_python::LANGUAGE,
        highlights: &[tree_sitter_python::HIGHLIGHTS_QUERY],
        injections: "",
        locals: &[],
    },
    Grammar {
        tokens: &["javascript", "js", "jsx", "mjs", "cjs", "node"],
        base_scope: "source.js",
        overrides: &[],
        language: tree_sitter_javascript::LANGUAGE,
        highlights: &[tree_sitter_javascript::JSX_HIGHLIGHT_QUERY, tree_sitter_javascript::HIGHLIGHT_QUERY],
        injections: tree_sitter_javascript::INJECTIONS_QUERY,
        locals: &[tree_sitter_javascript::LOCALS_QUERY],
    },
    // TypeScript's queries add to JavaScript's, as the grammar's upstream `tree-sitter.json` lists them.
    Grammar {
        tokens: &["typescript", "ts", "mts", "cts"],
        base_scope: "source.ts",
        overrides: &[],
        language: tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
        highlights: &[tree_sitter_typescript::HIGHLIGHTS_QUERY, tree_sitter_javascript::HIGHLIGHT_QUERY],
        injections: tree_sitter_javascript::INJECTIONS_QUERY,
        locals: &[tree_sitter_typescript::LOCALS_QUERY, tree_sitter_javascript::LOCALS_QUERY],
    },
    Grammar {
        tokens: &["tsx"],
        base_scope: "source.tsx",
        overrides: &[],
        language: tree_sitter_typescript::LANGUAGE_TSX,
        highlights: &[
            tree_sitter_typescript::HIGHLIGHTS_QUERY,
            tree_sitter_javascript::JSX_HIGHLIGHT_QUERY,
            tree_sitter_javascript::HIGHLIGHT_QUERY,
        ],
        injections: tree_sitter_javascript::INJECTIONS_QUERY,
        locals: &[tree_sitter_javascript::LOCALS_QUERY],
    },
    Grammar {
        tokens: &["bash", "sh", "shell", "zsh"],
        base_scope: "source.shell",
        overrides: &[],
        language: tree_sitter_bash::LANGUAGE,
        highlights: &[tree_sitter_bash::HIGHLIGHT_QUERY],
        injections: "",
        locals: &[],
    },
    Grammar {
        tokens: &["json"],
        base_scope: "source.json",
        overrides: &[],
        language: tree_sitter_json::LANGUAGE,
        highlights: &[tree_sitter_json::HIGHLIGHTS_QUERY],
        injections: "",
        locals: &[],
    },
    Grammar {
        tokens: &["html", "htm", "xhtml"],
        base_scope: "text.html.basic",
        overrides: &[],
        language: tree_sitter_html::LANGUAGE,
        highlights: &[tree_sitter_html::HIGHLIGHTS_QUERY],
        injections: tree_sitter_html::INJECTIONS_QUERY,
        locals: &[],
    },
    Grammar {
        tokens: &["css"],
        base_scope: "source.css",
        overrides: &[("property", "support.type.property-name")],
        language: tree_sitter_css::LANGUAGE,
        highlights: &[tree_sitter_css::HIGHLIGHTS_QUERY],
        injections: "",
        locals: &[],
    },
];

/// The tree-sitter grammar for a fence's language name, if there is one.
fn grammar(lang: &str) -> Option<usize> {
    GRAMMARS.iter().position(|g| g.tokens.iter().any(|t| t.eq_ignore_ascii_case(lang)))
}

/// Each grammar's compiled queries, built on first use (compiling a query takes milliseconds).
/// `None` if the bundled queries do not compile, which sends the language to syntect.
fn configuration(grammar: usize) -> Option<&'static HighlightConfiguration> {
    static CONFIGS: OnceLock<Vec<OnceLock<Option<HighlightConfiguration>>>> = OnceLock::new();
    let configs = CONFIGS.get_or_init(|| GRAMMARS.iter().map(|_| OnceLock::new()).collect());
    configs[grammar]
        .get_or_init(|| {
            let g = &GRAMMARS[grammar];
            let highlights = g.highlights.join("\n");
            let name = g.tokens[0];
            let locals = g.locals.join("\n");
            let mut config =
                HighlightConfiguration::new(g.language.into(), name, &highlights, g.injections, &locals).ok()?;
            config.configure(&CAPTURE_SCOPES.iter().map(|(name, _)| *name).collect::<Vec<_>>());
            Some(config)
        })
        .as_ref()
}

thread_local! {
    /// The tree-sitter parser and query cursors, reused across blocks.
    static TREE_SITTER: RefCell<tree_sitter_highlight::Highlighter> =
        RefCell::new(tree_sitter_highlight::Highlighter::new());
}

/// Highlights with tree-sitter; `None` (syntect takes over) if the grammar cannot be loaded or
/// the highlighter stops with an error. A syntax error in the code is not one: tree-sitter
/// recovers and colours what it can.
fn tree_sitter_lines<'a>(code: &'a str, grammar: usize, theme: &CodeTheme) -> Option<Vec<Line<'a>>> {
    let config = configuration(grammar)?;
    let styles = theme.capture_styles(grammar);
    let plain = theme.highlighter.get_default();
    TREE_SITTER.with_borrow_mut(|tree_sitter| {
        // The closure (not the fn item) lets the returned reference shorten to the call's lifetime.
        let injected = |name: &str| -> Option<&HighlightConfiguration> { grammar_for_injection(name) };
        let events = tree_sitter.highlight(config, code.as_bytes(), None, injected).ok()?;
        let mut lines: Vec<Line<'a>> = Vec::new();
        let mut line: Line<'a> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        for event in events {
            match event.ok()? {
                HighlightEvent::HighlightStart(capture) => open.push(capture.0),
                HighlightEvent::HighlightEnd => {
                    open.pop();
                }
                HighlightEvent::Source { start, end } => {
                    let style = open.last().map_or(plain, |&capture| styles[capture]);
                    let mut text = code.get(start..end)?;
                    while let Some(newline) = text.find('\n') {
                        line.push((style, &text[..=newline]));
                        lines.push(std::mem::take(&mut line));
                        text = &text[newline + 1..];
                    }
                    if !text.is_empty() {
                        line.push((style, text));
                    }
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        Some(lines)
    })
}

/// The configuration for a language another one embeds (`<script>` in HTML, say).
fn grammar_for_injection(name: &str) -> Option<&'static HighlightConfiguration> {
    configuration(grammar(name)?)
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

    /// The text of highlighted lines, joined back (what an editor would copy out).
    fn text_of(lines: &[Line]) -> String {
        lines.iter().map(|line| line.iter().map(|(_, text)| *text).collect::<String>()).collect()
    }

    #[test]
    fn tree_sitter_keeps_every_character_of_the_code_even_when_it_does_not_parse() {
        let theme = code_theme("InspiredGitHub");
        let highlighter = &theme.highlighter;
        for (lang, code) in [
            ("python", "def f(:\n    s = \"unterminated\n\tx = 1\n"),
            ("python", "print('no newline at the end')"),
            ("js", "const a = `${b`;\r\nlet 青铜 = 1;\r\n"),
            ("bash", "for f in *.jpg; do\n"),
            ("json", "{\"a\": [1, 2,\n"),
            ("html", "<p>未闭合 <b>粗体\n<script>let x = </script>\n"),
            ("css", "p { color: \n"),
            ("ts", "interface Loan { id: number; until?: Date }\nconst l: Loan = {\n"),
            ("tsx", "const card = <Card title={`青铜`} />;\n"),
            ("python", ""),
        ] {
            let lines = tree_sitter_lines(code, grammar(lang).unwrap(), theme).unwrap();
            assert_eq!(text_of(&lines), code, "{lang}: {code:?}");
            assert_eq!(lines.len(), syntect_lines(code, lang, highlighter).len(), "{lang}: same line count as syntect");
        }
    }

    #[test]
    fn tree_sitter_colours_tokens_as_the_code_theme_does_through_syntect() {
        let code = "# 找出超出范围的读数\ndef alerts(readings):\n    return \"湿度\" if 45 < 60 else None\n";
        for theme in ["InspiredGitHub", "Solarized (light)", "base16-ocean.light"] {
            let tree_sitter = tree_sitter_lines(code, grammar("python").unwrap(), code_theme(theme)).unwrap();
            let syntect = syntect_lines(code, "python", &code_theme(theme).highlighter);
            let style_of = |lines: &[Line], token: &str| {
                lines.iter().flatten().find(|(_, text)| text.contains(token)).map(|(style, _)| style.foreground)
            };
            for token in ["找出", "def", "return", "湿度", "45", "None"] {
                assert_eq!(style_of(&tree_sitter, token), style_of(&syntect, token), "{theme}: {token}");
            }
        }
    }

    #[test]
    fn html_highlights_the_javascript_inside_script() {
        let theme = code_theme("InspiredGitHub");
        let highlighter = &theme.highlighter;
        let code = "<p>文字</p>\n<script>let total = 1;</script>\n";
        let lines = tree_sitter_lines(code, grammar("html").unwrap(), theme).unwrap();
        let keyword = lines.iter().flatten().find(|(_, text)| *text == "let").expect("`let` is its own token");
        let syntect = syntect_lines("let total = 1;\n", "js", highlighter);
        let js_keyword = syntect.iter().flatten().find(|(_, text)| *text == "let").unwrap();
        assert_eq!(keyword.0.foreground, js_keyword.0.foreground);
        assert_ne!(keyword.0.foreground, highlighter.get_default().foreground);
    }

    #[test]
    fn typescript_is_highlighted_though_syntect_has_no_grammar_for_it() {
        let theme = code_theme("InspiredGitHub");
        let highlighter = &theme.highlighter;
        let code = "// 借展记录\ninterface Loan { id: number }\nconst days: number = 90;\n";
        assert!(assets().syntaxes.find_syntax_by_token("ts").is_none(), "syntect would show it plain");
        let lines = tree_sitter_lines(code, grammar("ts").unwrap(), theme).unwrap();
        let colour_of = |token: &str| {
            lines.iter().flatten().find(|(_, text)| text.contains(token)).map(|(style, _)| style.foreground).unwrap()
        };
        let plain = highlighter.get_default().foreground;
        for token in ["借展记录", "interface", "const", "90"] {
            assert_ne!(colour_of(token), plain, "{token}");
        }
        assert_eq!(colour_of("interface"), colour_of("const"), "both keywords");
    }

    #[test]
    fn fence_names_either_engine_knows_are_known() {
        for lang in ["python", "TS", "rust", "sql", "yaml", "text", ""] {
            assert!(knows_language(lang), "{lang}");
        }
        assert!(!knows_language("pyhton"));
        let names = language_names();
        assert!(names.iter().any(|n| n == "python") && names.iter().any(|n| n == "rs"), "{names:?}");
    }

    #[test]
    fn fence_names_pick_the_grammar_whatever_their_case() {
        assert_eq!(grammar("Python"), grammar("py"));
        assert!(grammar("JSON").is_some() && grammar("sh").is_some() && grammar("css").is_some());
        assert_ne!(grammar("ts"), grammar("tsx"), "TSX has its own grammar");
        assert_eq!(grammar("rust"), None, "other languages go to syntect");
        assert_eq!(grammar(""), None);
    }
}
