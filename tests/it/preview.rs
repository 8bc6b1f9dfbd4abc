//! `wxpub preview` in headless Chromium, and `wxpub init` / `wxpub new` through the binary.
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::support::TestProject;

const ARTICLE: &str = "articles/2026-12-01-ding-story";

/// Computed styles and sizes of every element of the article body, as a JSON string.
const SIGNATURE: &str = r#"(() => {
  const props = ['color', 'background-color', 'font-size', 'font-weight', 'font-family', 'font-style',
    'line-height', 'letter-spacing', 'text-align', 'text-decoration-line', 'display', 'white-space',
    'margin-top', 'margin-right', 'margin-bottom', 'margin-left', 'padding-top', 'padding-right',
    'padding-bottom', 'padding-left', 'border-top-width', 'border-top-style', 'border-top-color',
    'border-left-width', 'border-left-color', 'border-radius', 'list-style-type', 'vertical-align'];
  const body = document.getElementById('js_content');
  return JSON.stringify([...body.querySelectorAll('*')].map(el => {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return [el.tagName, Math.round(box.width), Math.round(box.height), ...props.map(p => style.getPropertyValue(p))];
  }));
})()"#;

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_phone_preview_renders_without_errors_and_the_article_carries_its_own_styles() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(375, 812);

    browser.open(&format!("{}{ARTICLE}/", preview.url));
    assert_eq!(browser.errors(), Vec::<String>::new());
    let frame = browser.eval(
        "[document.querySelector('.wx-title').textContent, document.querySelector('.wx-account').textContent, \
          document.querySelector('.wx-meta').textContent.includes('2026-12-01'), \
          [...document.querySelectorAll('#js_content img')].every(i => i.complete && i.naturalWidth > 0), \
          document.querySelectorAll('#js_content img').length]",
    );
    assert_eq!(frame[0], "一件鼎的三千年：兽面纹鼎的故事");
    assert_eq!(frame[1], "青州市博物馆");
    assert_eq!(frame[2], true, "the date is shown");
    assert_eq!(frame[3], true, "every image of the article loaded");
    assert!(frame[4].as_i64().unwrap() >= 2);
    let shots = std::env::var_os("WXPUB_KEEP_SCREENSHOTS").map(std::path::PathBuf::from);
    let shot = shots.as_ref().map_or_else(|| project.path().join("preview.png"), |d| d.join("preview-article.png"));
    assert!(browser.screenshot(&shot) > 20_000);

    // Remove every <style> and stylesheet: the page's frame changes, the article does not.
    let with_styles = browser.eval(SIGNATURE);
    let title_size = browser.eval("getComputedStyle(document.querySelector('.wx-title')).fontSize");
    let removed = browser.eval(
        "(() => { const nodes = document.querySelectorAll('style, link[rel=stylesheet]'); nodes.forEach(n => n.remove()); return nodes.length; })()",
    );
    assert!(removed.as_i64().unwrap() >= 1);
    assert_ne!(
        browser.eval("getComputedStyle(document.querySelector('.wx-title')).fontSize"),
        title_size,
        "the frame lost its style"
    );
    let without_styles = browser.eval(SIGNATURE);
    let (a, b): (Vec<serde_json::Value>, Vec<serde_json::Value>) = (
        serde_json::from_str(with_styles.as_str().unwrap()).unwrap(),
        serde_json::from_str(without_styles.as_str().unwrap()).unwrap(),
    );
    assert!(a.len() > 50, "the article has content: {}", a.len());
    for (before, after) in a.iter().zip(&b) {
        assert_eq!(before, after, "an article element depends on the page's stylesheet");
    }

    // Light and dark side by side: the dark frame shows WeChat's conversion of the same article.
    browser.open(&format!("{}{ARTICLE}/?mode=both", preview.url));
    assert_eq!(browser.errors(), Vec::<String>::new());
    let both = browser.eval(
        "(() => { const l = document.querySelector('#js_content > section'), d = document.querySelector('#js_content_dark > section');            return [getComputedStyle(l).color, getComputedStyle(d).color, getComputedStyle(d.closest('.wx-phone')).backgroundColor,                    d.textContent === l.textContent]; })()",
    );
    assert_eq!(both[0], "rgb(51, 51, 51)", "light body text as the theme sets it");
    assert_eq!(both[1], "rgb(163, 163, 163)", "WeChat lifts #333333 to #a3a3a3 on the dark page");
    assert_eq!(both[2], "rgb(25, 25, 25)");
    assert_eq!(both[3], true, "the same article");
    if let Some(dir) = &shots {
        browser.screenshot(&dir.join("preview-both.png"));
    }

    // The index: every item, its kind, account, schedule, check results and both cover crops.
    browser.open(&preview.url);
    assert_eq!(browser.errors(), Vec::<String>::new());
    let index = browser.eval(
        "[document.querySelectorAll('article.item').length, \
          document.querySelector('article[data-key=\"articles/2026-12-01-ding-story\"]').innerText, \
          [...document.querySelectorAll('.crops img')].every(i => i.complete && i.naturalWidth > 0), \
          document.querySelectorAll('.crops img').length]",
    );
    assert_eq!(index[0], 9);
    let card = index[1].as_str().unwrap();
    assert!(card.contains("article") && card.contains("2026-12-01 08:00") && card.contains("check: clean"), "{card}");
    assert!(card.contains("dark mode: ok"), "{card}");
    assert_eq!(index[2], true, "cover crops load");
    assert_eq!(index[3], 2 * 7, "two crops for each of the 7 items with a cover (posters have none)");
}

