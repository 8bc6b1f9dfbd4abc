//! `wxpub sync`: rebuild or verify publish.lock from the server's lists.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::build::Manifest;
use crate::publish;
use crate::state::ledger::{AccountLock, Ledger, PublicationRecord, PushRecord};
use crate::wechat::Client;
use crate::wechat::types::PublishedItem;

/// `wxpub sync`: builds and plans as `publish` would (every scheduled push, whenever due),
/// reads what each account's server holds, then reports the differences from publish.lock and
/// (without `check`) records them in it.
pub fn run(project: &Path, only_account: Option<&str>, check: bool) -> Result<ExitCode> {
    // Even --check waits: a publish run in progress would make the comparison meaningless.
    let Some(_lock) = super::lock_project(project, "sync", true)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let loaded = crate::project::Project::load(project)?;
    let config = &loaded.config;
    let hashes = crate::state::file_hashes::FileHashes::load(project);
    let build = crate::build::build(
        &loaded,
        &crate::build::BuildOptions {
            output_dir: Some(project.join(&config.site.output_dir)),
            drafts: false,
            hashes: &hashes,
            memo: None,
            progress: &crate::util::progress::Silent,
        },
    )?;
    let far_future = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let pushes = publish::plan(&build.manifest, config, &[], only_account, far_future)?;
    let current = Ledger::load(project)?;
    let server = read_servers(config, &build.manifest, &pushes, only_account)?;

    // Report, then merge what the lock lacks (never overwrite what it has).
    let mut merged = current.clone();
    let mut added = add_missing(&mut merged, &server.found, check);
    added += forget_gone_drafts(&mut merged, &server.drafts, check);
    added += forget_gone_materials(&mut merged, &server.materials, check);
    if check {
        println!("{added} difference(s) between the server and publish.lock");
        return Ok(if added == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    if merged != current {
        merged.save(project)?;
    }
    println!("sync: {added} record(s) added to or corrected in publish.lock");
    Ok(ExitCode::SUCCESS)
}

/// What the accounts' servers hold, as sync reads it.
#[derive(Default)]
struct ServerView {
    /// The records the server's lists make: materials of this build, and pushes of the plan.
    found: Ledger,
    /// Each account's materials, by media_id, to find lock entries the server no longer has
    /// (an account appears once the server lists one material of it).
    materials: BTreeMap<String, BTreeSet<String>>,
    /// Each account's drafts, by media_id, likewise.
    drafts: BTreeMap<String, BTreeSet<String>>,
}

/// Reads the server of each account (or of `only_account`): its materials, matched to this
/// build's images by upload name; its drafts and publications, matched to the planned pushes by
/// the titles of their articles.
fn read_servers(
    config: &crate::config::Config,
    manifest: &Manifest,
    pushes: &[publish::Push],
    only_account: Option<&str>,
) -> Result<ServerView> {
    let mut server = ServerView::default();
    let accounts: Vec<&String> =
        config.accounts.keys().filter(|a| only_account.is_none_or(|o| o == a.as_str())).collect();
    for account in accounts {
        let client = super::account_client(account, &config.accounts[account])?;
        let entry = server.found.account(account);
        read_materials(&client, account, manifest, entry, &mut server.materials)?;
        let account_pushes: Vec<&publish::Push> = pushes.iter().filter(|p| &p.account == account).collect();
        read_pushes(&client, account, manifest, &account_pushes, entry, &mut server.drafts)?;
    }
    Ok(server)
}

/// Materials, by their upload name (the processed file's name): each of this build's images the
/// server holds goes into `entry`, and every material's media_id into `materials`.
fn read_materials(
    client: &Client,
    account: &str,
    manifest: &Manifest,
    entry: &mut AccountLock,
    materials: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<()> {
    let files: BTreeMap<&str, &str> = manifest
        .items
        .iter()
        .filter(|i| i.account == account)
        .flat_map(|i| i.images.iter().chain(&i.cover).chain(&i.poster))
        .map(|img| (img.output.file.as_str(), img.output.sha256.as_str()))
        .collect();
    for material in client.all_image_materials()? {
        materials.entry(account.to_string()).or_default().insert(material.media_id.clone());
        if let Some(sha) = files.get(material.name.as_str()) {
            let record = entry.media.entry(sha.to_string()).or_default();
            record.file = material.name.clone();
            record.media_id = Some(material.media_id.clone());
            record.material_url = material.url.clone();
        }
    }
    Ok(())
}

/// Drafts and publications, by the titles of their articles: each planned push whose articles
/// the server has as a draft or a publication goes into `entry`, and every draft's media_id
/// into `drafts_by_account`.
fn read_pushes(
    client: &Client,
    account: &str,
    manifest: &Manifest,
    account_pushes: &[&publish::Push],
    entry: &mut AccountLock,
    drafts_by_account: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<()> {
    let titles_of = |push: &publish::Push| -> Vec<String> {
        push.items.iter().filter_map(|k| manifest.items.iter().find(|i| &i.key == k)).map(|i| i.title.clone()).collect()
    };
    let drafts = client.all_drafts()?;
    drafts_by_account.insert(account.to_string(), drafts.iter().map(|d| d.media_id.clone()).collect());
    let published = client.all_published()?;
    for push in account_pushes {
        let titles = titles_of(push);
        let mut record = PushRecord { items: push.items.clone(), ..PushRecord::default() };
        if let Some(draft) = drafts.iter().find(|d| d.content.news_item.iter().map(|a| &a.title).eq(titles.iter())) {
            record.draft_media_id = Some(draft.media_id.clone());
        }
        if let Some(item) = published.iter().find(|p| p.content.news_item.iter().map(|a| &a.title).eq(titles.iter())) {
            record.publication = Some(publication_of(item));
        }
        if record.draft_media_id.is_some() || record.publication.is_some() {
            entry.pushes.insert(push.slot.clone(), record);
        }
    }
    Ok(())
}

/// The record of a publication found on the server.
fn publication_of(item: &PublishedItem) -> PublicationRecord {
    let article_urls: Vec<String> = item.content.news_item.iter().filter_map(|a| a.url.clone()).collect();
    PublicationRecord {
        mode: crate::state::ledger::PublicationMode::Publish,
        status: crate::state::ledger::PublicationStatus::Published,
        // The statistics key, from the article URLs (`mid=`): what joins the 2026
        // statistics to a publication made before publish.lock.
        msg_data_id: article_urls
            .first()
            .and_then(|u| crate::wechat::types::statistics_key_of_url(u))
            .map(|(mid, _)| mid),
        article_id: Some(item.article_id.clone()),
        article_urls,
        submitted_at: chrono::DateTime::from_timestamp(item.update_time, 0).unwrap_or_default().to_rfc3339(),
        ..PublicationRecord::default()
    }
}

/// Adds to `merged` what the server has and the lock lacks — a material without a media_id, a
/// push neither drafted nor published — never overwriting what it has; reports each. Returns
/// how many.
fn add_missing(merged: &mut Ledger, found: &Ledger, check: bool) -> usize {
    let mut added = 0;
    for (account, server) in &found.accounts {
        let local = merged.account(account);
        for (sha, record) in &server.media {
            let mine = local.media.entry(sha.clone()).or_default();
            if mine.media_id.is_none() {
                println!(
                    "{account}: material {} is on the server{}",
                    record.file,
                    if check { ", not in publish.lock" } else { "; recorded" }
                );
                mine.file = record.file.clone();
                mine.media_id = record.media_id.clone();
                mine.material_url = record.material_url.clone();
                added += 1;
            }
        }
        for (slot, record) in &server.pushes {
            let mine = local.pushes.entry(slot.clone()).or_default();
            if mine.draft_media_id.is_none() && mine.publication.is_none() {
                let what = if record.publication.is_some() { "published" } else { "drafted" };
                println!(
                    "{account}: push at {slot} is {what} on the server{}",
                    if check { ", not in publish.lock" } else { "; recorded" }
                );
                *mine = record.clone();
                added += 1;
            }
        }
    }
    added
}

/// Forgets the drafts the server no longer has (deleted in the web backend), of pushes not
/// published: the next publish makes them again (it looks for a publication first, so a draft
/// published by hand is recorded, not published twice). Reports each; returns how many.
fn forget_gone_drafts(merged: &mut Ledger, server_drafts: &BTreeMap<String, BTreeSet<String>>, check: bool) -> usize {
    let mut forgotten = 0;
    for (account, drafts) in server_drafts {
        let local = merged.account(account);
        for (slot, record) in local.pushes.iter_mut() {
            if let Some(id) = record.draft_media_id.clone()
                && record.publication.is_none()
                && !drafts.contains(&id)
            {
                println!(
                    "{account}: push at {slot}: draft {id} is gone from the server{}",
                    if check { "" } else { "; forgotten, the next publish makes it again" }
                );
                record.draft_media_id = None;
                record.content_hash = None;
                record.drafted_at = None;
                forgotten += 1;
            }
        }
    }
    forgotten
}

/// Forgets the materials the server no longer has (deleted there): the next publish uploads
/// them again. Reports each; returns how many.
fn forget_gone_materials(
    merged: &mut Ledger,
    server_materials: &BTreeMap<String, BTreeSet<String>>,
    check: bool,
) -> usize {
    let mut forgotten = 0;
    for (account, materials) in server_materials {
        let local = merged.account(account);
        for record in local.media.values_mut() {
            if let Some(id) = record.media_id.clone()
                && !materials.contains(&id)
            {
                println!(
                    "{account}: material {} ({id}) is gone from the server{}",
                    record.file,
                    if check { "" } else { "; forgotten, the next publish uploads it again" }
                );
                record.media_id = None;
                record.material_url = None;
                forgotten += 1;
            }
        }
    }
    forgotten
}
