//! PREVIEW: a local web server showing every item as WeChat readers will see it, rebuilt when
//! `content/`, `layouts/`, `publish.toml` or `publish.lock` change, with open pages reloading
//! themselves.
//!
//! The build (drafts included) is written nowhere: the pages are served from memory and their
//! images straight from the shared image cache, so a start writes no item folder and a rebuild
//! after a text edit decodes nothing.
pub mod comments;
mod pages;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use notify::Watcher;
use rayon::prelude::*;

pub use pages::{ItemView, Scheme};

use crate::build::{self, BuildOptions};
use crate::check::{self, CheckOptions};
use crate::config::Config;
use crate::project::Project;
use crate::state::file_hashes::FileHashes;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("cannot listen on 127.0.0.1:{port}: {source} (try another --port, or 0 for any free one)")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot start the preview server: {0}")]
    Runtime(std::io::Error),
    #[error("cannot watch {path} for changes: {message}")]
    Watch { path: PathBuf, message: String },
}

/// The latest successful build, and the error of the latest rebuild if it failed.
struct Site {
    version: u64,
    /// The project folder (the themes side by side render from it).
    root: PathBuf,
    name: String,
    items: Vec<Arc<ItemView>>,
    error: Option<String>,
}

struct Shared {
    site: RwLock<Site>,
    reload: tokio::sync::broadcast::Sender<Reload>,
}

/// A running preview; stops when dropped.
pub struct PreviewHandle {
    pub url: String,
    server: Option<crate::util::http_server::ServerThread>,
    _watcher: notify::RecommendedWatcher,
    /// Writing the first build's cache files, while the pages are already served.
    first_writes: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl PreviewHandle {
    /// Blocks until the server stops (Ctrl-C ends the process).
    pub fn wait(mut self) {
        if let Some(server) = self.server.take() {
            server.wait();
        }
    }

    /// Blocks until the first build's renders and findings are on disk (for the next start);
    /// the preview answers before they are.
    pub fn wait_for_cache_files(&self) {
        let writing = self.first_writes.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writing) = writing {
            let _ = writing.join();
        }
    }
}

impl Drop for PreviewHandle {
    fn drop(&mut self) {
        self.wait_for_cache_files();
    }
}

/// What the preview keeps between rebuilds, so that a save costs what it changed: the source
/// hashes, the renders of unchanged items, each page's dark-mode count by its HTML, and the
/// last successful build with the project it was built from.
#[derive(Default)]
struct Kept {
    hashes: FileHashes,
    memo: build::RenderMemo,
    check_memo: check::CheckMemo,
    dark_problems: std::sync::Mutex<std::collections::HashMap<String, (String, usize)>>,
    previous: std::sync::Mutex<Option<Previous>>,
}

/// The last successful rebuild: the project (whose unchanged items are not read again), the
/// build (whose unchanged items are not looked at again) and the pages' views.
struct Previous {
    project: Project,
    build: build::Build,
    views: std::collections::HashMap<String, Arc<ItemView>>,
}

impl Kept {
    /// Writes what the memos kept since the last call (held so that pages are served first).
    fn write_pending(&self) {
        self.memo.write_pending();
        self.check_memo.write_pending();
    }

    fn dark_problems(&self, key: &str, html: &str) -> usize {
        let known = |key: &str| {
            let known = self.dark_problems.lock().unwrap_or_else(|p| p.into_inner());
            known.get(key).filter(|(seen, _)| seen == html).map(|(_, count)| *count)
        };
        if let Some(count) = known(key) {
            return count;
        }
        // Counted without the lock held: pages are counted in parallel.
        let count = crate::render::darkmode::text_samples(html)
            .iter()
            .filter(|t| t.dark_contrast() < t.required_contrast())
            .count();
        self.dark_problems.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), (html.to_string(), count));
        count
    }
}

