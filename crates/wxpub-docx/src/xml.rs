//! A small element tree over quick-xml: the parts of a DOCX are a few megabytes at most, and the
//! conversion looks ahead and around (a caption after an image, a field over several runs), which
//! a tree makes plain. Names are namespace-resolved to the usual prefixes (`w:p`, `a:blip`), so a
//! writer that picks other prefixes, or Strict OOXML's namespaces, reads the same.
use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};

use crate::DocxError;

/// Deeper nesting than Word writes (tables in text boxes in tables stay far below); past it the
/// part is refused, so the recursive walks over the tree cannot overflow the stack.
const MAX_DEPTH: usize = 256;

/// Elements in one part. A 500-page manuscript's document.xml holds about a million; each costs
/// about 100 bytes in the tree, so this keeps a hostile part (small elements that do not compress
/// well enough to trip the ratio limit) to a few hundred megabytes.
const MAX_ELEMENTS: usize = 2_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// `prefix:local`, with the prefix canonical for known namespaces (`?` for others).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

/// Namespace URIs (transitional and Strict) → the prefix the code matches on.
const NAMESPACES: &[(&str, &str)] = &[
    ("http://schemas.openxmlformats.org/wordprocessingml/2006/main", "w"),
    ("http://purl.oclc.org/ooxml/wordprocessingml/main", "w"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/relationships", "r"),
    ("http://purl.oclc.org/ooxml/officeDocument/relationships", "r"),
    ("http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing", "wp"),
    ("http://purl.oclc.org/ooxml/drawingml/wordprocessingDrawing", "wp"),
    ("http://schemas.openxmlformats.org/drawingml/2006/main", "a"),
    ("http://purl.oclc.org/ooxml/drawingml/main", "a"),
    ("http://schemas.openxmlformats.org/drawingml/2006/picture", "pic"),
    ("http://purl.oclc.org/ooxml/drawingml/picture", "pic"),
    ("http://schemas.openxmlformats.org/drawingml/2006/chart", "c"),
    ("http://purl.oclc.org/ooxml/drawingml/chart", "c"),
    ("http://schemas.openxmlformats.org/drawingml/2006/diagram", "dgm"),
    ("http://purl.oclc.org/ooxml/drawingml/diagram", "dgm"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/math", "m"),
    ("http://purl.oclc.org/ooxml/officeDocument/math", "m"),
    ("http://schemas.openxmlformats.org/markup-compatibility/2006", "mc"),
    ("http://schemas.microsoft.com/office/word/2010/wordprocessingShape", "wps"),
    ("http://schemas.microsoft.com/office/word/2010/wordprocessingGroup", "wpg"),
    ("http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas", "wpc"),
    ("urn:schemas-microsoft-com:vml", "v"),
    ("urn:schemas-microsoft-com:office:office", "o"),
    ("http://schemas.openxmlformats.org/package/2006/relationships", "pr"),
    ("http://schemas.openxmlformats.org/package/2006/metadata/core-properties", "cp"),
    ("http://purl.org/dc/elements/1.1/", "dc"),
    ("http://www.w3.org/XML/1998/namespace", "xml"),
];

impl Element {
    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }

    /// The name without its prefix.
    pub fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(name))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(name))
    }

    /// `w:val` of the child `name` (`<w:pStyle w:val="Heading1"/>` → "Heading1").
    pub fn child_val(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(|c| c.attr("w:val"))
    }

    /// The first element named `name` at any depth below this one, in document order.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.elements().find_map(|e| if e.is(name) { Some(e) } else { e.find(name) })
    }

    /// Every element named `name` below this one, in document order (not below a match).
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for e in self.elements() {
            if e.is(name) {
                out.push(e);
            } else {
                e.find_all(name, out);
            }
        }
    }

    /// All text below this element, in document order.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.push_text(&mut out);
        out
    }

    fn push_text(&self, out: &mut String) {
        for node in &self.children {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Element(e) => e.push_text(out),
            }
        }
    }
}

