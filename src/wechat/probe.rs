//! PROBE: `wxpub doctor --probe` — checks the rules of docs/wechat-contract.md that wxpub relies on
//! against a live account, without publishing anything.
//!
//! Each check makes the smallest call that shows the rule (a throwaway draft just inside and just
//! outside a limit, an upload just under and just over a size) and compares WeChat's answer with
//! what the contract predicts. Everything it creates is named `wxpub-probe…` and deleted at once;
//! a probe killed in between leaves such a draft or material, and the next probe deletes it first
//! (it looks for the name, so nothing needs to have been written down).
use std::collections::BTreeMap;

use serde::Serialize;

use crate::wechat::limits::{AUTHOR_MAX_CHARS, DIGEST_MAX_CHARS, TITLE_MAX_CHARS};
use crate::wechat::types::{Article, Datacube, MaterialType, Reviewer};
use crate::wechat::{Client, Upload, WechatError};

/// What every throwaway the probe makes is called: how the next probe finds leftovers.
pub const MARKER: &str = "wxpub-probe";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Agrees,
    Differs { expected: String, got: String },
    CouldNotRun { why: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// A short name of the check.
    pub check: &'static str,
    /// The rule of the contract it tests.
    pub rule: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.verdict {
            Verdict::Agrees => write!(f, "agrees         {}: {}", self.check, self.rule),
            Verdict::Differs { expected, got } => {
                write!(f, "DIFFERS        {}: {} — expected {expected}, got {got}", self.check, self.rule)
            }
            Verdict::CouldNotRun { why } => write!(f, "could not run  {}: {} — {why}", self.check, self.rule),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub account: String,
    pub api_base: String,
    pub probed_at: String,
    /// Leftovers of an interrupted probe, deleted before this one ran.
    pub cleaned_up: Vec<String>,
    pub findings: Vec<Finding>,
    /// Calls made, by endpoint: what the probe cost of the daily quotas.
    pub calls: BTreeMap<String, u64>,
}

impl ProbeReport {
    pub fn differs(&self) -> usize {
        self.findings.iter().filter(|f| matches!(f.verdict, Verdict::Differs { .. })).count()
    }

    /// The report as text, for a support request or an issue.
    pub fn text(&self) -> String {
        let mut out =
            format!("wxpub doctor --probe: account {} at {}, {}\n", self.account, self.api_base, self.probed_at);
        for cleaned in &self.cleaned_up {
            out.push_str(&format!("cleaned up     {cleaned}\n"));
        }
        for finding in &self.findings {
            out.push_str(&format!("{finding}\n"));
        }
        let calls: Vec<String> = self.calls.iter().map(|(e, n)| format!("{e} {n}")).collect();
        out.push_str(&format!("calls: {}\n", calls.join(", ")));
        out
    }
}

/// What one throwaway draft should show.
struct DraftCase {
    check: &'static str,
    rule: String,
    article: Article,
    /// None: accepted; Some(code): refused with this errcode.
    expected: Option<i64>,
}

/// How the project uses the account (its `mode` in publish.toml): what the probe expects it to
/// be able to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountUse {
    /// Publishes through freepublish: 48001 there is a finding.
    Publishes,
    /// Mass-sends its pushes.
    MassSends,
    /// Stops at drafts; a person publishes them.
    DraftsOnly,
}

/// Runs every check against `client`'s account. `mode` says how the project uses it (whether
/// it must be able to publish); `preview_to`, when given, receives one throwaway preview (the only
/// way to see the mass-send permission); `report` hears each finding as it is made.
pub fn probe(
    client: &Client,
    account: &str,
    mode: AccountUse,
    preview_to: Option<&Reviewer>,
    report: &mut dyn FnMut(&Finding),
) -> ProbeReport {
    let mut findings = Findings { made: Vec::new(), report };
    let mut result = ProbeReport {
        account: account.to_string(),
        api_base: client.base().to_string(),
        probed_at: crate::util::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        cleaned_up: Vec::new(),
        findings: Vec::new(),
        calls: BTreeMap::new(),
    };

    // 1. Credentials, allow-list, stable_token: nothing else can run without them.
    if check_credentials(client, &mut findings) {
        // 2. Leftovers of an interrupted probe go first.
        result.cleaned_up = check_leftovers(client, &mut findings);
        // 3. May the account publish through the API?
        check_publish_permission(client, mode, &mut findings);
        // 4. Article limits, with throwaway drafts around one throwaway cover.
        check_article_limits(client, mode, preview_to, &mut findings);
        // 5. uploadimg's size limit (it creates no material: nothing to delete).
        check_uploadimg(client, &mut findings);
        // 6. Statistics: the fields the contract names.
        check_statistics(client, &mut findings);
        // 7. Comments: listing on a recent publication, and the page size's limit.
        check_comments(client, &mut findings);
    }

    result.findings = findings.made;
    result.calls = client.usage();
    result
}

