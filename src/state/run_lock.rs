//! One writer at a time: an exclusive OS lock on the project, held by every command that writes
//! publish.lock, the archive or the metrics database.
//!
//! Two `wxpub publish --due` started together (a scheduled CI run overlapping a manual one) each
//! read publish.lock, each found the same pushes undone, and each published them. The lock is
//! taken before anything is read, so the second run starts only after the first has finished and
//! then sees what it did. It is an OS lock on `.wxpub/run.lock` (std's `File::lock`: `flock` on
//! Unix, `LockFileEx` on Windows): a crashed or killed run releases it with its process, so there
//! is never a stale lock to clear by hand — the same idea as Terraform's state lock, without the
//! lease.
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The exit code of a command that did not wait for another run's lock (`--no-wait`).
pub const EXIT_BUSY: u8 = 3;

/// Held for as long as the command runs; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum RunLockError {
    #[error("cannot open the project lock {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error(
        "another wxpub run is writing this project ({holder}); not waiting (--no-wait) — run again when it has finished"
    )]
    Busy { holder: String },
}

/// Takes the project's lock for `command`. When another run holds it: with `wait`, calls
/// `waiting` with a description of that run and blocks until it ends; without, returns `Busy`.
pub fn acquire(project: &Path, command: &str, wait: bool, waiting: impl FnOnce(&str)) -> Result<RunLock, RunLockError> {
    let dir = project.join(".wxpub");
    let path = dir.join("run.lock");
    let open_error = |source| RunLockError::Open { path: path.clone(), source };
    std::fs::create_dir_all(&dir).map_err(open_error)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(open_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = describe_holder(&mut file);
            if !wait {
                return Err(RunLockError::Busy { holder });
            }
            waiting(&holder);
            file.lock().map_err(open_error)?;
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(open_error(source)),
    }
    // Who holds it, for the message a waiting run prints. Best effort: the lock is the OS lock.
    let _ = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| {
        write!(
            file,
            "wxpub {command}, pid {}, since {}",
            std::process::id(),
            crate::util::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    });
    Ok(RunLock { _file: file })
}

fn describe_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() { "a run that has just started".into() } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_or_waits_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "publish", false, |_| {}).unwrap();
        let refused = acquire(dir.path(), "publish", false, |_| {}).unwrap_err();
        assert!(refused.to_string().contains("wxpub publish, pid"), "{refused}");
        let waiter = {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut told = String::new();
                let lock = acquire(&dir, "sync", true, |holder| told = holder.to_string());
                (lock.is_ok(), told)
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
        let (got, told) = waiter.join().unwrap();
        assert!(got && told.contains("wxpub publish"), "{told}");
    }
}
