//! `wxpub publish` against the sandbox on a loopback port, through the real binary.
use wxpub::sandbox::{SandboxHandle, SandboxOptions};

use crate::support::{Route, TestProject, sandbox_env};
use crate::wechat::{sandbox_state, start};

use crate::support::{APPID, SECRET};
/// After the 1 December pushes, before the 12 December one.
const NOW: &str = "2026-12-06 00:00";
/// The service account's 1 December push (freepublish) and the subscription account's
/// (a mass send) are due; the others are not.
const MIXED_NOW: &str = "2026-12-02 09:00";

fn publish(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> (i32, String) {
    wxpub_against(project, sandbox, &[&["publish"], args].concat())
}

fn writes(state: &serde_json::Value) -> u64 {
    let calls = state["calls"].as_object().unwrap();
    calls
        .iter()
        .filter(|(path, _)| {
            [
                "uploadimg",
                "add_material",
                "draft/add",
                "draft/update",
                "draft/delete",
                "freepublish/submit",
                "mass/sendall",
            ]
            .iter()
            .any(|w| path.contains(w))
        })
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

fn assert_no_secrets(text: &str, state: &serde_json::Value) {
    assert!(!text.contains(SECRET), "secret printed");
    for token in state["tokens"].as_array().unwrap() {
        assert!(!text.contains(token["value"].as_str().unwrap()), "token printed");
    }
}

#[test]
fn example_publishes_end_to_end_and_a_rerun_writes_nothing() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 300, ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    assert_no_secrets(&text, &state);

    // The 1 December push (two articles) is published with its URLs; later pushes are drafts.
    let publications = state["publications"].as_array().unwrap();
    assert_eq!(publications.len(), 1, "{text}");
    let articles = publications[0]["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 2);
    assert_eq!(articles[0]["title"], "青铜时代——青州考古新发现特展开幕", "position 0 leads");
    for article in articles {
        assert!(article["pic_crop_235_1"].is_string() && article["pic_crop_1_1"].is_string(), "covers have crop boxes");
        let content = article["content"].as_str().unwrap();
        for (i, _) in content.match_indices("<img src=\"") {
            assert!(content[i + 10..].starts_with(&format!("{}/mmbiz/", sandbox.base_url)), "only sandbox image URLs");
        }
    }
    assert!(state["log"].as_array().unwrap().is_empty(), "the sandbox filtered nothing: {}", state["log"]);
    let lock = project.read("publish.lock");
    assert!(lock.contains("https://mp.weixin.qq.com/s?__biz="), "article URLs recorded: {lock}");
    assert!(lock.contains("status = \"published\""));
    let not_due = state["drafts"].as_array().unwrap();
    assert_eq!(not_due.len(), 3, "the 12/20/31 December pushes are drafted, not published");

    // Nothing changed: no write at all.
    let before = writes(&state);
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(writes(&sandbox_state(&sandbox)), before, "a second run makes no write call");

    // A changed article updates its draft instead of creating a new one.
    let path = "content/articles/2026-12-12-conservation-lab/index.md";
    project.write(path, &project.read(path).replace("早上八点半", "早上八点"));
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    // Two updates in all: this one, and the topic page's in the first run, once the 1 December
    // push was published and its cards could link to those articles.
    assert_eq!(state["calls"]["/cgi-bin/draft/update"], 2, "{text}");
    assert_eq!(state["drafts"].as_array().unwrap().len(), 3, "no new draft");
    // `wxpub status` shows each item's state from publish.lock.
    let output = project.wxpub().args(["status", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = |key: &str| rows.as_array().unwrap().iter().find(|r| r["key"] == key).unwrap().clone();
    let ding = row("articles/2026-12-01-ding-story");
    assert_eq!(ding["state"], "published");
    assert!(ding["urls"][0].as_str().unwrap().contains("&idx=2&"), "its own URL (second in the push): {ding}");
    assert!(row("articles/2026-12-12-conservation-lab")["state"].as_str().unwrap().starts_with("drafted"));
    let updated = state["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["articles"][0]["content"].as_str().unwrap().contains("早上八点，"));
    assert!(updated, "the draft holds the new text");

    // The lock is lost: `wxpub sync` rebuilds it from the server, and publishing again creates
    // no material, draft or publication a second time.
    std::fs::remove_file(project.path().join("publish.lock")).unwrap();
    let env = |cmd: &mut assert_cmd::Command| {
        cmd.env("WXPUB_API_BASE", &sandbox.base_url)
            .env("WXPUB_SERVICE_APPID", APPID)
            .env("WXPUB_SERVICE_SECRET", SECRET);
        cmd.env("WXPUB_SUBSCRIPTION_APPID", APPID).env("WXPUB_SUBSCRIPTION_SECRET", SECRET);
    };
    let mut check = project.wxpub();
    check.args(["sync", "--check", "--account", "service"]);
    env(&mut check);
    check.assert().code(1);
    let mut sync = project.wxpub();
    sync.args(["sync", "--account", "service"]);
    env(&mut sync);
    sync.assert().success();
    // The rebuilt lock has each publication's statistics key, read from its article URLs.
    let lock: toml::Value = toml::from_str(&project.read("publish.lock")).unwrap();
    let mut keys: Vec<i64> = lock["accounts"]["service"]["pushes"]
        .as_table()
        .unwrap()
        .values()
        .filter_map(|push| push.get("publication"))
        .map(|p| p["msg_data_id"].as_integer().expect("msg_data_id recorded by sync"))
        .collect();
    let mut served: Vec<i64> = sandbox_state(&sandbox)["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["msg_data_id"].as_i64().unwrap())
        .collect();
    keys.sort_unstable();
    served.sort_unstable();
    assert_eq!(keys, served);
    let before = sandbox_state(&sandbox);
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let after = sandbox_state(&sandbox);
    for endpoint in ["/cgi-bin/material/add_material", "/cgi-bin/draft/add", "/cgi-bin/freepublish/submit"] {
        assert_eq!(after["calls"][endpoint], before["calls"][endpoint], "{endpoint} called again after sync: {text}");
    }
}

#[test]
fn the_subscription_allowance_is_respected_and_explained() {
    let sandbox = start(SandboxOptions { service_account: false, ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "subscription"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("allowance is used up"), "{text}");
    let state = sandbox_state(&sandbox);
    assert_eq!(state["mass_sends"].as_array().unwrap().len(), 1, "one mass send a day");
}

#[test]
fn injected_faults_complete_within_two_runs_without_duplicates() {
    injected_faults_scenario(false);
}

/// The same through a relay: the sandbox's faults (dropped connections, expired tokens, busy)
/// reach the client as the relay's gateway errors or WeChat's answers, and change nothing.
#[test]
fn injected_faults_through_the_relay_complete_without_duplicates() {
    injected_faults_scenario(true);
}

fn injected_faults_scenario(through_relay: bool) {
    let sandbox =
        start(SandboxOptions { fault_rate: 0.1, fault_seed: 11, publish_delay_ms: 100, ..SandboxOptions::default() });
    let relay = through_relay.then(|| crate::relay::in_front_of(&sandbox));
    let route = Route::of(&sandbox, relay.as_ref());
    let publish = |project: &TestProject, _: &SandboxHandle, args: &[&str]| publish_via(project, &route, args);
    let project = TestProject::example();
    // Both accounts: a freepublish push and a mass send are due.
    let (first, text) = publish(&project, &sandbox, &["--due", "--now", MIXED_NOW]);
    if first != 0 {
        assert!(text.contains("left:"), "a failed run says what is left: {text}");
        let (second, text) = publish(&project, &sandbox, &["--due", "--now", MIXED_NOW]);
        assert_eq!(second, 0, "the second run completes: {text}");
    }
    let state = sandbox_state(&sandbox);
    assert!(state["faults_served"].as_u64().unwrap() > 0, "faults were injected");
    assert_eq!(state["publications"].as_array().unwrap().len(), 1, "published once");
    assert_eq!(state["mass_sends"].as_array().unwrap().len(), 1, "mass-sent once");
    assert_eq!(state["drafts"].as_array().unwrap().len(), 6, "one draft per remaining push");
    let materials = state["materials"].as_array().unwrap();
    let mut names: Vec<&str> = materials.iter().map(|m| m["name"].as_str().unwrap()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "no material uploaded twice");
}

#[test]
fn runs_killed_at_any_point_are_finished_by_the_next_without_duplicates() {
    killed_runs_scenario(false);
}

/// The same through a relay: a client killed with calls in flight at the relay.
#[test]
fn runs_killed_through_the_relay_are_finished_by_the_next_without_duplicates() {
    killed_runs_scenario(true);
}

fn killed_runs_scenario(through_relay: bool) {
    // Publications take 900 ms: later kills land while the run settles them.
    let sandbox = start(SandboxOptions { latency_ms: 40, publish_delay_ms: 900, ..SandboxOptions::default() });
    let relay = through_relay.then(|| crate::relay::in_front_of(&sandbox));
    let route = Route::of(&sandbox, relay.as_ref());
    let publish = |project: &TestProject, _: &SandboxHandle, args: &[&str]| publish_via(project, &route, args);
    let project = TestProject::example();
    // Both accounts: a freepublish push and a mass send are due.
    let args = ["--due", "--now", MIXED_NOW];
    // Warm the image cache, then time what comes before the first API call (build and check).
    let dry_run = ["--dry-run", "--due", "--now", MIXED_NOW];
    assert_eq!(publish(&project, &sandbox, &dry_run).0, 0);
    let started = std::time::Instant::now();
    assert_eq!(publish(&project, &sandbox, &dry_run).0, 0);
    let ramp = started.elapsed();
    for step in 0..12u64 {
        let mut child = route
            .apply(crate::support::binary().current_dir(project.path()))
            .arg("publish")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(ramp + std::time::Duration::from_millis(step * 180));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(project.path().join("publish.lock").exists(), "the killed runs got as far as writing to WeChat");
    let mut last = (1, String::new());
    for _ in 0..4 {
        last = publish(&project, &sandbox, &args);
        if last.0 == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert_eq!(last.0, 0, "finished after the kills: {}", last.1);
    let state = sandbox_state(&sandbox);
    assert_eq!(state["publications"].as_array().unwrap().len(), 1, "published exactly once");
    assert_eq!(state["mass_sends"].as_array().unwrap().len(), 1, "mass-sent exactly once");
    assert_eq!(state["drafts"].as_array().unwrap().len(), 6, "no duplicate drafts");
    let mut names: Vec<&str> =
        state["materials"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total, "no material uploaded twice");
    // And a run after that writes nothing.
    let before = writes(&state);
    assert_eq!(publish(&project, &sandbox, &args).0, 0);
    assert_eq!(writes(&sandbox_state(&sandbox)), before);
}

#[test]
fn a_publish_refused_by_wechat_is_explained_and_not_resubmitted() {
    let sandbox =
        start(SandboxOptions { publish_delay_ms: 0, publish_fail_status: Some(4), ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "service"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("rejected by platform review") && text.contains("not resubmitted"), "{text}");
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", NOW, "--account", "service"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not resubmitted"), "{text}");
    assert_eq!(sandbox_state(&sandbox)["calls"]["/cgi-bin/freepublish/submit"], 1, "submitted once only");
}

/// An article that links to another, and a topic page scheduled before one of the items it
/// lists: each goes out only after what it links to, rebuilt with their published URLs.
#[test]
fn a_push_goes_out_after_the_items_it_links_to_with_their_urls() {
    let sandbox = start(SandboxOptions::default());
    let item = |title: &str, when: &str, extra: &str, body: &str| {
        format!(
            "---\ntitle: {title}\ndigest: 摘要\ncover: wood.jpg\naccount: service\npublish_at: {when}\n{extra}---\n\n{body}\n"
        )
    };
    let project = TestProject::with_items(&[
        ("articles/2026-12-01-first", &item("第一篇", "2026-12-01 08:00", "tags: [专题]\n", "第一篇的正文。")),
        (
            "articles/2026-12-02-second",
            &item("第二篇", "2026-12-02 08:00", "tags: [专题]\n", "接着[第一篇](../2026-12-01-first/)往下讲。"),
        ),
        (
            "topics/2026-12-01-topic",
            &item("专题", "2026-12-01 09:00", "gather:\n  tags: [专题]\n", "本专题收集两篇文章。"),
        ),
    ]);
    let wood = crate::support::example_root().join("content/articles/2026-12-01-ding-story/wood.jpg");
    for folder in ["articles/2026-12-01-first", "articles/2026-12-02-second", "topics/2026-12-01-topic"] {
        std::fs::copy(&wood, project.path().join("content").join(folder).join("wood.jpg")).unwrap();
    }

    // Before publication the link is text: WeChat would drop any other link.
    let out = project.wxpub().arg("build").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second = project.read("dist/articles/2026-12-02-second/content.html");
    assert!(second.contains("接着第一篇往下讲") && !second.contains("<a "), "{second}");
    let status = project.wxpub().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.lines().any(|l| l.starts_with("topics/2026-12-01-topic")
            && l.contains("published after articles/2026-12-01-first, articles/2026-12-02-second")),
        "{status}"
    );

    let (code, text) = publish(&project, &sandbox, &["--due", "--now", "2026-12-03 00:00"]);
    assert_eq!(code, 0, "{text}");
    let lock: toml::Value = toml::from_str(&project.read("publish.lock")).unwrap();
    let pushes = lock["accounts"]["service"]["pushes"].as_table().unwrap();
    let url_of = |key: &str| {
        let push =
            pushes.values().find(|p| p["items"].as_array().unwrap().iter().any(|i| i.as_str() == Some(key))).unwrap();
        push["publication"]["article_urls"][0].as_str().unwrap().to_string()
    };
    // As they appear in an href: WeChat's article links carry `&`, escaped in HTML.
    let (first_url, second_url) = (
        url_of("articles/2026-12-01-first").replace('&', "&amp;"),
        url_of("articles/2026-12-02-second").replace('&', "&amp;"),
    );

    // Published in link order, whatever the schedule said: first, second, then the topic.
    let state = sandbox_state(&sandbox);
    let publications = state["publications"].as_array().unwrap();
    let titles: Vec<&str> = publications.iter().map(|p| p["articles"][0]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["第一篇", "第二篇", "专题"], "{text}");
    let content = |i: usize| publications[i]["articles"][0]["content"].as_str().unwrap().to_string();
    assert!(
        content(1).contains(&format!("<a href=\"{first_url}\"")),
        "the second links to the first's URL: {}",
        content(1)
    );
    for url in [&first_url, &second_url] {
        assert!(content(2).contains(&format!("href=\"{url}\"")), "the topic's cards link to {url}: {}", content(2));
    }
    assert!(text.contains("wait"), "the run says what waited: {text}");

    // A rerun writes nothing.
    let before = writes(&sandbox_state(&sandbox));
    let (code, text) = publish(&project, &sandbox, &["--due", "--now", "2026-12-03 00:00"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(writes(&sandbox_state(&sandbox)), before, "{text}");
}

/// Runs wxpub against the sandbox, with both accounts' credentials in its environment.
fn publish_via(project: &TestProject, route: &Route, args: &[&str]) -> (i32, String) {
    let output = route.apply(crate::support::binary().current_dir(project.path())).arg("publish").args(args).output();
    let output = output.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn wxpub_against(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> (i32, String) {
    let output =
        sandbox_env(crate::support::binary().current_dir(project.path()), sandbox).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

/// `send-preview`: the push's draft, made once and sent to the reviewer's phone; nothing is
/// published, and `publish` later publishes that same draft.
#[test]
fn send_preview_sends_the_pushs_draft_and_publish_reuses_it() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 0, ..SandboxOptions::default() });
    let project = TestProject::example();
    let item = "articles/2026-12-12-conservation-lab";
    let (code, text) = wxpub_against(&project, &sandbox, &["send-preview", item, "--to", "wxpub-editor"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("to WeChat ID wxpub-editor"), "{text}");
    let state = sandbox_state(&sandbox);
    assert_no_secrets(&text, &state);
    assert_eq!(state["calls"]["/cgi-bin/draft/add"], 1, "one draft: {text}");
    let previews = state["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{text}");
    assert_eq!(previews[0]["to"], "wxpub-editor");
    let draft = previews[0]["draft_media_id"].as_str().unwrap().to_string();
    assert!(state["publications"].as_array().unwrap().is_empty(), "nothing published");
    assert!(state["mass_sends"].as_array().unwrap().is_empty(), "nothing sent to followers");
    assert!(project.read("publish.lock").contains(&draft), "the draft is recorded for publish");

    // Someone who does not follow the account is named, with what to do.
    let (code, text) = wxpub_against(&project, &sandbox, &["send-preview", item, "--to", "stranger-123"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("stranger-123") && text.contains("do not follow"), "{text}");
    // No reviewer anywhere: the error says where to name one.
    let (code, text) = wxpub_against(&project, &sandbox, &["send-preview", item]);
    assert_ne!(code, 0);
    assert!(text.contains("--to WECHAT_ID") && text.contains("[publish] reviewers"), "{text}");

    // Publishing the item later reuses the previewed draft.
    let (code, text) = wxpub_against(
        &project,
        &sandbox,
        &["publish", item, "--due", "--now", "2026-12-12 10:00", "--account", "service"],
    );
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    assert_eq!(state["calls"]["/cgi-bin/draft/add"], 1, "no second draft: {text}");
    assert_eq!(state["publications"].as_array().unwrap().len(), 1, "{text}");
    assert_eq!(state["previews"].as_array().unwrap().len(), 1);
}

/// A booking card: the stored draft holds the `mp-miniprogram` element with an uploadimg
/// picture; for a mini program not linked to the account WeChat drops it, and publish says so.
#[test]
fn a_booking_card_reaches_the_draft_and_a_dropped_one_is_reported() {
    let item = "articles/2026-12-01-bronze-exhibition";
    let sandbox = start(SandboxOptions::default());
    let project = TestProject::example();
    let (code, text) = wxpub_against(&project, &sandbox, &["publish", item, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    let content = state["drafts"][0]["articles"][0]["content"].as_str().unwrap().to_string();
    let card = &content[content.find("<mp-miniprogram").expect("the card is kept")..];
    let card = &card[..card.find('>').unwrap()];
    assert!(
        card.contains(&format!("data-miniprogram-appid=\"{}\"", wxpub::sandbox::EXAMPLE_MINIPROGRAM_APPID)),
        "{card}"
    );
    assert!(card.contains("data-miniprogram-path=\"pages/booking/index?exhibition=bronze-age\""), "{card}");
    assert!(
        card.contains(&format!("data-miniprogram-imageurl=\"{}/mmbiz/", sandbox.base_url)),
        "an uploadimg URL: {card}"
    );
    assert!(!text.contains("warn:"), "{text}");

    let unlinked = start(SandboxOptions { linked_miniprograms: Vec::new(), ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = wxpub_against(&project, &unlinked, &["publish", item, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&unlinked);
    assert!(!state["drafts"][0]["articles"][0]["content"].as_str().unwrap().contains("<mp-miniprogram"));
    assert!(text.contains("warn: WeChat removed 1 of 1 mini-program card(s)") && text.contains("小程序管理"), "{text}");
}

/// A JPEG photo of its own colour (distinct bytes, so each is its own material).
fn photo(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(900, 600, |x, y| {
        image::Rgb([seed.wrapping_mul(37), (x % 256) as u8 ^ seed, (y % 256) as u8])
    });
    crate::support::encode_image(&image::DynamicImage::ImageRgb8(image), image::ImageFormat::Jpeg)
}

/// A gallery written as an image post (贴图): `count` photos in the body, a few lines of text.
pub fn image_post_project(count: usize, extra_body: &str) -> TestProject {
    let photos: String = (1..=count).map(|i| format!("![第 {i} 张](p{i}.jpg)\n\n")).collect();
    let text = format!(
        "---\ntitle: 冬日庭院\ndigest: 九张照片\naccount: service\npublish_at: 2026-12-10 09:00\nformat: image-post\n---\n\n雪后的庭院，\n银杏还挂着最后几片叶子。\n\n{photos}{extra_body}"
    );
    let project = TestProject::with_items(&[("articles/2026-12-10-garden-photos", &text)]);
    for i in 1..=count {
        let path = project.path().join(format!("content/articles/2026-12-10-garden-photos/p{i}.jpg"));
        std::fs::write(path, photo(i as u8)).unwrap();
    }
    project
}

/// An image post goes out as `newspic`: its 9 photos as permanent materials, its text plain.
#[test]
fn an_image_post_publishes_as_newspic_with_its_photos_as_materials() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 0, ..SandboxOptions::default() });
    let project = image_post_project(9, "");
    let (code, text) = wxpub_against(&project, &sandbox, &["publish", "--due", "--now", "2026-12-10 10:00"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    let publications = state["publications"].as_array().unwrap();
    assert_eq!(publications.len(), 1, "{text}");
    let article = &publications[0]["articles"][0];
    assert_eq!(article["article_type"], "newspic");
    let list: Vec<&str> = article["image_info"]["image_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image_media_id"].as_str().unwrap())
        .collect();
    assert_eq!(list.len(), 9, "{article}");
    let materials: Vec<&str> =
        state["materials"].as_array().unwrap().iter().map(|m| m["media_id"].as_str().unwrap()).collect();
    assert!(list.iter().all(|id| materials.contains(id)), "every photo is a permanent material");
    assert_eq!(materials.len(), 9, "nine materials, no separate thumb: {text}");
    assert_eq!(list.iter().collect::<std::collections::BTreeSet<_>>().len(), 9, "nine different photos");
    let content = article["content"].as_str().unwrap();
    assert!(!content.contains('<'), "plain text: {content}");
    assert!(content.starts_with("雪后的庭院，银杏还挂着最后几片叶子。"), "{content}");
    assert!(article.get("thumb_media_id").is_none_or(|t| t.is_null()), "{article}");
    assert!(state["calls"].get("/cgi-bin/media/uploadimg").is_none(), "nothing through uploadimg: {text}");
}

/// Too many photos, or markup in the text: `check` refuses it at the line, before any upload.
#[test]
fn an_image_post_with_21_photos_or_html_is_refused_before_any_upload() {
    let sandbox = start(SandboxOptions::default());
    for (project, expected) in [
        (image_post_project(21, ""), "takes 1 to 20 photos; this one has 21"),
        (image_post_project(3, "<section>说明</section>\n"), "raw HTML in an image post"),
        (image_post_project(3, "| a | b |\n|---|---|\n| 1 | 2 |\n"), "a table in an image post"),
    ] {
        let (code, text) = wxpub_against(&project, &sandbox, &["publish", "--due", "--now", "2026-12-10 10:00"]);
        assert_ne!(code, 0, "{text}");
        assert!(text.contains(expected) && text.contains("[image-post]"), "{text}");
        assert!(text.contains("content/articles/2026-12-10-garden-photos/index.md:"), "{text}");
    }
    assert_eq!(writes(&sandbox_state(&sandbox)), 0, "nothing uploaded");
}

/// Two articles that link to each other: the earlier goes first (its link as text, and `check`
/// says so), the later one waits for it and links to its URL — neither waits forever.
#[test]
fn articles_that_link_to_each_other_are_both_published_in_time_order() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 0, ..SandboxOptions::default() });
    let item = |title: &str, when: &str, body: &str| {
        format!(
            "---\ntitle: {title}\ndigest: 摘要\ncover: wood.jpg\naccount: service\npublish_at: {when}\n---\n\n{body}\n"
        )
    };
    let project = TestProject::with_items(&[
        ("articles/2026-12-01-part-one", &item("上篇", "2026-12-01 08:00", "下篇见[这里](../2026-12-02-part-two/)。")),
        ("articles/2026-12-02-part-two", &item("下篇", "2026-12-02 08:00", "上篇见[这里](../2026-12-01-part-one/)。")),
    ]);
    let wood = crate::support::example_root().join("content/articles/2026-12-01-ding-story/wood.jpg");
    for folder in ["articles/2026-12-01-part-one", "articles/2026-12-02-part-two"] {
        std::fs::copy(&wood, project.path().join("content").join(folder).join("wood.jpg")).unwrap();
    }
    let check = project.wxpub().args(["check", "--now", "2026-11-30 08:00"]).output().unwrap();
    let check = String::from_utf8_lossy(&check.stdout).to_string() + &String::from_utf8_lossy(&check.stderr);
    assert!(check.contains("[link-order]") && check.contains("which links back"), "{check}");

    let (code, text) = publish(&project, &sandbox, &["--due", "--now", "2026-12-03 00:00"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    let publications = state["publications"].as_array().unwrap();
    let titles: Vec<&str> = publications.iter().map(|p| p["articles"][0]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["上篇", "下篇"], "{text}");
    let content = |i: usize| publications[i]["articles"][0]["content"].as_str().unwrap().to_string();
    assert!(!content(0).contains("<a "), "the first one's link is text: {}", content(0));
    assert!(content(1).contains("<a href=\"https://mp.weixin.qq.com/s?__biz="), "{}", content(1));

    // A published push has no draft left to preview: said plainly.
    let (code, text) =
        wxpub_against(&project, &sandbox, &["send-preview", "articles/2026-12-01-part-one", "--to", "wxpub-editor"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("already published") && text.contains("no draft left to preview"), "{text}");
}
