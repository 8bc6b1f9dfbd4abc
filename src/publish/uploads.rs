//! Images up to WeChat, each once: body images through media/uploadimg, covers, posters and
//! GIFs as permanent material (named by content hash, so that a material listing maps back to
//! publish.lock). All of a run's uploads go up in parallel before any draft is written.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Push;
use super::articles::items_of;
use super::{ExecuteOptions, StepError};
use crate::build::{Manifest, ManifestImage, ManifestItem};
use crate::content::Format;
use crate::state::ledger::{Ledger, MediaRecord, PendingUpload};
use crate::wechat::types::MaterialType;
use crate::wechat::{Client, Upload};

/// Uploads one image unless publish.lock already has it; returns what was done. The lock is
/// shared so that uploads can run in parallel; it is saved after every write.
pub(super) fn ensure_uploaded(
    lock: &Mutex<&mut Ledger>,
    account: &str,
    client: &Client,
    dir: &Path,
    image: &ManifestImage,
    as_material: bool,
    project: &Path,
) -> Result<Option<String>, StepError> {
    let sha = &image.output.sha256;
    let existing = locked(lock).account(account).media.get(sha).cloned().unwrap_or_default();
    let goes_as_material = is_material_upload(image, as_material);
    let needs_material = goes_as_material && existing.media_id.is_none();
    let needs_body = !goes_as_material && existing.body_url.is_none();
    if !needs_material && !needs_body {
        return Ok(None);
    }
    let path = dir.join(&image.output.file);
    let bytes = std::fs::read(&path)
        .map_err(|e| StepError::Other(format!("cannot read {}: {e} (run wxpub build)", path.display())))?;
    // Named by content hash, so the material list on the server maps back to publish.lock.
    let upload = Upload { filename: &image.output.file, bytes: &bytes };
    let interrupted = existing.pending == Some(PendingUpload::Material);
    let done;
    let mut update: MediaRecord = MediaRecord::default();
    if needs_material {
        // An earlier run may have uploaded it and died before recording: look for it by name.
        if interrupted && let Some(found) = find_material(client, &image.output.file)? {
            update.media_id = Some(found.media_id);
            update.material_url = found.url;
            done = format!("found {} on the server (an earlier run uploaded it)", image.output.file);
        } else {
            write_ahead_media(&mut locked(lock), account, sha, &image.output.file, project)?;
            match client.add_material(MaterialType::Image, &upload, None) {
                Ok(added) => {
                    update.media_id = Some(added.media_id);
                    update.material_url = added.url;
                    done = format!("uploaded {} as image material", image.output.file);
                }
                // The answer was lost: look for the upload by its name rather than add a second.
                Err(err) if err.may_have_been_processed() => match find_material(client, &image.output.file)? {
                    Some(found) => {
                        update.media_id = Some(found.media_id);
                        update.material_url = found.url;
                        done = format!("add_material's answer was lost; found {} on the server", image.output.file);
                    }
                    None => return Err(err.into()),
                },
                Err(err) => return Err(err.into()),
            }
        }
    } else {
        update.body_url = Some(client.upload_image(&upload)?.url);
        done = format!("uploaded {} for article bodies", image.output.file);
    }
    let mut lock = locked(lock);
    let record = lock.account(account).media.entry(sha.clone()).or_default();
    record.file = image.output.file.clone();
    // Only the material upload has an intent to clear: a body upload of the same file (a poster
    // is both) running in parallel must not erase it.
    if update.media_id.is_some() {
        record.pending = None;
        record.media_id = update.media_id;
        record.material_url = update.material_url;
    }
    if update.body_url.is_some() {
        record.body_url = update.body_url;
    }
    lock.save(project)?;
    Ok(Some(done))
}

fn locked<'g, 'l>(lock: &'g Mutex<&'l mut Ledger>) -> std::sync::MutexGuard<'g, &'l mut Ledger> {
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether an upload goes up as permanent material: covers and posters, and every GIF (animated
/// GIFs cannot go through uploadimg).
fn is_material_upload(image: &ManifestImage, as_material: bool) -> bool {
    as_material || image.output.file.ends_with(".gif")
}

/// The uploads a push needs: (folder, image, as material).
pub(super) fn uploads_of<'m>(
    items: &[&'m ManifestItem],
    dist_dir: &Path,
) -> Vec<(std::path::PathBuf, &'m ManifestImage, bool)> {
    let mut out = Vec::new();
    for item in items {
        let dir = dist_dir.join(&item.key).join("images");
        // An image post's photos are permanent material (newspic's image_list takes media ids).
        let photos_as_material = item.format == Format::ImagePost;
        for image in &item.images {
            out.push((dir.clone(), image, photos_as_material));
        }
        // An image post has no thumb: its first photo is its cover.
        if let Some(thumb) = item.cover.as_ref().or(item.poster.as_ref())
            && !photos_as_material
        {
            out.push((dir.clone(), thumb, true));
        }
    }
    out
}

/// One upload a run needs.
pub(super) struct NeededUpload<'m> {
    account: String,
    /// The item's `images/` folder in the build output.
    dir: std::path::PathBuf,
    image: &'m ManifestImage,
    as_material: bool,
}

/// Every upload the pushes need, once per account, file and kind, in push order.
pub(super) fn needed_uploads<'m>(pushes: &[Push], manifest: &'m Manifest, dist_dir: &Path) -> Vec<NeededUpload<'m>> {
    let mut needed = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for push in pushes {
        let items = items_of(push, manifest);
        for (dir, image, as_material) in uploads_of(&items, dist_dir) {
            if seen.insert((push.account.clone(), image.output.sha256.clone(), as_material)) {
                needed.push(NeededUpload { account: push.account.clone(), dir, image, as_material });
            }
        }
    }
    needed
}

