//! The WeChat client against the sandbox, over real HTTP on a loopback port.
use std::time::Duration;

use wxpub::sandbox::{SandboxHandle, SandboxOptions, spawn};
use wxpub::wechat::types::*;
use wxpub::wechat::{Client, ClientOptions, Credentials, RetryPolicy, Secret, Upload};

use crate::support::repo_root;

use crate::support::{APPID, SECRET};

pub fn start(options: SandboxOptions) -> SandboxHandle {
    crate::support::pin_clock();
    spawn(SandboxOptions { appid: APPID.into(), secret: SECRET.into(), ..options }).expect("sandbox starts")
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20) }
}

/// A client of the sandbox with these credentials.
pub fn client_with(sandbox: &SandboxHandle, appid: &str, secret: &str) -> Client {
    let credentials = Credentials { appid: appid.into(), secret: Secret::new(secret) };
    let options =
        ClientOptions { stable_token: true, retry: fast_retry(), timeout: Duration::from_secs(10), on_retry: None };
    Client::new(&sandbox.base_url, credentials, options).unwrap()
}

pub fn client_for(sandbox: &SandboxHandle, stable_token: bool) -> Client {
    let credentials = Credentials { appid: APPID.into(), secret: Secret::new(SECRET) };
    let options = ClientOptions { stable_token, retry: fast_retry(), timeout: Duration::from_secs(10), on_retry: None };
    Client::new(&sandbox.base_url, credentials, options).unwrap()
}

pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

pub fn sandbox_state(sandbox: &SandboxHandle) -> serde_json::Value {
    http().get(format!("{}/__sandbox/state", sandbox.base_url)).send().unwrap().json().unwrap()
}

