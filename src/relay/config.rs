//! The relay's own configuration file (`relay.toml`): where it listens, where WeChat is, the
//! accounts (their secrets named by environment variable, never written here) and the tokens
//! clients present (each from an environment variable, or only its SHA-256).
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{AccessLog, Grant, RelayOptions, Scope};
use crate::wechat::{ClientOptions, Credentials, RetryPolicy};

/// Calls a minute a token may make unless its entry says otherwise: a publish run of a big
/// push makes a few hundred.
pub const DEFAULT_PER_MINUTE: u32 = 600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_wechat_base")]
    pub wechat_base: String,
    /// Serve HTTPS with this PEM certificate chain and key (both or neither).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Timeout of each call to WeChat, and of a client's body, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    pub accounts: BTreeMap<String, RelayAccount>,
    pub tokens: BTreeMap<String, RelayToken>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayAccount {
    pub appid_env: String,
    pub secret_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayToken {
    /// The environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Or only the token's SHA-256, in hex (`wxpub relay --hash-token` prints it).
    #[serde(default)]
    pub sha256: Option<String>,
    /// The accounts (keys of [accounts]) this token may use.
    pub accounts: Vec<String>,
    /// What the token may do there. Required: a token without it is refused at load, never
    /// taken to mean "everything".
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
    #[serde(default)]
    pub per_minute: Option<u32>,
}

/// How to write `scopes`, for the refusal of a token without them.
fn scopes_advice() -> String {
    let every: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
    format!(
        "list what the token may do, e.g. scopes = [\"read\", \"draft\", \"publish\"] for a runner that publishes \
         (every scope: {}; the operators' guide maps each endpoint to its scope)",
        every.join(", ")
    )
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8971))
}

fn default_wechat_base() -> String {
    "https://api.weixin.qq.com".into()
}

fn default_timeout() -> u64 {
    60
}

#[derive(Debug, thiserror::Error)]
pub enum RelayConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl RelayConfig {
    pub fn load(path: &Path) -> Result<RelayConfig, RelayConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| RelayConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text)
            .map_err(|e| RelayConfigError::Invalid { path: path.to_path_buf(), message: e.to_string() })
    }

    /// Reads the secrets and files the configuration names, and checks that it holds together.
    pub fn resolve(&self, path: &Path, log: AccessLog) -> Result<RelayOptions, RelayConfigError> {
        let invalid = |message: String| RelayConfigError::Invalid { path: path.to_path_buf(), message };
        if self.accounts.is_empty() {
            return Err(invalid("no [accounts.NAME]: name at least one account the relay serves".into()));
        }
        if self.tokens.is_empty() {
            return Err(invalid("no [tokens.NAME]: without a token no client can use the relay".into()));
        }
        let mut accounts = BTreeMap::new();
        for (name, account) in &self.accounts {
            let credentials = Credentials::from_env(&account.appid_env, &account.secret_env)
                .map_err(|e| invalid(format!("accounts.{name}: {e}")))?;
            accounts.insert(name.clone(), credentials);
        }
        let mut grants = Vec::new();
        for (name, token) in &self.tokens {
            let digest = match (&token.token_env, &token.sha256) {
                (Some(variable), None) => {
                    let value = std::env::var(variable).ok().filter(|v| v.trim().len() >= 16).ok_or_else(|| {
                        invalid(format!(
                            "tokens.{name}: environment variable {variable} must hold the token (16 characters or more)"
                        ))
                    })?;
                    super::token_sha256(value.trim())
                }
                (None, Some(hex_digest)) => {
                    let bytes = hex::decode(hex_digest.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
                    bytes.ok_or_else(|| {
                        invalid(format!(
                            "tokens.{name}.sha256 is not 64 hex digits (`wxpub relay --hash-token` prints it)"
                        ))
                    })?
                }
                _ => return Err(invalid(format!("tokens.{name}: give exactly one of token_env and sha256"))),
            };
            if let Some(unknown) = token.accounts.iter().find(|a| !self.accounts.contains_key(*a)) {
                return Err(invalid(format!("tokens.{name}.accounts names `{unknown}`, which is not in [accounts]")));
            }
            let scopes = match &token.scopes {
                Some(scopes) if !scopes.is_empty() => scopes.iter().copied().collect(),
                Some(_) => return Err(invalid(format!("tokens.{name}.scopes is empty: {}", scopes_advice()))),
                None => return Err(invalid(format!("tokens.{name} has no `scopes`: {}", scopes_advice()))),
            };
            if grants.iter().any(|g: &Grant| g.token_sha256 == digest) {
                return Err(invalid(format!("tokens.{name} is the same token as another entry")));
            }
            grants.push(Grant {
                name: name.clone(),
                token_sha256: digest,
                accounts: token.accounts.clone(),
                scopes,
                per_minute: token.per_minute.unwrap_or(DEFAULT_PER_MINUTE).max(1),
            });
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                let read = |file: &PathBuf| {
                    std::fs::read(file).map_err(|e| invalid(format!("cannot read {}: {e}", file.display())))
                };
                Some((read(cert)?, read(key)?))
            }
            _ => return Err(invalid("give both tls_cert and tls_key, or neither (plain HTTP behind a proxy)".into())),
        };
        let timeout = Duration::from_secs(self.timeout_secs.max(1));
        Ok(RelayOptions {
            listen: self.listen,
            wechat_base: self.wechat_base.trim_end_matches('/').to_string(),
            accounts,
            grants,
            tls,
            body_timeout: timeout,
            client: ClientOptions {
                stable_token: true,
                // Token fetches are retried; forwarded calls never are (see `Client::forward`).
                retry: RetryPolicy { max_attempts: 3, ..RetryPolicy::default() },
                timeout,
                on_retry: None,
            },
            log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relay.toml the operators' guide tells museums to copy loads, and scopes every token.
    #[test]
    fn the_documented_relay_toml_loads_with_scopes() {
        let config: RelayConfig = toml::from_str(include_str!("../../docs/ci/relay.toml")).expect("docs/ci/relay.toml");
        assert!(!config.tokens.is_empty());
        for (name, token) in &config.tokens {
            assert!(token.scopes.as_ref().is_some_and(|s| !s.is_empty()), "tokens.{name}");
        }
    }
}