/// The findings made so far, each told to the caller as it is made.
struct Findings<'a> {
    made: Vec<Finding>,
    report: &'a mut dyn FnMut(&Finding),
}

impl Findings<'_> {
    fn record(&mut self, finding: Finding) {
        (self.report)(&finding);
        self.made.push(finding);
    }
}

/// Check 1: stable_token gives a token for the AppID/AppSecret (from an allowed IP). Returns
/// whether it did: without a token no other check can run.
fn check_credentials(client: &Client, findings: &mut Findings) -> bool {
    match client.access_token() {
        Ok(_) => {
            findings.record(agrees("credentials", "stable_token gives a token for the AppID/AppSecret"));
            true
        }
        Err(err) => {
            let why = match err.code() {
                Some(40164) => "this machine's IP is not on the account's allow-list (40164)".to_string(),
                _ => crate::util::redact::redact(&err.to_string()),
            };
            findings.record(could_not_run("credentials", "stable_token gives a token", &why));
            false
        }
    }
}

/// Check 2: deletes what an interrupted probe left, before this one makes anything. Returns
/// what it deleted; a clean-up that fails is a finding.
fn check_leftovers(client: &Client, findings: &mut Findings) -> Vec<String> {
    match clean_up(client) {
        Ok(cleaned) => cleaned,
        Err(err) => {
            findings.record(could_not_run("clean-up", "earlier probes left nothing behind", &err));
            Vec::new()
        }
    }
}

/// Check 3: whether the account may publish through the API (freepublish answers, or 48001);
/// it must when the project publishes with it.
fn check_publish_permission(client: &Client, mode: AccountUse, findings: &mut Findings) {
    let may_publish = match client.publish_batchget(0, 1, true) {
        Ok(_) => Some(true),
        Err(err) if err.code() == Some(48001) => Some(false),
        Err(err) => {
            findings.record(could_not_run("publish permission", "freepublish answers", &err.to_string()));
            None
        }
    };
    if let Some(may) = may_publish {
        let rule = "freepublish is available to an account in mode = \"publish\" (48001 otherwise)";
        let finding = match (mode, may) {
            (AccountUse::Publishes, false) => differs(
                "publish permission",
                rule,
                "freepublish available",
                "48001: this account cannot publish through the API (verify it, or use mode = \"draft\")",
            ),
            _ => agrees("publish permission", rule),
        };
        findings.record(finding);
    }
}

/// Check 4: the article limits, each with a throwaway draft around one throwaway cover, and the
/// mass-send permission with the same cover; the cover is deleted after.
fn check_article_limits(client: &Client, mode: AccountUse, preview_to: Option<&Reviewer>, findings: &mut Findings) {
    match upload_thumb(client) {
        Ok(thumb) => {
            for case in draft_cases(&thumb) {
                findings.record(draft_check(client, case));
            }
            findings.record(mass_send_check(client, mode, &thumb, preview_to));
            if let Err(err) = client.del_material(&thumb) {
                findings.record(could_not_run("clean-up", "the probe's cover material is deleted", &err.to_string()));
            }
        }
        Err(err) => findings.record(could_not_run("article limits", "drafts can be made", &err)),
    }
}

