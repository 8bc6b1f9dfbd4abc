//! The record of API calls per account and Beijing day (`.wxpub/api-usage.json`, git-ignored):
//! so that a run that hits a daily quota can say how much of it wxpub used today, and `wxpub
//! doctor` can show today's use. WeChat offers no way to read the counters, so this is what
//! this project's runs sent; calls from other tools are not in it.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const USAGE_FILE: &str = ".wxpub/api-usage.json";

/// Days kept in the record.
const DAYS_KEPT: u64 = 7;

/// account → day (`YYYY-MM-DD`, Beijing) → endpoint path → calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiUsage {
    pub accounts: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("cannot read {path}: {message} (delete it: it only records API calls)")]
    Read { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

impl ApiUsage {
    pub fn load(project: &Path) -> Result<ApiUsage, UsageError> {
        let path = project.join(USAGE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| UsageError::Read { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ApiUsage::default()),
            Err(e) => Err(UsageError::Read { path, message: e.to_string() }),
        }
    }

    /// Adds `calls` to `account`'s count for `day`, and forgets days older than a week.
    pub fn add(&mut self, account: &str, day: chrono::NaiveDate, calls: &BTreeMap<String, u64>) {
        let days = self.accounts.entry(account.to_string()).or_default();
        let today = days.entry(day.to_string()).or_default();
        for (endpoint, n) in calls {
            *today.entry(endpoint.clone()).or_default() += n;
        }
        let oldest = (day - chrono::Days::new(DAYS_KEPT)).to_string();
        days.retain(|d, _| *d > oldest);
    }

    /// `account`'s recorded calls on `day`.
    pub fn on(&self, account: &str, day: chrono::NaiveDate) -> BTreeMap<String, u64> {
        self.accounts.get(account).and_then(|days| days.get(&day.to_string())).cloned().unwrap_or_default()
    }

    /// Writes the record through a temporary file and a rename.
    pub fn save(&self, project: &Path) -> Result<(), UsageError> {
        let path = project.join(USAGE_FILE);
        let error = |e: &dyn std::fmt::Display| UsageError::Write { path: path.clone(), message: e.to_string() };
        let text = serde_json::to_string_pretty(self).map_err(|e| error(&e))?;
        crate::util::fs::write_atomic(&path, text.as_bytes()).map_err(|e| error(&e))
    }
}

/// Adds the calls each client made to the record for `day` (the Beijing day of the quotas) and
/// saves it. Returns the record as saved (for what the caller reports) and what could not be
/// read or written, as notes: a lost count never stops the command that made the calls.
pub fn record<'c>(
    project: &Path,
    day: chrono::NaiveDate,
    clients: impl IntoIterator<Item = (&'c String, &'c crate::wechat::Client)>,
) -> (ApiUsage, Vec<String>) {
    let mut notes = Vec::new();
    let mut usage = ApiUsage::load(project).unwrap_or_else(|e| {
        notes.push(e.to_string());
        ApiUsage::default()
    });
    for (account, client) in clients {
        usage.add(account, day, &client.usage());
    }
    if let Err(e) = usage.save(project) {
        notes.push(format!("the API calls made could not be recorded: {e}"));
    }
    (usage, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_add_up_per_day_and_old_days_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
        let calls: BTreeMap<String, u64> = [("/cgi-bin/freepublish/get".to_string(), 3)].into();
        let mut usage = ApiUsage::load(dir.path()).unwrap();
        usage.add("service", day("2026-11-20"), &calls);
        usage.add("service", day("2026-12-01"), &calls);
        usage.add("service", day("2026-12-01"), &calls);
        usage.save(dir.path()).unwrap();
        let usage = ApiUsage::load(dir.path()).unwrap();
        assert_eq!(usage.on("service", day("2026-12-01"))["/cgi-bin/freepublish/get"], 6);
        assert!(usage.on("service", day("2026-11-20")).is_empty(), "more than a week old");
    }
}
