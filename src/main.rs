//! The `wxpub` binary: parse arguments, run, print the error chain, set the exit code.
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

/// Whether the running command only reads (check, status, report…): then a closed stdout means
/// the reader has what it wanted, as in `wxpub check | head -1`, and that is success. A command
/// that writes to WeChat or the project and loses its stdout stops short: that is not success.
static READ_ONLY: AtomicBool = AtomicBool::new(false);

fn closed_pipe_exit() -> i32 {
    if READ_ONLY.load(Ordering::Relaxed) { 0 } else { 1 }
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = wxpub::cli::Cli::parse();
    READ_ONLY.store(cli.command.is_read_only(), Ordering::Relaxed);
    match wxpub::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::from(closed_pipe_exit() as u8),
        Err(err) => {
            // Every message goes through redaction: a secret must never reach a terminal or a CI log.
            let mut text = format!("error: {err}");
            for cause in err.chain().skip(1) {
                text.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{}", wxpub::util::redact::redact(&text));
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
/// (`wxpub status | head -1`): end quietly instead of with a panic message and 101 — with
/// success for a command that only reads.
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
            if closed_pipe_exit() != 0 {
                eprintln!("wxpub: its output was closed, so it stopped; what it did is recorded — run it again");
            }
            std::process::exit(closed_pipe_exit());
        }
        default(info);
    }));
}