/// Check 5: uploadimg's size limit, just under and just over 1 MB (it creates no material:
/// nothing to delete).
fn check_uploadimg(client: &Client, findings: &mut Findings) {
    for (check, size, accepted) in [("uploadimg 990 KB", 990 * 1024, true), ("uploadimg 1.1 MB", 1_100 * 1024, false)] {
        let rule = if accepted {
            "uploadimg accepts a JPEG of 990 KB (under 1 MB)".to_string()
        } else {
            "uploadimg refuses a JPEG of 1.1 MB (40009)".to_string()
        };
        let bytes = jpeg_of_size(size);
        let answer = client.upload_image(&Upload { filename: &format!("{MARKER}.jpg"), bytes: &bytes });
        findings.record(compare(check, rule, if accepted { None } else { Some(40009) }, answer.map(drop)));
    }
}

/// The statistics endpoints the probe reads, each with the fields the contract names (`a.b`:
/// inside object a; `a[].b`: in every entry of list a). The field names of `read_user_source`
/// are the contract's least certain ones.
const STATISTICS_FIELDS: [(Datacube, &[&str]); 6] = [
    (Datacube::GetUserSummary, &["ref_date", "user_source", "new_user", "cancel_user"]),
    (Datacube::GetUserCumulate, &["ref_date", "cumulate_user"]),
    (
        Datacube::GetArticleRead,
        &[
            "ref_date",
            "msgid",
            "detail.read_user",
            "detail.read_user_source[].scene_desc",
            "detail.read_user_source[].user_count",
        ],
    ),
    (Datacube::GetArticleShare, &["ref_date", "msgid", "detail.share_user"]),
    (
        Datacube::GetBizSummary,
        &[
            "ref_date",
            "detail.read_user",
            "detail.share_user",
            "detail.zaikan_user",
            "detail.like_user",
            "detail.comment_count",
        ],
    ),
    (
        Datacube::GetArticleTotalDetail,
        &[
            "ref_date",
            "msgid",
            "publish_type",
            "detail_list[].stat_date",
            "detail_list[].read_user",
            "detail_list[].like_user",
            "detail_list[].zaikan_user",
            "detail_list[].comment_count",
        ],
    ),
];

/// Check 6: statistics, one day (two days back, in Beijing) of the follower endpoints and of
/// the four 2026 ones: their rows carry the fields the contract names, and msgids its shape.
fn check_statistics(client: &Client, findings: &mut Findings) {
    let day = (crate::wechat::limits::quota_day(crate::util::clock::now()) - chrono::Days::new(2)).to_string();
    for (endpoint, fields) in STATISTICS_FIELDS {
        findings.record(statistics_check(client, endpoint, fields, &day));
    }
}

/// One statistics endpoint's rows for `day`, against the fields the contract names.
fn statistics_check(client: &Client, endpoint: Datacube, fields: &[&str], day: &str) -> Finding {
    let check = endpoint.name();
    let rule = format!("rows carry {}", fields.join(", "));
    match client.datacube::<serde_json::Value>(endpoint, day, day) {
        Ok(rows) if rows.is_empty() && endpoint.reports_delay() && endpoint != Datacube::GetBizSummary => {
            could_not_run(check, &rule, &format!("no article has figures for {day}; run the probe after a publication"))
        }
        Ok(rows) => {
            let missing: Vec<&str> = fields.iter().copied().filter(|f| rows.iter().any(|r| !has_field(r, f))).collect();
            let msgids_ok = rows.iter().filter_map(|r| r.get("msgid")).all(|m| {
                m.as_str()
                    .and_then(|m| m.split_once('_'))
                    .is_some_and(|(id, index)| id.parse::<u64>().is_ok() && index.parse::<u32>().is_ok_and(|i| i >= 1))
            });
            if !missing.is_empty() {
                differs(check, &rule, "every field", &format!("rows without {}", missing.join(", ")))
            } else if !msgids_ok {
                differs(check, &rule, "msgid = <msg_data_id>_<index from 1>", "another shape")
            } else {
                agrees(check, &rule)
            }
        }
        Err(err) => could_not_run(check, &rule, &err.to_string()),
    }
}

/// Whether `row` has the field at `path`: `a.b` inside object `a`, `a[].b` in every entry of
/// list `a` (an empty list has it vacuously).
fn has_field(row: &serde_json::Value, path: &str) -> bool {
    match path.split_once('.') {
        None => row.get(path).is_some(),
        Some((head, rest)) => match head.strip_suffix("[]") {
            Some(list) => {
                row.get(list).and_then(|v| v.as_array()).is_some_and(|items| items.iter().all(|i| has_field(i, rest)))
            }
            None => row.get(head).is_some_and(|inner| has_field(inner, rest)),
        },
    }
}