/// Moves the sandbox's "today" (its statistics end the day before; quotas count per day).
pub fn set_sandbox_today(sandbox: &SandboxHandle, today: &str) {
    let answer: serde_json::Value = http()
        .post(format!("{}/__sandbox/today", sandbox.base_url))
        .json(&serde_json::json!({ "today": today }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["errcode"], 0, "{answer}");
}

pub fn script_faults(sandbox: &SandboxHandle, faults: serde_json::Value) {
    let answer: serde_json::Value =
        http().post(format!("{}/__sandbox/faults", sandbox.base_url)).json(&faults).send().unwrap().json().unwrap();
    assert_eq!(answer["errcode"], 0, "{answer}");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures").join(name)).unwrap()
}

fn content_image(path: &str) -> Vec<u8> {
    std::fs::read(crate::support::example_root().join("content").join(path)).unwrap()
}

/// A real 1×1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

pub fn cover(client: &Client) -> String {
    let bytes = fixture("joy-preview.jpg");
    client.add_material(MaterialType::Image, &Upload { filename: "cover.jpg", bytes: &bytes }, None).unwrap().media_id
}

pub fn article(title: &str, thumb: &str, content: &str) -> Article {
    Article {
        title: title.into(),
        author: Some("李青".into()),
        digest: Some("摘要".into()),
        content: content.into(),
        thumb_media_id: Some(thumb.into()),
        pic_crop_235_1: Some("0_0.2_1_0.6255".into()),
        pic_crop_1_1: Some("0.2_0_0.8_1".into()),
        ..Article::default()
    }
}

#[test]
fn stable_token_is_shared_by_two_clients_without_invalidating_either() {
    let sandbox = start(SandboxOptions::default());
    let (a, b) = (client_for(&sandbox, true), client_for(&sandbox, true));
    let token_a = a.access_token().unwrap();
    let token_b = b.access_token().unwrap();
    assert_eq!(token_a.expose(), token_b.expose(), "stable_token returns the current token");
    assert_eq!(a.draft_count().unwrap(), 0);
    assert_eq!(b.draft_count().unwrap(), 0);
    assert_eq!(a.draft_count().unwrap(), 0, "a still works after b fetched its token");
    assert_eq!(sandbox_state(&sandbox)["calls"]["/cgi-bin/stable_token"], 2);
}

#[test]
fn plain_token_endpoint_and_credential_errors() {
    let sandbox = start(SandboxOptions::default());
    let client = client_for(&sandbox, false);
    assert_eq!(client.material_count().unwrap().image_count, 0);

    let wrong = Client::new(
        &sandbox.base_url,
        Credentials { appid: APPID.into(), secret: Secret::new("not-the-secret") },
        ClientOptions { retry: fast_retry(), ..ClientOptions::default() },
    )
    .unwrap();
    let err = wrong.access_token().unwrap_err();
    assert_eq!(err.code(), Some(40125));
    assert!(err.to_string().contains("AppSecret is invalid"), "{err}");
    assert!(!err.to_string().contains("not-the-secret"));

    let bad_appid = Client::new(
        &sandbox.base_url,
        Credentials { appid: "wxnope".into(), secret: Secret::new(SECRET) },
        ClientOptions { retry: fast_retry(), ..ClientOptions::default() },
    )
    .unwrap();
    assert_eq!(bad_appid.draft_count().unwrap_err().code(), Some(40013));
}

#[test]
fn missing_invalid_and_expired_tokens_are_refused_with_their_codes() {
    let sandbox = start(SandboxOptions { token_ttl: 1, ..SandboxOptions::default() });
    let raw = |token: Option<&str>| -> serde_json::Value {
        let url = match token {
            Some(t) => format!("{}/cgi-bin/draft/count?access_token={t}", sandbox.base_url),
            None => format!("{}/cgi-bin/draft/count", sandbox.base_url),
        };
        http().post(url).body("{}").send().unwrap().json().unwrap()
    };
    assert_eq!(raw(None)["errcode"], 41001);
    assert_eq!(raw(Some("made-up"))["errcode"], 40001);
    let client = client_for(&sandbox, true);
    let token = client.access_token().unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(raw(Some(token.expose()))["errcode"], 42001);
    // The client itself refreshes and carries on.
    assert_eq!(client.draft_count().unwrap(), 0);
}

#[test]
fn uploadimg_checks_type_and_size_and_serves_the_image_back() {
    let sandbox = start(SandboxOptions::default());
    let client = client_for(&sandbox, true);
    let jpg = content_image("articles/2026-12-12-conservation-lab/aqua.jpg");
    let url = client.upload_image(&Upload { filename: "aqua.jpg", bytes: &jpg }).unwrap().url;
    let served = http().get(&url).send().unwrap().bytes().unwrap();
    assert_eq!(served.as_ref(), jpg.as_slice(), "the uploaded image is served at its URL");

    let png = fixture("emerald-4x3.png");
    assert!(client.upload_image(&Upload { filename: "e.png", bytes: &png }).is_ok());

    let gif = client.upload_image(&Upload { filename: "a.gif", bytes: GIF }).unwrap_err();
    assert_eq!(gif.code(), Some(40005));
    let big = content_image("articles/2026-12-01-bronze-exhibition/key-visual.jpg");
    assert!(big.len() > 1024 * 1024);
    assert_eq!(client.upload_image(&Upload { filename: "big.jpg", bytes: &big }).unwrap_err().code(), Some(40009));

    // The file field must be called `media`.
    let token = client.access_token().unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(jpg).file_name("aqua.jpg"));
    let answer: serde_json::Value = http()
        .post(format!("{}/cgi-bin/media/uploadimg?access_token={}", sandbox.base_url, token.expose()))
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["errcode"], 41005);
}

