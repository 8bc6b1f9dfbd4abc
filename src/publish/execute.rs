//! Runs a plan against WeChat, recording each write in publish.lock before the next one starts:
//! every upload the run needs (in parallel), then each push's steps (`push.rs`), then the
//! submissions settled together at WeChat's pace (`settle.rs`).
use std::collections::BTreeMap;

use super::push;
use super::server_view::ServerView;
use super::settle;
use super::uploads::{adopt_server_materials, needed_uploads, upload_all};
use super::{ExecuteOptions, Push, PushOutcome, StepError};
use crate::build::Manifest;
use crate::config::Config;
use crate::state::ledger::Ledger;
use crate::wechat::Client;

/// Executes every push in order; a failed push does not stop the others.
pub fn execute(
    pushes: &[Push],
    manifest: &Manifest,
    config: &Config,
    lock: &mut Ledger,
    clients: &BTreeMap<String, Client>,
    options: &ExecuteOptions<'_>,
) -> Vec<PushOutcome> {
    let needed = needed_uploads(pushes, manifest, options.dist_dir);
    let mut uploaded = adopt_server_materials(&needed, lock, clients, options);
    uploaded.extend(upload_all(&needed, lock, clients, options));
    let mut first_push_of_account = std::collections::BTreeSet::new();
    let mut servers: BTreeMap<String, ServerView> = BTreeMap::new();
    let outcomes = pushes
        .iter()
        .map(|push| {
            let mut outcome = PushOutcome {
                account: push.account.clone(),
                slot: push.slot.clone(),
                items: push.items.clone(),
                done: Vec::new(),
                error: None,
                article_urls: Vec::new(),
                waiting_for: Vec::new(),
                warnings: Vec::new(),
                in_progress: None,
                waiting_for_video: false,
            };
            // The parallel uploads are reported with the account's first push.
            if first_push_of_account.insert(push.account.clone()) {
                outcome.done.extend(uploaded.iter().filter(|(a, _)| *a == push.account).map(|(_, step)| step.clone()));
            }
            let result = match clients.get(&push.account) {
                Some(client) => {
                    let server = servers.entry(push.account.clone()).or_insert_with(ServerView::new);
                    push::run_push(push, manifest, config, lock, client, server, options, &mut outcome).map_err(|err| {
                        // A quota that ran out is not asked again in this run.
                        match err {
                            StepError::Wechat(e) if e.code() == Some(45009) => {
                                let endpoint = e.endpoint().unwrap_or("the API").to_string();
                                server.quota_spent.insert(endpoint.clone());
                                StepError::Quota(endpoint)
                            }
                            other => other,
                        }
                    })
                }
                None => Err(StepError::Other(format!("no client for account {}", push.account))),
            };
            if let Err(err) = result {
                outcome.error = Some(err.into());
            }
            outcome
        })
        .collect::<Vec<_>>();
    // Every push is submitted; now settle them together, at WeChat's pace.
    let mut outcomes = outcomes;
    settle::settle(lock, clients, &mut outcomes, options.pace, options.status_budget, options.project);
    outcomes
}