const COMMENTS_CHECK: &str = "comments";

/// Check 7: the comment rules that can be checked without writing to readers — a recent
/// publication's comments list (by the msg_data_id its link carries) with a page of 49, and a
/// page of 50 is refused (88010). An unverified account (88000) is said, not counted as a
/// difference.
fn check_comments(client: &Client, findings: &mut Findings) {
    let listed = "comment/list answers for a recent publication's msg_data_id with count = 49";
    let recent = match client.publish_batchget(0, 1, true) {
        Ok(answer) => answer
            .item
            .first()
            .and_then(|item| item.content.news_item.first())
            .and_then(|article| super::types::statistics_key_of_url(article.url.as_deref()?)),
        Err(err) => {
            findings.record(could_not_run(COMMENTS_CHECK, listed, &err.to_string()));
            return;
        }
    };
    let Some((msg_data_id, _)) = recent else {
        findings.record(could_not_run(
            COMMENTS_CHECK,
            listed,
            "the account has no publication to list the comments of",
        ));
        return;
    };
    let article = super::types::CommentArticle { msg_data_id, index: 0 };
    match client.comment_list(article, 0, super::limits::COMMENT_PAGE_MAX) {
        Ok(_) => findings.record(agrees(COMMENTS_CHECK, listed)),
        Err(err) if err.code() == Some(88000) => {
            findings.record(could_not_run(
                COMMENTS_CHECK,
                listed,
                "88000: the account has no comment permission (comments are for verified accounts)",
            ));
            return;
        }
        Err(err) => findings.record(compare(COMMENTS_CHECK, listed.to_string(), None, Err(err))),
    }
    let rule = "comment/list refuses count = 50 (88010)".to_string();
    let answer = client.comment_list(article, 0, super::limits::COMMENT_PAGE_MAX + 1).map(drop);
    findings.record(compare(COMMENTS_CHECK, rule, Some(88010), answer));
}

fn agrees(check: &'static str, rule: &str) -> Finding {
    Finding { check, rule: rule.to_string(), verdict: Verdict::Agrees }
}

fn differs(check: &'static str, rule: &str, expected: &str, got: &str) -> Finding {
    Finding {
        check,
        rule: rule.to_string(),
        verdict: Verdict::Differs { expected: expected.to_string(), got: got.to_string() },
    }
}

fn could_not_run(check: &'static str, rule: &str, why: &str) -> Finding {
    Finding { check, rule: rule.to_string(), verdict: Verdict::CouldNotRun { why: crate::util::redact::redact(why) } }
}

/// Compares an answer with the expectation: accepted (None) or refused with an errcode.
fn compare(check: &'static str, rule: String, expected: Option<i64>, answer: Result<(), WechatError>) -> Finding {
    let describe = |code: Option<i64>| match code {
        None => "accepted".to_string(),
        Some(code) => format!("refused with {code}"),
    };
    match answer {
        Ok(()) if expected.is_none() => agrees(check, &rule),
        Err(err) if err.code().is_some() && err.code() == expected => agrees(check, &rule),
        Ok(()) => differs(check, &rule, &describe(expected), "accepted"),
        Err(err) if err.code().is_some() => differs(check, &rule, &describe(expected), &describe(err.code())),
        Err(err) => could_not_run(check, &rule, &err.to_string()),
    }
}

const MASS_SEND_CHECK: &str = "mass-send permission";