#[test]
fn permanent_material_rules_listing_counting_and_deleting() {
    let sandbox = start(SandboxOptions::default());
    let client = client_for(&sandbox, true);
    let small = fixture("joy-preview.jpg");
    let image =
        client.add_material(MaterialType::Image, &Upload { filename: "cover-abc.jpg", bytes: &small }, None).unwrap();
    assert!(image.url.is_some(), "image material has a URL");
    client.add_material(MaterialType::Image, &Upload { filename: "anim.gif", bytes: GIF }, None).unwrap();
    let thumb = client.add_material(MaterialType::Thumb, &Upload { filename: "t.jpg", bytes: &small }, None).unwrap();
    assert!(thumb.url.is_none());

    let big_thumb = content_image("articles/2026-12-12-conservation-lab/aqua.jpg");
    let err =
        client.add_material(MaterialType::Thumb, &Upload { filename: "t.jpg", bytes: &big_thumb }, None).unwrap_err();
    assert_eq!(err.code(), Some(40009), "thumb over 64 KB");
    let err = client.add_material(
        MaterialType::Thumb,
        &Upload { filename: "t.png", bytes: &fixture("emerald-4x3.png") },
        None,
    );
    assert_eq!(err.unwrap_err().code(), Some(40005), "thumb must be jpg");

    let mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free";
    let err = client.add_material(MaterialType::Video, &Upload { filename: "v.mp4", bytes: mp4 }, None).unwrap_err();
    assert_eq!(err.code(), Some(47001), "video needs a description");
    let description = VideoDescription { title: "铸造过程".into(), introduction: "三维动画".into() };
    client.add_material(MaterialType::Video, &Upload { filename: "v.mp4", bytes: mp4 }, Some(&description)).unwrap();

    let count = client.material_count().unwrap();
    assert_eq!((count.image_count, count.video_count), (2, 1));
    let listed = client.batchget_material(MaterialType::Image, 0, 20).unwrap();
    assert_eq!(listed.total_count, 2);
    assert!(
        listed.item.iter().any(|m| m.name == "cover-abc.jpg"),
        "names are kept, so state can be rebuilt from the server"
    );
    assert_eq!(client.batchget_material(MaterialType::Image, 0, 21).unwrap_err().code(), Some(47001));

    client.del_material(&image.media_id).unwrap();
    assert_eq!(client.del_material(&image.media_id).unwrap_err().code(), Some(40007));
    assert_eq!(client.material_count().unwrap().image_count, 1);
}

