//! The `wxpub` binary: parse arguments, run, print the error chain, set the exit code.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = wxpub::cli::Cli::parse();
    match wxpub::run(cli) {
        Ok(code) => code,
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
