//! How built articles lay out on a phone (414 px, Chromium with a CJK font), in every bundled
//! theme: the example and a stress article with four list levels, a 7-column table, long URLs,
//! a 160-column code line and a quote with an attribution line.
use serde_json::Value;

use crate::browser::Browser;
use crate::support::{TestProject, repo_root};

const STRESS: &str = "articles/2027-03-01-phone-stress";

/// Every element's right edge against the column, skipping what sits inside a sideways-scrolling
/// box (a wide table, a code block): the box itself must fit, its content may not.
const OVERFLOW_JS: &str = r#"(() => {
  const root = document.body.firstElementChild;
  const column = root.getBoundingClientRect();
  const scrolls = el => { for (let a = el.parentElement; a && a !== root; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const wide = [];
  for (const el of root.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || scrolls(el)) continue;
    if (r.right > column.right + 1 || r.left < column.left - 1)
      wide.push(el.tagName + ' ' + Math.round(r.left) + '..' + Math.round(r.right) + ' "' + el.textContent.slice(0, 40) + '"');
  }
  return { column: [column.left, column.right], wide };
})()"#;

/// Markers of list items with their nesting depth and position, and whether wrapped lines of
/// an item hang under its text (not under the marker).
const LISTS_JS: &str = r#"(() => {
  const isMarker = el => el.tagName === 'SPAN' && /^(\d+\.|[•◦▪☐☑])$/.test(el.textContent.trim())
      && el.parentElement.firstElementChild === el;
  const markers = [...document.querySelectorAll('span')].filter(isMarker);
  const bodies = new Set(markers.map(m => m.parentElement));
  const out = [];
  for (const m of markers) {
    let depth = 0, parent = null;
    for (let a = m.parentElement.parentElement; a; a = a.parentElement)
      if (bodies.has(a)) { depth++; if (!parent) parent = a.firstElementChild; }
    const text = m.nextSibling && m.nextSibling.nodeType === 3 ? m.nextSibling : null;
    let hanging = null;
    if (text) {
      const range = document.createRange(); range.selectNodeContents(text);
      const lines = [...range.getClientRects()];
      if (lines.length > 1) hanging = Math.abs(lines[1].left - lines[0].left);
    }
    out.push({ depth, left: m.getBoundingClientRect().left,
               parentLeft: parent ? parent.getBoundingClientRect().left : null, hanging });
  }
  return out;
})()"#;

const TABLES_JS: &str = r#"(() => [...document.querySelectorAll('table')].map(t => {
  const wrap = t.parentElement;
  const cells = [...t.querySelectorAll('td, th')].map(c => {
    const range = document.createRange(); range.selectNodeContents(c);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    return { text: c.textContent.trim(), lines };
  });
  return { columns: t.rows[0].cells.length, overflowX: getComputedStyle(wrap).overflowX,
           scrolls: wrap.scrollWidth > wrap.clientWidth + 1, cells };
}))()"#;

const FONTS_JS: &str = r#"(() => [...document.querySelectorAll('p, li, td')].slice(0, 200)
  .map(e => getComputedStyle(e).fontFamily))()"#;

fn themes() -> Vec<String> {
    let mut themes: Vec<String> = std::fs::read_dir(crate::support::example_root().join("layouts/themes"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_string))
        .collect();
    themes.sort();
    themes
}

fn build_with_theme(theme: &str) -> TestProject {
    let project = TestProject::example();
    project.write(
        &format!("content/{STRESS}/index.md"),
        &std::fs::read_to_string(repo_root().join("tests/fixtures/phone-stress/index.md")).unwrap(),
    );
    let config = project.read("publish.toml");
    let config = if config.contains("theme = ") {
        config
            .lines()
            .map(
                |l| if l.trim_start().starts_with("theme = ") { format!("theme = \"{theme}\"") } else { l.to_string() },
            )
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        config.replacen("[site]", &format!("[site]\ntheme = \"{theme}\""), 1)
    };
    project.write("publish.toml", &config);
    let out = project.wxpub().arg("build").output().unwrap();
    assert!(out.status.success(), "{theme}: {}", String::from_utf8_lossy(&out.stderr));
    project
}

/// Every declaration of every bundled theme survives the sanitizer (one the WeChat editor
/// does not keep could cost the whole `style` attribute).
#[test]
fn every_bundled_theme_keeps_to_wechats_allow_list() {
    for theme in themes() {
        let text = std::fs::read_to_string(crate::support::example_root().join(format!("layouts/themes/{theme}.toml")))
            .unwrap();
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        for (key, value) in parsed["styles"].as_table().unwrap() {
            let value = value.as_str().unwrap();
            let declarations = value.split(';').filter(|d| !d.trim().is_empty()).count();
            let kept = wxpub::render::sanitize::filter_style(value);
            let kept_count = kept.split(';').filter(|d| !d.trim().is_empty()).count();
            assert_eq!(kept_count, declarations, "{theme}.toml styles.{key}: `{value}` keeps only `{kept}`");
        }
        wxpub::render::Theme::parse(&theme, &text).unwrap_or_else(|e| panic!("{theme}: {e}"));
    }
}

