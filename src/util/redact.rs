//! Redaction of secrets from any text that may reach a terminal, a log or an error message.

/// Query/JSON keys whose values are secrets.
const SECRET_KEYS: [&str; 3] = ["access_token", "secret", "appid"];

/// Replaces the value after `access_token=`, `secret=`, `appid=` (URL query form) and
/// `"access_token":"…"` (JSON form) with `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for key in SECRET_KEYS {
        out = redact_after(&out, &format!("{key}="), |c| {
            c == '&' || c == ' ' || c == '"' || c == ')' || c.is_whitespace()
        });
        out = redact_after(&out, &format!("\"{key}\":\""), |c| c == '"');
        out = redact_after(&out, &format!("\"{key}\": \""), |c| c == '"');
    }
    out
}

/// An error and its sources, one after another (`sending request: connection refused`).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn redact_after(text: &str, marker: &str, is_end: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(marker) {
        let start = pos + marker.len();
        out.push_str(&rest[..start]);
        let value_len = rest[start..].find(&is_end).unwrap_or(rest.len() - start);
        if value_len > 0 {
            out.push_str("***");
        }
        rest = &rest[start + value_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_query_and_json_forms() {
        let text = "GET http://x/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t failed; body {\"access_token\":\"TOK\"}";
        let clean = redact(text);
        assert!(!clean.contains("s3cr3t") && !clean.contains("TOK") && !clean.contains("wx1"), "{clean}");
        assert!(clean.contains("secret=***"));
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        assert_eq!(redact("no secrets here"), "no secrets here");
    }
}
