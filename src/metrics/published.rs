//! What a project published, as the statistics count it: publish.lock's publications, and the
//! archive's imported ones. `wxpub report`, `wxpub comments` and `wxpub mcp`'s `report` record
//! them in the store first, so that the articles reports find their items.
use std::path::Path;

use super::annual;
use super::store::{Publication, Store, StoreError};
use crate::config::Config;
use crate::state::ledger::{Ledger, LockError};

#[derive(Debug, thiserror::Error)]
pub enum PublishedError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A project's publications, and what could not be counted (a damaged archive year).
#[derive(Debug, Default)]
pub struct Published {
    pub publications: Vec<Publication>,
    pub warnings: Vec<String>,
}

/// Publications in publish.lock that the store does not have yet (a lock older than the
/// database, or a database lost), or has without their statistics key: recorded now, so the
/// annual report counts them and the articles reports find their items. Returns how many were
/// recorded, and the warnings of [`of_project`].
pub fn record(project: &Path, config: &Config, store: &mut Store) -> Result<(usize, Vec<String>), PublishedError> {
    let published = of_project(project, config)?;
    Ok((store.record_publications(&published.publications)?, published.warnings))
}

/// What a project published: publish.lock's publications, and the archive's imported ones
/// unless publish.lock has the same article (imported by an older wxpub, or before its lock
/// entry was restored): counted once, as wxpub's own.
pub fn of_project(project: &Path, config: &Config) -> Result<Published, LockError> {
    let mut published = Published::default();
    if Ledger::path(project).exists() {
        let lock = Ledger::load(project)?;
        let items = crate::content::load_items(project).unwrap_or_default();
        published.publications = annual::publications_from_lock(&lock, &items, &config.metrics.live_tag);
    }
    let known: std::collections::BTreeSet<(String, String)> = published
        .publications
        .iter()
        .flat_map(|p| [p.msgid.clone(), p.url.clone()].into_iter().flatten().map(|k| (p.account.clone(), k)))
        .collect();
    let archive_dir = project.join(&config.archive.dir);
    for year in crate::archive::years(&archive_dir) {
        // A damaged year is `archive verify`'s to report; the statistics go on without it.
        match crate::archive::entries(&archive_dir, &year) {
            Ok(entries) => {
                published.publications.extend(annual::publications_from_archive(&entries).into_iter().filter(|p| {
                    ![p.msgid.clone(), p.url.clone()]
                        .into_iter()
                        .flatten()
                        .any(|k| known.contains(&(p.account.clone(), k)))
                }))
            }
            Err(err) => published
                .warnings
                .push(format!("{err}; its imported publications are not counted (run `wxpub archive verify`)")),
        }
    }
    Ok(published)
}