/// Whether the account has the mass-send interface (群发接口). No read-only call tells: WeChat
/// answers 48001 only to a mass call, and `message/mass/get` on an unknown msg_id is unspecified.
/// So, when the operator names a phone, one throwaway draft goes there as a preview — the one
/// mass call that reaches nobody else — and is deleted at once.
fn mass_send_check(client: &Client, mode: AccountUse, thumb: &str, preview_to: Option<&Reviewer>) -> Finding {
    let needs = match mode {
        AccountUse::MassSends => "mass-sends its pushes",
        _ => "proofs drafts on a phone with `wxpub send-preview`",
    };
    let rule = format!("message/mass answers (48001 otherwise): this account {needs}");
    let Some(reviewer) = preview_to else {
        return could_not_run(
            MASS_SEND_CHECK,
            &rule,
            "no read-only call shows it; add --preview-to WECHAT_ID (someone who follows the account) to send one throwaway preview to that phone",
        );
    };
    let article = Article {
        title: format!("{MARKER} 群发权限"),
        content: "<p>wxpub doctor --probe: checks that this account may mass-send. Nothing was published.</p>".into(),
        thumb_media_id: Some(thumb.to_string()),
        ..Article::default()
    };
    let draft = match client.draft_add(std::slice::from_ref(&article)) {
        Ok(made) => made.media_id,
        Err(err) => return could_not_run(MASS_SEND_CHECK, &rule, &format!("the throwaway draft was refused: {err}")),
    };
    let answer = client.mass_preview(&draft, reviewer);
    let deleted = client.draft_delete(&draft);
    let finding = match answer {
        Ok(_) => agrees(MASS_SEND_CHECK, &rule),
        Err(err) if err.code() == Some(48001) => differs(
            MASS_SEND_CHECK,
            &rule,
            "message/mass available",
            "48001: this account has no mass-send permission (verify the account, or publish with mode = \"publish\")",
        ),
        // The call was authorised: only the person was wrong.
        Err(err) if matches!(err.code(), Some(43004 | 40003)) => could_not_run(
            MASS_SEND_CHECK,
            &rule,
            &format!("{reviewer} cannot receive previews ({err}): they must follow the account"),
        ),
        Err(err) => could_not_run(MASS_SEND_CHECK, &rule, &err.to_string()),
    };
    match deleted {
        Ok(()) => finding,
        Err(err) => could_not_run(
            MASS_SEND_CHECK,
            &rule,
            &format!("the throwaway draft {draft} could not be deleted ({err}); the next probe deletes it"),
        ),
    }
}

/// Makes one throwaway draft and deletes it at once.
fn draft_check(client: &Client, case: DraftCase) -> Finding {
    let answer = match client.draft_add(std::slice::from_ref(&case.article)) {
        Ok(made) => {
            if let Err(err) = client.draft_delete(&made.media_id) {
                return could_not_run(
                    case.check,
                    &case.rule,
                    &format!(
                        "the throwaway draft {} could not be deleted ({err}); the next probe deletes it",
                        made.media_id
                    ),
                );
            }
            Ok(())
        }
        Err(err) => Err(err),
    };
    compare(case.check, case.rule, case.expected, answer)
}

fn draft_cases(thumb: &str) -> Vec<DraftCase> {
    let base = Article {
        title: format!("{MARKER} 试验"),
        content: "<p>wxpub probe: a throwaway draft, deleted at once.</p>".into(),
        thumb_media_id: Some(thumb.to_string()),
        ..Article::default()
    };
    let with = |edit: &dyn Fn(&mut Article)| {
        let mut article = base.clone();
        edit(&mut article);
        article
    };
    // ~40,000 characters of inline-styled HTML around ~2,000 visible ones.
    let styled = "<p style=\"margin:0 0 16px 0;padding:0 4px;color:#333333;font-size:16px;line-height:1.75;\
                  letter-spacing:0.5px;text-align:justify;font-family:-apple-system,'PingFang SC',sans-serif\">";
    let long_html: String = (0..250).map(|_| format!("{styled}青铜鼎纹饰精美。</p>")).collect();
    let title_at = |n: usize| format!("{MARKER}{}", "题".repeat(n - MARKER.chars().count()));
    vec![
        DraftCase {
            check: "content: long HTML",
            rule: format!(
                "the 20,000-character limit counts visible text: {} HTML characters around {} visible are accepted",
                long_html.chars().count(),
                crate::wechat::limits::ContentSize::of(&long_html).text_chars
            ),
            article: with(&|a| a.content = long_html.clone()),
            expected: None,
        },
        DraftCase {
            check: "content: 20,001 characters",
            rule: "20,001 visible characters are refused (45002)".into(),
            article: with(&|a| a.content = format!("<p>{}</p>", "字".repeat(20_001))),
            expected: Some(45002),
        },
        DraftCase {
            check: "digest 120",
            rule: format!("a digest of {DIGEST_MAX_CHARS} characters is accepted"),
            article: with(&|a| a.digest = Some("摘".repeat(DIGEST_MAX_CHARS))),
            expected: None,
        },
        DraftCase {
            check: "digest 121",
            rule: format!("a digest of {} characters is refused (45004)", DIGEST_MAX_CHARS + 1),
            article: with(&|a| a.digest = Some("摘".repeat(DIGEST_MAX_CHARS + 1))),
            expected: Some(45004),
        },
        DraftCase {
            check: "title 32",
            rule: format!("a title of {TITLE_MAX_CHARS} characters is accepted"),
            article: with(&|a| a.title = title_at(TITLE_MAX_CHARS)),
            expected: None,
        },
        DraftCase {
            check: "title 33",
            rule: format!("a title of {} characters is refused (45003)", TITLE_MAX_CHARS + 1),
            article: with(&|a| a.title = title_at(TITLE_MAX_CHARS + 1)),
            expected: Some(45003),
        },
        DraftCase {
            check: "author 16",
            rule: format!("an author of {AUTHOR_MAX_CHARS} characters is accepted"),
            article: with(&|a| a.author = Some("作".repeat(AUTHOR_MAX_CHARS))),
            expected: None,
        },
        DraftCase {
            check: "author 17",
            rule: format!("an author of {} characters is refused (45110)", AUTHOR_MAX_CHARS + 1),
            article: with(&|a| a.author = Some("作".repeat(AUTHOR_MAX_CHARS + 1))),
            expected: Some(45110),
        },
    ]
}

