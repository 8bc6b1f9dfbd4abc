//! #42, readers' comments: pulled from the sandbox twice without duplicates, answered, elected,
//! a reply whose answer is lost sent exactly once, bad replies refused before any call, an
//! unverified account skipped while the other is pulled, the report's figures counted by hand;
//! on SQLite and PostgreSQL.
use serde_json::{Value, json};
use wxpub::metrics::Store;
use wxpub::metrics::store::{StoreTarget, test_support};

use crate::metrics::{published_example, wxpub};
use crate::support::TestProject;
use crate::wechat::{sandbox_state, script_faults};

fn post(sandbox: &wxpub::sandbox::SandboxHandle, path: &str, body: Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}{path}", sandbox.base_url))
        .body(body.to_string())
        .send()
        .unwrap()
        .text()
        .unwrap();
    serde_json::from_str(&response).unwrap()
}

fn listed(project: &TestProject, sandbox: &wxpub::sandbox::SandboxHandle, args: &[&str]) -> Vec<Value> {
    let (code, out, err) = wxpub(project, sandbox, &[&["comments", "--json"][..], args].concat());
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

/// The sandbox's comments that are not deleted.
fn on_server(sandbox: &wxpub::sandbox::SandboxHandle) -> Vec<Value> {
    sandbox_state(sandbox)["comments"].as_array().unwrap().iter().filter(|c| c["deleted"] == false).cloned().collect()
}

fn reply_calls(sandbox: &wxpub::sandbox::SandboxHandle) -> u64 {
    sandbox_state(sandbox)["calls"]["/cgi-bin/comment/reply/add"].as_u64().unwrap_or(0)
}

#[test]
fn comments_are_pulled_once_answered_exactly_once_and_counted_on_both_stores() {
    let (project, sandbox, _state) = published_example();
    project.write("words.toml", "[[word]]\nword = \"最好\"\nreplacement = \"很好\"\nnote = \"广告法\"\n");
    project.write("replies.toml", "[templates]\nhours = \"您好，本馆周二至周日 9:00–17:00 开放，周一闭馆。\"\n");
    let config = project.read("publish.toml")
        + "\n[check]\nwords = \"words.toml\"\n\n[comments]\ntemplates = \"replies.toml\"\n\n[targets.2026.reply_rate]\nvalue = 50\nweight = 5\n";
    project.write("publish.toml", &config);

    let (code, out, err) = wxpub(&project, &sandbox, &["comments", "pull"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("service:") && out.contains("subscription:"), "{out}");
    let first = listed(&project, &sandbox, &[]);
    assert_eq!(first.len(), on_server(&sandbox).len(), "every comment of every published article");
    assert!(first.len() >= 16, "{}", first.len());
    // A second pull adds nothing.
    let (code, out, _) = wxpub(&project, &sandbox, &["comments", "pull"]);
    assert_eq!(code, 0);
    assert!(out.contains("(0 new, 0 changed, 0 deleted since)"), "{out}");
    assert_eq!(listed(&project, &sandbox, &[]).len(), first.len());

    // A reader writes a new one; another deletes theirs.
    let article = &first[0];
    let msg_data_id = article["msg_data_id"].as_u64().unwrap();
    let added = post(
        &sandbox,
        "/__sandbox/comments",
        json!({"msg_data_id": msg_data_id, "index": article["index"], "content": "几点闭馆？"}),
    );
    assert_eq!(added["errcode"], 0, "{added}");
    let gone: u64 = first[1]["comment_id"].as_str().unwrap().parse().unwrap();
    post(&sandbox, "/__sandbox/comments", json!({"msg_data_id": first[1]["msg_data_id"], "delete_by_author": gone}));
    let (_, out, _) = wxpub(&project, &sandbox, &["comments", "pull"]);
    assert!(out.contains("1 new") && out.contains("1 deleted since"), "{out}");
    let all = listed(&project, &sandbox, &[]);
    assert_eq!(all.len(), first.len(), "one more, one deleted");
    assert!(all.iter().all(|c| c["reply"].is_null()), "all unanswered yet");
    let times: Vec<&str> = all.iter().map(|c| c["created_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
    let new_one = all.iter().find(|c| c["content"] == "几点闭馆？").unwrap();
    let id = new_one["id"].as_i64().unwrap().to_string();

    // Bad replies are refused before any call.
    let calls = reply_calls(&sandbox);
    for (text, message) in
        [("", "the reply is empty"), (&"长".repeat(601) as &str, "at most 600"), ("我们是最好的博物馆", "`最好`")]
    {
        let (code, _, err) = wxpub(&project, &sandbox, &["comments", "reply", &id, text]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(message), "{err}");
    }
    let (code, _, err) = wxpub(&project, &sandbox, &["comments", "reply", "999999", "您好"]);
    assert!(code == 2 && err.contains("no comment 999999"), "{err}");
    assert_eq!(reply_calls(&sandbox), calls, "nothing was sent");

    // Answered through the command, with who answered.
    let (code, out, err) =
        wxpub(&project, &sandbox, &["comments", "reply", &id, "您好，17:00 闭馆。", "--as", "王老师"]);
    assert_eq!(code, 0, "{out}{err}");
    let server = on_server(&sandbox);
    let replied = server.iter().find(|c| c["content"] == "几点闭馆？").unwrap();
    assert_eq!(replied["reply"]["content"], "您好，17:00 闭馆。");
    let mine = listed(&project, &sandbox, &["--item", article["item"].as_str().unwrap()]);
    let recorded = mine.iter().find(|c| c["content"] == "几点闭馆？").unwrap();
    assert_eq!(
        (recorded["reply"].as_str(), recorded["replied_by"].as_str()),
        (Some("您好，17:00 闭馆。"), Some("王老师"))
    );
    // A second reply: WeChat keeps one; said plainly, nothing changed.
    let (code, _, err) = wxpub(&project, &sandbox, &["comments", "reply", &id, "另一个回答"]);
    assert_eq!(code, 2);
    assert!(err.contains("already has a reply"), "{err}");

    // The answer to reply/add is lost after WeChat acted: wxpub looks, and records it once.
    let other = all.iter().find(|c| c["content"] != "几点闭馆？").unwrap();
    let other_id = other["id"].as_i64().unwrap().to_string();
    script_faults(&sandbox, json!([{"lose_answer": "/cgi-bin/comment/reply/add"}]));
    let (code, out, err) = wxpub(&project, &sandbox, &["comments", "reply", &other_id, "--template", "hours"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("already on WeChat"), "{out}");
    let server = on_server(&sandbox);
    let answered: Vec<&Value> = server.iter().filter(|c| !c["reply"].is_null()).collect();
    assert_eq!(answered.len(), 2, "exactly one reply each");
    assert_eq!(listed(&project, &sandbox, &["--unanswered"]).len(), all.len() - 2);

    // Elected.
    let (code, _, err) = wxpub(&project, &sandbox, &["comments", "elect", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(on_server(&sandbox).iter().any(|c| c["content"] == "几点闭馆？" && c["elected"] == true));
    assert_eq!(listed(&project, &sandbox, &["--elected"]).len(), 1);

    // The report's figures, counted by hand from the sandbox.
    let report = |project: &TestProject| -> Value {
        let (code, out, err) = wxpub(project, &sandbox, &["report", "comments", "--year", "2026", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let figures = report(&project);
    let server = on_server(&sandbox);
    assert_eq!(figures["total"]["comments"].as_u64(), Some(server.len() as u64));
    assert_eq!(figures["total"]["answered"], 2);
    assert_eq!(figures["total"]["elected"], 1);
    assert_eq!(figures["total"]["unanswered"].as_u64(), Some(server.len() as u64 - 2));
    // The annual report's interaction figures come from the same rows.
    let (code, annual, err) = wxpub(&project, &sandbox, &["report", "annual", "--year", "2026", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let annual: Value = serde_json::from_str(&annual).unwrap();
    let figure =
        |key: &str| annual["engagement"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap()["value"].clone();
    assert_eq!(figure("comment_replies"), 2.0);
    let rate = (2.0 / server.len() as f64 * 100.0 * 100.0).round() / 100.0;
    assert_eq!(figure("reply_rate").as_f64(), Some(rate));
    // And the form scores it when the museum sets a target (50 %, 5 points).
    let indicator = annual["indicators"].as_array().unwrap().iter().find(|i| i["key"] == "reply_rate").unwrap().clone();
    assert_eq!((indicator["actual"].as_f64(), indicator["label"].as_str()), (Some(rate), Some("留言回复率")));
    assert_eq!(indicator["level1"], "效益指标");
    let (_, table, _) = wxpub(&project, &sandbox, &["report", "comments", "--year", "2026"]);
    assert!(table.contains("By article") && table.contains("answered_share"), "{table}");

    // The same from PostgreSQL: a copy of the project pulling into a schema of its own.
    if let Some(url) = test_support::postgres_url() {
        let schema = test_support::fresh_schema("comments");
        let copy = TestProject { dir: tempfile::tempdir().unwrap() };
        crate::support::copy_tree(project.path(), copy.path());
        std::fs::remove_dir_all(copy.path().join(".wxpub")).unwrap();
        copy.write(
            "publish.toml",
            &(copy.read("publish.toml") + &format!("\n[metrics]\ndb = \"{url}\"\nschema = \"{schema}\"\n")),
        );
        for _ in 0..2 {
            let (code, out, err) = wxpub(&copy, &sandbox, &["comments", "pull"]);
            assert_eq!(code, 0, "{out}{err}");
        }
        let target = StoreTarget::Postgres { url: url.clone(), schema: schema.clone(), password_env: None };
        let rows = Store::open(&target).unwrap().dump_table("comments").unwrap();
        assert_eq!(rows.len(), server.len(), "every comment once");
        // The SQLite project recorded its replies at its own (pinned) clock; a pull takes WeChat's
        // reply times, which the PostgreSQL project pulled.
        assert_eq!(wxpub(&project, &sandbox, &["comments", "pull"]).0, 0);
        let (mut left, mut right) = (report(&project), report(&copy));
        for value in [&mut left, &mut right] {
            value["total"]["group"] = Value::Null;
        }
        assert_eq!(left, right, "both stores give the same report");
        // Answered and elected from the PostgreSQL project too, recorded there with who.
        let open = listed(&copy, &sandbox, &["--unanswered", "--unelected"]);
        let pg_id = open[0]["id"].as_i64().unwrap().to_string();
        let (code, _, err) =
            wxpub(&copy, &sandbox, &["comments", "reply", &pg_id, "您好，欢迎来馆。", "--as", "李老师"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(wxpub(&copy, &sandbox, &["comments", "elect", &pg_id]).0, 0);
        let pg = listed(&copy, &sandbox, &[]);
        let done = pg.iter().find(|c| c["id"].as_i64().unwrap().to_string() == pg_id).unwrap();
        assert_eq!((done["replied_by"].as_str(), done["elected"].as_bool()), (Some("李老师"), Some(true)));
        // SQLite learns it from WeChat at its next pull (and each store takes WeChat's reply times):
        // the two reports agree again.
        assert_eq!(wxpub(&project, &sandbox, &["comments", "pull"]).0, 0);
        assert_eq!(wxpub(&copy, &sandbox, &["comments", "pull"]).0, 0);
        let (mut left, mut right) = (report(&project), report(&copy));
        for value in [&mut left, &mut right] {
            value["total"]["group"] = Value::Null;
        }
        assert_eq!(left, right, "both stores give the same report after the PostgreSQL project acted");
        assert_eq!(right["total"]["answered"], 3);
        test_support::drop_schema(&url, &schema);
    }

    answered_from_the_preview_page_and_only_from_it(&project, &sandbox);
    an_unverified_account_is_named_and_the_other_account_is_still_pulled(&project, &sandbox);
}

/// The value of `expression` once it is truthy (the page has navigated), within 10 s.
fn wait_for(browser: &mut crate::browser::Browser, expression: &str) -> Value {
    for _ in 0..100 {
        let value = browser.poll(expression);
        if !(value.is_null() || value == false) {
            return value;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Value::Null
}

/// The preview's comments page, in Chromium: a reply and an election from the page; a
/// cross-origin post, a wrong token and a GET are refused, and nothing reaches WeChat for them.
fn answered_from_the_preview_page_and_only_from_it(project: &TestProject, sandbox: &wxpub::sandbox::SandboxHandle) {
    use wxpub::wechat::{Client, ClientOptions, Credentials, Secret};
    let base = sandbox.base_url.clone();
    let clients: wxpub::preview::comments::ClientFactory = std::sync::Arc::new(move |_account: &str| {
        let credentials =
            Credentials { appid: crate::support::APPID.into(), secret: Secret::new(crate::support::SECRET) };
        Client::new(&base, credentials, ClientOptions::default())
    });
    let preview = wxpub::preview::spawn_with_comments(project.path(), 0, Some((clients, "编辑部".into())))
        .expect("preview starts");
    let page = format!("{}__comments", preview.url);
    let unanswered = listed(project, sandbox, &["--unanswered", "--unelected"]);
    let (first, second) = (unanswered[0]["id"].as_i64().unwrap(), unanswered[1]["id"].as_i64().unwrap());

    let mut browser = crate::browser::Browser::launch(390, 844);
    browser.open(&page);
    assert_eq!(browser.errors(), Vec::<String>::new());
    browser.eval(&format!("document.querySelector('#comment-{first} textarea').value = '谢谢您的留言！'"));
    browser.tap_selector(&format!("#comment-{first} .reply-form button"));
    let notice =
        wait_for(&mut browser, "document.querySelector('#notice') && document.querySelector('#notice').textContent");
    assert_eq!(notice, format!("replied to comment {first}"));
    browser.tap_selector(&format!("#comment-{second} button.elect"));
    let notice = wait_for(
        &mut browser,
        "document.querySelector('#notice') && document.querySelector('#notice').textContent.startsWith('elected') && document.querySelector('#notice').textContent",
    );
    assert_eq!(notice, format!("elected comment {second}"));
    let stored = listed(project, sandbox, &[]);
    let by_id = |id: i64| stored.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(
        (by_id(first)["reply"].as_str(), by_id(first)["replied_by"].as_str()),
        (Some("谢谢您的留言！"), Some("编辑部"))
    );
    assert_eq!(by_id(second)["elected"], true);
    assert!(on_server(sandbox).iter().any(|c| c["reply"]["content"] == "谢谢您的留言！"));

    // Another website's form, a stale token, a GET: refused, and WeChat hears nothing.
    let (_, html) = crate::support::http_get(&page);
    let token = html.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let calls = reply_calls(sandbox);
    let target = format!("{}__comments/{second}/reply", preview.url);
    let host = preview.url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let client = reqwest::blocking::Client::new();
    let send = |origin: Option<&str>, token: &str| {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("text", "跨站回复")
            .finish();
        let mut request = client.post(&target).header("Content-Type", "application/x-www-form-urlencoded").body(body);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().unwrap().status().as_u16()
    };
    assert_eq!(send(Some("http://evil.example"), &token), 403, "a cross-origin form post");
    assert_eq!(send(Some(&format!("http://{host}")), "0123456789abcdef"), 403, "a wrong token");
    assert_eq!(send(None, &token), 403, "no Origin and no Referer");
    assert_eq!(crate::support::http_get(&target).0, 405, "changes are POST only");
    assert_eq!(reply_calls(sandbox), calls, "nothing was sent to WeChat");
    assert!(by_id(second)["reply"].is_null());
}

/// An unverified account is named and skipped; the other is still pulled (on a copy of `from`,
/// with its own store).
fn an_unverified_account_is_named_and_the_other_account_is_still_pulled(
    from: &TestProject,
    sandbox: &wxpub::sandbox::SandboxHandle,
) {
    let project = TestProject { dir: tempfile::tempdir().unwrap() };
    crate::support::copy_tree(from.path(), project.path());
    std::fs::remove_dir_all(project.path().join(".wxpub")).unwrap();
    let unverified = crate::wechat::start(wxpub::sandbox::SandboxOptions {
        appid: crate::support::APPID.into(),
        secret: crate::support::SECRET.into(),
        may_comment: false,
        ..Default::default()
    });
    // Each account at its own address (no WXPUB_API_BASE): the subscription account unverified.
    let config = project
        .read("publish.toml")
        .replace("api_base = \"https://api.weixin.qq.com\"\n", "")
        .replace("[accounts.service]\n", &format!("[accounts.service]\napi_base = \"{}\"\n", sandbox.base_url))
        .replace(
            "[accounts.subscription]\n",
            &format!("[accounts.subscription]\napi_base = \"{}\"\n", unverified.base_url),
        );
    project.write("publish.toml", &config);
    let mut command = crate::metrics::binary(&project);
    crate::support::sandbox_env(&mut command, sandbox).env_remove("WXPUB_API_BASE").args(["comments", "pull"]);
    let output = command.output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{out}{err}");
    assert!(err.contains("account `subscription` has no comment permission (WeChat 88000)"), "{err}");
    assert!(out.contains("service:") && !out.contains("subscription:"), "{out}");
    let service = listed(&project, sandbox, &["--account", "service"]);
    assert!(!service.is_empty());
    assert!(listed(&project, sandbox, &["--account", "subscription"]).is_empty());
}