#[test]
fn drafts_round_trip_in_utf8_and_enforce_field_limits() {
    let sandbox = start(SandboxOptions::default());
    let client = client_for(&sandbox, true);
    let thumb = cover(&client);
    let body_image = client
        .upload_image(&Upload {
            filename: "a.jpg",
            bytes: &content_image("articles/2026-12-12-conservation-lab/aqua.jpg"),
        })
        .unwrap()
        .url;
    let content = format!(
        "<section><p>青铜器</p><img src=\"{body_image}\"><img src=\"https://elsewhere.example/x.png\"><script>alert(1)</script></section>"
    );
    let lead = article("青铜时代——青州考古新发现特展开幕", &thumb, &content);
    let second = article("一件鼎的三千年", &thumb, "<p>第二篇</p>");
    let draft = client.draft_add(&[lead.clone(), second]).unwrap().media_id;

    let stored = client.draft_get(&draft).unwrap().news_item;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].title, lead.title, "Chinese arrives as UTF-8, not \\u escapes");
    assert!(stored[0].content.contains(&body_image), "uploadimg images stay");
    assert!(!stored[0].content.contains("elsewhere.example"), "other images are filtered out");
    assert!(!stored[0].content.contains("<script"), "scripts are removed");
    assert!(stored[0].url.is_some());
    let log = sandbox_state(&sandbox)["log"].to_string();
    assert!(log.contains("elsewhere.example"), "the sandbox logs what it filtered: {log}");

    let mut updated = article("更新后的标题", &thumb, "<p>新内容</p>");
    updated.digest = None;
    client.draft_update(&draft, 1, &updated).unwrap();
    assert_eq!(client.draft_get(&draft).unwrap().news_item[1].title, "更新后的标题");
    assert_eq!(client.draft_update(&draft, 2, &updated).unwrap_err().code(), Some(47001));
    assert_eq!(client.draft_update("nope", 0, &updated).unwrap_err().code(), Some(40007));

    let too_long = |mut a: Article, edit: fn(&mut Article)| {
        edit(&mut a);
        client.draft_add(&[a]).unwrap_err().code()
    };
    let base = article("标题", &thumb, "<p>x</p>");
    assert_eq!(too_long(base.clone(), |a| a.title = "题".repeat(33)), Some(45003));
    assert_eq!(too_long(base.clone(), |a| a.author = Some("作".repeat(17))), Some(45110));
    assert_eq!(too_long(base.clone(), |a| a.digest = Some("摘".repeat(121))), Some(45004));
    assert_eq!(too_long(base.clone(), |a| a.content = "x".repeat(20_000)), Some(45002));
    assert_eq!(too_long(base.clone(), |a| a.title = String::new()), Some(44004));
    assert_eq!(too_long(base.clone(), |a| a.content = String::new()), Some(44003));
    assert_eq!(too_long(base.clone(), |a| a.thumb_media_id = Some("not-material".into())), Some(40007));
    assert_eq!(too_long(base.clone(), |a| a.content_source_url = Some("https://x/".repeat(120))), Some(47001));
    assert_eq!(client.draft_add(&vec![base.clone(); 9]).unwrap_err().code(), Some(47001), "at most 8 articles");
    // Exactly at the limits is fine.
    let mut edge = base.clone();
    edge.title = "题".repeat(32);
    edge.author = Some("作".repeat(16));
    edge.digest = Some("摘".repeat(120));
    edge.content = "x".repeat(19_999);
    client.draft_add(&[edge]).unwrap();

    assert_eq!(client.draft_count().unwrap(), 2);
    let listed = client.draft_batchget(0, 20, true).unwrap();
    assert_eq!(listed.item_count, 2);
    assert!(listed.item.iter().all(|d| d.content.news_item.iter().all(|a| a.content.is_empty())), "no_content=1");
    client.draft_delete(&draft).unwrap();
    assert_eq!(client.draft_count().unwrap(), 1);
}

