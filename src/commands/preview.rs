//! `wxpub preview`: the live phone preview server, in the foreground.
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

pub fn run(project: &Path, port: u16, open: bool) -> Result<ExitCode> {
    eprintln!("building the preview…");
    // The comments page answers through each account's client, made when it is needed.
    let clients = super::client_factory(project);
    let by = crate::audience::who_acts(project);
    let handle = crate::preview::spawn_with_comments(project, port, Some((clients, by)))?;
    println!("preview at {}  (rebuilds on every save; Ctrl-C stops)", handle.url);
    println!("readers' comments to answer at {}__comments", handle.url);
    if open {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        if std::process::Command::new(opener).arg(&handle.url).spawn().is_err() {
            eprintln!("could not start `{opener}`; open {} yourself", handle.url);
        }
    }
    handle.wait();
    Ok(ExitCode::SUCCESS)
}