fn pages(project: &TestProject) -> Vec<(String, String)> {
    let dist = project.path().join("dist");
    let mut pages = Vec::new();
    for kind in ["articles", "posters", "topics"] {
        for entry in std::fs::read_dir(dist.join(kind)).unwrap() {
            let entry = entry.unwrap();
            let key = format!("{kind}/{}", entry.file_name().to_string_lossy());
            pages.push((key, format!("file://{}", entry.path().join("index.html").display())));
        }
    }
    pages.sort();
    pages
}

#[test]
fn every_theme_lays_out_the_example_and_a_stress_article_within_a_phone_column() {
    let mut browser = Browser::launch(414, 900);
    let themes = themes();
    assert!(themes.len() >= 3, "three bundled themes: {themes:?}");
    for theme in &themes {
        let project = build_with_theme(theme);
        // The example (and the stress article) check clean of colour problems, light and dark.
        let check = project.wxpub().args(["check"]).output().unwrap();
        let report = String::from_utf8_lossy(&check.stdout).to_string() + &String::from_utf8_lossy(&check.stderr);
        for rule in ["dark-contrast", "important", "raw-html", "merged-lines", "list-depth"] {
            assert!(!report.contains(&format!("[{rule}]")), "{theme}: {rule} in\n{report}");
        }
        for (key, url) in pages(&project) {
            browser.open(&url);
            let what = format!("{theme} {key}");
            let overflow = browser.eval(OVERFLOW_JS);
            assert_eq!(overflow["wide"], Value::Array(vec![]), "{what}: wider than the column {}", overflow["column"]);
            for family in browser.eval(FONTS_JS).as_array().unwrap() {
                let family = family.as_str().unwrap();
                assert!(
                    family.trim_end().ends_with("sans-serif"),
                    "{what}: font stack `{family}` must end in sans-serif"
                );
            }
            if key != STRESS {
                continue;
            }
            // Lists: four levels, each starting further right than its parent; wrapped lines
            // hang under the text.
            let markers = browser.eval(LISTS_JS);
            let markers = markers.as_array().unwrap();
            let deepest = markers.iter().map(|m| m["depth"].as_u64().unwrap()).max().unwrap();
            assert!(deepest >= 3, "{what}: four list levels drawn, deepest depth {deepest}");
            for marker in markers.iter().filter(|m| m["depth"].as_u64() > Some(0)) {
                let (left, parent) = (marker["left"].as_f64().unwrap(), marker["parentLeft"].as_f64().unwrap());
                assert!(
                    left >= parent + 12.0,
                    "{what}: a nested marker at {left} is not indented from its parent's at {parent}"
                );
            }
            let hanging: Vec<f64> = markers.iter().filter_map(|m| m["hanging"].as_f64()).collect();
            assert!(!hanging.is_empty(), "{what}: some list item wraps");
            assert!(hanging.iter().all(|h| *h < 1.0), "{what}: wrapped lines start under the text: {hanging:?}");

            // Tables: the wide one scrolls inside its wrapper, the narrow one fits; no short
            // word or catalogue number is broken over lines.
            let tables = browser.eval(TABLES_JS);
            let tables = tables.as_array().unwrap();
            let wide = tables.iter().find(|t| t["columns"] == 7).expect("the 7-column table");
            assert_eq!(wide["overflowX"], "auto", "{what}");
            assert_eq!(wide["scrolls"], true, "{what}: the wide table scrolls sideways");
            let narrow = tables.iter().find(|t| t["columns"] == 2).expect("the 2-column table");
            assert_eq!(narrow["scrolls"], false, "{what}: the narrow table fits");
            for cell in tables.iter().flat_map(|t| t["cells"].as_array().unwrap()) {
                let text = cell["text"].as_str().unwrap();
                if !text.contains(char::is_whitespace) && text.chars().count() <= 13 {
                    assert_eq!(cell["lines"], 1, "{what}: cell `{text}` breaks over lines");
                }
            }
            // The quote's attribution keeps its own line.
            let attribution = browser.eval(
                "(() => { const q = document.querySelector('blockquote'); return q.innerHTML.includes('<br>——'); })()",
            );
            assert_eq!(attribution, true, "{what}: the attribution line is not joined to the quote");
        }
    }
    assert!(browser.errors().is_empty(), "{:?}", browser.errors());
}