#[test]
fn escaped_json_is_stored_literally_like_wechat_does() {
    // The client must send UTF-8: this test shows what would happen otherwise.
    let sandbox = start(SandboxOptions::default());
    let client = client_for(&sandbox, true);
    let thumb = cover(&client);
    let token = client.access_token().unwrap();
    let body =
        format!(r#"{{"articles":[{{"title":"\u9752\u94dc","content":"<p>x</p>","thumb_media_id":"{thumb}"}}]}}"#);
    let answer: serde_json::Value = http()
        .post(format!("{}/cgi-bin/draft/add?access_token={}", sandbox.base_url, token.expose()))
        .body(body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let media_id = answer["media_id"].as_str().unwrap();
    assert_eq!(client.draft_get(media_id).unwrap().news_item[0].title, "\\u9752\\u94dc");
}

#[test]
fn client_json_is_utf8_never_unicode_escapes() {
    let article = article("青铜", "m", "<p>鼎</p>");
    let json = serde_json::to_string(&serde_json::json!({ "articles": [article] })).unwrap();
    assert!(json.contains("青铜") && !json.contains("\\u"), "{json}");
}

#[test]
fn freepublish_is_asynchronous_and_the_draft_leaves_the_box() {
    let sandbox = start(SandboxOptions { publish_delay_ms: 400, ..SandboxOptions::default() });
    let client = client_for(&sandbox, true);
    let thumb = cover(&client);
    let draft = client.draft_add(&[article("发布测试", &thumb, "<p>正文</p>")]).unwrap().media_id;
    let submitted = client.publish_submit(&draft).unwrap();
    assert_eq!(client.draft_count().unwrap(), 0, "a published draft leaves the draft box");
    assert_eq!(client.publish_submit(&draft).unwrap_err().code(), Some(40007), "it cannot be published twice");

    let first = client.publish_get(&submitted.publish_id).unwrap();
    assert_eq!(first.publish_status, 1, "publishing");
    std::thread::sleep(Duration::from_millis(500));
    let done = client.publish_get(&submitted.publish_id).unwrap();
    assert_eq!(done.publish_status, 0);
    let detail = done.article_detail.unwrap();
    assert_eq!(detail.count, 1);
    assert!(detail.item[0].article_url.starts_with("https://mp.weixin.qq.com/s?__biz="));
    let article_id = done.article_id.unwrap();

    let listed = client.publish_batchget(0, 10, false).unwrap();
    assert_eq!(listed.total_count, 1);
    assert_eq!(client.publish_getarticle(&article_id).unwrap().news_item[0].title, "发布测试");
    client.publish_delete(&article_id, 0).unwrap();
    assert_eq!(client.publish_get(&submitted.publish_id).unwrap().publish_status, 5);
    assert_eq!(client.publish_getarticle(&article_id).unwrap_err().code(), Some(40007));
}

#[test]
fn mass_send_respects_the_subscription_allowance() {
    let sandbox = start(SandboxOptions { service_account: false, ..SandboxOptions::default() });
    let client = client_for(&sandbox, true);
    let thumb = cover(&client);
    let first = client.draft_add(&[article("第一次群发", &thumb, "<p>1</p>")]).unwrap().media_id;
    let second = client.draft_add(&[article("第二次群发", &thumb, "<p>2</p>")]).unwrap().media_id;
    client.mass_send_all(&first, "send-1").unwrap();
    let err = client.mass_send_all(&second, "send-2").unwrap_err();
    assert_eq!(err.code(), Some(45028), "a subscription account mass-sends once a day");
    assert!(err.to_string().contains("one a day"), "{err}");
    assert_eq!(client.draft_count().unwrap(), 1, "the sent draft left the box, the refused one stays");
}

#[test]
fn datacube_serves_every_endpoint_within_its_span_up_to_yesterday() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let sandbox = start(SandboxOptions { today: Some(today), ..SandboxOptions::default() });
    let client = client_for(&sandbox, true);
    let summary: Vec<UserSummaryRow> = client.datacube(Datacube::GetUserSummary, "2026-11-17", "2026-11-23").unwrap();
    assert_eq!(summary.iter().map(|r| r.ref_date.as_str()).collect::<std::collections::BTreeSet<_>>().len(), 7);
    let cumulate: Vec<UserCumulateRow> =
        client.datacube(Datacube::GetUserCumulate, "2026-11-17", "2026-11-23").unwrap();
    let net: i64 =
        summary.iter().filter(|r| r.ref_date != "2026-11-17").map(|r| r.new_user as i64 - r.cancel_user as i64).sum();
    assert_eq!(
        cumulate[6].cumulate_user as i64 - cumulate[0].cumulate_user as i64,
        net,
        "cumulative follows the daily figures"
    );
    let again: Vec<UserSummaryRow> = client.datacube(Datacube::GetUserSummary, "2026-11-17", "2026-11-23").unwrap();
    assert_eq!(summary, again, "deterministic");
    let _: Vec<ArticleSummaryRow> = client.datacube(Datacube::GetArticleSummary, "2026-11-23", "2026-11-23").unwrap();
    let _: Vec<ArticleTotalRow> = client.datacube(Datacube::GetArticleTotal, "2026-11-23", "2026-11-23").unwrap();
    let read: Vec<UserReadRow> = client.datacube(Datacube::GetUserRead, "2026-11-21", "2026-11-23").unwrap();
    assert!(read.iter().any(|r| r.user_source == 99_999_999));
    let hours: Vec<UserReadHourRow> = client.datacube(Datacube::GetUserReadHour, "2026-11-23", "2026-11-23").unwrap();
    assert_eq!(hours.len(), 24);
    let _: Vec<UserShareRow> = client.datacube(Datacube::GetUserShare, "2026-11-17", "2026-11-23").unwrap();
    let _: Vec<UserShareHourRow> = client.datacube(Datacube::GetUserShareHour, "2026-11-23", "2026-11-23").unwrap();

    let refused = |endpoint, begin, end| client.datacube::<serde_json::Value>(endpoint, begin, end).unwrap_err().code();
    assert_eq!(refused(Datacube::GetUserSummary, "2026-11-16", "2026-11-23"), Some(61501), "8 days > 7");
    assert_eq!(refused(Datacube::GetUserRead, "2026-11-20", "2026-11-23"), Some(61501), "4 days > 3");
    assert_eq!(refused(Datacube::GetArticleSummary, "2026-11-22", "2026-11-23"), Some(61501), "2 days > 1");
    assert_eq!(
        refused(Datacube::GetUserCumulate, "2026-11-24", "2026-11-24"),
        Some(61501),
        "today is not available yet"
    );
    assert_eq!(refused(Datacube::GetUserShare, "2026/11/20", "2026-11-23"), Some(61500));
}

/// The 2026 statistics see a freepublished article under `<msg_data_id>_<index>`; the deprecated
/// per-article endpoints, which count mass-sent articles only, never do.
#[test]
fn published_articles_show_up_in_the_next_days_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.db");
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let title = "统计测试文章";
    let msg_data_id = {
        let sandbox = start(SandboxOptions {
            state: Some(state.clone()),
            today: Some(day(10)),
            publish_delay_ms: 0,
            ..SandboxOptions::default()
        });
        let client = client_for(&sandbox, true);
        let thumb = cover(&client);
        let draft = client.draft_add(&[article(title, &thumb, "<p>x</p>")]).unwrap().media_id;
        client.publish_submit(&draft).unwrap().msg_data_id
    };
    let msgid = format!("{msg_data_id}_1");
    // Restarted with the same state file a few days later.
    let sandbox = start(SandboxOptions { state: Some(state), today: Some(day(14)), ..SandboxOptions::default() });
    let client = client_for(&sandbox, true);
    assert_eq!(client.publish_batchget(0, 10, true).unwrap().total_count, 1, "state survived the restart");
    let reads = |d: &str| -> u64 {
        let rows: Vec<ArticleReadRow> = client.datacube(Datacube::GetArticleRead, d, d).unwrap();
        rows.iter().filter(|r| r.msgid == msgid).map(|r| r.detail.read_user).sum()
    };
    assert!(reads("2026-11-10") > reads("2026-11-11") && reads("2026-11-11") > reads("2026-11-12"), "reads decay");
    assert_eq!(reads("2026-11-09"), 0, "nothing before publication");
    // The deprecated endpoints never see it: it was published, not mass-sent.
    let old: Vec<ArticleSummaryRow> = client.datacube(Datacube::GetArticleSummary, "2026-11-10", "2026-11-10").unwrap();
    assert!(old.iter().all(|r| r.title != title), "getarticlesummary counts mass-sent articles only");
    let old: Vec<ArticleTotalRow> = client.datacube(Datacube::GetArticleTotal, "2026-11-10", "2026-11-10").unwrap();
    assert!(old.is_empty());
    let totals: Vec<ArticleTotalDetailRow> =
        client.datacube(Datacube::GetArticleTotalDetail, "2026-11-10", "2026-11-10").unwrap();
    assert_eq!((totals[0].msgid.as_str(), totals[0].publish_type), (msgid.as_str(), 1));
    assert_eq!(totals[0].detail_list.len(), 4, "one cumulative entry per day up to yesterday");
    // Yesterday's figures are not final yet, and the answer says so; older days are.
    let delayed =
        |d: &str| client.datacube_answer::<serde_json::Value>(Datacube::GetArticleRead, d, d).unwrap().is_delay;
    assert!(delayed("2026-11-13") && !delayed("2026-11-12"));
    let followers = |d: &str| -> u64 {
        let rows: Vec<UserSummaryRow> = client.datacube(Datacube::GetUserSummary, d, d).unwrap();
        rows.iter().map(|r| r.new_user).sum()
    };
    assert!(followers("2026-11-10") > followers("2026-11-09"), "publish days bring followers");
}