/// Builds (in memory), checks the same renders, and gathers what the pages show. `changed`:
/// the files saved since the last rebuild, when the watcher named them all
/// (only their items are read again, if that is enough; see [`Project::with_items_reread`]).
fn build_site(
    project: &Path,
    kept: &Kept,
    changed: Option<&[PathBuf]>,
) -> anyhow::Result<(String, Vec<Arc<ItemView>>)> {
    // Taken: a rebuild that fails leaves nothing behind, and the next one starts afresh.
    let previous = kept.previous.lock().unwrap_or_else(|p| p.into_inner()).take();
    let (previous_project, previous_build, mut previous_views) = match previous {
        Some(Previous { project, build, views }) => (Some(project), Some(build), views),
        None => (None, None, std::collections::HashMap::new()),
    };
    // What the watcher saw is only news since the last rebuild that succeeded.
    let changed = changed.filter(|_| previous_build.is_some());
    kept.memo.expect_changes(changed);
    let reread = previous_project.zip(changed).and_then(|(before, changed)| before.with_items_reread(changed));
    let mut loaded = match reread {
        Some(project) => project,
        None => Project::load(project)?,
    };
    // Links between items open the linked item's preview page.
    loaded.links.mode = crate::render::LinkMode::Preview;
    let config = &loaded.config;
    let options = BuildOptions {
        output_dir: None,
        drafts: true,
        hashes: &kept.hashes,
        memo: Some(&kept.memo),
        progress: &crate::util::progress::Silent,
    };
    let outcome = build::build_after(&loaded, &options, previous_build)?;
    let report = check::check(
        &loaded,
        Some(&outcome.renders),
        &CheckOptions { paths: Vec::new(), now: crate::util::clock::now(), fix: false },
        &kept.hashes,
        Some(&kept.check_memo),
    )?;
    // What the check read (images' dimensions) is remembered for the next start; a cache that
    // cannot be written only costs time, and the build already reports that.
    let _ = kept.hashes.save();
    // Each item's findings: those in its folder.
    let mut by_folder: std::collections::HashMap<&Path, Vec<(String, String)>> = std::collections::HashMap::new();
    for d in &report.diagnostics {
        let text = format!("{}:{} [{}] {}", d.line, d.column, d.rule, d.message);
        by_folder.entry(d.file.parent().unwrap_or(Path::new(""))).or_default().push((d.severity.to_string(), text));
    }
    // Each item's findings, and its page as the last rebuild made it if the item is unchanged.
    let prepared: Vec<_> = outcome
        .manifest
        .items
        .iter()
        .zip(&outcome.html)
        .zip(&outcome.unchanged)
        .map(|((entry, content_html), unchanged)| {
            let source_dir = entry.source.parent().unwrap_or(Path::new(""));
            let diagnostics = by_folder.remove(source_dir).unwrap_or_default();
            let before = if *unchanged { previous_views.remove(&entry.key) } else { None };
            (entry, content_html, diagnostics, before)
        })
        .collect();
    // Built on every core: a first build counts the dark-mode contrast of every page.
    let items: Vec<Arc<ItemView>> = prepared
        .into_par_iter()
        .map(|(entry, content_html, diagnostics, before)| match before {
            // An unchanged item's page is the same but for its findings (another item may now
            // share its title, say).
            Some(view) if view.diagnostics == diagnostics => view,
            Some(view) => Arc::new(ItemView { diagnostics, ..(*view).clone() }),
            None => Arc::new(item_view(config, entry, content_html, diagnostics, kept)),
        })
        .collect();
    let name = config.site.name.clone();
    let views = items.iter().map(|view| (view.key.clone(), Arc::clone(view))).collect();
    *kept.previous.lock().unwrap_or_else(|p| p.into_inner()) =
        Some(Previous { project: loaded, build: outcome, views });
    Ok((name, items))
}

/// What the page of one built item shows.
fn item_view(
    config: &Config,
    entry: &build::ManifestItem,
    content_html: &str,
    diagnostics: Vec<(String, String)>,
    kept: &Kept,
) -> ItemView {
    ItemView {
        key: entry.key.clone(),
        kind: entry.kind.name().to_string(),
        title: entry.title.clone(),
        author: entry.author.clone(),
        account_key: entry.account.clone(),
        account_name: config.accounts.get(&entry.account).map_or_else(|| entry.account.clone(), |a| a.name.clone()),
        // `2026-12-01T08:00:00+08:00` (site time) → `2026-12-01 08:00`.
        publish_at: entry.publish_at.as_deref().map(|p| p.replacen('T', " ", 1).chars().take(16).collect()),
        draft: entry.draft,
        source_url: entry.source_url.clone(),
        source: entry.source.display().to_string(),
        content_chars: entry.content_chars,
        cover_crops: entry
            .cover
            .as_ref()
            .and_then(|c| c.output.crops.as_ref())
            .map(|c| (c.preview_235_1.clone(), c.preview_1_1.clone())),
        dark_problems: kept.dark_problems(&entry.key, content_html),
        content_html: crate::render::links::preview_page_links(content_html),
        image_files: entry.image_files().into_iter().map(str::to_string).collect(),
        image_post: (entry.format == crate::content::Format::ImagePost).then(|| {
            let poster = entry.poster.as_ref().map(|p| &p.output.sha256);
            let photos = entry.poster.iter().chain(entry.images.iter().filter(|i| Some(&i.output.sha256) != poster));
            (photos.map(|p| format!("images/{}", p.output.file)).collect(), entry.text.clone().unwrap_or_default())
        }),
        diagnostics,
    }
}

