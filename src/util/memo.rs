//! The memo the render cache and the check cache share: entries kept in memory for a process
//! that computes again (the preview), and files under a cache folder for the next process.
//! What makes an entry valid, and what its file holds, are the user's to say (see
//! `build::memo` and `check`).
use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::util::fs::LaterWrites;

pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, V>>,
    /// The cache folder, when entries are also kept on disk.
    dir: Option<PathBuf>,
    /// Whether entries are also kept in memory (a process that computes again: the preview).
    in_process: bool,
    /// The entries' files, written at once or, for the preview, after it answers.
    writes: LaterWrites,
}

impl<K, V> Default for Memo<K, V> {
    /// Kept in memory only.
    fn default() -> Self {
        Memo { entries: Mutex::new(HashMap::new()), dir: None, in_process: true, writes: LaterWrites::default() }
    }
}

impl<K: Eq + Hash, V> Memo<K, V> {
    /// Kept under `dir`, for a command that computes once (nothing is kept in memory).
    pub fn on_disk(dir: PathBuf) -> Self {
        Memo { dir: Some(dir), in_process: false, ..Memo::default() }
    }

    /// Kept in memory, and under `dir` once [`Memo::write_pending`] is called: for a process
    /// that computes again and again, and answers before it writes (the preview).
    pub fn on_disk_later_and_in_process(dir: PathBuf) -> Self {
        Memo { dir: Some(dir), writes: LaterWrites::deferred(), ..Memo::default() }
    }

    /// The cache folder, when entries are kept on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// What `look` makes of the entry kept in memory for `key`; the memo is not held after.
    pub fn in_memory<R>(&self, key: &K, look: impl FnOnce(&V) -> Option<R>) -> Option<R> {
        self.lock().get(key).and_then(look)
    }

    /// Keeps the value `make` gives in memory, when this memo keeps anything there (and makes
    /// nothing otherwise).
    pub fn remember(&self, key: K, make: impl FnOnce() -> V) {
        if self.in_process {
            let value = make();
            self.lock().insert(key, value);
        }
    }

    /// Writes the file `make` gives (None: nothing to write) now, or after the answer for a
    /// memo that writes later. A cache file that cannot be written only costs the next process
    /// the work again.
    pub fn write_file(&self, path: PathBuf, make: impl FnOnce() -> Option<Vec<u8>> + Send + 'static) {
        self.writes.now_or_later(move || {
            if let Some(bytes) = make() {
                let _ = crate::util::fs::write_atomic(&path, &bytes);
            }
        });
    }

    /// Writes the files kept since the last call.
    pub fn write_pending(&self) {
        self.writes.write_pending();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
