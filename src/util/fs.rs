//! File writing shared by every stage that keeps state on disk.
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` through a temporary file beside it and a rename, creating the parent
/// folder: a crash leaves the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // Unique per process and per call: the threads of one build may write into one folder.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp =
        path.with_file_name(format!(".{name}.tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Cache files whose writing may wait until the answer is out. A process that answers first and
/// writes after (the preview, whose first start at three years' scale would otherwise spend
/// half its time creating 2,800 cache files) holds them here until [`LaterWrites::write_pending`];
/// any other process writes each at once. A cache entry validates itself when read, so the
/// order in which pending writes land does not matter.
#[derive(Default)]
pub struct LaterWrites {
    defer: bool,
    pending: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl LaterWrites {
    /// Writes held until [`LaterWrites::write_pending`].
    pub fn deferred() -> LaterWrites {
        LaterWrites { defer: true, ..LaterWrites::default() }
    }

    /// Runs `write` now, or keeps it for later.
    pub fn now_or_later(&self, write: impl FnOnce() + Send + 'static) {
        if self.defer {
            self.pending.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(write));
        } else {
            write();
        }
    }

    /// Runs every write held so far, in the order they came.
    pub fn write_pending(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for write in pending {
            write();
        }
    }
}

/// The media type of a file by its name's extension (any case): the one table for uploads to
/// WeChat, the sandbox's stored files, the preview's images and the archive's thumbnails.
pub fn media_type_of(file_name: &str) -> &'static str {
    let extension = file_name.rsplit_once('.').map_or("", |(_, ext)| ext).to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}