#[test]
fn saving_a_source_rebuilds_and_reloads_the_open_page() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(375, 812);
    browser.open(&format!("{}{ARTICLE}/", preview.url));
    let marker = "实时预览测试段落";
    assert_eq!(browser.eval(&format!("document.body.innerText.includes('{marker}')")), false);

    let source = format!("content/{ARTICLE}/index.md");
    let text = project.read(&source);
    project.write(&source, &format!("{text}\n{marker}。\n"));
    // The served page changes…
    let page_url = format!("{}{ARTICLE}/", preview.url);
    wait_until("the served page to change", || {
        reqwest::blocking::get(&page_url).and_then(|r| r.text()).is_ok_and(|t| t.contains(marker))
    });
    // …and the open page reloads itself.
    wait_until("the open page to reload", || {
        browser.poll(&format!("document.body.innerText.includes('{marker}')")) == true
    });

    // A broken save keeps the last good build on screen, with the error above it.
    project.write(&source, &text.replacen("title:", "titel:", 1));
    wait_until("the error banner", || {
        browser.poll("!!document.querySelector('.wx-banner') && document.querySelector('.wx-banner').innerText.includes('titel')")
            == true
    });
    wait_until("the page after the reload", || {
        browser.poll(&format!("document.body.innerText.includes('{marker}')")) == true
    });
    // A theme change rebuilds too.
    let theme = project.read("layouts/themes/museum.toml");
    project.write(&source, &text);
    project.write("layouts/themes/museum.toml", &theme.replacen("#333333", "#222222", 1));
    wait_until("the theme change", || {
        reqwest::blocking::get(&page_url).and_then(|r| r.text()).is_ok_and(|t| t.contains("color:#222222"))
    });
}

#[test]
fn a_save_reloads_only_the_pages_whose_item_changed() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(375, 812);
    browser.open(&format!("{}{ARTICLE}/", preview.url));
    // Survives only as long as the page is not reloaded.
    browser.eval("window.wxpubMarker = 'still here'");
    let version = || -> u64 {
        let (_, body) = crate::support::http_get(&format!("{}__preview/version", preview.url));
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["version"].as_u64().unwrap()
    };
    let before = version();

    // Another article changes: this page stays as it is.
    let other = "content/articles/2026-12-05-lecture-live/index.md";
    let text = project.read(other);
    project.write(
        other,
        &format!(
            "{text}
另一篇文章的改动。
"
        ),
    );
    wait_until("the rebuild", || version() > before);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(browser.eval("window.wxpubMarker || ''"), "still here", "a page whose item did not change reloaded");

    // Its own item changes: it reloads.
    let own = format!("content/{ARTICLE}/index.md");
    let text = project.read(&own);
    project.write(
        &own,
        &format!(
            "{text}
本篇的改动。
"
        ),
    );
    wait_until("the open page to reload", || browser.poll("document.body.innerText.includes('本篇的改动')") == true);
    assert_eq!(browser.eval("window.wxpubMarker || ''"), "");
}

