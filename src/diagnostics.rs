//! Diagnostics shared by every stage: a finding tied to a source position, with a fix hint.
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding: where, which rule, how bad, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}:{}:{}: [{}] {}",
            self.severity,
            self.file.display(),
            self.line,
            self.column,
            self.rule,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Converts a byte offset in `text` into a 1-based (line, column) pair; columns count characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Suggests the closest of `candidates` to `word` when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a message with a suggestion.
pub fn explain_unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let mut text = format!("unknown key `{field}`");
    match did_you_mean(field, expected.iter().copied()) {
        Some(best) => text.push_str(&format!(" — did you mean `{best}`?")),
        None if !expected.is_empty() => text.push_str(&format!(" (allowed: {})", expected.join(", "))),
        None => {}
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chinese_characters_as_one_column() {
        let text = "第一行\n青铜x";
        let offset = text.find('x').unwrap();
        assert_eq!(line_col(text, offset), (2, 3));
    }

    #[test]
    fn unknown_field_gets_a_suggestion() {
        let msg = "unknown field `titel`, expected one of `title`, `author`, `digest`";
        assert_eq!(explain_unknown_field(msg).unwrap(), "unknown key `titel` — did you mean `title`?");
        let far = "unknown field `zzz`, expected `title` or `author`";
        assert!(explain_unknown_field(far).unwrap().contains("allowed: title, author"));
    }
}

/// A YAML error located within the parsed text (1-based line and column).
#[derive(Debug)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses YAML into `T`, naming the key path of a wrong value and suggesting the closest key
/// for an unknown one.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = inner.location().map_or((1, 1), |l| (l.line(), l.column()));
        let raw = inner.to_string();
        let bare = raw.split(" at line ").next().unwrap_or(&raw).to_string();
        let message = explain_unknown_field(&bare).unwrap_or(bare);
        let message = if key.is_empty() || key == "." { message } else { format!("`{key}`: {message}") };
        YamlError { line, column, message }
    })
}
