//! The line every call leaves on stderr: the tool, its arguments with long texts shortened (a
//! Markdown body is not a log line), how it ended and how long it took — redacted, so that no
//! secret reaches a log even if one were passed as an argument.
use serde_json::{Map, Value};

/// Texts longer than this are cut in the log line.
const KEPT_CHARS: usize = 60;

/// `mcp: update_item {"body":"正文……(2400 characters)","item":"articles/x"} → ok (120 ms)`.
pub(super) fn call_line(tool: &str, args: &Map<String, Value>, outcome: Result<(), &str>, millis: u128) -> String {
    let args = shortened(&Value::Object(args.clone()));
    let ended = match outcome {
        Ok(()) => "ok".to_string(),
        Err(why) => format!("error: {}", cut(why, 2 * KEPT_CHARS)),
    };
    crate::util::redact::redact(&format!("mcp: {tool} {args} → {ended} ({millis} ms)"))
}

/// `value` with every long string cut to its first characters and its length. Pure.
fn shortened(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(cut(text, KEPT_CHARS)),
        Value::Array(items) => Value::Array(items.iter().map(shortened).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shortened(v))).collect()),
        other => other.clone(),
    }
}

fn cut(text: &str, keep: usize) -> String {
    let length = text.chars().count();
    if length <= keep {
        return text.replace('\n', " ");
    }
    let start: String = text.chars().take(keep).collect();
    format!("{}…({length} characters)", start.replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_and_secrets_never_shown() {
        let body = "青铜".repeat(500);
        let args = serde_json::json!({ "item": "articles/x", "body": body, "tags": ["a"] });
        let line = call_line("update_item", args.as_object().unwrap(), Ok(()), 12);
        assert!(line.starts_with("mcp: update_item {"), "{line}");
        assert!(line.contains("(1000 characters)") && line.contains("\"item\":\"articles/x\""), "{line}");
        assert!(line.chars().count() < 200, "{line}");
        assert!(line.ends_with("→ ok (12 ms)"), "{line}");
        let failed = call_line(
            "send_preview",
            &Map::new(),
            Err("GET http://x/cgi-bin/token?appid=wx1&secret=s3cr3t failed\nagain"),
            3,
        );
        assert!(!failed.contains("s3cr3t") && !failed.contains('\n'), "{failed}");
    }
}
