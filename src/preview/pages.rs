//! The preview's HTML: an index of every item, and each item in a 375 px phone frame drawn like
//! a WeChat article page. The frame's own look comes from a `<style>` that targets only the
//! frame's classes, and its geometry from inline styles, so that the article inside is shown with
//! exactly the styles it carries itself — what WeChat will show.
use crate::util::html::escape;

/// What the preview knows about one item after a build and a check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemView {
    pub key: String,
    pub kind: String,
    pub title: String,
    pub author: Option<String>,
    pub account_key: String,
    pub account_name: String,
    pub publish_at: Option<String>,
    pub draft: bool,
    pub source_url: Option<String>,
    pub source: String,
    pub content_html: String,
    pub content_chars: usize,
    /// File names under the item's `images/`: the 2.35:1 and 1:1 crop previews.
    pub cover_crops: Option<(String, String)>,
    /// Every file under the item's `images/` (its images, cover and crop previews), by its name
    /// in the image cache: what the preview serves there.
    pub image_files: Vec<String>,
    /// (severity, "line:col [rule] message").
    pub diagnostics: Vec<(String, String)>,
    /// Text runs below WCAG AA after WeChat's dark-mode conversion.
    pub dark_problems: usize,
    /// An image post (贴图): its photos (paths under the item) and its plain text.
    pub image_post: Option<(Vec<String>, String)>,
}

fn image_post_html(photos: &[String], text: &str) -> String {
    let slides: String = photos
        .iter()
        .enumerate()
        .map(|(i, src)| {
            format!(
                r#"<img src="{src}" alt="{n}/{count}" style="flex: 0 0 100%; width: 100%; height: auto; scroll-snap-align: center; object-fit: contain; background-color: #000000;">"#,
                src = escape(src),
                n = i + 1,
                count = photos.len()
            )
        })
        .collect();
    let paragraphs: String = text
        .split("\n\n")
        .map(|p| format!("<p style=\"margin: 0 0 12px 0; white-space: pre-wrap;\">{}</p>", escape(p)))
        .collect();
    format!(
        r#"<section class="wx-image-post"><div class="wx-slides" style="display: flex; overflow-x: auto; scroll-snap-type: x mandatory; margin: 0 -16px 12px -16px;">{slides}</div><p class="wx-slide-count" style="margin: 0 0 12px 0; font-size: 12px; color: #888888; text-align: center;">{count} 张 · 左右滑动</p>{paragraphs}</section>"#,
        count = photos.len()
    )
}

/// The colours of a drawn mini-program card: its box (background, border), the name line, the
/// title and the page line. The WeChat client draws its native card in its own colours, dark in
/// dark mode (WeChat's dark card on the #191919 page), not converted like the article's styles.
struct CardColours {
    background: &'static str,
    border: &'static str,
    name: &'static str,
    title: &'static str,
    path: &'static str,
}

const LIGHT_CARD: CardColours =
    CardColours { background: "#ffffff", border: "#e5e5e5", name: "#888888", title: "#191919", path: "#576b95" };
const DARK_CARD: CardColours =
    CardColours { background: "#2c2c2c", border: "#3a3a3a", name: "#a3a3a3", title: "#d1d1d1", path: "#7d90a9" };

