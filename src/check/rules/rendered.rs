//! The rules on the render: its size as sent against WeChat's content limits, and its text
//! colours in light and dark mode.
use super::{Context, diag};
use crate::content::Item;
use crate::render::RenderError;
use crate::util::diagnostics::{Diagnostic, Rule};
use crate::wechat::limits::ContentSize;

/// Text whose colours fail WCAG AA in light mode or after WeChat's dark-mode conversion. One
/// finding per distinct style, located at the theme key or the source line that sets it.
fn check_contrast(ctx: &Context<'_>, item: &Item, html: &str) -> Vec<Diagnostic> {
    use crate::render::darkmode::text_samples;
    let theme = ctx.layouts.map(|l| l.theme());
    let squash = |s: &str| s.replace([' ', ';'], "").to_ascii_lowercase();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for sample in text_samples(html) {
        let needed = sample.required_contrast();
        let (light, dark) = (sample.light_contrast(), sample.dark_contrast());
        if light >= needed && dark >= needed {
            continue;
        }
        if !seen.insert((sample.style.clone(), sample.light_bg.css())) {
            continue;
        }
        let key = theme.and_then(|t| {
            t.styles()
                .iter()
                .find(|(_, v)| !sample.style.is_empty() && squash(v) == squash(&sample.style))
                .map(|(k, _)| k.clone())
        });
        let (mode, ratio, fg, bg) = if light < needed {
            ("light", light, sample.light_fg, sample.light_bg)
        } else {
            ("dark", dark, sample.dark_fg, sample.dark_bg)
        };
        let light_fg = sample.light_fg.css();
        let measured = format!(
            "{} on {} is {ratio:.2}:1 in {mode} mode (needs {needed}:1; light {light:.2}:1, dark {dark:.2}:1)",
            fg.css(),
            bg.css()
        );
        let mut finding = match &key {
            // A theme style: reported once, at the theme's line for that key.
            Some(key) => {
                let theme_file =
                    std::path::PathBuf::from("layouts/themes").join(format!("{}.toml", ctx.config.site.theme));
                let text = std::fs::read_to_string(ctx.project.join(&theme_file)).unwrap_or_default();
                let line =
                    text.lines().position(|l| l.trim_start().starts_with(&format!("{key} "))).map_or(1, |i| i + 1);
                let mut d = diag(item, line, 1, Rule::DarkContrast, format!("theme style `{key}`: {measured}"), "");
                d.file = theme_file;
                d
            }
            None => {
                let line =
                    item.source.lines().position(|l| l.to_ascii_lowercase().contains(&light_fg)).map_or(1, |i| i + 1);
                diag(
                    item,
                    line,
                    1,
                    Rule::DarkContrast,
                    format!("“{}…” (style `{}`): {measured}", sample.text, sample.style),
                    "",
                )
            }
        };
        finding.hint = Some(
            if mode == "light" {
                "darken the text colour (or lighten its background)"
            } else {
                "WeChat recolours it in dark mode: pick a text colour further from the background, or put the background on the container"
            }
            .to_string(),
        );
        out.push(finding);
    }
    out
}

/// Measures the item's render against the content limits, each image counted as the uploadimg
/// URL it will be in the HTML sent, and checks its colours.
pub(super) fn check_rendered(ctx: &Context<'_>, item: &Item) -> Vec<Diagnostic> {
    let Some(render) = ctx.render_of(item) else { return Vec::new() };
    match render {
        Ok(rendered) => {
            let mut out: Vec<Diagnostic> =
                rendered.diagnostics.iter().filter(|d| d.rule != Rule::ListDepth).cloned().collect();
            out.extend(check_contrast(ctx, item, &rendered.html));
            let size = ContentSize::of(&crate::images::as_sent(&rendered.html));
            if !size.fits() {
                out.push(diag(
                    item,
                    1,
                    1,
                    Rule::ContentLength,
                    format!("the content as sent is {size}"),
                    "split the article into two pushes, or move long tables and lists into images",
                ));
            } else if size.html_chars >= crate::wechat::limits::CONTENT_MAX_TEXT_CHARS {
                // What other tools refuse, and WeChat does not: say why it is fine.
                out.push(diag(
                    item,
                    1,
                    1,
                    Rule::ContentHtmlLength,
                    format!(
                        "the HTML is {} characters; WeChat counts the {} visible ones against its 20,000",
                        size.html_chars, size.text_chars
                    ),
                    "nothing to do",
                ));
            }
            out
        }
        Err(RenderError::Source { line, column, message, .. }) => {
            vec![diag(item, *line, *column, Rule::FrontMatter, message.clone(), "fix this block")]
        }
        Err(_) => Vec::new(),
    }
}
