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
        // A line that cannot be encoded is still a call that happened: say so rather than drop it.
        match serde_json::to_string(line) {
            Ok(json) => println!("{json}"),
            Err(err) => eprintln!("relay: cannot write an access-log line: {err}"),
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
    Ok(ExitCode::SUCCESS)
}
