//! Links between items. A Markdown link to another item — by its folder relative to the
//! linking item (`../2026-12-21-winter/`), by key (`articles/2026-12-21-winter`) or by folder
//! name alone — becomes that item's published `mp.weixin.qq.com` URL once `publish.lock` has
//! one. Before that it is plain text in what goes to WeChat (WeChat keeps no other link), and a
//! link to the item's page in the preview.
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use crate::content::Item;

/// How a preview page's link to another item is written in the rendered HTML: shaped like a
/// WeChat article URL so that the sanitizer keeps it exactly as it keeps the real ones, and
/// turned into the local page (`/articles/…/`) by the preview server when it serves the page.
pub const PREVIEW_LINK_PREFIX: &str = "https://mp.weixin.qq.com/wxpub-preview/";

/// Where the HTML being rendered will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkMode {
    /// Sent to WeChat: a link is the target's published URL, or text until there is one.
    #[default]
    WeChat,
    /// Shown by `wxpub preview`: a link opens the target's preview page.
    Preview,
}

/// The items a link may name, and the URLs of those already published.
#[derive(Debug, Clone, Default)]
pub struct ItemLinks {
    by_dir: HashMap<PathBuf, String>,
    by_key: HashMap<String, ()>,
    /// Folder name → key; None when two kinds share a folder name (then the key is needed).
    by_slug: HashMap<String, Option<String>>,
    published: BTreeMap<String, String>,
    pub mode: LinkMode,
    /// Changes when an item is added, removed or moved: a link that named nothing may name
    /// something now (renders kept in memory are then stale).
    pub items_fingerprint: u64,
}

impl ItemLinks {
    /// `published`: item key → the URL WeChat gave it.
    pub fn new(items: &[Item], published: BTreeMap<String, String>) -> ItemLinks {
        use std::hash::{Hash, Hasher};
        let mut links = ItemLinks { published, ..ItemLinks::default() };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for item in items {
            (item.key(), &item.dir).hash(&mut hasher);
            let key = item.key();
            links.by_dir.insert(normalize(&item.dir), key.clone());
            links.by_key.insert(key.clone(), ());
            links.by_slug.entry(item.slug.clone()).and_modify(|k| *k = None).or_insert(Some(key));
        }
        links.items_fingerprint = hasher.finish();
        links
    }

    /// The key of the item that a link destination written in the item at `from_dir` names, or
    /// None when it names no item (an anchor, a file, a typo: `check` reports the last).
    pub fn target(&self, from_dir: &Path, destination: &str) -> Option<String> {
        let path = destination.split(['#', '?']).next().unwrap_or("");
        let path = path.strip_suffix("index.md").unwrap_or(path).trim_end_matches('/');
        if path.is_empty() || path.contains(':') {
            return None;
        }
        let relative = normalize(&from_dir.join(path));
        if let Some(key) = self.by_dir.get(&relative) {
            return Some(key.clone());
        }
        let path = path.trim_start_matches("./").trim_start_matches("content/");
        if self.by_key.contains_key(path) {
            return Some(path.to_string());
        }
        self.by_slug.get(path).cloned().flatten()
    }

    /// The published URL of an item, if it has one.
    pub fn published_url(&self, key: &str) -> Option<&str> {
        self.published.get(key).map(String::as_str)
    }

    /// What a link to `key` points at now, or None when it is shown as text.
    pub fn href(&self, key: &str) -> Option<String> {
        match self.mode {
            LinkMode::Preview => Some(format!("{PREVIEW_LINK_PREFIX}{key}/")),
            LinkMode::WeChat => self.published_url(key).map(str::to_string),
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A page the preview serves, with its links to other items pointed at their preview pages.
pub fn preview_page_links(html: &str) -> String {
    html.replace(PREVIEW_LINK_PREFIX, "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(dir: &str, kind: crate::content::Kind) -> Item {
        let slug = Path::new(dir).file_name().unwrap().to_string_lossy().to_string();
        let image = if kind == crate::content::Kind::Poster { "image: p.jpg\n" } else { "" };
        let source = format!("---\ntitle: 标题\naccount: service\n{image}---\n");
        crate::content::parse_item(kind, slug, PathBuf::from(dir), PathBuf::from(dir).join("index.md"), source).unwrap()
    }

    #[test]
    fn a_link_names_an_item_by_folder_key_or_folder_name() {
        use crate::content::Kind::*;
        let items = [
            item("/p/content/articles/2026-12-21-winter", Article),
            item("/p/content/articles/2026-12-01-ding", Article),
            item("/p/content/posters/2026-12-21-winter", Poster),
        ];
        let links = ItemLinks::new(
            &items,
            BTreeMap::from([("articles/2026-12-01-ding".into(), "https://mp.weixin.qq.com/s/d".into())]),
        );
        let from = Path::new("/p/content/articles/2026-12-01-ding");
        assert_eq!(links.target(from, "../2026-12-21-winter/").as_deref(), Some("articles/2026-12-21-winter"));
        assert_eq!(links.target(from, "../2026-12-21-winter/index.md").as_deref(), Some("articles/2026-12-21-winter"));
        assert_eq!(links.target(from, "../../posters/2026-12-21-winter").as_deref(), Some("posters/2026-12-21-winter"));
        assert_eq!(links.target(from, "posters/2026-12-21-winter#top").as_deref(), Some("posters/2026-12-21-winter"));
        // A folder name two kinds share needs the key; one only an article has does not.
        assert_eq!(links.target(from, "2026-12-21-winter"), None);
        assert_eq!(
            links.target(Path::new("/elsewhere"), "2026-12-01-ding").as_deref(),
            Some("articles/2026-12-01-ding")
        );
        assert_eq!(links.target(from, "../nothing/"), None);
        assert_eq!(links.target(from, "#notes"), None);
        assert_eq!(links.href("articles/2026-12-01-ding").as_deref(), Some("https://mp.weixin.qq.com/s/d"));
        assert_eq!(links.href("articles/2026-12-21-winter"), None);
        let preview = ItemLinks { mode: LinkMode::Preview, ..links };
        let href = preview.href("articles/2026-12-21-winter").unwrap();
        assert_eq!(preview_page_links(&href), "/articles/2026-12-21-winter/");
    }
}
