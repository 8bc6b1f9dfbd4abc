//! Interactive components (reveal, compare, fold): tapped in Chromium through the preview, and kept
//! intact by the sandbox's draft store (which removes what WeChat removes).
use std::time::Duration;

use crate::browser::Browser;
use crate::metrics::wxpub;
use crate::support::TestProject;
use crate::wechat::{sandbox_state, start};

const ITEM: &str = "articles/2026-12-02-seal-quiz";

fn project_with_components() -> TestProject {
    let project = TestProject::example();
    let dir = project.path().join("content").join(ITEM);
    std::fs::create_dir_all(&dir).unwrap();
    let example = project.path().join("content/articles/2026-12-08-winter-camp/meadow.jpg");
    for name in ["cover.jpg", "seal.jpg", "before.jpg", "after.jpg"] {
        std::fs::copy(&example, dir.join(name)).unwrap();
    }
    project.write(
        &format!("content/{ITEM}/index.md"),
        "---\ntitle: 猜猜这枚印章\ncover: cover.jpg\naccount: service\npublish_at: 2026-12-02 08:00\n---\n\n先猜一猜。\n\n\
         ```reveal\ntitle: 这枚印章刻的是谁的名字？\ntext: 答案藏在下面：齐王之印。\nimage: seal.jpg\n```\n\n\
         ```compare\nbefore: before.jpg\nafter: after.jpg\n```\n\n\
         ```fold\ntitle: 修复日记\ntext: |\n  第一周：清理表面浮土，记录每一处锈色，拍照存档。\n  第二周：拼对碎片，按纹饰走向确定位置。\n  \
         第三周：用可逆材料补配缺失部分。\n  第四周：做旧，远看一致、近看可辨。\n  第五周：入库前最后一次检查。\nteaser_lines: 2\n\
         images:\n  - src: seal.jpg\n    caption: 修复后的印面\n```\n\n结尾的话。\n",
    );
    project
}

/// The components' article open in the preview, in a browser `width` × `height` wide, loaded
/// without console errors. The project and the preview live as long as the returned values.
fn open_in_preview(width: u32, height: u32) -> (TestProject, wxpub::preview::PreviewHandle, Browser) {
    let project = project_with_components();
    let preview = wxpub::preview::spawn(project.path(), 0).expect("preview starts");
    let mut browser = Browser::launch(width, height);
    browser.open(&format!("{}{ITEM}/", preview.url));
    assert_eq!(browser.errors(), Vec::<String>::new());
    (project, preview, browser)
}

#[test]
fn tapping_a_reveal_in_the_preview_shows_what_was_hidden() {
    let (_project, preview, mut browser) = open_in_preview(375, 812);
    let cover = "document.querySelector('svg[data-wxpub=reveal] g[data-wxpub=cover]')";
    assert_eq!(browser.eval(&format!("getComputedStyle({cover}).opacity")), "1");
    let box_ = browser.eval(
        "(() => { const r = document.querySelector('svg[data-wxpub=reveal]').getBoundingClientRect(); \
           window.scrollTo(0, r.top + window.scrollY - 100); const s = document.querySelector('svg[data-wxpub=reveal]').getBoundingClientRect(); \
           return [s.left + s.width / 2, s.top + s.height / 2]; })()",
    );
    let (x, y) = (box_[0].as_f64().unwrap(), box_[1].as_f64().unwrap());
    browser.tap(x, y);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(browser.eval(&format!("getComputedStyle({cover}).opacity")), "0", "the cover faded away");
    // The compare component was not touched: its cover is still there.
    let compare = "document.querySelector('svg[data-wxpub=compare] g[data-wxpub=cover]')";
    assert_eq!(browser.eval(&format!("getComputedStyle({compare}).opacity")), "1");
    // The print view shows every state, without animation.
    browser.open(&format!("{}{ITEM}/?mode=print", preview.url));
    assert_eq!(browser.eval("document.querySelectorAll('#js_content svg[data-wxpub]').length"), 6);
    assert_eq!(browser.eval("document.querySelectorAll('#js_content animate').length"), 0);
}