/// A new version of the site, and the keys of the items whose pages changed in it (`None`:
/// every page, as when an error appears or goes).
#[derive(Debug, Clone)]
struct Reload {
    version: u64,
    changed: Option<Vec<String>>,
}

impl Reload {
    fn event_data(&self) -> String {
        serde_json::json!({ "version": self.version, "changed": self.changed }).to_string()
    }
}

/// The keys whose page differs between two builds (added and removed ones included).
fn changed_items(before: &[Arc<ItemView>], after: &[Arc<ItemView>]) -> Vec<String> {
    let old: std::collections::HashMap<&str, &Arc<ItemView>> = before.iter().map(|i| (i.key.as_str(), i)).collect();
    let new: std::collections::HashMap<&str, &Arc<ItemView>> = after.iter().map(|i| (i.key.as_str(), i)).collect();
    let mut changed: Vec<String> = after
        .iter()
        .filter(|i| old.get(i.key.as_str()).is_none_or(|old| !Arc::ptr_eq(old, i) && old != i))
        .chain(before.iter().filter(|i| !new.contains_key(i.key.as_str())))
        .map(|i| i.key.clone())
        .collect();
    changed.sort();
    changed.dedup();
    changed
}

/// Rebuilds and tells open pages to reload (also after a failed rebuild: they show its error).
fn rebuild(project: &Path, shared: &Shared, kept: &Kept, changed: Option<&[PathBuf]>) {
    // Whatever the sources hold, the server stays up: a panic is shown like any failed build.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build_site(project, kept, changed))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(anyhow::anyhow!("wxpub failed inside while rebuilding ({what}); this is a bug — please report it with the file you changed"))
    });
    let reload = {
        let mut site = shared.site.write().unwrap_or_else(|p| p.into_inner());
        let changed = match result {
            Ok((name, items)) => {
                let same_frame = site.error.is_none() && site.name == name;
                let changed = changed_items(&site.items, &items);
                *site = Site { version: site.version, root: project.to_path_buf(), name, items, error: None };
                same_frame.then_some(changed)
            }
            Err(e) => {
                site.error = Some(crate::util::redact::redact(&format!("{e:#}")));
                None
            }
        };
        site.version += 1;
        Reload { version: site.version, changed }
    };
    let _ = shared.reload.send(reload);
}

/// How long the watcher waits after a file event for the next one of the same save.
// Long enough for an editor's save (a temporary file, a rename, a chmod: well under 10 ms
// apart); a burst split in two costs only a second, small rebuild.
const DEBOUNCE: Duration = Duration::from_millis(30);

/// The files one save (a burst of file events) touched.
#[derive(Default)]
struct Saved {
    /// Whether any of them is a file the preview is built from.
    relevant: bool,
    /// Those that are.
    paths: Vec<PathBuf>,
    /// Whether the watcher lost track, so that `paths` may not name them all.
    unknown: bool,
}

impl Saved {
    fn add(&mut self, project: &Path, event: Option<PathBuf>) {
        match event {
            Some(path) if watched(project, &path) => {
                self.relevant = true;
                self.paths.push(path);
            }
            Some(_) => {}
            None => (self.relevant, self.unknown) = (true, true),
        }
    }

    /// Every file the save touched, when the watcher named them all.
    fn named(&self) -> Option<&[PathBuf]> {
        (!self.unknown).then_some(self.paths.as_slice())
    }
}

fn watched(project: &Path, path: &Path) -> bool {
    path.starts_with(project.join("content"))
        || path.starts_with(project.join("layouts"))
        || path == project.join(crate::config::CONFIG_FILE)
        // A publish run records publications there: schedule findings and links depend on it.
        || path == crate::state::ledger::Ledger::path(project)
}

/// Builds once, then serves and watches. Only a folder that is no project (no readable
/// publish.toml) is refused; a build that fails is served as its error until the next save fixes it.
pub fn spawn(project: &Path, port: u16) -> anyhow::Result<PreviewHandle> {
    spawn_with_comments(project, port, None)
}

