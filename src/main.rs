//! The `wxpub` binary: parse arguments, run, print the error chain, set the exit code.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = wxpub::cli::Cli::parse();
    match wxpub::run(cli) {
        Ok(code) => code,
        // `wxpub check | head -1`: the reader has what it wanted; that is success, as in ripgrep.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Every message goes through redaction: a secret must never reach a terminal or a CI log.
            let mut text = format!("error: {err}");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{}", wxpub::redact::redact(&text));
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `println!` (and clap_complete's writer) panic when stdout is a pipe whose reader has gone
/// (`wxpub status | head -1`). That is not a failure of wxpub: end quietly with success instead
/// of a panic message and 101.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") || message.contains("BrokenPipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