#[test]
fn the_sandbox_keeps_every_component_intact_in_the_stored_draft() {
    let project = project_with_components();
    let sandbox = start(wxpub::sandbox::SandboxOptions::default());
    let (code, out, err) = wxpub(&project, &sandbox, &["publish", ITEM]);
    assert_eq!(code, 0, "{out}{err}");
    let built = project.read(&format!("dist/{ITEM}/content.html"));
    let state = sandbox_state(&sandbox);
    let drafts = state["drafts"].as_array().unwrap();
    assert_eq!(drafts.len(), 1);
    let stored = drafts[0]["articles"][0]["content"].as_str().unwrap();
    for needle in [
        "<svg data-wxpub=\"reveal\"",
        "<svg data-wxpub=\"compare\"",
        "<svg data-wxpub=\"fold\"",
        "begin=\"click\"",
        "<set attributeName=\"visibility\"",
        "visibility=\"visible\"",
        "preserveAspectRatio=\"xMidYMin meet\"",
        "<tspan",
    ] {
        assert!(built.contains(needle), "{needle}");
        assert_eq!(stored.matches(needle).count(), built.matches(needle).count(), "{needle}");
    }
    // Every SVG image points at an upload, none was filtered out.
    let local = built.matches("<image href=\"images/").count();
    assert_eq!(
        local, 4,
        "the revealed image, compare's before and after, the fold's image (the reveal's cover is a title card)"
    );
    assert_eq!(stored.matches("<image href=\"http://127.0.0.1:").count(), local);
    assert!(!state.to_string().contains("filtered out an image"), "nothing filtered");
}

#[test]
fn tapping_a_fold_opens_it_in_place_and_moves_the_article_below() {
    let (_project, _preview, mut browser) = open_in_preview(390, 844);
    let fold = "document.querySelector('svg[data-wxpub=fold]')";
    let state = format!(
        "(() => {{ const f = {fold}; const r = f.getBoundingClientRect(); \
           const last = [...document.querySelectorAll('#js_content p')].pop(); \
           const hintText = [...f.querySelectorAll('text')].pop(); const hint = hintText.getBoundingClientRect(); \
           return [r.height, last.getBoundingClientRect().top - r.top, \
             getComputedStyle(f.querySelector('g[data-wxpub=teaser]')).visibility, \
             document.elementFromPoint(hint.left + hint.width / 2, hint.top + hint.height / 2) === hintText]; }})()"
    );
    browser.eval(&format!("{fold}.scrollIntoView()"));
    let before = browser.eval(&state);
    assert_eq!(before[2], "visible", "the teaser shows: {before}");
    assert_eq!(before[3], true, "the hint is on top: {before}");
    let point = browser.eval(&format!(
        "(() => {{ {fold}.scrollIntoView(); const r = {fold}.getBoundingClientRect(); \
           return [r.left + r.width / 2, r.top + r.height - 10]; }})()"
    ));
    // Tap the hint bar at the bottom of the folded block.
    let (x, y) = (point[0].as_f64().unwrap(), point[1].as_f64().unwrap());
    browser.tap(x, y);
    std::thread::sleep(Duration::from_millis(800));
    let after = browser.eval(&state);
    assert_eq!(after[2], "hidden", "the teaser went: {after}");
    assert_eq!(after[3], false, "the hint is gone: {after}");
    let (folded, open) = (before[0].as_f64().unwrap(), after[0].as_f64().unwrap());
    assert!(open > folded * 1.5, "the block grew from {folded} px to {open} px");
    let moved = after[1].as_f64().unwrap() - before[1].as_f64().unwrap();
    assert!((moved - (open - folded)).abs() < 1.0, "the paragraph below moved down by the growth: {moved}");
    // The opened content is drawn at (nearly) the column's width: not scaled down to a strip.
    let drawn = browser.eval(&format!(
        "Math.max(...[...{fold}.querySelectorAll('svg > svg tspan')].map(t => t.getBoundingClientRect().width)) \
           / {fold}.getBoundingClientRect().width"
    ));
    assert!(drawn.as_f64().unwrap() > 0.75, "the longest line spans most of the width: {drawn}");
    assert_eq!(browser.errors(), Vec::<String>::new());
}
