//! `wxpub preview`: the live phone preview server, in the foreground.
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

pub fn run(project: &Path, port: u16, open: bool) -> Result<ExitCode> {
    eprintln!("building the preview…");
    let handle = crate::preview::spawn(project, port)?;
    println!("preview at {}  (rebuilds on every save; Ctrl-C stops)", handle.url);
    if open {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        if std::process::Command::new(opener).arg(&handle.url).spawn().is_err() {
            eprintln!("could not start `{opener}`; open {} yourself", handle.url);
        }
    }
    handle.wait();
    Ok(ExitCode::SUCCESS)
}