#[test]
fn retries_transient_faults_but_not_contract_errors() {
    let sandbox = start(SandboxOptions::default());
    let client = client_for(&sandbox, true);
    client.access_token().unwrap();

    script_faults(&sandbox, serde_json::json!(["busy", "busy"]));
    assert_eq!(client.draft_count().unwrap(), 0, "two -1s, then the success is returned");
    assert_eq!(sandbox_state(&sandbox)["faults_served"], 2);

    script_faults(&sandbox, serde_json::json!([45003]));
    assert_eq!(client.draft_count().unwrap_err().code(), Some(45003), "a 45003 is not retried");
    assert_eq!(sandbox_state(&sandbox)["faults_served"], 3);
    assert_eq!(client.draft_count().unwrap(), 0);

    script_faults(&sandbox, serde_json::json!(["quota", "drop"]));
    assert_eq!(client.draft_count().unwrap(), 0, "45009 and a dropped connection are retried");

    script_faults(&sandbox, serde_json::json!(["token_expired"]));
    assert_eq!(client.draft_count().unwrap(), 0, "an expired token is refreshed once and the call retried");
    assert!(sandbox_state(&sandbox)["calls"]["/cgi-bin/stable_token"].as_u64().unwrap() >= 2);

    script_faults(&sandbox, serde_json::json!(["busy", "busy", "busy", "busy"]));
    assert_eq!(client.draft_count().unwrap_err().code(), Some(-1), "the retry budget is bounded");
}

