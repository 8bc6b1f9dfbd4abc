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