/// A mini-program card as the WeChat client draws it (a browser shows `<mp-miniprogram>` as
/// nothing): the mini program's name line, the title, the picture, and the page it opens; dark
/// when the page shows dark mode.
pub fn draw_miniprogram_cards(html: &str, dark: bool) -> String {
    let colours = if dark { &DARK_CARD } else { &LIGHT_CARD };
    const OPEN: &str = "<mp-miniprogram";
    const CLOSE: &str = "</mp-miniprogram>";
    if !html.contains(OPEN) {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + 512);
    let mut rest = html;
    let mut attributes = Vec::new();
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after_tag = crate::util::html::parse_attributes(&rest[start + OPEN.len()..], &mut attributes);
        let attribute = |name: &str| {
            attributes
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(name))
                .map(|(_, v)| crate::util::html::decode_entities(v).into_owned())
                .unwrap_or_default()
        };
        out.push_str(&format!(
            r#"<section class="wx-mp-card" data-appid="{appid}" style="margin: 12px 0; padding: 12px; border: 1px solid {border}; border-radius: 8px; background-color: {background}; text-align: left;"><p style="margin: 0 0 8px 0; font-size: 13px; color: {name};">小程序</p><p style="margin: 0 0 8px 0; font-size: 15px; color: {title_colour};">{title}</p><img src="{image}" alt="" style="display: block; width: 100%; height: auto; border-radius: 4px;"><p style="margin: 8px 0 0 0; font-size: 12px; color: {path_colour};">{path}</p></section>"#,
            appid = escape(&attribute("data-miniprogram-appid")),
            title = escape(&attribute("data-miniprogram-title")),
            image = escape(&attribute("data-miniprogram-imageurl")),
            path = escape(&attribute("data-miniprogram-path")),
            border = colours.border,
            background = colours.background,
            name = colours.name,
            title_colour = colours.title,
            path_colour = colours.path,
        ));
        rest = after_tag.strip_prefix(CLOSE).unwrap_or(after_tag);
    }
    out.push_str(rest);
    out
}

/// Which colour scheme the item page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
    /// Light and dark side by side.
    Both,
    /// For print: interactive components shown in every state, one after another.
    Print,
    /// The item in each of the project's themes, side by side.
    Themes,
}

/// The document head of every preview page: the page's own look in one `<style>`.
fn head(title: &str, style: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · wxpub preview</title>\n<style>{style}</style>\n</head>\n",
        escape(title)
    )
}

/// The reload hook's JavaScript, with `{version}` and `{key}` where [`reload_script`] puts the
/// page's version and item key (the file's final newline is not part of the page).
const RELOAD_JS: &str = include_str!("reload.js");

/// The reload hook: an EventSource telling each new version and the items it changed (`null`:
/// everything). An item page reloads only when its own item changed; the index on any change.
fn reload_script(version: u64, key: &str) -> String {
    let key = serde_json::Value::String(key.to_string()).to_string().replace('<', "\\u003c");
    // The version first: the key, a JSON string, is put in last so that nothing in it is replaced.
    let script = RELOAD_JS.trim_end().replace("{version}", &version.to_string()).replace("{key}", &key);
    format!("<script>{script}</script>")
}

