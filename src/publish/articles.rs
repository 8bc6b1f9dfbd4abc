//! A push's articles exactly as WeChat receives them: the built HTML with image URLs from
//! publish.lock, covers as material ids, image posts as `newspic`.
use std::collections::BTreeMap;
use std::path::Path;

use super::{Push, StepError};
use crate::build::{Manifest, ManifestItem};
use crate::content::{Comments, Format};
use crate::state::ledger::MediaRecord;
use crate::wechat::types::{Article, ImageInfo, ImageListItem};

/// A push's items from the build manifest, in push order.
pub(super) fn items_of<'m>(push: &Push, manifest: &'m Manifest) -> Vec<&'m ManifestItem> {
    push.items.iter().filter_map(|key| manifest.items.iter().find(|i| &i.key == key)).collect()
}

/// One article exactly as sent to WeChat: built HTML with image URLs from publish.lock (for the
/// archive, which keeps what was published).
pub fn article_as_sent(
    item: &ManifestItem,
    dist_dir: &Path,
    media: &BTreeMap<String, MediaRecord>,
) -> Result<Article, String> {
    article_for(item, dist_dir, media).map_err(|e| e.to_string())
}

pub(super) fn article_for(
    item: &ManifestItem,
    dist_dir: &Path,
    media: &BTreeMap<String, MediaRecord>,
) -> Result<Article, StepError> {
    if item.format == Format::ImagePost {
        return image_post_for(item, media);
    }
    let path = dist_dir.join(&item.key).join("content.html");
    let mut content =
        std::fs::read_to_string(&path).map_err(|e| StepError::Other(format!("cannot read {}: {e}", path.display())))?;
    for image in &item.images {
        let record = media.get(&image.output.sha256);
        let url = record.and_then(|r| r.body_url.clone().or(r.material_url.clone()));
        let Some(url) = url else {
            return Err(StepError::Other(format!("{}: image {} was not uploaded", item.key, image.output.file)));
        };
        content = content.replace(&format!("images/{}", image.output.file), &url);
    }
    let thumb = item.cover.as_ref().or(item.poster.as_ref());
    let thumb_media_id = thumb.and_then(|t| media.get(&t.output.sha256)).and_then(|r| r.media_id.clone());
    let crops = item.cover.as_ref().and_then(|c| c.output.crops.clone());
    Ok(Article {
        title: item.title.clone(),
        author: item.author.clone(),
        digest: item.digest.clone(),
        content,
        content_source_url: item.source_url.clone(),
        thumb_media_id,
        need_open_comment: u8::from(item.comments != Comments::Closed),
        only_fans_can_comment: u8::from(item.comments == Comments::Fans),
        pic_crop_235_1: crops.as_ref().map(|c| c.pic_crop_235_1.clone()),
        pic_crop_1_1: crops.as_ref().map(|c| c.pic_crop_1_1.clone()),
        ..Article::default()
    })
}

/// An image post (贴图, `newspic`): its photos (a poster's image first) as permanent material,
/// its text as plain-text content, its first photo's crops for the lists.
fn image_post_for(item: &ManifestItem, media: &BTreeMap<String, MediaRecord>) -> Result<Article, StepError> {
    let poster_sha = item.poster.as_ref().map(|p| &p.output.sha256);
    let photos = item.poster.iter().chain(item.images.iter().filter(|i| Some(&i.output.sha256) != poster_sha));
    let mut image_list = Vec::new();
    for photo in photos {
        let Some(media_id) = media.get(&photo.output.sha256).and_then(|r| r.media_id.clone()) else {
            return Err(StepError::Other(format!("{}: photo {} was not uploaded", item.key, photo.output.file)));
        };
        image_list.push(ImageListItem { image_media_id: media_id });
    }
    let crops = item.cover.as_ref().and_then(|c| c.output.crops.clone());
    Ok(Article {
        title: item.title.clone(),
        author: item.author.clone(),
        digest: item.digest.clone(),
        content: item.text.clone().unwrap_or_default(),
        content_source_url: item.source_url.clone(),
        article_type: Some("newspic".into()),
        image_info: Some(ImageInfo { image_list }),
        need_open_comment: u8::from(item.comments != Comments::Closed),
        only_fans_can_comment: u8::from(item.comments == Comments::Fans),
        pic_crop_235_1: crops.as_ref().map(|c| c.pic_crop_235_1.clone()),
        pic_crop_1_1: crops.as_ref().map(|c| c.pic_crop_1_1.clone()),
        ..Article::default()
    })
}
