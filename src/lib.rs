//! wxpub: build → check → publish → measure a museum's WeChat Official Account content.
//!
//! Each pipeline stage is a module with a small public surface; only `commands` wires them
//! together and touches the terminal.
pub mod archive;
pub mod audience;
pub mod build;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod content;
pub mod images;
pub mod import;
pub mod mcp;
pub mod metrics;
pub mod monitor;
pub mod preview;
pub mod project;
pub mod publish;
pub mod relay;
pub mod render;
pub mod sandbox;
pub mod state;
pub mod util;
pub mod wechat;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Runs one CLI invocation. Errors carry context for the user; `main` prints them redacted.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(text) = &cli.now {
        // A local time is read in the site's time zone; without a readable publish.toml, in
        // WeChat's own (Beijing time).
        let tz = config::Config::load(&cli.project).map_or(chrono_tz::Asia::Shanghai, |c| c.timezone());
        let moment = util::clock::parse(text, tz).ok_or_else(|| {
            anyhow::anyhow!(
                "--now / WXPUB_NOW `{text}` is not a moment: write `YYYY-MM-DD HH:MM` (site time zone) \
                 or RFC 3339 such as 2026-12-01T08:00:00+08:00"
            )
        })?;
        util::clock::pin(moment);
    }
    match cli.command {
        Command::Build { out, drafts } => commands::build::run(&cli.project, out, drafts, cli.quiet),
        Command::Status { json } => commands::status::run(&cli.project, json),
        Command::Sync { account, check } => commands::sync::run(&cli.project, account.as_deref(), check),
        Command::Sandbox(args) => commands::sandbox::run(&cli.project, args),
        Command::Relay(args) => commands::relay::run(args),
        Command::Doctor { account, probe, report, yes, preview_to } => commands::doctor::run(
            &cli.project,
            account.as_deref(),
            probe,
            report.as_deref(),
            yes,
            preview_to.as_deref(),
        ),
        Command::Check(args) => commands::check::run(&cli.project, args),
        Command::Publish(args) => commands::publish::run(&cli.project, args, cli.quiet),
        Command::SendPreview(args) => commands::publish::send_preview(&cli.project, args),
        Command::Stats(cli::StatsCommand::Pull(args)) => commands::stats::pull(&cli.project, args, cli.quiet),
        Command::Report(args) => commands::report::run(&cli.project, args),
        Command::Preview { port, open } => commands::preview::run(&cli.project, port, open),
        Command::Init { dir, name } => commands::init::init(&dir, &name),
        Command::New { kind, title, date, account } => {
            commands::init::new_item(&cli.project, &kind, &title, date, account.as_deref())
                .map(|_| std::process::ExitCode::SUCCESS)
        }
        Command::Archive(command) => commands::archive::run(&cli.project, command),
        Command::Import(command) => commands::import::run(&cli.project, command),
        Command::Survey(command) => commands::survey::run(&cli.project, command),
        Command::Mcp => commands::mcp::run(&cli.project),
        Command::Comments(args) => commands::comments::run(&cli.project, args, cli.quiet),
        Command::Monitor(command) => commands::monitor::run(&cli.project, command, cli.quiet),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "wxpub", &mut std::io::stdout());
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
