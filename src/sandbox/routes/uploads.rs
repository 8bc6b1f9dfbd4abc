//! Uploads (multipart, one `media` file field): `media/uploadimg` (an image for article bodies,
//! served back under /mmbiz/) and `material/add_material` (permanent material).
use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use serde_json::json;

use super::{Ctx, endpoint};
use crate::sandbox::Sandbox;
use crate::sandbox::call::{Reply, Upload, UploadField, to_value};
use crate::sandbox::state::{self, Material, Refusal, refuse, sniff};
use crate::wechat::types::{AddMaterialResponse, MaterialType, VideoDescription};

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/cgi-bin/media/uploadimg", endpoint(uploadimg))
        .route("/cgi-bin/material/add_material", endpoint(add_material))
}

/// The `media` field and its (non-empty) filename.
fn media_field(fields: &mut HashMap<String, UploadField>) -> Result<(UploadField, String), Refusal> {
    let Some(media) = fields.remove("media") else {
        return Err(refuse(41005, "media data missing: the file field must be named `media`"));
    };
    let filename = media
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| refuse(41005, "media data missing: no filename"))?;
    Ok((media, filename))
}

fn uploadimg(ctx: &mut Ctx<'_>, mut upload: Upload) -> Reply {
    let (media, _) = media_field(&mut upload.fields)?;
    let Some(ext @ ("jpg" | "png")) = sniff(&media.bytes) else {
        return Err(refuse(40005, "invalid file type: uploadimg accepts jpg/png"));
    };
    if media.bytes.len() >= state::UPLOADIMG_MAX_BYTES {
        return Err(refuse(40009, "invalid image size: uploadimg takes under 1 MB"));
    }
    let id = ctx.state.new_id("img");
    let name = format!("{id}.{ext}");
    ctx.store
        .put_file(&name, crate::util::fs::media_type_of(&name), &media.bytes)
        .map_err(|e| refuse(-1, e.to_string()))?;
    let url = format!("{}/mmbiz/{name}", ctx.base_url);
    ctx.state.uploaded_urls.push(url.clone());
    Ok(json!({ "url": url }))
}

fn add_material(ctx: &mut Ctx<'_>, mut upload: Upload) -> Reply {
    let (media, filename) = media_field(&mut upload.fields)?;
    let kind = sniff(&media.bytes);
    let material_type = match upload.query.get("type").map(String::as_str) {
        Some("image") => MaterialType::Image,
        Some("thumb") => MaterialType::Thumb,
        Some("voice") => MaterialType::Voice,
        Some("video") => MaterialType::Video,
        _ => return Err(refuse(40004, "invalid media type: type must be image, thumb, voice or video")),
    };
    let size = media.bytes.len();
    let (allowed, max, size_code): (&[&str], usize, i64) = match material_type {
        MaterialType::Image => (&["bmp", "png", "jpg", "gif"], ctx.options.image_material_max_bytes, 40009),
        MaterialType::Thumb => (&["jpg"], state::THUMB_MAX_BYTES, 40009),
        MaterialType::Voice => (&["mp3", "amr", "wav"], state::VOICE_MAX_BYTES, 40006),
        MaterialType::Video => (&["mp4"], state::VIDEO_MAX_BYTES, 40006),
        MaterialType::News => unreachable!("not accepted above"),
    };
    let Some(ext) = kind.filter(|k| allowed.contains(k)) else {
        return Err(refuse(40005, format!("invalid file type for {} material", material_type.as_str())));
    };
    if size > max {
        return Err(refuse(size_code, format!("invalid {} size: at most {max} bytes", material_type.as_str())));
    }
    if material_type == MaterialType::Video {
        check_video_description(&upload)?;
    }
    let media_id = ctx.state.new_id("media");
    let name = format!("{media_id}.{ext}");
    ctx.store
        .put_file(&name, crate::util::fs::media_type_of(&name), &media.bytes)
        .map_err(|e| refuse(-1, e.to_string()))?;
    let url = (material_type == MaterialType::Image).then(|| format!("{}/mmbiz/{name}", ctx.base_url));
    ctx.state.materials.push(Material {
        media_id: media_id.clone(),
        kind: material_type,
        name: filename,
        update_time: ctx.now,
        url: url.clone(),
        bytes: size,
    });
    Ok(to_value(&AddMaterialResponse { media_id, url }))
}

/// A video comes with `{"title", "introduction"}`: in a form field, as the docs ask, or in the
/// query string, where some SDKs (wechatpy) send it.
fn check_video_description(upload: &Upload) -> Result<(), Refusal> {
    let description = upload
        .fields
        .get("description")
        .map(|f| f.bytes.clone())
        .or_else(|| upload.query.get("description").map(|d| Bytes::from(d.clone())))
        .unwrap_or_default();
    if serde_json::from_slice::<VideoDescription>(&description).is_err() {
        return Err(refuse(47001, "data format error: a video needs a description field {\"title\",\"introduction\"}"));
    }
    Ok(())
}
