//! `wxpub status`: where each item stands, from content/, dist/ and publish.lock.
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

/// `wxpub status`: a row per item — where it stands (from its front matter, dist/ and
/// publish.lock), its own article URL, what it waits for — as a table or JSON.
pub fn run(project: &Path, json: bool) -> Result<ExitCode> {
    let (_, rows) = crate::publish::status::of_project(project, crate::util::clock::now())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let width = rows.iter().map(|r| r.key.chars().count()).max().unwrap_or(0);
        for row in &rows {
            println!("{:<width$}  {:<13}  {}", row.key, row.account, row.state);
            for url in &row.urls {
                println!("{:<width$}  {:<13}  {url}", "", "");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
