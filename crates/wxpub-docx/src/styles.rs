//! word/styles.xml: what a paragraph style means for the Markdown (heading, quote, caption, a
//! list through its numbering), and the run formatting styles give.
use std::collections::HashMap;

use crate::xml::Element;

/// Longest `basedOn` chain followed; a cycle in a damaged file stops here too.
const MAX_CHAIN: usize = 16;

/// Run formatting; None leaves what is below (a style, the paragraph's style) in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RunProps {
    pub bold: Option<bool>,
    pub italic: Option<bool>,
    pub underline: Option<bool>,
    pub strike: Option<bool>,
    /// Some(Some(true)) superscript, Some(Some(false)) subscript, Some(None) baseline.
    pub vert: Option<Option<bool>>,
    pub hidden: Option<bool>,
}

impl RunProps {
    pub fn parse(rpr: &Element) -> RunProps {
        let vert = rpr.child_val("w:vertAlign").map(|v| match v {
            "superscript" => Some(true),
            "subscript" => Some(false),
            _ => None,
        });
        let strike = match (on_off(rpr, "w:strike"), on_off(rpr, "w:dstrike")) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (a, b) => a.or(b),
        };
        RunProps {
            bold: on_off(rpr, "w:b"),
            italic: on_off(rpr, "w:i"),
            underline: rpr.child("w:u").map(|u| !matches!(u.attr("w:val"), Some("none" | "0" | "false"))),
            strike,
            vert,
            hidden: on_off(rpr, "w:vanish"),
        }
    }

    /// `over` on top of `self`.
    pub fn overlay(self, over: RunProps) -> RunProps {
        RunProps {
            bold: over.bold.or(self.bold),
            italic: over.italic.or(self.italic),
            underline: over.underline.or(self.underline),
            strike: over.strike.or(self.strike),
            vert: over.vert.or(self.vert),
            hidden: over.hidden.or(self.hidden),
        }
    }
}

/// A toggle property: `<w:b/>` on, `<w:b w:val="0"/>` (or false, off) off, absent None.
fn on_off(parent: &Element, name: &str) -> Option<bool> {
    parent.child(name).map(|e| !matches!(e.attr("w:val"), Some("0" | "false" | "off")))
}

/// What a paragraph style makes of its paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Body,
    Heading(u8),
    Title,
    Quote,
    Caption,
}

#[derive(Debug, Clone)]
struct Style {
    name: String,
    based_on: Option<String>,
    outline: Option<u8>,
    num: Option<(u32, u8)>,
    indent: Option<i64>,
    run: RunProps,
}

#[derive(Debug, Default)]
pub(crate) struct Styles {
    styles: HashMap<String, Style>,
    default_paragraph: Option<String>,
}

impl Styles {
    pub fn parse(root: Option<&Element>) -> Styles {
        let mut out = Styles::default();
        let Some(root) = root else { return out };
        for style in root.children_named("w:style") {
            let Some(id) = style.attr("w:styleId") else { continue };
            let ppr = style.child("w:pPr");
            if style.attr("w:type") == Some("paragraph") && matches!(style.attr("w:default"), Some("1" | "true")) {
                out.default_paragraph = Some(id.to_string());
            }
            let parsed = Style {
                name: style.child_val("w:name").unwrap_or(id).trim().to_lowercase(),
                based_on: style.child_val("w:basedOn").map(str::to_string),
                outline: ppr.and_then(|p| p.child_val("w:outlineLvl")).and_then(|v| v.parse().ok()),
                num: ppr.and_then(|p| p.child("w:numPr")).and_then(num_pr),
                indent: ppr.and_then(indent),
                run: style.child("w:rPr").map(RunProps::parse).unwrap_or_default(),
            };
            out.styles.insert(id.to_string(), parsed);
        }
        out
    }

