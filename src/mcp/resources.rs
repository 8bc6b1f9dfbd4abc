//! What an assistant reads before it writes: the editors' guide (built into the binary, so it
//! matches this wxpub), the check rules with this project's severities, and WeChat's limits.
use serde::Serialize;

use super::ToolError;
use crate::config::Config;
use crate::util::diagnostics::Severity;
use crate::wechat::limits;

/// The editors' guide, as this wxpub was built with it.
pub(super) const EDITORS_GUIDE: &str = include_str!("../../docs/editors-guide.md");

/// The resources the server offers: (URI, name, description, media type).
pub(super) const RESOURCES: [(&str, &str, &str, &str); 2] = [
    (
        "wxpub://docs/editors-guide.md",
        "editors-guide",
        "The editors' guide: front matter, components, images and covers, the check rules, previews",
        "text/markdown",
    ),
    (
        "wxpub://check/rules.json",
        "check-rules",
        "Every check rule with its id, its severity in this project and what it checks, and WeChat's limits",
        "application/json",
    ),
];

/// The text of resource `uri`, or `None` when there is no such resource.
pub(super) fn read(uri: &str, config: &Config) -> Result<Option<String>, ToolError> {
    Ok(match uri {
        "wxpub://docs/editors-guide.md" => Some(EDITORS_GUIDE.to_string()),
        "wxpub://check/rules.json" => {
            let value = serde_json::json!({ "rules": rules(config)?, "limits": limits() });
            Some(serde_json::to_string_pretty(&value).map_err(ToolError::Json)?)
        }
        _ => None,
    })
}

/// A check rule as an assistant needs it.
#[derive(Debug, Serialize)]
pub(super) struct RuleInfo {
    pub id: &'static str,
    /// In this project (`[check] severity`); `off` when turned off.
    pub severity: String,
    pub default_severity: Severity,
    /// What it checks.
    pub checks: &'static str,
    /// Whether `fix_typography` (`wxpub check --fix`) corrects it.
    pub fixable: bool,
}

/// Every check rule, with its severity in a project of `config`.
pub(super) fn rules(config: &Config) -> Result<Vec<RuleInfo>, ToolError> {
    Ok(crate::check::severities(config)?
        .into_iter()
        .map(|(rule, severity)| RuleInfo {
            id: rule.id(),
            severity: severity.map_or_else(|| "off".to_string(), |s| s.to_string()),
            default_severity: rule.default_severity(),
            checks: rule.doc(),
            fixable: rule.doc().contains("(fixable)"),
        })
        .collect())
}

/// WeChat's limits as wxpub enforces them (`src/wechat/limits.rs`, docs/wechat-contract.md).
pub(super) fn limits() -> serde_json::Value {
    serde_json::json!({
        "title_max_chars": limits::TITLE_MAX_CHARS,
        "author_max_chars": limits::AUTHOR_MAX_CHARS,
        "digest_max_chars": limits::DIGEST_MAX_CHARS,
        "content_max_visible_chars": limits::CONTENT_MAX_TEXT_CHARS,
        "content_max_bytes": limits::CONTENT_MAX_BYTES,
        "content_counting": "visible characters of the HTML as sent (tags removed, an entity one character, image URLs at WeChat's length) must stay under content_max_visible_chars, and its UTF-8 bytes under content_max_bytes",
        "source_url_max_bytes": limits::SOURCE_URL_MAX_BYTES,
        "push_max_articles": limits::PUSH_MAX_ARTICLES,
        "body_image_max_bytes": limits::UPLOADIMG_MAX_BYTES,
        "image_material_max_bytes": limits::IMAGE_MATERIAL_MAX_BYTES,
        "image_post_max_images": limits::NEWSPIC_MAX_IMAGES,
        "image_post_max_text_chars": limits::NEWSPIC_MAX_TEXT_CHARS,
        "comment_reply_max_chars": limits::COMMENT_REPLY_MAX_CHARS,
        "daily_quotas": limits::DAILY_QUOTAS.iter().map(|(path, n)| (path.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        "cover_min": {"wide": "900×383 (2.35:1)", "square": "300×300 (1:1)"},
    })
}
