//! Drafts are shared with the web backend (公众号后台 → 草稿箱): editors insert videos there (the
//! API cannot) and fix last-minute typos. Before wxpub writes to a draft it compares the server's
//! copy with what it stored last time (docs/operators-guide.md, "Drafts edited in the web
//! backend"); these are the pure parts of that comparison.
use sha2::{Digest, Sha256};

use crate::wechat::types::Article;

/// A digest of articles as WeChat stores them: what a reader or the web backend would show as
/// changed (title, author, digest, body, cover, original link), not the preview URL WeChat adds.
pub fn stored_digest(articles: &[Article]) -> String {
    let mut hasher = Sha256::new();
    for article in articles {
        for field in [
            article.title.as_str(),
            article.author.as_deref().unwrap_or(""),
            article.digest.as_deref().unwrap_or(""),
            article.content.as_str(),
            article.thumb_media_id.as_deref().unwrap_or(""),
            article.content_source_url.as_deref().unwrap_or(""),
        ] {
            hasher.update(field.len().to_le_bytes());
            hasher.update(field.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// Whether any article still holds a video placeholder (the text a `video` block puts in the
/// draft): while WeChat's copy shows it, the editor has not inserted the video yet.
pub fn waits_for_video(articles: &[Article]) -> bool {
    articles.iter().any(|a| crate::render::has_video_placeholder(&a.content))
}

/// What the web backend can put in an article and the API cannot, or that an editor adds or
/// removes there, by the tag that carries it.
const EMBEDS: &[(&[&str], &str, &str)] = &[
    (&["<mpvideo", "<iframe"], "video", "videos"),
    (&["<mp-common-videosnap", "<mpvideosnap"], "Channels (视频号) card", "Channels cards"),
    (&["<mp-common-mpaudio", "<mpvoice"], "audio", "audio clips"),
    (&["<mpvote"], "poll", "polls"),
    (&["<img"], "image", "images"),
    (&["<mp-miniprogram"], "mini-program card", "mini-program cards"),
];

fn count_embeds(html: &str, tags: &[&str]) -> usize {
    let lower = html.to_ascii_lowercase();
    tags.iter()
        .map(|tag| {
            lower
                .match_indices(tag)
                .filter(|(at, _)| {
                    let after = lower[at + tag.len()..].chars().next().unwrap_or(' ');
                    !(after.is_ascii_alphanumeric() || after == '-')
                })
                .count()
        })
        .sum()
}

/// How many paragraph differences are spelled out before "and N more".
const SHOWN_PARAGRAPHS: usize = 3;

/// What differs between the server's draft (`server`, edited in the web backend) and the build
/// (`build`): embeds added or removed there, titles, and the paragraphs whose visible text
/// differs — a few lines an editor can act on, each naming the article when the push has more
/// than one.
pub fn describe_changes(server: &[Article], build: &[Article]) -> Vec<String> {
    let mut changes = Vec::new();
    if server.len() != build.len() {
        changes.push(format!(
            "the draft holds {} article(s) in the web backend, the build {}",
            server.len(),
            build.len()
        ));
    }
    let many = server.len().max(build.len()) > 1;
    for (index, (theirs, ours)) in server.iter().zip(build).enumerate() {
        let prefix = if many { format!("article {}: ", index + 1) } else { String::new() };
        if theirs.title != ours.title {
            changes
                .push(format!("{prefix}title is «{}» in the web backend, «{}» in the build", theirs.title, ours.title));
        }
        for (tags, one, many_name) in EMBEDS {
            let (there, here) = (count_embeds(&theirs.content, tags), count_embeds(&ours.content, tags));
            if there > here {
                let n = there - here;
                changes.push(if n == 1 {
                    format!("{prefix}a {one} was added in the web backend")
                } else {
                    format!("{prefix}{n} {many_name} were added in the web backend")
                });
            } else if here > there {
                let n = here - there;
                changes.push(if n == 1 {
                    format!("{prefix}a {one} of the build is not in the web backend's draft")
                } else {
                    format!("{prefix}{n} {many_name} of the build are not in the web backend's draft")
                });
            }
        }
        let differing = paragraph_differences(
            &crate::util::html::text_blocks(&theirs.content),
            &crate::util::html::text_blocks(&ours.content),
        );
        for difference in differing.iter().take(SHOWN_PARAGRAPHS) {
            changes.push(format!("{prefix}{difference}"));
        }
        if differing.len() > SHOWN_PARAGRAPHS {
            changes.push(format!("{prefix}… and {} more paragraph(s) differ", differing.len() - SHOWN_PARAGRAPHS));
        }
        if theirs.digest != ours.digest {
            changes.push(format!("{prefix}the digest differs"));
        }
        if theirs.author != ours.author {
            changes.push(format!("{prefix}the author differs"));
        }
    }
    if changes.is_empty() {
        changes.push("saved again in the web backend (no visible difference found)".into());
    }
    changes
}

/// A paragraph shown cut to this many characters.
const SNIPPET_CHARS: usize = 40;

fn snippet(text: &str) -> String {
    if text.chars().count() <= SNIPPET_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(SNIPPET_CHARS).collect();
    format!("{cut}…")
}

/// The paragraphs that differ, by a longest-common-subsequence alignment of the two lists.
/// Between two common paragraphs, a paragraph of one side is paired with a similar one of the
/// other (an edited sentence: "differs"); the rest are only in the web backend or only in the
/// build. Paragraphs are numbered as in the web backend's draft.
fn paragraph_differences(server: &[String], build: &[String]) -> Vec<String> {
    let (n, m) = (server.len(), build.len());
    // common[i][j]: the longest common run of server[i..] and build[j..].
    let mut common = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] =
                if server[i] == build[j] { common[i + 1][j + 1] + 1 } else { common[i + 1][j].max(common[i][j + 1]) };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut theirs, mut ours): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    loop {
        let matched = i < n && j < m && server[i] == build[j];
        if matched || (i == n && j == m) {
            describe_hunk(server, build, &theirs, &ours, &mut out);
            theirs.clear();
            ours.clear();
            if !matched {
                return out;
            }
            i += 1;
            j += 1;
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            theirs.push(i);
            i += 1;
        } else {
            ours.push(j);
            j += 1;
        }
    }
}

/// One run of paragraphs between two common ones: similar ones paired in order.
fn describe_hunk(server: &[String], build: &[String], theirs: &[usize], ours: &[usize], out: &mut Vec<String>) {
    let mut next_ours = 0;
    let mut paired: Vec<(usize, usize)> = Vec::new();
    for &i in theirs {
        if let Some(offset) = ours[next_ours..].iter().position(|&j| similarity(&server[i], &build[j]) >= 0.5) {
            paired.push((i, ours[next_ours + offset]));
            next_ours += offset + 1;
        }
    }
    let (mut t, mut o) = (theirs.iter().peekable(), ours.iter().peekable());
    for pair in paired.into_iter().map(Some).chain([None]) {
        let (pi, pj) = (pair.map(|(i, _)| i), pair.map(|(_, j)| j));
        while let Some(&&i) = t.peek() {
            if pi.is_some_and(|pi| i >= pi) {
                break;
            }
            out.push(format!("paragraph {} is only in the web backend: «{}»", i + 1, snippet(&server[i])));
            t.next();
        }
        while let Some(&&j) = o.peek() {
            if pj.is_some_and(|pj| j >= pj) {
                break;
            }
            out.push(format!("a paragraph is only in the build: «{}»", snippet(&build[j])));
            o.next();
        }
        if let (Some(i), Some(j)) = (pi, pj) {
            out.push(format!(
                "paragraph {} differs: «{}» in the web backend, «{}» in the build",
                i + 1,
                snippet(&server[i]),
                snippet(&build[j])
            ));
            t.next();
            o.next();
        }
    }
}

/// How alike two paragraphs are: the characters they share (as multisets) over their lengths,
/// 0 to 1.
fn similarity(a: &str, b: &str) -> f64 {
    let mut counts: std::collections::HashMap<char, i32> = std::collections::HashMap::new();
    for c in a.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let mut shared = 0;
    for c in b.chars() {
        if let Some(n) = counts.get_mut(&c).filter(|n| **n > 0) {
            *n -= 1;
            shared += 1;
        }
    }
    let total = a.chars().count() + b.chars().count();
    if total == 0 { 1.0 } else { 2.0 * shared as f64 / total as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(content: &str) -> Article {
        Article { title: "修复记".into(), content: content.into(), ..Article::default() }
    }

    #[test]
    fn the_digest_follows_what_a_reader_sees_not_the_preview_url() {
        let a = article("<p>一</p>");
        let with_url = Article { url: Some("https://mp.weixin.qq.com/s?x".into()), ..a.clone() };
        assert_eq!(stored_digest(std::slice::from_ref(&a)), stored_digest(&[with_url]));
        assert_ne!(stored_digest(&[a]), stored_digest(&[article("<p>二</p>")]));
    }

    #[test]
    fn a_video_added_and_a_sentence_fixed_are_both_named() {
        let build = article("<p>第一段。</p><p>在此插入视频：修复过程（3 分 20 秒）</p><p>第三段有错字。</p>");
        let server = article("<p>第一段。</p><mpvideo data-vid=\"v1\"></mpvideo><p>第三段没有错字。</p>");
        let changes = describe_changes(&[server], &[build]);
        assert!(changes.contains(&"a video was added in the web backend".to_string()), "{changes:?}");
        assert!(
            changes.iter().any(|c| c.contains("«第三段没有错字。» in the web backend, «第三段有错字。» in the build")),
            "{changes:?}"
        );
        assert!(changes.iter().any(|c| c.contains("only in the build: «在此插入视频")), "{changes:?}");
    }

    #[test]
    fn many_changed_paragraphs_are_summarised() {
        let server: String = (0..10).map(|i| format!("<p>甲{i}</p>")).collect();
        let build: String = (0..10).map(|i| format!("<p>乙{i}</p>")).collect();
        let changes = describe_changes(&[article(&server)], &[article(&build)]);
        assert_eq!(changes.len(), SHOWN_PARAGRAPHS + 1, "{changes:?}");
        assert!(changes.last().unwrap().contains("7 more"), "{changes:?}");
    }

    #[test]
    fn placeholders_are_found_in_any_article() {
        assert!(waits_for_video(&[article("<p>x</p>"), article("<p>在此插入视频：修复过程</p>")]));
        assert!(!waits_for_video(&[article("<p>x</p>")]));
    }
}
