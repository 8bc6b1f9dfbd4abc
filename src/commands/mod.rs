//! One short module per subcommand: a readable sequence of stage calls, and the terminal output.
pub mod archive;
pub mod build;
pub mod check;
pub mod comments;
pub mod doctor;
pub mod import;
pub mod init;
pub mod mcp;
pub mod monitor;
pub mod preview;
pub mod publish;
pub mod relay;
pub mod report;
pub mod sandbox;
pub mod stats;
pub mod status;
pub mod survey;
pub mod sync;

/// Takes the project's write lock for `command`, telling the user when it waits for another
/// run. `Ok(None)`: another run holds it and `wait` is false (the message is printed; exit with
/// [`crate::state::run_lock::EXIT_BUSY`]).
fn lock_project(
    project: &std::path::Path,
    command: &str,
    wait: bool,
) -> anyhow::Result<Option<crate::state::run_lock::RunLock>> {
    let waiting = |holder: &str| eprintln!("waiting: another run is writing this project ({holder})");
    match crate::state::run_lock::acquire(project, command, wait, waiting) {
        Ok(lock) => Ok(Some(lock)),
        Err(busy @ crate::state::run_lock::RunLockError::Busy { .. }) => {
            eprintln!("{busy}");
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}

/// Progress of long steps as a bar on stderr, only when stderr is a terminal (and not --quiet).
pub(crate) struct TerminalProgress {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
    enabled: bool,
}

impl TerminalProgress {
    pub(crate) fn new(wanted: bool) -> TerminalProgress {
        let enabled = wanted && std::io::IsTerminal::is_terminal(&std::io::stderr());
        TerminalProgress { bar: std::sync::Mutex::new(None), enabled }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<indicatif::ProgressBar>)) {
        if self.enabled {
            f(&mut self.bar.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }
}

impl crate::util::progress::Progress for TerminalProgress {
    fn start(&self, what: &str, total: u64) {
        self.with_bar(|slot| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(&format!("{what} {{bar:30}} {{pos}}/{{len}} {{msg}}"))
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            *slot = Some(bar);
        });
    }

    fn advance(&self) {
        self.with_bar(|slot| {
            if let Some(bar) = slot {
                bar.inc(1);
            }
        });
    }

    fn finish(&self) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// Client options for commands: each retry is told on stderr (`WXPUB_QUIET_RETRIES` silences it).
pub(crate) fn client_options() -> crate::wechat::ClientOptions {
    let on_retry: Option<crate::wechat::RetryNotice> = if std::env::var_os("WXPUB_QUIET_RETRIES").is_none() {
        Some(std::sync::Arc::new(|message: &str| eprintln!("{message}")))
    } else {
        None
    };
    crate::wechat::ClientOptions { on_retry, ..Default::default() }
}

/// Makes each account's API client when a long-running server needs it (the preview's
/// comments page, `wxpub mcp`), reading publish.toml again each time: a change to it counts.
pub(crate) fn client_factory(project: &std::path::Path) -> crate::wechat::ClientFactory {
    let project = project.to_path_buf();
    std::sync::Arc::new(move |account: &str| {
        let config =
            crate::config::Config::load(&project).map_err(|e| crate::wechat::WechatError::Config(e.to_string()))?;
        let settings = config.account(account).map_err(|e| crate::wechat::WechatError::Config(e.to_string()))?;
        account_client(account, settings)
    })
}

/// Overrides every account's `relay` when set (as `WXPUB_API_BASE` does `api_base`).
pub const RELAY_ENV: &str = "WXPUB_RELAY";

/// Where an account's calls go: through a relay (`WXPUB_RELAY`, or the account's `relay`), or
/// straight to its API base. An explicit `WXPUB_API_BASE` (a sandbox) wins over the account's
/// `relay`, so that pointing a run at a sandbox never sends it to the live accounts instead.
pub(crate) fn relay_of(settings: &crate::config::Account) -> Option<String> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match set(RELAY_ENV) {
        Some(relay) => Some(relay),
        None if set(crate::wechat::API_BASE_ENV).is_some() => None,
        None => settings.relay.clone(),
    }
}

/// The API client of account `name`: through its relay when it has one (only the relay token
/// is read), otherwise direct with the AppID/AppSecret from the environment.
pub(crate) fn account_client(
    name: &str,
    settings: &crate::config::Account,
) -> Result<crate::wechat::Client, crate::wechat::WechatError> {
    use crate::wechat::{Client, Credentials, Secret, WechatError, resolve_base};
    match relay_of(settings) {
        Some(relay) => {
            let parsed = url::Url::parse(&relay).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            let Some(parsed) = parsed else {
                return Err(WechatError::Config(format!(
                    "the relay address `{relay}` is not an http(s) URL (e.g. https://wxpub-relay.museum.example)"
                )));
            };
            let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if parsed.scheme() == "http" && !loopback {
                eprintln!(
                    "warning: the relay {relay} is plain HTTP: the relay token crosses the network in clear; put the relay behind HTTPS"
                );
            }
            let account = settings.relay_account.as_deref().unwrap_or(name);
            if account.is_empty() || !account.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(WechatError::Config(format!(
                    "account `{name}`: relay_account `{account}` must be a name of the relay's [accounts] (letters, digits, - and _)"
                )));
            }
            let variable = &settings.relay_token_env;
            let token = std::env::var(variable).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                WechatError::Config(format!(
                    "account `{name}` goes through the relay {relay}: environment variable {variable} must hold this runner's relay token"
                ))
            })?;
            // Longer than the relay's own deadline for a call (60 s by default), so that the
            // relay, not the client, decides that WeChat did not answer.
            let options =
                crate::wechat::ClientOptions { timeout: std::time::Duration::from_secs(90), ..client_options() };
            Client::via_relay(&relay, account, Secret::new(token.trim()), options)
        }
        None => {
            let credentials = Credentials::from_env(&settings.appid_env, &settings.secret_env)?;
            Client::new(&resolve_base(&settings.api_base), credentials, client_options())
        }
    }
}