#[test]
fn init_creates_a_project_that_builds_and_checks_clean_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("museum");
    let run =
        |args: &[&str], cwd: &std::path::Path| crate::support::binary().args(args).current_dir(cwd).output().unwrap();

    let out = run(&["init", "museum", "--name", "测试博物馆"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for path in ["publish.toml", ".gitignore", "layouts/article.html", "layouts/themes/museum.toml"] {
        assert!(target.join(path).exists(), "{path}");
    }
    assert!(std::fs::read_to_string(target.join(".gitignore")).unwrap().contains(".wxpub/"));
    assert!(std::fs::read_to_string(target.join("publish.toml")).unwrap().contains("name = \"测试博物馆\""));
    let out = run(&["build"], &target);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("dist/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["items"].as_array().unwrap().len(), 1);
    let out = run(&["check", "--deny-warnings"], &target);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    let before = std::fs::read(target.join("publish.toml")).unwrap();
    let out = run(&["init", "museum"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));
    assert_eq!(std::fs::read(target.join("publish.toml")).unwrap(), before);
}

#[test]
fn new_makes_a_dated_folder_with_its_front_matter() {
    let project = TestProject::example();
    let out = project.wxpub().args(["new", "article", "冬至特展开幕", "--date", "2026-12-21"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = project.read("content/articles/2026-12-21-dong-zhi-te-zhan-kai-mu/index.md");
    assert!(text.contains("title: \"冬至特展开幕\"") && text.contains("publish_at: 2026-12-21 08:00"), "{text}");
    assert!(text.contains("account: service") && text.contains("cover: cover.jpg"), "{text}");
    // It parses: check knows the item and only misses its cover image.
    let out = project.wxpub().args(["check", "content/articles/2026-12-21-dong-zhi-te-zhan-kai-mu"]).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("image-missing") && report.contains("1 error(s)"), "{report}");

    let out = project
        .wxpub()
        .args(["new", "poster", "Opening Night 开幕夜", "--date", "2026-12-22", "--account", "subscription"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let poster = project.read("content/posters/2026-12-22-opening-night-kai-mu-ye/index.md");
    assert!(poster.contains("image: poster.jpg") && poster.contains("account: subscription"), "{poster}");

    let again = project.wxpub().args(["new", "article", "冬至特展开幕", "--date", "2026-12-21"]).output().unwrap();
    assert!(!again.status.success(), "an existing folder is never overwritten");
    let unknown = project.wxpub().args(["new", "article", "x", "--account", "servise"]).output().unwrap();
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account `servise`"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = crate::support::binary().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("wxpub") && script.contains("preview") && script.contains("annual"), "{shell}");
    }
}

/// The themes side by side: the item in every bundled theme, images loaded; and on a topic
/// page, the cards of unpublished items open their preview pages.
#[test]
fn an_item_is_shown_in_every_theme_side_by_side_and_topic_cards_open_item_pages() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(1400, 900);
    browser.open(&format!("{}{ARTICLE}/?mode=themes", preview.url));
    let themes = browser.eval(
        "[...document.querySelectorAll('.wx-theme')].map(t => [t.dataset.theme, \
           getComputedStyle(t.querySelector('.js_content > section')).fontFamily, \
           getComputedStyle(t.querySelector('.js_content h2') || t.querySelector('.js_content p')).color, \
           [...t.querySelectorAll('.js_content img')].every(i => i.complete && i.naturalWidth > 0)])",
    );
    let themes = themes.as_array().unwrap();
    let names: Vec<&str> = themes.iter().map(|t| t[0].as_str().unwrap()).collect();
    assert_eq!(names, ["ink", "modern", "museum"]);
    for theme in themes {
        assert!(theme[1].as_str().unwrap().ends_with("sans-serif"), "{theme}");
        assert_eq!(theme[3], true, "images of the {} column loaded", theme[0]);
    }
    let colours: std::collections::BTreeSet<&str> = themes.iter().map(|t| t[2].as_str().unwrap()).collect();
    assert_eq!(colours.len(), 3, "each theme looks its own: {themes:?}");
    assert_eq!(browser.errors(), Vec::<String>::new());

    browser.open(&format!("{}topics/2026-12-31-year-in-review/", preview.url));
    let links = browser.eval("[...document.querySelectorAll('#js_content a')].map(a => a.getAttribute('href'))");
    let links: Vec<&str> = links.as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(links.contains(&format!("/{ARTICLE}/").as_str()), "{links:?}");
    let cards_with_images = browser.eval("document.querySelectorAll('#js_content a > img').length");
    assert!(cards_with_images.as_u64().unwrap() >= 3, "cards show covers (posters too): {cards_with_images}");
    browser.tap_selector(&format!("#js_content a[href='/{ARTICLE}/']"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while browser.poll("location.pathname") != serde_json::json!(format!("/{ARTICLE}/")) {
        assert!(std::time::Instant::now() < deadline, "a tap on the card opens the article's page");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The preview draws a booking card as WeChat does: the mini program, the title, the picture.
#[test]
fn the_preview_draws_a_booking_card() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(375, 812);
    browser.open(&format!("{}articles/2026-12-01-bronze-exhibition/", preview.url));
    let card = browser.eval(
        "(() => { const c = document.querySelector('.wx-mp-card'); const img = c.querySelector('img'); \
           return [c.textContent.includes('预约参观｜青铜时代特展'), c.dataset.appid, img.complete && img.naturalWidth > 0, \
                   c.getBoundingClientRect().height > 100]; })()",
    );
    assert_eq!(card, serde_json::json!([true, wxpub::sandbox::EXAMPLE_MINIPROGRAM_APPID, true, true]));
    assert_eq!(browser.errors(), Vec::<String>::new());
}

/// In dark mode the card is drawn dark, as the WeChat client draws its native card (not white on
/// the dark page); light mode keeps the white card, and side by side each frame has its own.
#[test]
fn the_preview_draws_a_booking_card_dark_in_dark_mode() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let cards = |mode: &str| {
        let (status, page) =
            crate::support::http_get(&format!("{}articles/2026-12-01-bronze-exhibition/?mode={mode}", preview.url));
        assert_eq!(status, 200);
        // Each card's own style: its box's background and its title's colour.
        page.split("<section class=\"wx-mp-card\"")
            .skip(1)
            .map(|card| {
                let style = |from: &str| from.split("style=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
                let title = card.split("<p ").nth(2).unwrap();
                (style(card), style(title))
            })
            .collect::<Vec<_>>()
    };
    let light = cards("light");
    assert_eq!(light.len(), 1);
    assert!(light[0].0.contains("background-color: #ffffff") && light[0].1.contains("color: #191919"), "{light:?}");
    let dark = cards("dark");
    assert_eq!(dark.len(), 1);
    assert!(dark[0].0.contains("background-color: #2c2c2c") && dark[0].1.contains("color: #d1d1d1"), "{dark:?}");
    assert_eq!(cards("both"), [light[0].clone(), dark[0].clone()]);
}

/// An image post in the preview: its photos first, to swipe through, its text below.
#[test]
fn the_preview_shows_an_image_post_as_photos_then_text() {
    let project = crate::publish::image_post_project(4, "");
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(375, 812);
    browser.open(&format!("{}articles/2026-12-10-garden-photos/", preview.url));
    let post = browser.eval(
        "(() => { const s = document.querySelector('.wx-slides'); const imgs = [...s.querySelectorAll('img')]; \
           const text = document.querySelector('.wx-image-post > p:last-child'); \
           return [imgs.length, imgs.every(i => i.complete && i.naturalWidth > 0), s.scrollWidth > s.clientWidth, \
                   text.getBoundingClientRect().top > s.getBoundingClientRect().bottom, text.textContent]; })()",
    );
    assert_eq!(post[0], 4);
    assert_eq!(post[1], true, "every photo loads");
    assert_eq!(post[2], true, "the photos scroll sideways");
    assert_eq!(post[3], true, "the text is below the photos");
    assert!(post[4].as_str().unwrap().contains("银杏"), "{post}");
    assert_eq!(browser.errors(), Vec::<String>::new());
}

/// The `src` of every image a served page shows.
fn image_sources(page: &str) -> std::collections::BTreeSet<String> {
    page.split("src=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_string).collect()
}

/// A save re-reads and rebuilds only the items it touched (others are not rendered again), and
/// misses nothing it touched: an image replaced under the same name, a title shown on a
/// topic page's card, an item folder added, then removed, and a save that breaks an item and
/// the one that mends it.
#[test]
fn a_rebuild_after_a_save_redoes_only_what_it_touched_and_misses_nothing() {
    let project = TestProject::example();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let get = |path: &str| crate::support::http_get(&format!("{}{path}", preview.url));
    let modified = |path: &std::path::Path| std::fs::metadata(path).unwrap().modified().unwrap();
    // Each render is kept on disk (the first build's once the preview answers; a rebuild's
    // after it): an item rendered again writes its entry again.
    preview.wait_for_cache_files();
    let untouched = project
        .path()
        .join(".wxpub/cache/renders/by-content-preview")
        .join(wxpub::build::cache_entry_name("articles/2026-12-12-conservation-lab"));
    let untouched_at = modified(&untouched);

    // An image replaced under the same name: the page shows the new one.
    let (_, before) = get(&format!("{ARTICLE}/"));
    let old_images = image_sources(&before);
    let photo = image::RgbImage::from_fn(640, 300, |x, _| image::Rgb([(x % 256) as u8, 90, 160]));
    photo.save(project.path().join(format!("content/{ARTICLE}/flower.jpg"))).unwrap();
    let mut new_images = Vec::new();
    wait_until("the replaced image on the page", || {
        let (_, page) = get(&format!("{ARTICLE}/"));
        new_images = image_sources(&page).difference(&old_images).cloned().collect();
        !new_images.is_empty()
    });
    assert_eq!(new_images.len(), 1, "only the replaced image changes: {new_images:?}");
    let (status, bytes) = crate::support::http_get_bytes(&format!("{}{ARTICLE}/{}", preview.url, new_images[0]));
    assert_eq!(status, 200);
    let served = image::load_from_memory(&bytes).expect("the served image decodes");
    assert_eq!((served.width(), served.height()), (640, 300));
    // Only the images of an item are served, and only under it.
    let file = new_images[0].trim_start_matches("images/");
    let elsewhere = format!("articles/2026-12-12-conservation-lab/images/{file}");
    assert_eq!(get(&elsewhere).0, 404, "another item's image");
    assert_eq!(get("articles/2026-12-12-conservation-lab/images/../../../publish.toml").0, 404);

    // A title on a topic page's card.
    let gathered = "content/articles/2026-12-01-bronze-exhibition/index.md";
    let text = project.read(gathered);
    project
        .write(gathered, &text.replacen("title: 青铜时代——青州考古新发现特展开幕", "title: 青铜时代特展今日开幕", 1));
    wait_until("the topic card's new title", || {
        get("topics/2026-12-31-year-in-review/").1.contains("青铜时代特展今日开幕")
    });

    // An item added, then removed.
    let added = project.path().join("content/articles/2026-12-06-added-item");
    std::fs::create_dir_all(&added).unwrap();
    let lecture = project.read("content/articles/2026-12-05-lecture-live/index.md");
    std::fs::write(added.join("index.md"), lecture.replacen("title: 周六讲座", "title: 新加的一篇｜周六讲座", 1))
        .unwrap();
    for file in std::fs::read_dir(project.path().join("content/articles/2026-12-05-lecture-live")).unwrap() {
        let file = file.unwrap();
        if file.file_name() != "index.md" {
            std::fs::copy(file.path(), added.join(file.file_name())).unwrap();
        }
    }
    wait_until("the added item", || get("").1.contains("新加的一篇"));
    let (status, page) = get("articles/2026-12-06-added-item/");
    assert_eq!(status, 200);
    let added_images = image_sources(&page);
    assert!(!added_images.is_empty());
    for src in &added_images {
        assert_eq!(get(&format!("articles/2026-12-06-added-item/{src}")).0, 200, "{src}");
    }
    std::fs::remove_dir_all(&added).unwrap();
    wait_until("the removed item to go", || !get("").1.contains("新加的一篇"));
    assert_eq!(get("articles/2026-12-06-added-item/").0, 404);
    for src in &added_images {
        assert_eq!(get(&format!("articles/2026-12-06-added-item/{src}")).0, 404, "{src}");
    }

    // A save that breaks an item shows the error; the save that mends it, and a replaced image
    // after that, show again.
    let own = format!("content/{ARTICLE}/index.md");
    let text = project.read(&own);
    project.write(&own, &text.replacen("title:", "titel:", 1));
    wait_until("the error", || get("__preview/version").1.contains("titel"));
    project.write(&own, &text);
    wait_until("the mended build", || get("__preview/version").1.contains("\"error\":null"));
    let (_, before) = get(&format!("{ARTICLE}/"));
    let photo = image::RgbImage::from_fn(500, 500, |_, y| image::Rgb([40, (y % 256) as u8, 40]));
    photo.save(project.path().join(format!("content/{ARTICLE}/flower.jpg"))).unwrap();
    wait_until("the second replaced image", || image_sources(&get(&format!("{ARTICLE}/")).1) != image_sources(&before));

    assert_eq!(modified(&untouched), untouched_at, "an item no save touched was rendered again");
    assert!(!project.path().join(".wxpub/preview").exists(), "the preview writes no build");
}

/// A publish run that records a publication while the preview is open: the item's page stops
/// warning that its time has passed, without a save of any source.
#[test]
fn a_publication_recorded_in_publish_lock_refreshes_the_findings() {
    let project = TestProject::example();
    let key = "articles/2026-11-19-past";
    project.write(
        &format!("content/{key}/index.md"),
        "---\ntitle: 昨日之文\naccount: service\npublish_at: 2026-11-19 08:00\n---\n\n正文。\n",
    );
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let page = || crate::support::http_get(&format!("{}{key}/", preview.url)).1;
    assert!(page().contains("publish-time-past"), "{}", page());
    project.write(
        "publish.lock",
        &format!(
            "[accounts.service.pushes.\"2026-11-19 08:00\"]\nitems = [\"{key}\"]\n\n\
             [accounts.service.pushes.\"2026-11-19 08:00\".publication]\nmode = \"publish\"\nstatus = \"published\"\n\
             article_urls = []\nsubmitted_at = \"2026-11-19T00:00:00Z\"\n"
        ),
    );
    wait_until("the findings without the past time", || !page().contains("publish-time-past"));
    assert!(page().contains("昨日之文"));
}

/// The preview's render of an item that links to no other item is the build's (only links
/// differ): a preview started after a build renders only the items that link and the topic
/// pages, and shows exactly what a preview rendering everything shows.
#[test]
fn a_preview_after_a_build_renders_only_what_links_and_shows_the_same() {
    let linking = |project: TestProject| {
        project.write(
            "content/articles/2026-12-20-links/index.md",
            "---\ntitle: 延伸阅读\naccount: service\npublish_at: 2026-12-20 08:00\n---\n\n先读[鼎的故事](../2026-12-01-ding-story/)。\n",
        );
        project
    };
    let built = linking(TestProject::example());
    // In this process: the settings fingerprint covers the running binary, which here is the
    // test's, as the preview below is.
    {
        use wxpub::build::{BuildOptions, RenderMemo};
        let project = wxpub::project::Project::load(built.path()).unwrap();
        let hashes = wxpub::state::file_hashes::FileHashes::load(built.path());
        let options = BuildOptions {
            output_dir: Some(built.path().join("dist")),
            drafts: false,
            hashes: &hashes,
            memo: Some(&RenderMemo::on_disk(built.path())),
            progress: &wxpub::util::progress::Silent,
        };
        wxpub::build::build(&project, &options).unwrap();
    }
    let fresh = linking(TestProject::example());
    // Every item's page, as served (the project's own folder, which differs, left out).
    let pages = |project: &TestProject| {
        let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
        let (_, index) = crate::support::http_get(&preview.url);
        let folder = std::fs::canonicalize(project.path()).unwrap();
        let mut pages = std::collections::BTreeMap::new();
        for key in index.split("<h2><a href=\"/").skip(1).filter_map(|rest| rest.split("/\"").next()) {
            let (status, page) = crate::support::http_get(&format!("{}{key}/", preview.url));
            assert_eq!(status, 200, "{key}");
            pages.insert(key.to_string(), page.replace(folder.to_str().unwrap(), "<project>"));
        }
        drop(preview);
        pages
    };
    let (after_build, from_nothing) = (pages(&built), pages(&fresh));
    assert_eq!(after_build.len(), 10);
    for (key, page) in &after_build {
        assert!(page.contains("js_content"), "{key}");
        assert_eq!(Some(page), from_nothing.get(key), "a preview after a build shows another page of {key}");
    }
    assert_eq!(after_build.len(), from_nothing.len());
    let linked = &after_build["articles/2026-12-20-links"];
    assert!(linked.contains("href=\"/articles/2026-12-01-ding-story/"), "the link opens the preview's page: {linked}");
    let rendered = |project: &TestProject| {
        std::fs::read_dir(project.path().join(".wxpub/cache/renders/by-content-preview")).map_or(0, |d| d.count())
    };
    // Rendered (and kept) by the preview: the topic page and the article with a link.
    assert_eq!(rendered(&fresh), 10);
    assert_eq!(rendered(&built), 2);
}
