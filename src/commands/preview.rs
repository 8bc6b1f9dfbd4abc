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
    if open && let Err(opener) = open_in_browser(&handle.url) {
        eprintln!("could not start `{opener}`; open {} yourself", handle.url);
    }
    handle.wait();
    Ok(ExitCode::SUCCESS)
}

/// Opens `url` in the default browser, the platform's way; Err: the opener that could not start.
fn open_in_browser(url: &str) -> Result<(), &'static str> {
    // On Windows `start` is a built-in of cmd, and its first quoted argument is a window title.
    let (opener, program, first_args): (_, _, &[&str]) = if cfg!(windows) {
        ("start", "cmd", &["/C", "start", ""])
    } else if cfg!(target_os = "macos") {
        ("open", "open", &[])
    } else {
        ("xdg-open", "xdg-open", &[])
    };
    std::process::Command::new(program).args(first_args).arg(url).spawn().map(drop).map_err(|_| opener)
}