const FRAME_STYLE: &str = r#"
body { margin: 0; background: #ededed; font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
.wx-bar { position: sticky; top: 0; z-index: 2; background: #ededed; color: #111; text-align: center; font-size: 15px; padding: 10px 0; border-bottom: 1px solid #d9d9d9; }
.wx-bar a { position: absolute; left: 12px; color: #576b95; text-decoration: none; }
.wx-title { font-size: 22px; line-height: 1.4; font-weight: 600; color: #111; margin: 0 0 14px; }
.wx-meta { font-size: 15px; color: rgba(0, 0, 0, 0.3); margin: 0 0 22px; }
.wx-meta .wx-account { color: #576b95; margin-right: 8px; text-decoration: none; }
.wx-meta span { margin-right: 8px; }
.wx-original { display: block; margin-top: 28px; font-size: 15px; color: #576b95; text-decoration: none; }
.wx-banner { background: #fff3f0; color: #a8071a; padding: 10px 14px; font-size: 13px; white-space: pre-wrap; }
.wx-issues { font-size: 13px; color: #8c6d1f; background: #fffbe6; padding: 8px 12px; margin: 0; }
.wx-switch { position: absolute; right: 12px; top: 10px; font-size: 13px; }
.wx-switch a { position: static; margin-left: 8px; color: #576b95; }
.wx-switch a.on { color: #111; font-weight: 600; }
.wx-dark .wx-meta { color: rgba(255, 255, 255, 0.35); }
"#;

fn banner(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!("<div class=\"wx-banner\">The last rebuild failed; showing the previous build.\n{}</div>", escape(e))
    })
}

/// One phone frame: WeChat's article chrome around the content, light or dark.
fn frame(item: &ItemView, dark: bool, print: bool) -> String {
    let date = item.publish_at.as_deref().and_then(|p| p.get(..10)).unwrap_or("未排期");
    let author = item.author.as_deref().map_or_else(String::new, |a| format!("<span>{}</span>", escape(a)));
    let original = item
        .source_url
        .as_deref()
        .map_or_else(String::new, |url| format!("<a class=\"wx-original\" href=\"{}\">阅读原文</a>", escape(url)));
    // Geometry and page colours inline, so that removing the page's stylesheet changes nothing
    // inside the article; dark mode uses WeChat's own page colours.
    let (page, title_colour, content) = if dark {
        (
            "background-color: #191919; color: #a3a3a3;",
            "color: #d1d1d1;",
            crate::render::darkmode::to_dark(&item.content_html),
        )
    } else {
        ("background-color: #ffffff;", "", item.content_html.clone())
    };
    let content = if print { crate::render::components::static_fallback(&content) } else { content };
    let content = match &item.image_post {
        // As the WeChat client shows an image post: the photos to swipe through, the text below.
        Some((photos, text)) => image_post_html(photos, text),
        None => draw_miniprogram_cards(&content, dark),
    };
    format!(
        r#"<div class="wx-phone{scheme}" style="width: 375px; max-width: 100%; margin: 0 auto; min-height: 100vh; {page}">
<div class="wx-page" style="padding: 20px 16px 40px 16px;">
<h1 class="wx-title" id="activity-name" style="{title_colour}">{title}</h1>
<div class="wx-meta">{author}<a class="wx-account" href="/">{account}</a><span>{date}</span></div>
<div id="js_content{id_suffix}" class="js_content" data-item="{key}">{content}</div>
{original}
</div>
</div>"#,
        scheme = if dark { " wx-dark" } else { "" },
        title = escape(&item.title),
        account = escape(&item.account_name),
        key = escape(&item.key),
        id_suffix = if dark { "_dark" } else { "" },
    )
}

/// One item in a phone frame (or two, light and dark side by side).
/// An item's page. `themes`: for [`Scheme::Themes`], the item's HTML in each theme (or why it
/// could not be rendered in it).
pub fn item_page(
    item: &ItemView,
    version: u64,
    error: Option<&str>,
    scheme: Scheme,
    themes: &[(String, Result<String, String>)],
) -> String {
    let issues = if item.diagnostics.is_empty() {
        String::new()
    } else {
        let list: String = item
            .diagnostics
            .iter()
            .map(|(severity, text)| format!("{}: {}<br>", escape(severity), escape(text)))
            .collect();
        format!("<p class=\"wx-issues\">{list}</p>")
    };
    let link = |s: Scheme, label: &str, query: &str| {
        let class = if s == scheme { " class=\"on\"" } else { "" };
        format!("<a{class} href=\"?{query}\">{label}</a>")
    };
    let switch = format!(
        "<div class=\"wx-switch\">{}{}{}</div>",
        link(Scheme::Light, "浅色", "mode=light"),
        link(Scheme::Dark, "深色", "mode=dark"),
        link(Scheme::Both, "并排", "mode=both")
    )
    .replace(
        "</div>",
        &format!("{}{}</div>", link(Scheme::Print, "打印", "mode=print"), link(Scheme::Themes, "主题", "mode=themes")),
    );
    let frames = match scheme {
        Scheme::Light => frame(item, false, false),
        Scheme::Dark => frame(item, true, false),
        Scheme::Print => frame(item, false, true),
        Scheme::Both => format!(
            "<div class=\"wx-both\" style=\"display: flex; gap: 16px; justify-content: center; align-items: flex-start;\">{}{}</div>",
            frame(item, false, false),
            frame(item, true, false)
        ),
        Scheme::Themes => {
            let columns: String = themes
                .iter()
                .map(|(name, html)| {
                    let body = match html {
                        Ok(html) => frame(&ItemView { content_html: html.clone(), ..item.clone() }, false, false),
                        Err(e) => format!("<p class=\"wx-issues\">{}</p>", escape(e)),
                    };
                    format!(
                        "<div class=\"wx-theme\" data-theme=\"{name}\"><p style=\"text-align: center; font: 13px sans-serif; color: #555;\">{name}</p>{body}</div>",
                        name = escape(name)
                    )
                })
                .collect();
            format!(
                "<div class=\"wx-themes\" style=\"display: flex; gap: 16px; justify-content: center; align-items: flex-start; overflow-x: auto;\">{columns}</div>"
            )
        }
    };
    format!(
        r#"{head}<body style="margin: 0;">
{banner}
<div class="wx-bar"><a href="/">‹ 全部</a>{account}{switch}</div>
{issues}
{frames}
{reload}
</body>
</html>
"#,
        head = head(&item.title, FRAME_STYLE),
        banner = banner(error),
        account = escape(&item.account_name),
        reload = reload_script(version, &item.key),
    )
}

const INDEX_STYLE: &str = r#"
body { margin: 0; padding: 16px; background: #f6f4f0; color: #222; font: 14px/1.5 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
h1 { font-size: 20px; margin: 0 0 12px; color: #8c2f1f; }
.items { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.item { background: #fff; border-radius: 6px; padding: 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.item h2 { font-size: 16px; margin: 4px 0 6px; }
.item h2 a { color: #222; text-decoration: none; }
.tags span { display: inline-block; font-size: 12px; padding: 0 6px; margin-right: 4px; border-radius: 3px; background: #efe7da; color: #6b4f2a; }
.tags .draft { background: #ddd; color: #555; }
.crops { display: flex; gap: 8px; align-items: flex-end; margin: 8px 0; }
.crops img { display: block; height: 64px; border-radius: 3px; }
.crops figure { margin: 0; font-size: 11px; color: #888; }
.ok { color: #3a7d44; }
.error { color: #a8071a; }
.warning { color: #ad6800; }
.info { color: #666; }
ul.diagnostics { margin: 4px 0 0; padding-left: 18px; font-size: 12px; }
.wx-banner { background: #fff3f0; color: #a8071a; padding: 10px 14px; margin-bottom: 12px; font-size: 13px; white-space: pre-wrap; }
a.dark-problems { color: #a8071a; }
a.dark-ok { color: #3a7d44; }
"#;

/// The list of every item: kind, account, schedule, check results and both cover crops.
pub fn index_page(site_name: &str, items: &[std::sync::Arc<ItemView>], version: u64, error: Option<&str>) -> String {
    let mut cards = String::new();
    for item in items {
        let counts = |s: &str| item.diagnostics.iter().filter(|(severity, _)| severity == s).count();
        let (errors, warnings) = (counts("error"), counts("warning"));
        let status = if errors + warnings == 0 {
            "<span class=\"ok\">check: clean</span>".to_string()
        } else {
            format!(
                "<span class=\"error\">{errors} error(s)</span>, <span class=\"warning\">{warnings} warning(s)</span>"
            )
        };
        let crops = item.cover_crops.as_ref().map_or_else(String::new, |(wide, square)| {
            format!(
                "<div class=\"crops\"><figure><img src=\"/{key}/images/{wide}\" alt=\"2.35:1 cover crop\"><figcaption>2.35:1</figcaption></figure>\
                 <figure><img src=\"/{key}/images/{square}\" alt=\"1:1 cover crop\"><figcaption>1:1</figcaption></figure></div>",
                key = escape(&item.key),
                wide = escape(wide),
                square = escape(square),
            )
        });
        let diagnostics: String = item
            .diagnostics
            .iter()
            .map(|(severity, text)| format!("<li class=\"{0}\">{0}: {1}</li>", escape(severity), escape(text)))
            .collect();
        let draft = if item.draft { "<span class=\"draft\">draft</span>" } else { "" };
        let dark = if item.dark_problems > 0 {
            format!(
                " · <a class=\"dark-problems\" href=\"/{}/?mode=both\">dark mode: {} text run(s) below 4.5:1</a>",
                escape(&item.key),
                item.dark_problems
            )
        } else {
            format!(" · <a class=\"dark-ok\" href=\"/{}/?mode=both\">dark mode: ok</a>", escape(&item.key))
        };
        cards.push_str(&format!(
            "<article class=\"item\" data-key=\"{key}\">\n<div class=\"tags\"><span>{kind}</span><span>{account}</span>{draft}</div>\n\
             <h2><a href=\"/{key}/\">{title}</a></h2>\n<div>{schedule} · {chars} characters · {status}{dark}</div>\n{crops}\n\
             <ul class=\"diagnostics\">{diagnostics}</ul>\n</article>\n",
            key = escape(&item.key),
            kind = escape(&item.kind),
            account = escape(&item.account_name),
            title = escape(&item.title),
            schedule = escape(item.publish_at.as_deref().unwrap_or("not scheduled")),
            chars = item.content_chars,
        ));
    }
    format!(
        r#"{head}<body>
{banner}
<h1>{name} · {count} items</h1>
<div class="items">
{cards}</div>
{reload}
</body>
</html>
"#,
        head = head(site_name, INDEX_STYLE),
        name = escape(site_name),
        count = items.len(),
        banner = banner(error),
        reload = reload_script(version, ""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = r#"<section><mp-miniprogram data-miniprogram-appid="wx5f1a2b3c4d5e6f70" data-miniprogram-path="pages/booking/index" data-miniprogram-title="预约参观" data-miniprogram-imageurl="https://mmbiz.qpic.cn/a.jpg"></mp-miniprogram></section>"#;

    #[test]
    fn the_reload_script_carries_the_version_and_the_key_as_a_json_string() {
        let script = reload_script(7, "articles/a\"<{version}");
        assert!(
            script.starts_with("<script>(function () { var shown = 7; var key = \"articles/a\\\"\\u003c{version}\";"),
            "{script}"
        );
        assert!(script.ends_with("})();</script>"), "{script}");
        assert_eq!(script.matches('\n').count(), 2, "{script}");
    }

    #[test]
    fn a_mini_program_card_is_drawn_dark_in_dark_mode_as_the_wechat_client_draws_it() {
        let light = draw_miniprogram_cards(CARD, false);
        assert!(light.contains("background-color: #ffffff") && light.contains("color: #191919"), "{light}");
        let dark = draw_miniprogram_cards(CARD, true);
        assert!(dark.contains("background-color: #2c2c2c") && dark.contains("color: #d1d1d1"), "{dark}");
        assert!(!dark.contains("#ffffff") && !dark.contains("color: #191919"), "nothing light is left: {dark}");
        assert!(dark.contains(">预约参观</p>") && dark.contains("pages/booking/index"), "{dark}");
    }

    #[test]
    fn the_dark_frame_draws_the_card_dark_and_the_light_frame_light() {
        let item = ItemView { key: "articles/a".into(), content_html: CARD.into(), ..ItemView::default() };
        let both = item_page(&item, 1, None, Scheme::Both, &[]);
        let cards: Vec<&str> = both.split("class=\"wx-mp-card\"").skip(1).collect();
        assert_eq!(cards.len(), 2, "{both}");
        assert!(cards[0].contains("background-color: #ffffff"), "light first: {}", cards[0]);
        assert!(cards[1].contains("background-color: #2c2c2c"), "then dark: {}", cards[1]);
    }
}