/// [`spawn`], with the comments page (`/__comments`) when given how to reach each account
/// (`clients`) and who answers (`by`).
pub fn spawn_with_comments(
    project: &Path,
    port: u16,
    comments: Option<(comments::ClientFactory, String)>,
) -> anyhow::Result<PreviewHandle> {
    let project = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let config = Config::load(&project)?;
    // Kept across rebuilds: a save re-reads and re-renders only what it changed.
    let kept = Arc::new(Kept {
        hashes: FileHashes::load(&project),
        memo: build::RenderMemo::on_disk_later_and_in_process(&project),
        check_memo: check::CheckMemo::for_preview(&project),
        ..Kept::default()
    });
    // Earlier versions wrote the preview's build to a folder of its own; nothing reads it now.
    let old_output = project.join(".wxpub/preview");
    if old_output.is_dir() {
        std::thread::spawn(move || {
            let _ = std::fs::remove_dir_all(&old_output);
        });
    }
    let site = match build_site(&project, &kept, None) {
        Ok((name, items)) => Site { version: 1, root: project.clone(), name, items, error: None },
        Err(e) => Site {
            version: 1,
            root: project.clone(),
            name: config.site.name.clone(),
            items: Vec::new(),
            error: Some(crate::util::redact::redact(&format!("{e:#}"))),
        },
    };
    // The first build's cache files are written while the index already answers.
    let first_writes = {
        let kept = Arc::clone(&kept);
        std::thread::spawn(move || kept.write_pending())
    };
    let (reload, _) = tokio::sync::broadcast::channel(16);
    let shared = Arc::new(Shared { site: RwLock::new(site), reload });

    // File events → debounce → rebuild, on a thread of its own. `None`: the watcher lost track
    // (an error, or events dropped), so which files changed is unknown.
    let (events_tx, events_rx) = std::sync::mpsc::channel::<Option<PathBuf>>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
        Ok(event) if event.need_rescan() => {
            let _ = events_tx.send(None);
        }
        Ok(event) if !matches!(event.kind, notify::EventKind::Access(_)) => {
            for path in event.paths {
                let _ = events_tx.send(Some(path));
            }
        }
        Ok(_) => {}
        Err(_) => {
            let _ = events_tx.send(None);
        }
    })
    .map_err(|e| PreviewError::Watch { path: project.clone(), message: e.to_string() })?;
    for (path, mode) in [
        (project.join("content"), notify::RecursiveMode::Recursive),
        (project.join("layouts"), notify::RecursiveMode::Recursive),
        (project.clone(), notify::RecursiveMode::NonRecursive),
    ] {
        if path.exists() {
            watcher
                .watch(&path, mode)
                .map_err(|e| PreviewError::Watch { path: path.clone(), message: e.to_string() })?;
        }
    }
    {
        // A rebuild's cache files are written on a thread of their own, so that the next save
        // never waits for them (nor for the first build's, which may still be being written).
        let (written_tx, written_rx) = std::sync::mpsc::channel::<()>();
        let writer = kept.clone();
        std::thread::spawn(move || {
            while written_rx.recv().is_ok() {
                writer.write_pending();
            }
        });
        let (project, shared, kept) = (project.clone(), shared.clone(), kept.clone());
        std::thread::spawn(move || {
            while let Ok(first) = events_rx.recv() {
                let mut saved = Saved::default();
                saved.add(&project, first);
                // Editors save in bursts (temp file, rename, chmod, a few ms apart): wait for the burst to end.
                while let Ok(event) = events_rx.recv_timeout(DEBOUNCE) {
                    saved.add(&project, event);
                }
                if saved.relevant {
                    rebuild(&project, &shared, &kept, saved.named());
                    let _ = written_tx.send(());
                }
            }
        });
    }

    let listener =
        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|source| PreviewError::Bind { port, source })?;
    listener.set_nonblocking(true).map_err(PreviewError::Runtime)?;
    let port = listener.local_addr().map_err(PreviewError::Runtime)?.port();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(PreviewError::Runtime)?;
    let url = format!("http://127.0.0.1:{port}/");
    let desk = comments.map(|(clients, by)| Arc::new(comments::Desk::new(project.clone(), port, clients, by)));
    let server = crate::util::http_server::ServerThread::spawn(url.clone(), runtime, move |stop| async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
        let app = axum::Router::new()
            .route("/__preview/events", axum::routing::get(events))
            .route("/__preview/version", axum::routing::get(version))
            .route("/favicon.ico", axum::routing::get(|| async { StatusCode::NO_CONTENT }))
            .fallback(page)
            .with_state(shared);
        let app = match desk {
            Some(desk) => app.merge(comments::routes(desk)),
            None => app,
        };
        // Not a graceful shutdown: open event streams would hold it forever.
        crate::util::http_server::serve(listener, app, async {
            let _ = stop.await;
        })
        .await;
    });
    Ok(PreviewHandle {
        url,
        server: Some(server),
        _watcher: watcher,
        first_writes: std::sync::Mutex::new(Some(first_writes)),
    })
}

