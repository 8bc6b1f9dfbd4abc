//! The ZIP package: what the file is (before any unzipping), its parts read under the zip-bomb
//! limits, and the relationships between parts (OPC).
use std::collections::HashMap;
use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::xml::{self, Element};
use crate::{DocxError, Limits};

/// Parts this small are never judged by their compression ratio: a short, repetitive XML part
/// (an empty comments.xml, a settings.xml) compresses far better than 200:1 yet is harmless.
const RATIO_FREE_BYTES: u64 = 1 << 20;

pub(crate) struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// OPC part names are case-insensitive; ZIP names are not. Lower-cased name → entry index.
    names: HashMap<String, usize>,
    limits: Limits,
    read_total: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Relationship {
    pub id: String,
    /// The relationship type URI (`…/image`, `…/hyperlink`).
    pub kind: String,
    /// For an internal target, the part name it resolves to; for an external one, the URL.
    pub target: String,
    pub external: bool,
}

impl Relationship {
    /// True when the type URI ends in `/name` (transitional and Strict types differ before it).
    pub fn is(&self, name: &str) -> bool {
        self.kind.rsplit('/').next() == Some(name)
    }
}

impl<'a> Package<'a> {
    pub fn open(bytes: &'a [u8], limits: &Limits) -> Result<Self, DocxError> {
        sniff(bytes)?;
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| match e {
            ZipError::InvalidArchive(_) | ZipError::Io(_) => DocxError::Damaged(e.to_string()),
            other => DocxError::Damaged(other.to_string()),
        })?;
        if zip.len() > limits.max_entries {
            return Err(DocxError::TooLarge {
                part: "the ZIP package".into(),
                reason: format!("{} entries, over the limit of {}", zip.len(), limits.max_entries),
            });
        }
        let mut names = HashMap::with_capacity(zip.len());
        for (index, name) in zip.file_names().enumerate() {
            if let Ok(name) = name {
                names.entry(name.trim_start_matches('/').to_lowercase()).or_insert(index);
            }
        }
        let package = Package { zip, names, limits: limits.clone(), read_total: 0 };
        if !package.has("[content_types].xml") && package.has("mimetype") && package.has("content.xml") {
            return Err(DocxError::NotDocx { found: "an OpenDocument file (.odt)" });
        }
        Ok(package)
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains_key(&name.to_lowercase())
    }

    /// The bytes of a part, or None when the package has no such part. `xml` parts are also held
    /// to the compression-ratio limit (images barely compress, so only XML can be a bomb that way).
    pub fn read(&mut self, name: &str, xml: bool) -> Result<Option<Vec<u8>>, DocxError> {
        let Some(&index) = self.names.get(&name.to_lowercase()) else { return Ok(None) };
        let too_large = |reason: String| DocxError::TooLarge { part: name.to_string(), reason };
        let mut entry = self.zip.by_index(index).map_err(|e| match e {
            ZipError::UnsupportedArchive(_) => DocxError::Encrypted,
            other => DocxError::Damaged(format!("{name}: {other}")),
        })?;
        let remaining = self.limits.max_total_bytes.saturating_sub(self.read_total);
        let cap = self.limits.max_entry_bytes.min(remaining);
        // The declared size may lie: the read below is cut at the cap whatever it says.
        if entry.size() > cap {
            return Err(too_large(over(entry.size(), &self.limits, remaining)));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 24));
        (&mut entry)
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| DocxError::Damaged(format!("{name} cannot be unpacked: {e}")))?;
        let size = bytes.len() as u64;
        if size > cap {
            return Err(too_large(over(size, &self.limits, remaining)));
        }
        let compressed = entry.compressed_size().max(1);
        if xml && size > RATIO_FREE_BYTES && size / compressed > self.limits.max_ratio {
            return Err(too_large(format!(
                "it unpacks {} times its packed size, over the limit of {}",
                size / compressed,
                self.limits.max_ratio
            )));
        }
        self.read_total += size;
        Ok(Some(bytes))
    }

    /// A part parsed as XML, or None when the package has no such part.
    pub fn xml(&mut self, name: &str) -> Result<Option<Element>, DocxError> {
        match self.read(name, true)? {
            Some(bytes) => xml::parse(name, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The relationships of `source` (`word/document.xml` → `word/_rels/document.xml.rels`;
    /// the package's own with `source` empty). A missing .rels file means none.
    pub fn relationships(&mut self, source: &str) -> Result<Vec<Relationship>, DocxError> {
        let (dir, file) = source.rsplit_once('/').unwrap_or(("", source));
        let rels_name = if dir.is_empty() { format!("_rels/{file}.rels") } else { format!("{dir}/_rels/{file}.rels") };
        let Some(root) = self.xml(&rels_name)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for rel in root.elements().filter(|e| e.local() == "Relationship") {
            let (Some(id), Some(kind), Some(target)) = (rel.attr("Id"), rel.attr("Type"), rel.attr("Target")) else {
                continue;
            };
            let external = rel.attr("TargetMode").is_some_and(|m| m.eq_ignore_ascii_case("External"));
            let target = if external { target.to_string() } else { resolve(dir, target) };
            out.push(Relationship { id: id.to_string(), kind: kind.to_string(), target, external });
        }
        Ok(out)
    }
}

fn over(size: u64, limits: &Limits, remaining: u64) -> String {
    if size > limits.max_entry_bytes {
        format!("{size} bytes unpacked, over the limit of {} for one part", limits.max_entry_bytes)
    } else {
        format!(
            "{size} bytes unpacked would take the document over its limit of {} in all ({remaining} left)",
            limits.max_total_bytes
        )
    }
}

/// A relationship target, relative to the source part's folder, as a part name.
pub(crate) fn resolve(dir: &str, target: &str) -> String {
    let target = target.split(['#', '?']).next().unwrap_or(target);
    let mut parts: Vec<&str> =
        if target.starts_with('/') { Vec::new() } else { dir.split('/').filter(|s| !s.is_empty()).collect() };
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    percent_decode(&joined)
}

/// Part names in relationships are URIs: `image%201.png` is the part `image 1.png`.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Says what the file is when it is not a ZIP package, before anything is unpacked.
fn sniff(bytes: &[u8]) -> Result<(), DocxError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(());
    }
    if bytes.starts_with(OLE2_MAGIC) {
        // Word stores a password-protected .docx as an OLE2 compound file holding the streams
        // EncryptionInfo and EncryptedPackage; their names are UTF-16 in the directory sectors.
        let name: Vec<u8> = "EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes).collect();
        if bytes.windows(name.len()).any(|w| w == name) {
            return Err(DocxError::Encrypted);
        }
        return Err(DocxError::LegacyDoc);
    }
    let found = match bytes {
        [0x89, b'P', b'N', b'G', ..] => "a PNG image",
        [0xFF, 0xD8, 0xFF, ..] => "a JPEG image",
        [b'%', b'P', b'D', b'F', ..] => "a PDF",
        [b'{', b'\\', b'r', b't', b'f', ..] => "an RTF document (.rtf)",
        [] => "an empty file",
        _ if looks_like_xml(bytes) => "an XML or HTML file (a Word XML or web page save?)",
        _ => "not a ZIP package",
    };
    Err(DocxError::NotDocx { found })
}

fn looks_like_xml(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_the_source_folder() {
        assert_eq!(resolve("word", "media/image1.png"), "word/media/image1.png");
        assert_eq!(resolve("word", "/word/media/image1.png"), "word/media/image1.png");
        assert_eq!(resolve("word", "../customXml/item1.xml"), "customXml/item1.xml");
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
        assert_eq!(resolve("word", "media/image%201.png"), "word/media/image 1.png");
        assert_eq!(resolve("word", "media/%E5%9B%BE.png"), "word/media/图.png");
        assert_eq!(resolve("word", "media/100%.png"), "word/media/100%.png");
    }

    #[test]
    fn what_a_file_is_is_said_before_unpacking() {
        assert!(matches!(sniff(b"\x89PNG\r\n"), Err(DocxError::NotDocx { found: "a PNG image" })));
        assert!(matches!(sniff(b""), Err(DocxError::NotDocx { found: "an empty file" })));
        let mut doc = OLE2_MAGIC.to_vec();
        doc.extend([0u8; 600]);
        assert!(matches!(sniff(&doc), Err(DocxError::LegacyDoc)));
        doc.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        assert!(matches!(sniff(&doc), Err(DocxError::Encrypted)));
        assert!(sniff(b"PK\x03\x04rest").is_ok());
    }
}
