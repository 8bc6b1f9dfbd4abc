//! Content hashes of source files, remembered by their stat data, as git's index does: a file
//! whose size, mtime, ctime and inode are unchanged since it was hashed is not read again.
//!
//! The hashes stay the cache keys everywhere (a fresh CI clone has new mtimes and simply hashes
//! once); the stat data only decides whether a file must be read. A file changed within
//! [`RACY_WINDOW`] of being hashed may share its mtime with the version that was hashed, so such
//! an entry is never trusted: the file is read again until its mtime is safely older.
//!
//! Images' dimensions (read from their headers by `check`) are remembered the same way, so that
//! checking a project of 10,000 photos reads no image that did not change.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the remembered hashes live, under the project.
pub const CACHE_FILE: &str = ".wxpub/cache/file-hashes.json";

/// Timestamps are coarser than the clock (ext4 and overlayfs tick with the kernel's coarse
/// clock, a few ms): an entry hashed less than this after the file's last change could hide a
/// second write in the same tick.
pub const RACY_WINDOW: Duration = Duration::from_millis(100);
/// The same on file systems that keep whole seconds only (FAT has 2 s; a time with no
/// nanoseconds at all is taken as one of those).
pub const RACY_WINDOW_COARSE: Duration = Duration::from_secs(2);

/// A file's stat data: what says, without reading it, that a file is as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    inode: u64,
}

impl Stamp {
    pub fn of(metadata: &std::fs::Metadata) -> Stamp {
        let nanos = |t: std::io::Result<SystemTime>| {
            t.ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i128)
        };
        #[cfg(unix)]
        let (ctime_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            (i128::from(metadata.ctime()) * 1_000_000_000 + i128::from(metadata.ctime_nsec()), metadata.ino())
        };
        #[cfg(not(unix))]
        let (ctime_ns, inode) = (0, 0);
        Stamp { size: metadata.len(), mtime_ns: nanos(metadata.modified()), ctime_ns, inode }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    sha256: String,
    /// When the file was read, in ns since the epoch.
    hashed_at_ns: i128,
}

impl Entry {
    fn trusted_for(&self, stamp: &Stamp) -> bool {
        trusted(&self.stamp, self.hashed_at_ns, stamp)
    }
}

/// Whether what was read from a file with stat data `kept`, at `read_at_ns`, still holds for
/// the file as it is now (`now`): same stat data, and read safely after its last change.
pub fn trusted(kept: &Stamp, read_at_ns: i128, now: &Stamp) -> bool {
    let changed = now.mtime_ns.max(now.ctime_ns);
    let window = if changed % 1_000_000_000 == 0 { RACY_WINDOW_COARSE } else { RACY_WINDOW };
    kept == now && changed + (window.as_nanos() as i128) < read_at_ns
}

/// An image's dimensions as its header gives them (`None`: no readable header).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    stamp: Stamp,
    dimensions: Option<(u32, u32)>,
    read_at_ns: i128,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    files: HashMap<PathBuf, Entry>,
    #[serde(default)]
    headers: HashMap<PathBuf, Header>,
}

const STORED_VERSION: u32 = 1;

/// The remembered hashes of one project; shared by the threads of a build.
#[derive(Debug, Default)]
pub struct FileHashes {
    file: Option<PathBuf>,
    entries: Mutex<HashMap<PathBuf, Entry>>,
    headers: Mutex<HashMap<PathBuf, Header>>,
    /// Files read and hashed in this run (0 for an unchanged project with a warm cache).
    read: AtomicUsize,
    changed: std::sync::atomic::AtomicBool,
}