async fn version(State(shared): State<Arc<Shared>>) -> Response {
    let site = shared.site.read().unwrap_or_else(|p| p.into_inner());
    axum::Json(serde_json::json!({ "version": site.version, "error": site.error })).into_response()
}

/// Server-sent events: the current version at once, then each new one.
async fn events(State(shared): State<Arc<Shared>>) -> Response {
    let current = shared.site.read().unwrap_or_else(|p| p.into_inner()).version;
    let receiver = shared.reload.subscribe();
    // A page that connects after a rebuild it did not see cannot know what changed: everything.
    let first = futures_util::stream::once(async move {
        let reload = Reload { version: current, changed: None };
        Ok::<_, std::convert::Infallible>(Event::default().data(reload.event_data()))
    });
    let rest = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(reload) => return Some((Ok(Event::default().data(reload.event_data())), receiver)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(futures_util::StreamExt::chain(first, rest)).keep_alive(KeepAlive::default()).into_response()
}

/// The item in each theme under `layouts/themes/`: the configured one as built, the others
/// rendered for this page.
fn in_every_theme(root: &Path, item: &ItemView) -> Vec<(String, Result<String, String>)> {
    let configured = Config::load(root).map(|c| c.site.theme).unwrap_or_default();
    let mut names: Vec<String> = std::fs::read_dir(root.join("layouts/themes"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_string)).collect()
        })
        .unwrap_or_default();
    names.sort();
    let hashes = FileHashes::load(root);
    names
        .into_iter()
        .map(|name| {
            let html = if name == configured {
                Ok(item.content_html.clone())
            } else {
                build::render_in_theme(root, &item.key, &name, &hashes)
                    .map(|html| crate::render::links::preview_page_links(&html))
                    .map_err(|e| format!("{name}: {e}"))
            };
            (name, html)
        })
        .collect()
}

async fn page(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    // The themes side by side render for the request: off the async workers, and without
    // holding the site's lock meanwhile.
    if uri.query().unwrap_or("").contains("mode=themes") && uri.path().ends_with('/') {
        let found = {
            let site = shared.site.read().unwrap_or_else(|p| p.into_inner());
            let key = uri.path().trim_matches('/');
            site.items
                .iter()
                .find(|i| i.key == key)
                .map(|item| (item.clone(), site.version, site.error.clone(), site.root.clone()))
        };
        if let Some((item, version, error, root)) = found {
            let page = tokio::task::spawn_blocking(move || {
                let themes = in_every_theme(&root, &item);
                pages::item_page(&item, version, error.as_deref(), Scheme::Themes, &themes)
            })
            .await;
            return match page {
                Ok(page) => Html(page).into_response(),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            };
        }
    }
    let path = uri.path().trim_start_matches('/');
    let image = {
        let site = shared.site.read().unwrap_or_else(|p| p.into_inner());
        let error = site.error.as_deref();
        if path.is_empty() {
            return Html(pages::index_page(&site.name, &site.items, site.version, error)).into_response();
        }
        let key = path.trim_end_matches('/');
        if let Some(item) = site.items.iter().find(|i| i.key == key) {
            if !path.ends_with('/') {
                // The article's images are relative to its folder.
                return axum::response::Redirect::permanent(&format!("/{key}/")).into_response();
            }
            let scheme = match uri.query().unwrap_or("") {
                q if q.contains("mode=dark") => Scheme::Dark,
                q if q.contains("mode=both") => Scheme::Both,
                q if q.contains("mode=print") => Scheme::Print,
                _ => Scheme::Light,
            };
            return Html(pages::item_page(item, site.version, error, scheme, &[])).into_response();
        }
        // An image of an item (`{key}/images/{file}`): from the image cache, and only one the
        // item's page shows — never any other path.
        path.rsplit_once("/images/").and_then(|(key, file)| {
            let item = site.items.iter().find(|i| i.key == key)?;
            item.image_files
                .iter()
                .any(|f| f == file)
                .then(|| crate::images::cached_file(&crate::images::cache_dir(&site.root), file))
        })
    };
    if let Some(image) = image
        && let Ok(Ok(bytes)) = tokio::task::spawn_blocking({
            let image = image.clone();
            move || std::fs::read(image)
        })
        .await
    {
        // Named by its content, so never different under the same name: a reload need not
        // fetch it again.
        let headers = [
            (header::CONTENT_TYPE, crate::util::fs::media_type_of(&image.to_string_lossy())),
            (header::CACHE_CONTROL, "max-age=31536000, immutable"),
        ];
        return (headers, bytes).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        Html(format!("<p>No item or file at /{}. <a href=\"/\">All items</a></p>", crate::util::html::escape(path))),
    )
        .into_response()
}
