//! `wxpub status`: where each item stands, from content/, dist/ and publish.lock.
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::state::ledger::Ledger;

/// `wxpub status`: a row per item — where it stands (from its front matter, dist/ and
/// publish.lock), its own article URL, what it waits for — as a table or JSON.
pub fn run(project: &Path, json: bool) -> Result<ExitCode> {
    let loaded = crate::project::Project::load(project)?;
    let lock = Ledger::load(project)?;
    // What each item links to (rendered by path: no image is read), for "waits for".
    let memo = crate::build::RenderMemo::on_disk(&loaded.root);
    let renders = crate::build::render_all(&loaded, crate::images::Planning::ByPath, false, Some(&memo)).ok();
    let dist = project.join(&loaded.config.site.output_dir);
    let rows = crate::publish::status::statuses(&loaded, &lock, renders.as_ref(), &dist, crate::util::clock::now());
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