/// Uploads the throwaway cover the drafts need; returns its media_id.
fn upload_thumb(client: &Client) -> Result<String, String> {
    let bytes = jpeg_of_size(20 * 1024);
    let upload = Upload { filename: &format!("{MARKER}-cover.jpg"), bytes: &bytes };
    client.add_material(MaterialType::Image, &upload, None).map(|m| m.media_id).map_err(|e| e.to_string())
}

/// Deletes what an interrupted probe left: drafts whose first title and materials whose name
/// start with [`MARKER`]. Returns what it deleted.
fn clean_up(client: &Client) -> Result<Vec<String>, String> {
    let mut cleaned = Vec::new();
    let drafts = client.all_drafts().map_err(|e| e.to_string())?;
    for draft in drafts {
        if draft.content.news_item.first().is_some_and(|a| a.title.starts_with(MARKER)) {
            client.draft_delete(&draft.media_id).map_err(|e| e.to_string())?;
            cleaned.push(format!("deleted draft {} left by an interrupted probe", draft.media_id));
        }
    }
    let materials = client.all_image_materials().map_err(|e| e.to_string())?;
    for material in materials.into_iter().filter(|m| m.name.starts_with(MARKER)) {
        client.del_material(&material.media_id).map_err(|e| e.to_string())?;
        cleaned
            .push(format!("deleted material {} ({}) left by an interrupted probe", material.name, material.media_id));
    }
    Ok(cleaned)
}

/// A valid JPEG of exactly `size` bytes: a small grey image, padded with comment segments.
pub fn jpeg_of_size(size: usize) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(16, 16, image::Rgb([128, 128, 128]));
    let mut encoded = Vec::new();
    // Encoding a 16×16 image in memory cannot fail; an empty result still pads to a JPEG start.
    let _ = image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut encoded), image::ImageFormat::Jpeg);
    let mut out = encoded[..2.min(encoded.len())].to_vec(); // SOI
    let rest = &encoded[2.min(encoded.len())..];
    let mut padding = size.saturating_sub(encoded.len());
    while padding > 0 {
        // A COM segment: marker (2) + length (2) + up to 65,533 bytes.
        let body = padding.saturating_sub(4).min(65_533);
        if padding < 4 {
            break;
        }
        out.extend([0xFF, 0xFE]);
        out.extend(((body + 2) as u16).to_be_bytes());
        out.extend(std::iter::repeat_n(b' ', body));
        padding -= body + 4;
    }
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_jpegs_have_the_size_asked_and_still_decode() {
        for size in [20 * 1024, 990 * 1024, 1_100 * 1024] {
            let bytes = jpeg_of_size(size);
            assert!(bytes.len().abs_diff(size) < 4, "{size}: {}", bytes.len());
            let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
            assert_eq!(decoded.width(), 16);
        }
    }
}