#[test]
fn random_faults_at_a_high_rate_are_absorbed_by_retries() {
    // 10 % of calls fail, as in the publish issue's fault test.
    let sandbox = start(SandboxOptions { fault_rate: 0.1, fault_seed: 7, ..SandboxOptions::default() });
    let credentials = Credentials { appid: APPID.into(), secret: Secret::new(SECRET) };
    let retry =
        RetryPolicy { max_attempts: 10, base_delay: Duration::from_millis(2), max_delay: Duration::from_millis(10) };
    let client =
        Client::new(&sandbox.base_url, credentials, ClientOptions { retry, ..ClientOptions::default() }).unwrap();
    for _ in 0..60 {
        assert_eq!(client.draft_count().unwrap(), 0);
    }
    assert!(sandbox_state(&sandbox)["faults_served"].as_u64().unwrap() >= 3);
}

#[test]
fn the_python_sdk_wechatpy_works_against_the_sandbox_unchanged() {
    let python_has_wechatpy =
        std::process::Command::new("python3").args(["-c", "import wechatpy"]).status().is_ok_and(|s| s.success());
    if !python_has_wechatpy {
        assert!(
            std::env::var_os("WXPUB_SKIP_WECHATPY").is_some(),
            "wechatpy is not installed: run `bash .ci/run` (it installs it) or `python3 -m pip install wechatpy==1.8.18`; \
             WXPUB_SKIP_WECHATPY=1 skips this check"
        );
        return;
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let sandbox = start(SandboxOptions { today: Some(today), publish_delay_ms: 200, ..SandboxOptions::default() });
    let output = std::process::Command::new("python3")
        .arg(repo_root().join("tests/third_party/wechatpy_check.py"))
        .args([&sandbox.base_url, APPID, SECRET])
        .arg(repo_root().join("tests/fixtures/joy-preview.jpg"))
        .arg("2026-11-23")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("wechatpy OK"));
    let state = sandbox_state(&sandbox);
    assert_eq!(state["calls"]["/cgi-bin/token"], 1, "wechatpy used the plain token endpoint");
    assert_eq!(state["publications"].as_array().unwrap().len(), 1);
}