/// Uploads everything the pushes need, `concurrency` at a time, before any draft is written.
/// Failures are left for the push that needs the file to retry and report.
pub(super) fn upload_all(
    work: &[NeededUpload<'_>],
    lock: &mut Ledger,
    clients: &BTreeMap<String, Client>,
    options: &ExecuteOptions<'_>,
) -> Vec<(String, String)> {
    let shared = Mutex::new(lock);
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let bar = options.progress;
    bar.start("uploads", work.len() as u64);
    std::thread::scope(|scope| {
        for _ in 0..options.upload_concurrency.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(upload) = work.get(index) else { break };
                    let Some(client) = clients.get(&upload.account) else { continue };
                    if let Ok(Some(step)) = ensure_uploaded(
                        &shared,
                        &upload.account,
                        client,
                        &upload.dir,
                        upload.image,
                        upload.as_material,
                        options.project,
                    ) {
                        done.lock().unwrap_or_else(|p| p.into_inner()).push((upload.account.clone(), step));
                    }
                    bar.advance();
                }
            });
        }
    });
    bar.finish();
    done.into_inner().unwrap_or_default()
}

/// Materials the pushes need that publish.lock does not record, but the server has under their
/// content-hash names (a stale lock, a lost answer): recorded, never uploaded a second time. One
/// material listing per account, and only when something is missing.
pub(super) fn adopt_server_materials(
    needed: &[NeededUpload<'_>],
    lock: &mut Ledger,
    clients: &BTreeMap<String, Client>,
    options: &ExecuteOptions<'_>,
) -> Vec<(String, String)> {
    let mut done = Vec::new();
    for (account, client) in clients {
        let mut missing: BTreeMap<String, String> = BTreeMap::new();
        for upload in needed.iter().filter(|u| &u.account == account) {
            let image = upload.image;
            let recorded = lock.account(account).media.get(&image.output.sha256).and_then(|m| m.media_id.clone());
            if is_material_upload(image, upload.as_material) && recorded.is_none() {
                missing.insert(image.output.file.clone(), image.output.sha256.clone());
            }
        }
        if missing.is_empty() {
            continue;
        }
        let Ok(listed) = client.all_image_materials() else {
            // Not known either way: mark them as interrupted uploads, so that the upload step
            // looks for each on the server before it adds one.
            for (file, sha) in &missing {
                let record = lock.account(account).media.entry(sha.clone()).or_default();
                record.file = file.clone();
                record.pending = Some(PendingUpload::Material);
            }
            if let Err(e) = lock.save(options.project) {
                done.push((account.clone(), format!("could not record the materials to look for: {e}")));
            }
            continue;
        };
        for material in listed {
            let Some(sha) = missing.remove(&material.name) else { continue };
            let record = lock.account(account).media.entry(sha).or_default();
            record.file = material.name.clone();
            record.media_id = Some(material.media_id);
            record.material_url = material.url;
            record.pending = None;
            done.push((
                account.clone(),
                format!("found {} on the server; publish.lock did not have it", material.name),
            ));
        }
        if let Err(e) = lock.save(options.project) {
            done.push((account.clone(), format!("could not record the materials found: {e}")));
        }
    }
    done
}

fn write_ahead_media(lock: &mut Ledger, account: &str, sha: &str, file: &str, project: &Path) -> Result<(), StepError> {
    let record = lock
        .account(account)
        .media
        .entry(sha.to_string())
        .or_insert_with(|| MediaRecord { file: file.into(), ..MediaRecord::default() });
    record.pending = Some(PendingUpload::Material);
    lock.save(project)?;
    Ok(())
}

/// A permanent image material by upload name (we name uploads by content hash).
fn find_material(client: &Client, name: &str) -> Result<Option<crate::wechat::types::MaterialItem>, StepError> {
    let all = client.all_image_materials()?;
    Ok(all.into_iter().find(|m| m.name == name))
}
