//! Publishing exactly once in real operations (#18): overlapping runs, answers lost after the
//! server acted, a stale publish.lock, a draft deleted in the web backend, long articles, an
//! account that may not publish — all against the sandbox on a loopback port.
use std::collections::BTreeSet;

use wxpub::sandbox::{SandboxHandle, SandboxOptions};

use crate::support::TestProject;
use crate::wechat::{sandbox_state, script_faults, start};

use crate::support::{APPID, SECRET};
/// Every example push is due.
const ALL_DUE: &str = "2027-01-02 09:00";

fn sandbox(options: SandboxOptions) -> SandboxHandle {
    start(SandboxOptions { appid: APPID.into(), secret: SECRET.into(), publish_delay_ms: 50, ..options })
}

fn command(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> std::process::Command {
    let mut command = crate::support::binary();
    crate::support::sandbox_env(command.current_dir(project.path()), sandbox).args(args);
    command
}

fn run(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> (i32, String) {
    let output = command(project, sandbox, args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

/// How many pushes `args` (a publish command) plans, from its dry run.
fn planned_pushes(project: &TestProject, sandbox: &SandboxHandle, args: &[&str]) -> usize {
    let mut dry = args.to_vec();
    dry.extend(["--dry-run", "--json"]);
    let output = command(project, sandbox, &dry).output().unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    plan["pushes"].as_array().unwrap().len()
}

/// Calls to the endpoints that write, from the sandbox's call counts.
fn write_calls(sandbox: &SandboxHandle) -> Vec<(String, u64)> {
    let state = sandbox_state(sandbox);
    let writes = ["uploadimg", "add_material", "draft/add", "draft/update", "draft/delete", "submit", "sendall"];
    state["calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| writes.iter().any(|w| path.contains(w)))
        .map(|(path, n)| (path.clone(), n.as_u64().unwrap()))
        .collect()
}

/// Everything the sandbox holds that a duplicate would show up in.
struct Holdings {
    publications: usize,
    titles_published: Vec<String>,
    drafts: usize,
    materials: usize,
    material_names: usize,
    mass_sends: usize,
}

fn holdings(sandbox: &SandboxHandle) -> Holdings {
    let state = sandbox_state(sandbox);
    let list = |key: &str| state[key].as_array().cloned().unwrap_or_default();
    let publications = list("publications");
    let mut titles_published: Vec<String> = publications
        .iter()
        .map(|p| {
            p["articles"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect::<Vec<_>>().join("|")
        })
        .collect();
    titles_published.sort();
    let materials = list("materials");
    let names: BTreeSet<&str> = materials.iter().filter_map(|m| m["name"].as_str()).collect();
    Holdings {
        publications: publications.len(),
        titles_published,
        drafts: list("drafts").len(),
        materials: materials.len(),
        material_names: names.len(),
        mass_sends: list("mass_sends").len(),
    }
}

fn assert_no_duplicates(h: &Holdings, context: &str) {
    let distinct: BTreeSet<&String> = h.titles_published.iter().collect();
    assert_eq!(distinct.len(), h.publications, "a push was published twice: {:?}\n{context}", h.titles_published);
    assert_eq!(h.material_names, h.materials, "a material was uploaded twice\n{context}");
}

#[test]
fn two_runs_started_together_publish_every_push_once() {
    let pairs: usize = std::env::var("WXPUB_PAIRS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    for pair in 0..pairs {
        let sandbox = sandbox(SandboxOptions::default());
        let project = TestProject::example();
        let args = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];
        let pushes = planned_pushes(&project, &sandbox, &args);
        let mut first = command(&project, &sandbox, &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let second = command(&project, &sandbox, &args).output().unwrap();
        let first = first.wait().unwrap();
        let text = String::from_utf8_lossy(&second.stderr).into_owned();
        assert!(first.success() && second.status.success(), "pair {pair}: {text}");
        let held = holdings(&sandbox);
        assert_no_duplicates(&held, &text);
        assert_eq!(held.publications, pushes, "pair {pair}: every push once");
        assert_eq!(held.drafts, 0, "pair {pair}: no orphan draft");
        // The lock holds everything: a third run writes nothing.
        let before = write_calls(&sandbox);
        let (code, text) = run(&project, &sandbox, &args);
        assert_eq!(code, 0, "{text}");
        assert_eq!(before, write_calls(&sandbox), "pair {pair}: a rerun wrote: {text}");
    }
}

#[test]
fn a_second_run_with_no_wait_exits_with_its_own_code() {
    let project = TestProject::example();
    let _held = wxpub::state::run_lock::acquire(project.path(), "publish", false, |_| {}).unwrap();
    let sandbox = sandbox(SandboxOptions::default());
    let (code, text) = run(&project, &sandbox, &["publish", "--due", "--no-wait"]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("another wxpub run is writing this project"), "{text}");
}

#[test]
fn answers_lost_after_the_server_acted_are_found_not_repeated() {
    let sandbox = sandbox(SandboxOptions::default());
    let project = TestProject::example();
    script_faults(
        &sandbox,
        serde_json::json!([
            { "lose_answer": "/cgi-bin/material/add_material" },
            { "lose_answer": "/cgi-bin/draft/add" },
            { "lose_answer": "/cgi-bin/freepublish/submit" },
        ]),
    );
    let args = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];
    let pushes = planned_pushes(&project, &sandbox, &args);
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(sandbox_state(&sandbox)["faults_served"], 3, "every lost answer was served: {text}");
    assert_eq!(code, 0, "{text}");
    for found in [
        "add_material's answer was lost; found",
        "draft/add's answer was lost; found draft",
        "freepublish/submit's answer was lost",
    ] {
        assert!(text.contains(found), "{found}: {text}");
    }
    let held = holdings(&sandbox);
    assert_no_duplicates(&held, &text);
    assert_eq!(held.publications, pushes, "{text}");
    assert_eq!(held.drafts, 0, "no orphan draft: {text}");
}

#[test]
fn a_mass_send_whose_answer_was_lost_goes_out_once() {
    let sandbox = sandbox(SandboxOptions { service_account: false, ..SandboxOptions::default() });
    let project = TestProject::example();
    script_faults(&sandbox, serde_json::json!([{ "lose_answer": "/cgi-bin/message/mass/sendall" }]));
    let (code, text) =
        run(&project, &sandbox, &["publish", "--due", "--now", "2026-12-02 09:00", "--account", "subscription"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(holdings(&sandbox).mass_sends, 1, "{text}");
    let lock = project.read("publish.lock");
    assert!(lock.contains("mode = \"masssend\"") && lock.contains("msg_id = "), "the first send's msg_id: {lock}");
    assert!(
        text.contains("retrying /cgi-bin/message/mass/sendall"),
        "the send was retried, and WeChat knew it: {text}"
    );
}

#[test]
fn a_lock_missing_half_its_entries_publishes_nothing_twice_and_is_restored() {
    let sandbox = sandbox(SandboxOptions::default());
    let project = TestProject::example();
    let args = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 0, "{text}");
    let before = holdings(&sandbox);
    // Drop every other push (an old commit, a bad merge): still valid TOML.
    let full: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    let mut stale = full.clone();
    let pushes = stale["accounts"]["service"]["pushes"].as_table().unwrap().clone();
    let dropped: Vec<String> = pushes.keys().step_by(2).cloned().collect();
    let table =
        stale["accounts"].as_table_mut().unwrap()["service"].as_table_mut().unwrap()["pushes"].as_table_mut().unwrap();
    for slot in &dropped {
        table.remove(slot);
    }
    let media =
        stale["accounts"].as_table_mut().unwrap()["service"].as_table_mut().unwrap()["media"].as_table_mut().unwrap();
    let forgotten: Vec<String> = media.keys().step_by(2).cloned().collect();
    for sha in &forgotten {
        media.remove(sha);
    }
    project.write("publish.lock", &toml::to_string(&stale).unwrap());

    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 0, "{text}");
    let after = holdings(&sandbox);
    assert_eq!(after.publications, before.publications, "nothing published twice: {text}");
    assert_eq!(after.materials, before.materials, "no material uploaded twice: {text}");
    assert_eq!(after.drafts, 0, "no draft made for a published push: {text}");
    assert_eq!(text.matches("found it published on the server").count(), dropped.len(), "{text}");
    let restored: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    for slot in &dropped {
        assert!(
            restored["accounts"]["service"]["pushes"][slot.as_str()]["publication"]["status"].as_str()
                == Some("published"),
            "{slot} restored"
        );
    }
}

#[test]
fn a_draft_deleted_on_the_server_is_made_again_and_published_once() {
    let sandbox = sandbox(SandboxOptions::default());
    let project = TestProject::example();
    // Drafts only, then an editor deletes one in the web backend.
    let (code, text) = run(&project, &sandbox, &["publish", "--now", ALL_DUE, "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let lock: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    let (slot, push) = lock["accounts"]["service"]["pushes"].as_table().unwrap().iter().next().unwrap();
    let draft = push["draft_media_id"].as_str().unwrap().to_string();
    let client = crate::wechat::client_with(&sandbox, APPID, SECRET);
    client.draft_delete(&draft).unwrap();

    // sync --check sees it; publish makes it again and publishes once.
    let (code, text) = run(&project, &sandbox, &["sync", "--check", "--account", "service"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("draft {draft} is gone from the server")), "{text}");
    let args = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];
    let pushes = planned_pushes(&project, &sandbox, &args);
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("draft {draft} is gone from the server")), "{text}");
    let held = holdings(&sandbox);
    assert_no_duplicates(&held, &text);
    assert_eq!(held.publications, pushes, "{text}");
    let lock: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    assert_ne!(lock["accounts"]["service"]["pushes"][slot.as_str()]["draft_media_id"].as_str(), Some(draft.as_str()));
}

/// An article of `chars` visible Chinese characters, in paragraphs with bold runs (so that the
/// HTML is far longer than the text).
fn long_article(chars: usize) -> String {
    let sentence: Vec<char> = "青州博物馆藏商代晚期青铜器，纹饰精美，铸造工艺高超，".chars().collect();
    let mut body = String::new();
    let mut count = 0;
    while count < chars {
        let take = 30.min(chars - count);
        let paragraph: Vec<char> = sentence.iter().copied().cycle().take(take).collect();
        let (bold, rest) = paragraph.split_at(4.min(take));
        body.push_str(&format!("**{}**{}\n\n", bold.iter().collect::<String>(), rest.iter().collect::<String>()));
        count += take;
    }
    body
}

#[test]
fn long_articles_count_their_visible_text_in_check_publish_and_the_sandbox() {
    let head = "---\ntitle: 长文\naccount: service\ncover: cover.jpg\npublish_at: 2026-12-01 08:00\n---\n\n";
    let project = TestProject::with_items(&[("articles/long", &format!("{head}{}", long_article(12_000)))]);
    let cover = crate::support::example_root().join("content/articles/2026-12-01-ding-story");
    let cover_file = std::fs::read_dir(&cover)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jpg"))
        .unwrap();
    std::fs::copy(cover_file, project.path().join("content/articles/long/cover.jpg")).unwrap();
    let sandbox = sandbox(SandboxOptions::default());
    let (code, text) = run(&project, &sandbox, &["check"]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("[content-length]"), "{text}");
    assert!(text.contains("[content-html-length]"), "the HTML is long and that is fine: {text}");
    let (code, text) = run(&project, &sandbox, &["publish", "--due", "--now", ALL_DUE]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    let content = state["publications"][0]["articles"][0]["content"].as_str().unwrap().to_string();
    assert!(content.chars().count() >= 40_000, "HTML of {} characters", content.chars().count());

    // 20,001 visible characters: check says so with the figure, and the sandbox refuses it.
    project.write("content/articles/long/index.md", &format!("{head}{}", long_article(20_001)));
    let (code, text) = run(&project, &sandbox, &["check"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("[content-length]") && text.contains("visible characters (limit: under 20000)"), "{text}");
    let client = crate::wechat::client_with(&sandbox, APPID, SECRET);
    let thumb = state["materials"][0]["media_id"].as_str().unwrap().to_string();
    let article = wxpub::wechat::types::Article {
        title: "长文".into(),
        content: format!("<p>{}</p>", "字".repeat(20_000)),
        thumb_media_id: Some(thumb.clone()),
        ..Default::default()
    };
    assert_eq!(client.draft_add(std::slice::from_ref(&article)).unwrap_err().code(), Some(45002));
    let styled = wxpub::wechat::types::Article {
        content: format!("<p style=\"{}\">{}</p>", "color:#333;".repeat(4000), "字".repeat(19_999)),
        ..article
    };
    assert!(client.draft_add(&[styled]).is_ok(), "44,000 characters of HTML around 19,999 of text are taken");
}

#[test]
fn an_account_that_may_not_publish_keeps_its_drafts_and_says_so() {
    let sandbox = sandbox(SandboxOptions { may_publish: false, ..SandboxOptions::default() });
    let project = TestProject::example();
    let args = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("this account cannot publish through the API"), "{text}");
    let held = holdings(&sandbox);
    assert_eq!(held.publications, 0);
    assert_eq!(held.drafts, planned_pushes(&project, &sandbox, &args), "every push drafted: {text}");
    let (_, status) = run(&project, &sandbox, &["status"]);
    assert!(status.contains("draft ready") && status.contains("48001"), "{status}");
    // A rerun writes nothing: not even the refused submit.
    let before = write_calls(&sandbox);
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 4, "{text}");
    assert_eq!(before, write_calls(&sandbox), "{text}");
}

#[test]
fn a_daily_quota_that_runs_out_stops_cleanly_and_the_next_day_finishes() {
    // (Status checks settle through the published list, which has no quota: the quota that
    // runs out on a busy day is the submissions'.)
    let quotas = [("/cgi-bin/freepublish/submit".to_string(), 2)].into();
    let sandbox = sandbox(SandboxOptions { publish_delay_ms: 400, quotas, ..SandboxOptions::default() });
    let project = TestProject::example();
    let args = ["publish", "--due", "--now", ALL_DUE, "--account", "service"];
    let pushes = planned_pushes(&project, &sandbox, &args);
    assert!(pushes > 3, "more pushes than the quota: {pushes}");
    let (code, text) = run(&project, &sandbox, &args);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("daily quota of /cgi-bin/freepublish/submit is used up"), "which quota: {text}");
    assert!(text.contains("The quotas reset at 00:00 Beijing time, in"), "when it resets: {text}");
    assert!(text.contains("service /cgi-bin/freepublish/submit: "), "calls today: {text}");
    // Two pushes were submitted (and settled); the rest wait for tomorrow, and the topic page
    // waits for the pushes it links to.
    let submitted = holdings(&sandbox).publications;
    assert_eq!(submitted, 2, "the quota's worth was submitted, once each: {text}");
    assert!(text.contains("drafted, waiting"), "{text}");
    let (_, doctor) = run(&project, &sandbox, &["doctor", "--account", "service", "--now", ALL_DUE]);
    assert!(
        doctor.contains("today's quota use recorded by wxpub") && doctor.contains("/cgi-bin/freepublish/submit"),
        "{doctor}"
    );

    // The next days, the next runs finish: nothing is submitted twice.
    let mut code_text = (1, String::new());
    for day in ["2026-12-31", "2027-01-01"] {
        crate::wechat::set_sandbox_today(&sandbox, day);
        code_text = run(&project, &sandbox, &args);
        if code_text.0 == 0 {
            break;
        }
    }
    let (code, text) = code_text;
    assert_eq!(code, 0, "{text}");
    assert_eq!(holdings(&sandbox).publications, pushes, "{text}");
    let lock = project.read("publish.lock");
    assert!(!lock.contains("status = \"publishing\""), "{lock}");
}

#[test]
fn send_protection_confirmed_later_is_sent_and_refused_is_failed_with_the_draft_kept() {
    let args = ["publish", "--due", "--now", "2026-12-02 09:00", "--account", "subscription"];
    // Confirmed by the administrator after 1.5 s: the run waits and records it as sent.
    let sandbox_ok =
        sandbox(SandboxOptions { service_account: false, send_protection_ms: Some(1500), ..SandboxOptions::default() });
    let project = TestProject::example();
    let (code, text) = run(&project, &sandbox_ok, &args);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("mass-sent to all followers"), "{text}");
    let lock: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    let statuses: Vec<&str> = lock["accounts"]["subscription"]["pushes"]
        .as_table()
        .unwrap()
        .values()
        .filter_map(|p| p.get("publication").and_then(|p| p["status"].as_str()))
        .collect();
    assert_eq!(statuses, ["sent"], "{text}");
    assert_eq!(holdings(&sandbox_ok).mass_sends, 1);

    // Refused: the push fails in plain words, the draft stays, and a rerun sends nothing.
    let sandbox_no = sandbox(SandboxOptions {
        service_account: false,
        send_protection_ms: Some(300),
        send_refused: true,
        ..SandboxOptions::default()
    });
    let project = TestProject::example();
    let (code, text) = run(&project, &sandbox_no, &args);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("an administrator refused it or did not confirm it within 30 minutes"), "{text}");
    assert!(text.contains("its draft is kept"), "{text}");
    let held = holdings(&sandbox_no);
    assert_eq!((held.mass_sends, held.drafts >= 1), (1, true), "{text}");
    let (code, text) = run(&project, &sandbox_no, &args);
    assert_eq!(code, 1, "{text}");
    assert_eq!(holdings(&sandbox_no).mass_sends, 1, "not resent: {text}");
}

#[test]
fn a_submit_whose_outcome_is_unknown_is_settled_before_an_edit_touches_the_draft() {
    let sandbox = sandbox(SandboxOptions::default());
    let project = TestProject::example();
    let one = ["publish", "--now", "2026-12-02 09:00", "--account", "service"];
    let (code, text) = run(&project, &sandbox, &one);
    assert_eq!(code, 0, "{text}");
    // A run submitted the draft and was killed before it recorded the answer.
    let mut lock: toml::Table = toml::from_str(&project.read("publish.lock")).unwrap();
    let pushes = lock.get_mut("accounts").and_then(|a| a.get_mut("service")).and_then(|a| a.get_mut("pushes")).unwrap();
    let push = pushes.as_table_mut().unwrap().iter_mut().next().unwrap().1;
    let draft = push["draft_media_id"].as_str().unwrap().to_string();
    push.as_table_mut().unwrap().insert("pending".into(), toml::Value::String("submit".into()));
    project.write("publish.lock", &toml::to_string(&lock).unwrap());
    crate::wechat::client_with(&sandbox, APPID, SECRET).publish_submit(&draft).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // Meanwhile an editor changed the article.
    let source = "content/articles/2026-12-01-ding-story/index.md";
    project.write(source, &(project.read(source) + "\n补记一段。\n"));
    let (code, text) =
        run(&project, &sandbox, &["publish", "--due", "--now", "2026-12-02 09:00", "--account", "service"]);
    assert_eq!(code, 0, "{text}");
    let state = sandbox_state(&sandbox);
    assert_eq!(state["calls"]["/cgi-bin/freepublish/submit"], 1, "not submitted again: {text}");
    // (The topic page's draft is updated: its cards now link to the published articles.)
    assert!(!text.contains(&format!("updated draft {draft}")), "the gone draft was not written to: {text}");
    assert_eq!(holdings(&sandbox).publications, 1, "{text}");
    assert!(text.contains("found it published on the server"), "{text}");
}
