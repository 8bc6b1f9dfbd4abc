//! `wxpub relay`: run the relay in the foreground, its access log on stdout.
use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::RelayArgs;
use crate::relay::{self, AccessLogLine, RelayConfig};

pub fn run(args: RelayArgs) -> Result<ExitCode> {
    if args.hash_token {
        let mut token = String::new();
        std::io::stdin().read_to_string(&mut token).context("cannot read the token from standard input")?;
        let token = token.trim();
        if token.len() < 16 {
            bail!("a relay token should be 16 characters or more (e.g. `openssl rand -hex 32`)");
        }
        println!("{}", hex::encode(relay::token_sha256(token)));
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = RelayConfig::load(&args.config)
        .with_context(|| "the relay's configuration (see docs/operators-guide.md, \"A relay for hosted CI\")")?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(base) = args.wechat_base {
        config.wechat_base = base;
    }
    let log: relay::AccessLog = std::sync::Arc::new(|line: &AccessLogLine| {
        use std::io::Write;
        // A line that cannot be encoded or written is still a call that happened: said on
        // stderr, and the relay goes on (a full disk or a closed pipe must not stop it mid-call).
        let written = serde_json::to_string(line)
            .map_err(|e| e.to_string())
            .and_then(|json| writeln!(std::io::stdout().lock(), "{json}").map_err(|e| e.to_string()));
        if let Err(err) = written {
            let _ = writeln!(std::io::stderr(), "relay: cannot write an access-log line: {err}");
        }
    });
    let options = config.resolve(&args.config, log)?;
    let accounts: Vec<String> = options.accounts.keys().cloned().collect();
    let tokens = options.grants.len();
    let handle = relay::start(options)?;
    eprintln!(
        "wxpub relay on {} → {} for {} ({tokens} token(s)); GET {}/healthz; Ctrl-C stops it",
        handle.base_url,
        config.wechat_base,
        accounts.join(", "),
        handle.base_url
    );
    handle.wait();
    // The server only stops on its own when something went wrong: a non-zero exit, so that
    // systemd's Restart= brings it back.
    eprintln!("wxpub relay: the server stopped unexpectedly");
    Ok(ExitCode::from(1))
}