    /// The style and those it is based on, nearest first.
    fn chain<'a>(&'a self, id: Option<&'a str>) -> impl Iterator<Item = &'a Style> + 'a {
        let start = id.or(self.default_paragraph.as_deref());
        std::iter::successors(start.and_then(|id| self.styles.get(id)), |s| {
            s.based_on.as_deref().and_then(|id| self.styles.get(id))
        })
        .take(MAX_CHAIN)
    }

    pub fn role(&self, id: Option<&str>) -> Role {
        for style in self.chain(id) {
            if let Some(role) = role_of_name(&style.name) {
                return role;
            }
            if let Some(level) = style.outline
                && level < 9
            {
                return Role::Heading(level + 1);
            }
        }
        // A style id such as "Heading2" whose style is missing from styles.xml.
        id.and_then(|id| role_of_name(&id.to_lowercase().replace("heading", "heading "))).unwrap_or(Role::Body)
    }

    /// The run formatting of a paragraph or character style, base styles first.
    pub fn run_props(&self, id: Option<&str>) -> RunProps {
        let chain: Vec<&Style> = match id {
            Some(id) => self.chain(Some(id)).collect(),
            None => Vec::new(),
        };
        chain.iter().rev().fold(RunProps::default(), |acc, s| acc.overlay(s.run))
    }

    /// The numbering (numId, ilvl) a paragraph style gives its paragraphs.
    pub fn numbering(&self, id: Option<&str>) -> Option<(u32, u8)> {
        self.chain(id).find_map(|s| s.num)
    }

    pub fn indent(&self, id: Option<&str>) -> Option<i64> {
        self.chain(id).find_map(|s| s.indent)
    }
}

/// Built-in style names: Word writes them in English (`heading 1`) whatever the interface
/// language; WPS and some templates write the Chinese ones.
fn role_of_name(name: &str) -> Option<Role> {
    let heading = name.strip_prefix("heading").or_else(|| name.strip_prefix("标题"));
    if let Some(level) = heading.and_then(|rest| rest.trim().parse::<u8>().ok())
        && (1..=9).contains(&level)
    {
        return Some(Role::Heading(level));
    }
    Some(match name {
        "title" | "标题" => Role::Title,
        "caption" | "题注" => Role::Caption,
        "引用" | "明显引用" => Role::Quote,
        _ if name.contains("quote") && !name.ends_with(" char") => Role::Quote,
        _ => return None,
    })
}

/// `<w:numPr>` → (numId, ilvl).
pub(crate) fn num_pr(num_pr: &Element) -> Option<(u32, u8)> {
    let id = num_pr.child_val("w:numId")?.parse().ok()?;
    let level = num_pr.child_val("w:ilvl").and_then(|v| v.parse().ok()).unwrap_or(0);
    Some((id, level))
}

/// The left indent of a `w:pPr` (or a numbering level's), in twips.
pub(crate) fn indent(ppr: &Element) -> Option<i64> {
    let ind = ppr.child("w:ind")?;
    ind.attr("w:left").or_else(|| ind.attr("w:start")).and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    const STYLES: &str = r#"<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
        <w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
        <w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/>
            <w:rPr><w:b/></w:rPr></w:style>
        <w:style w:type="paragraph" w:styleId="MyHeading"><w:name w:val="My Heading"/><w:basedOn w:val="1"/></w:style>
        <w:style w:type="paragraph" w:styleId="Outline"><w:name w:val="Outline"/><w:pPr><w:outlineLvl w:val="2"/></w:pPr></w:style>
        <w:style w:type="paragraph" w:styleId="IntenseQuote"><w:name w:val="Intense Quote"/></w:style>
        <w:style w:type="paragraph" w:styleId="a5"><w:name w:val="题注"/></w:style>
        <w:style w:type="paragraph" w:styleId="Loop"><w:name w:val="Loop"/><w:basedOn w:val="Loop"/></w:style>
        <w:style w:type="character" w:styleId="Strong"><w:name w:val="Strong"/><w:rPr><w:b/><w:i w:val="0"/></w:rPr></w:style>
        </w:styles>"#;

    #[test]
    fn roles_come_from_names_ids_and_outline_levels_through_based_on() {
        let root = parse("word/styles.xml", STYLES.as_bytes()).unwrap();
        let styles = Styles::parse(Some(&root));
        assert_eq!(styles.role(Some("1")), Role::Heading(1));
        assert_eq!(styles.role(Some("MyHeading")), Role::Heading(1));
        assert_eq!(styles.role(Some("Outline")), Role::Heading(3));
        assert_eq!(styles.role(Some("IntenseQuote")), Role::Quote);
        assert_eq!(styles.role(Some("a5")), Role::Caption);
        assert_eq!(styles.role(Some("Heading2")), Role::Heading(2), "an id missing from styles.xml");
        assert_eq!(styles.role(None), Role::Body);
        assert_eq!(styles.role(Some("Loop")), Role::Body, "a basedOn cycle ends");
        let strong = styles.run_props(Some("Strong"));
        assert_eq!((strong.bold, strong.italic), (Some(true), Some(false)));
    }
}