/// Parses one part. `part` names it in errors.
pub(crate) fn parse(part: &str, bytes: &[u8]) -> Result<Element, DocxError> {
    let fail = |message: String| DocxError::Xml { part: part.to_string(), message };
    let text = decode(bytes).map_err(fail)?;
    let mut reader = NsReader::from_str(&text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| fail(format!("{e} (at byte {position})")))?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(DocxError::TooLarge {
                    part: part.to_string(),
                    reason: format!("more than {MAX_ELEMENTS} XML elements"),
                });
            }
        }
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(format!("elements nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(element(&reader, &start).map_err(fail)?);
            }
            Event::Empty(start) => {
                let element = element(&reader, &start).map_err(fail)?;
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let Some(element) = stack.pop() else { return Err(fail("an end tag without its start".into())) };
                attach(&mut stack, &mut root, element);
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content()),
            Event::CData(t) => push_text(&mut stack, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => predefined_entity(&r).ok_or_else(|| fail(format!("unknown entity &{};", &*r)))?.into(),
                    Err(e) => return Err(fail(e.to_string())),
                };
                push_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(fail("the part ends inside an element (cut short?)".into()));
    }
    root.ok_or_else(|| fail("the part has no root element".into()))
}

/// Word writes UTF-8; UTF-16 (with its byte order mark) is allowed by XML and read too.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    let utf16 = |big_endian: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|p| if big_endian { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) })
            .collect();
        String::from_utf16(&units).map(Cow::Owned).map_err(|_| "invalid UTF-16 text".to_string())
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => {
            let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| format!("not UTF-8 text: {e}"))
        }
    }
}

fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

fn element(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<Element, String> {
    let (ns, local) = reader.resolver().resolve_element(start.name());
    let name = qualified(ns, local.as_ref());
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        // Namespace declarations are the resolver's business, not the conversion's.
        if is_xmlns(attr.key) {
            continue;
        }
        let value = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?;
        attrs.push((qualified(ns, local.as_ref()), value.into_owned()));
    }
    Ok(Element { name, attrs, children: Vec::new() })
}

fn is_xmlns(key: QName<'_>) -> bool {
    let key: &str = key.as_ref();
    key == "xmlns" || key.starts_with("xmlns:")
}

fn qualified(ns: ResolveResult<'_>, local: &str) -> String {
    match ns {
        ResolveResult::Unbound => local.to_string(),
        ResolveResult::Bound(uri) => {
            let uri: &str = uri.as_ref();
            let prefix = NAMESPACES.iter().find(|(u, _)| *u == uri).map_or("?", |(_, p)| p);
            format!("{prefix}:{local}")
        }
        ResolveResult::Unknown(_) => format!("?:{local}"),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None => {
            if root.is_none() {
                *root = Some(element);
            }
        }
    }
}

/// Whitespace between elements is layout, except inside the elements that hold text
/// (`<w:t xml:space="preserve"> </w:t>` is a real space).
fn push_text(stack: &mut [Element], text: &str) {
    let Some(parent) = stack.last_mut() else { return };
    if text.trim().is_empty() && !matches!(parent.local(), "t" | "delText" | "instrText" | "delInstrText") {
        return;
    }
    if let Some(Node::Text(last)) = parent.children.last_mut() {
        last.push_str(text);
    } else {
        parent.children.push(Node::Text(text.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_resolved_to_the_usual_prefixes_whatever_the_writer_chose() {
        let xml = r#"<x:document xmlns:x="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
            xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
            <x:p><x:hyperlink rel:id="rId1"><x:r><x:t xml:space="preserve"> a &amp; b &#x4E2D; </x:t></x:r></x:hyperlink></x:p></x:document>"#;
        let root = parse("word/document.xml", xml.as_bytes()).unwrap();
        assert!(root.is("w:document"));
        let link = root.find("w:hyperlink").unwrap();
        assert_eq!(link.attr("r:id"), Some("rId1"));
        assert_eq!(link.find("w:t").unwrap().attr("xml:space"), Some("preserve"));
        assert_eq!(root.text(), " a & b 中 ");
    }

    #[test]
    fn malformed_xml_is_an_error_naming_the_part() {
        for bad in ["<a><b></a>", "<a>", "", "<a>&bogus;</a>", "\u{FEFF}<a"] {
            let err = parse("word/styles.xml", bad.as_bytes()).unwrap_err();
            assert!(matches!(&err, DocxError::Xml { part, .. } if part == "word/styles.xml"), "{bad}: {err:?}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse("p", deep.as_bytes()).is_err());
        assert!(parse("p", &[0xC3, 0x28]).is_err());
    }

    #[test]
    fn utf16_parts_are_read() {
        let text = "<a>中文</a>";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(parse("p", &bytes).unwrap().text(), "中文");
    }
}
