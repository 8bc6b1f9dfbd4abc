//! word/numbering.xml: whether a list level is numbered, where it starts, its indent, and the
//! counters Word keeps while it numbers the document.
use std::collections::{HashMap, HashSet};

use crate::styles::{self, Styles};
use crate::xml::Element;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Level {
    /// `w:numFmt`: decimal, bullet, chineseCounting, upperRoman…
    pub format: String,
    pub start: u32,
    /// `w:lvlText`: "%1.%2" — where the counters go.
    pub text: String,
    pub indent: Option<i64>,
}

impl Level {
    pub fn is_ordered(&self) -> bool {
        !matches!(self.format.as_str(), "bullet" | "none" | "")
    }
}

#[derive(Debug, Default)]
struct Num {
    abstract_id: u32,
    /// ilvl → start override.
    starts: HashMap<u8, u32>,
    /// ilvl → a level replaced whole.
    levels: HashMap<u8, Level>,
}

#[derive(Debug, Default)]
pub(crate) struct Numbering {
    nums: HashMap<u32, Num>,
    abstracts: HashMap<u32, HashMap<u8, Level>>,
    /// abstractNumId → the numbering style it takes its levels from (`w:numStyleLink`).
    style_links: HashMap<u32, String>,
    /// (abstractNumId, ilvl) → the last number given.
    counters: HashMap<(u32, u8), u32>,
    /// (numId, ilvl) already used: a start override applies at the first use only.
    used: HashSet<(u32, u8)>,
}

/// The number an item gets, and whether it follows on from the previous item of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Numbered {
    pub number: u32,
    pub list: u32,
    pub continues: bool,
}

impl Numbering {
    pub fn parse(root: Option<&Element>) -> Numbering {
        let mut out = Numbering::default();
        let Some(root) = root else { return out };
        for abs in root.children_named("w:abstractNum") {
            let Some(id) = abs.attr("w:abstractNumId").and_then(|v| v.parse().ok()) else { continue };
            let levels = abs.children_named("w:lvl").filter_map(level).collect();
            out.abstracts.insert(id, levels);
            if let Some(link) = abs.child_val("w:numStyleLink") {
                out.style_links.insert(id, link.to_string());
            }
        }
        for num in root.children_named("w:num") {
            let (Some(id), Some(abstract_id)) = (
                num.attr("w:numId").and_then(|v| v.parse().ok()),
                num.child_val("w:abstractNumId").and_then(|v| v.parse().ok()),
            ) else {
                continue;
            };
            let mut parsed = Num { abstract_id, ..Num::default() };
            for over in num.children_named("w:lvlOverride") {
                let Some(ilvl) = over.attr("w:ilvl").and_then(|v| v.parse().ok()) else { continue };
                if let Some(start) = over.child_val("w:startOverride").and_then(|v| v.parse().ok()) {
                    parsed.starts.insert(ilvl, start);
                }
                if let Some((_, lvl)) = over.child("w:lvl").and_then(level) {
                    parsed.levels.insert(ilvl, lvl);
                }
            }
            out.nums.insert(id, parsed);
        }
        out
    }

    /// The abstract numbering behind a num, following a numbering-style link once.
    fn abstract_of(&self, num_id: u32, styles: &Styles) -> Option<u32> {
        let abs = self.nums.get(&num_id)?.abstract_id;
        match self.style_links.get(&abs) {
            Some(style) => {
                let (linked, _) = styles.numbering(Some(style))?;
                let linked_abs = self.nums.get(&linked)?.abstract_id;
                Some(if linked_abs == abs { abs } else { linked_abs })
            }
            None => Some(abs),
        }
    }

    pub fn level(&self, num_id: u32, ilvl: u8, styles: &Styles) -> Option<Level> {
        if let Some(level) = self.nums.get(&num_id)?.levels.get(&ilvl) {
            return Some(level.clone());
        }
        self.abstracts.get(&self.abstract_of(num_id, styles)?)?.get(&ilvl).cloned()
    }

    /// Counts one item of (numId, ilvl) as Word does: lists over the same abstract numbering
    /// share their counters, a start override restarts at its first use, and an item resets the
    /// levels below it.
    pub fn next(&mut self, num_id: u32, ilvl: u8, styles: &Styles) -> Option<Numbered> {
        let level = self.level(num_id, ilvl, styles)?;
        let list = self.abstract_of(num_id, styles)?;
        let first_use = self.used.insert((num_id, ilvl));
        let restart = first_use.then(|| self.nums.get(&num_id).and_then(|n| n.starts.get(&ilvl)).copied()).flatten();
        let previous = self.counters.get(&(list, ilvl)).copied();
        let number = match (restart, previous) {
            (Some(start), _) => start,
            (None, Some(last)) => last.saturating_add(1),
            (None, None) => level.start,
        };
        self.counters.insert((list, ilvl), number);
        self.counters.retain(|&(l, i), _| l != list || i <= ilvl);
        Some(Numbered { number, list, continues: restart.is_none() && previous.is_some() })
    }

