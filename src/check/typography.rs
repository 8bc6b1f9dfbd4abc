//! Chinese typography, in the spirit of the common Chinese copywriting guidelines (and tools such
//! as autocorrect): a space between CJK and Latin letters or digits, full-width punctuation in
//! CJK sentences, no doubled punctuation, full-width brackets around CJK text.
//!
//! Works on one run of prose text at a time (never code, URLs or front matter): `find` reports,
//! `fix` rewrites, and `fix(fix(t)) == fix(t)`.
use crate::util::diagnostics::Rule;
use crate::util::html::is_cjk;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    /// Byte offset within the text.
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

fn is_latin_or_digit(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Half-width punctuation and its full-width form, when it follows CJK text.
const PUNCTUATION: [(char, char); 5] = [(',', '，'), (':', '：'), (';', '；'), ('?', '？'), ('!', '！')];
const DOUBLED: [char; 6] = ['！', '？', '。', '，', '；', '：'];

pub fn find(text: &str) -> Vec<Finding> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut findings = Vec::new();
    for (i, &(offset, c)) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j].1);
        let next = chars.get(i + 1).map(|x| x.1);
        if let Some(p) = prev
            && ((is_cjk(p) && is_latin_or_digit(c)) || (is_latin_or_digit(p) && is_cjk(c)))
            && !is_cjk_punctuation(p)
            && !is_cjk_punctuation(c)
        {
            findings.push(Finding {
                rule: Rule::CjkSpacing,
                offset,
                message: format!("no space between `{p}` and `{c}`"),
                hint: "put a space between Chinese and Latin letters or digits (wxpub check --fix does it)".into(),
            });
        }
        if let Some((_, full)) = PUNCTUATION.iter().find(|(half, _)| *half == c)
            && prev.is_some_and(|p| is_cjk(p) && !is_cjk_punctuation(p))
            && next.is_none_or(|n| n.is_whitespace() || is_cjk(n))
        {
            findings.push(Finding {
                rule: Rule::CjkPunctuation,
                offset,
                message: format!("half-width `{c}` in a Chinese sentence"),
                hint: format!("use the full-width `{full}`"),
            });
        }
        if DOUBLED.contains(&c) && next == Some(c) && prev != Some(c) {
            findings.push(Finding {
                rule: Rule::DoubledPunctuation,
                offset,
                message: format!("doubled `{c}{c}`"),
                hint: format!("one `{c}` is enough"),
            });
        }
        if c == '('
            && let Some(close) = matching_bracket(&chars, i)
            && bracket_holds_cjk(&chars[i + 1..close])
        {
            findings.push(Finding {
                rule: Rule::CjkBrackets,
                offset,
                message: "half-width brackets around Chinese text".into(),
                hint: "use full-width （ ）".into(),
            });
        }
    }
    findings
}

/// Applies every fix `find` proposes.
pub fn fix(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut brackets: Vec<usize> = Vec::new();
    let mut i = 0;
    // Brackets first: find pairs that hold CJK.
    let indexed: Vec<(usize, char)> = chars.iter().copied().enumerate().collect();
    let mut convert = vec![false; chars.len()];
    for (j, &c) in chars.iter().enumerate() {
        if c == '('
            && let Some(close) = matching_bracket(&indexed, j)
            && bracket_holds_cjk(&indexed[j + 1..close])
        {
            convert[j] = true;
            convert[close] = true;
            brackets.push(j);
        }
    }
    while i < chars.len() {
        let c = chars[i];
        let prev = out.chars().last();
        let next = chars.get(i + 1).copied();
        if DOUBLED.contains(&c) && prev == Some(c) {
            i += 1;
            continue;
        }
        if convert[i] {
            out.push(if c == '(' { '（' } else { '）' });
            i += 1;
            continue;
        }
        let mut c = c;
        if let Some((_, full)) = PUNCTUATION.iter().find(|(half, _)| *half == c)
            && prev.is_some_and(|p| is_cjk(p) && !is_cjk_punctuation(p))
            && next.is_none_or(|n| n.is_whitespace() || is_cjk(n))
        {
            c = *full;
            // The space after half-width punctuation is not needed after a full-width one.
            out.push(c);
            i += 1;
            while chars.get(i).is_some_and(|n| *n == ' ') && chars.get(i + 1).is_some_and(|n| is_cjk(*n)) {
                i += 1;
            }
            continue;
        }
        if let Some(p) = prev
            && ((is_cjk(p) && is_latin_or_digit(c)) || (is_latin_or_digit(p) && is_cjk(c)))
            && !is_cjk_punctuation(p)
            && !is_cjk_punctuation(c)
        {
            out.push(' ');
        }
        out.push(c);
        i += 1;
    }
    out
}

/// CJK punctuation (full-width forms) needs no space next to Latin text.
fn is_cjk_punctuation(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
        || "“”‘’—…·".contains(c)
}

fn matching_bracket(chars: &[(usize, char)], open: usize) -> Option<usize> {
    chars
        .iter()
        .enumerate()
        .skip(open + 1)
        .take(80)
        .find(|(_, (_, c))| *c == ')' || *c == '(')
        .filter(|(_, (_, c))| *c == ')')
        .map(|(j, _)| j)
}

fn bracket_holds_cjk(inside: &[(usize, char)]) -> bool {
    inside.iter().any(|(_, c)| is_cjk(*c) && !is_cjk_punctuation(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<Rule> {
        find(text).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn spacing() {
        assert_eq!(rules("共120件青铜器"), [Rule::CjkSpacing, Rule::CjkSpacing]);
        assert!(rules("共 120 件青铜器").is_empty());
        assert_eq!(fix("共120件青铜器"), "共 120 件青铜器");
        assert!(rules("（2024年）").len() == 1, "digits next to a bracket are fine, next to 年 not");
    }

    #[test]
    fn punctuation_and_doubles() {
        assert_eq!(rules("开幕了!欢迎参观"), [Rule::CjkPunctuation]);
        assert_eq!(fix("开幕了!欢迎参观"), "开幕了！欢迎参观");
        assert_eq!(fix("开幕了, 欢迎参观"), "开幕了，欢迎参观");
        assert!(rules("version 1.2, ok").is_empty(), "Latin sentences keep their punctuation");
        assert_eq!(rules("太好了！！"), [Rule::DoubledPunctuation]);
        assert_eq!(fix("太好了！！！"), "太好了！");
        assert!(rules("太好了！").is_empty());
    }

    #[test]
    fn brackets() {
        assert_eq!(rules("青铜鼎(商代)"), [Rule::CjkBrackets]);
        assert_eq!(fix("青铜鼎(商代)"), "青铜鼎（商代）");
        assert!(rules("f(x) = 1").is_empty());
    }

    #[test]
    fn fix_is_idempotent() {
        for text in ["共120件!太好了！！(商代)青铜", "Hello世界, 你好", "已有 3 件"] {
            let once = fix(text);
            assert_eq!(fix(&once), once, "{text}");
            assert!(find(&once).is_empty(), "{once}: {:?}", find(&once));
        }
    }
}