impl FileHashes {
    /// Loads the project's remembered hashes. A missing, unreadable or outdated file is an empty
    /// cache: everything is hashed once, and nothing can be wrong because of it.
    pub fn load(project: &Path) -> FileHashes {
        let file = project.join(CACHE_FILE);
        let stored: Stored = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|s: &Stored| s.version == STORED_VERSION)
            .unwrap_or_default();
        FileHashes {
            file: Some(file),
            entries: Mutex::new(stored.files),
            headers: Mutex::new(stored.headers),
            ..FileHashes::default()
        }
    }

    /// Hashes kept for this process only (tests, one-off runs).
    pub fn in_memory() -> FileHashes {
        FileHashes::default()
    }

    /// The sha256 of the file at `path` (hex), read only when its stat data changed.
    pub fn sha256(&self, path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<String> {
        let stamp = Stamp::of(metadata);
        if let Some(entry) = self.lock().get(path)
            && entry.trusted_for(&stamp)
        {
            return Ok(entry.sha256.clone());
        }
        let hashed_at_ns = now_ns();
        let sha256 = sha256_of_file(path)?;
        // Stat again: a file written while it was read must not be remembered as this hash.
        let after = Stamp::of(&std::fs::metadata(path)?);
        self.read.fetch_add(1, Ordering::Relaxed);
        if after == stamp {
            self.lock().insert(path.to_path_buf(), Entry { stamp, sha256: sha256.clone(), hashed_at_ns });
            self.changed.store(true, Ordering::Relaxed);
        }
        Ok(sha256)
    }

    /// The dimensions of the image at `path` as `read_header` gives them, read only when its
    /// stat data changed since they were last read.
    pub fn dimensions(
        &self,
        path: &Path,
        metadata: &std::fs::Metadata,
        read_header: impl FnOnce(&Path) -> Option<(u32, u32)>,
    ) -> Option<(u32, u32)> {
        let stamp = Stamp::of(metadata);
        let headers = || self.headers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(header) = headers().get(path)
            && trusted(&header.stamp, header.read_at_ns, &stamp)
        {
            return header.dimensions;
        }
        let read_at_ns = now_ns();
        let dimensions = read_header(path);
        // As for hashes: a file written while its header was read is not remembered.
        if std::fs::metadata(path).is_ok_and(|after| Stamp::of(&after) == stamp) {
            headers().insert(path.to_path_buf(), Header { stamp, dimensions, read_at_ns });
            self.changed.store(true, Ordering::Relaxed);
        }
        dimensions
    }

    /// How many files were read and hashed since this was loaded.
    pub fn files_read(&self) -> usize {
        self.read.load(Ordering::Relaxed)
    }

    /// Writes the remembered hashes back when something was hashed, dropping files that no
    /// longer exist. Atomic (temporary file, then rename); concurrent runs simply last-write-win,
    /// which is safe for a cache.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        if !self.changed.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let stored = {
            let mut entries = self.lock();
            entries.retain(|path, _| path.exists());
            let mut headers = self.headers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            headers.retain(|path, _| entries.contains_key(path) || path.exists());
            Stored { version: STORED_VERSION, files: entries.clone(), headers: headers.clone() }
        };
        let json = serde_json::to_vec(&stored).map_err(std::io::Error::other)?;
        crate::util::fs::write_atomic(file, &json)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The time now, in ns since the epoch (as [`Stamp`]s and read times are kept).
pub fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// The sha256 of a file's bytes, read in blocks (sources can be hundreds of MB).
fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_file_is_read_once_and_a_changed_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jpg");
        std::fs::write(&path, b"one").unwrap();
        let old = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(RACY_WINDOW + Duration::from_millis(100));
        let hashes = FileHashes::load(dir.path());
        let first = hashes.sha256(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        let second = hashes.sha256(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        assert_eq!((first.as_str(), hashes.files_read()), (second.as_str(), 1));
        hashes.save().unwrap();

        let reloaded = FileHashes::load(dir.path());
        assert_eq!(reloaded.sha256(&path, &std::fs::metadata(&path).unwrap()).unwrap(), first);
        assert_eq!(reloaded.files_read(), 0, "remembered across runs");

        // Same size, same mtime, other bytes: the ctime and the racy rule still catch it.
        std::fs::write(&path, b"two").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        let changed = reloaded.sha256(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        assert_ne!(changed, first);
        assert_eq!(changed, hex::encode(Sha256::digest(b"two")));
    }

    #[test]
    fn a_file_hashed_right_after_it_was_written_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, b"fresh").unwrap();
        let hashes = FileHashes::in_memory();
        hashes.sha256(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        hashes.sha256(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        assert_eq!(hashes.files_read(), 2, "an mtime inside the racy window is not trusted");
    }
}