    /// The counters of (numId, levels 0..=ilvl) as the heading's number text ("1.2 ", "一、").
    pub fn label(&self, num_id: u32, ilvl: u8, styles: &Styles) -> Option<String> {
        let level = self.level(num_id, ilvl, styles)?;
        if !level.is_ordered() {
            return None;
        }
        let list = self.abstract_of(num_id, styles)?;
        let mut out = String::new();
        let mut rest = level.text.as_str();
        while let Some(pos) = rest.find('%') {
            out.push_str(&rest[..pos]);
            let digit = rest[pos + 1..].chars().next().and_then(|c| c.to_digit(10));
            match digit {
                Some(d) if (1..=9).contains(&d) => {
                    let lvl = (d - 1) as u8;
                    let value = self.counters.get(&(list, lvl)).copied().unwrap_or(1);
                    let format = self.level(num_id, lvl, styles).map(|l| l.format).unwrap_or_default();
                    out.push_str(&format_number(value, &format));
                    rest = &rest[pos + 2..];
                }
                _ => {
                    out.push('%');
                    rest = &rest[pos + 1..];
                }
            }
        }
        out.push_str(rest);
        let out = out.trim().to_string();
        if out.is_empty() { None } else { Some(out) }
    }
}

fn level(lvl: &Element) -> Option<(u8, Level)> {
    let ilvl = lvl.attr("w:ilvl")?.parse().ok()?;
    Some((
        ilvl,
        Level {
            format: lvl.child_val("w:numFmt").unwrap_or("decimal").to_string(),
            start: lvl.child_val("w:start").and_then(|v| v.parse().ok()).unwrap_or(1),
            text: lvl.child_val("w:lvlText").unwrap_or("").to_string(),
            indent: lvl.child("w:pPr").and_then(styles::indent),
        },
    ))
}

/// A counter in a heading's number, in the level's format.
fn format_number(n: u32, format: &str) -> String {
    match format {
        "upperRoman" => roman(n),
        "lowerRoman" => roman(n).to_lowercase(),
        "upperLetter" => letters(n),
        "lowerLetter" => letters(n).to_lowercase(),
        "chineseCounting"
        | "chineseCountingThousand"
        | "ideographTraditional"
        | "taiwaneseCounting"
        | "japaneseCounting" => chinese(n),
        "decimalZero" if n < 10 => format!("0{n}"),
        _ => n.to_string(),
    }
}

fn roman(mut n: u32) -> String {
    if n == 0 || n >= 4000 {
        return n.to_string();
    }
    let table = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, digits) in table {
        while n >= value {
            out.push_str(digits);
            n -= value;
        }
    }
    out
}

/// A, B, … Z, AA, BB: Word repeats the letter. Past 780 (30 letters) as digits: a number comes
/// from the document's `w:start`, and 4 billion repeated letters would be a memory bomb.
fn letters(n: u32) -> String {
    if n == 0 || n > 26 * 30 {
        return n.to_string();
    }
    let letter = char::from(b'A' + ((n - 1) % 26) as u8);
    std::iter::repeat_n(letter, ((n - 1) / 26 + 1) as usize).collect()
}

/// 一 … 九十九 (Word's chineseCounting); larger numbers as digits.
fn chinese(n: u32) -> String {
    const DIGITS: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n as usize].to_string(),
        10..=19 => format!("十{}", if n == 10 { "" } else { DIGITS[(n - 10) as usize] }),
        20..=99 => {
            format!(
                "{}十{}",
                DIGITS[(n / 10) as usize],
                if n.is_multiple_of(10) { "" } else { DIGITS[(n % 10) as usize] }
            )
        }
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_start_number_is_written_as_digits_not_billions_of_letters() {
        assert_eq!(letters(1), "A");
        assert_eq!(letters(28), "BB");
        assert_eq!(letters(u32::MAX), u32::MAX.to_string());
    }
    use crate::xml::parse;

    const NUMBERING: &str = r#"<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
        <w:abstractNum w:abstractNumId="0">
          <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>
          <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>
        </w:abstractNum>
        <w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="•"/></w:lvl></w:abstractNum>
        <w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
        <w:num w:numId="2"><w:abstractNumId w:val="0"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="7"/></w:lvlOverride></w:num>
        <w:num w:numId="3"><w:abstractNumId w:val="1"/></w:num>
        </w:numbering>"#;

    #[test]
    fn counters_go_on_restart_and_reset_like_words() {
        let root = parse("word/numbering.xml", NUMBERING.as_bytes()).unwrap();
        let styles = Styles::default();
        let mut numbering = Numbering::parse(Some(&root));
        let mut next = |num, lvl| numbering.next(num, lvl, &styles).map(|n| (n.number, n.continues));
        assert_eq!(next(1, 0), Some((1, false)));
        assert_eq!(next(1, 1), Some((1, false)));
        assert_eq!(next(1, 1), Some((2, true)));
        assert_eq!(next(1, 0), Some((2, true)));
        assert_eq!(next(1, 1), Some((1, false)), "a higher level resets the one below");
        assert_eq!(next(2, 0), Some((7, false)), "a start override restarts");
        assert_eq!(next(2, 0), Some((8, true)));
        assert_eq!(next(9, 0), None, "an unknown list");
        assert_eq!(numbering.label(1, 1, &styles).as_deref(), Some("八.1"));
        assert_eq!(numbering.label(3, 0, &styles), None);
        assert!(!numbering.level(3, 0, &styles).unwrap().is_ordered());
    }

    #[test]
    fn numbers_are_formatted_like_words() {
        assert_eq!(format_number(14, "upperRoman"), "XIV");
        assert_eq!(format_number(28, "lowerLetter"), "bb");
        assert_eq!(format_number(3, "chineseCounting"), "三");
        assert_eq!(format_number(12, "chineseCounting"), "十二");
        assert_eq!(format_number(40, "chineseCounting"), "四十");
        assert_eq!(format_number(5, "decimal"), "5");
    }
}
