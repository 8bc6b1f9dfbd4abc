//! One short module per subcommand: a readable sequence of stage calls, and the terminal output.
pub mod archive;
pub mod build;
pub mod check;
pub mod doctor;
pub mod init;
pub mod preview;
pub mod publish;
pub mod report;
pub mod sandbox;
pub mod stats;
pub mod status;
pub mod survey;
pub mod sync;

/// Takes the project's write lock for `command`, telling the user when it waits for another
/// run. `Ok(None)`: another run holds it and `wait` is false (the message is printed; exit with
/// [`crate::project_lock::EXIT_BUSY`]).
fn lock_project(
    project: &std::path::Path,
    command: &str,
    wait: bool,
) -> anyhow::Result<Option<crate::project_lock::ProjectLock>> {
    let waiting = |holder: &str| eprintln!("waiting: another run is writing this project ({holder})");
    match crate::project_lock::acquire(project, command, wait, waiting) {
        Ok(lock) => Ok(Some(lock)),
        Err(busy @ crate::project_lock::ProjectLockError::Busy { .. }) => {
            eprintln!("{busy}");
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}

/// Progress of long steps as a bar on stderr, only when stderr is a terminal (and not --quiet).
pub(crate) struct TerminalProgress {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
    enabled: bool,
}

impl TerminalProgress {
    pub(crate) fn new(wanted: bool) -> TerminalProgress {
        let enabled = wanted && std::io::IsTerminal::is_terminal(&std::io::stderr());
        TerminalProgress { bar: std::sync::Mutex::new(None), enabled }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<indicatif::ProgressBar>)) {
        if self.enabled {
            f(&mut self.bar.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }
}

impl crate::progress::Progress for TerminalProgress {
    fn start(&self, what: &str, total: u64) {
        self.with_bar(|slot| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(&format!("{what} {{bar:30}} {{pos}}/{{len}} {{msg}}"))
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            *slot = Some(bar);
        });
    }

    fn advance(&self) {
        self.with_bar(|slot| {
            if let Some(bar) = slot {
                bar.inc(1);
            }
        });
    }

    fn finish(&self) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// Client options for commands: each retry is told on stderr (`WXPUB_QUIET_RETRIES` silences it).
pub(crate) fn client_options() -> crate::wechat::ClientOptions {
    let on_retry: Option<crate::wechat::RetryNotice> = if std::env::var_os("WXPUB_QUIET_RETRIES").is_none() {
        Some(std::sync::Arc::new(|message: &str| eprintln!("{message}")))
    } else {
        None
    };
    crate::wechat::ClientOptions { on_retry, ..Default::default() }
}
