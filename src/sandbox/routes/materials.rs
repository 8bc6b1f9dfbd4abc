//! Permanent material: `batchget_material`, `get_materialcount`, `del_material` (uploads are in
//! `uploads.rs`).
use std::sync::Arc;

use axum::Router;
use serde_json::json;

use super::{Ctx, endpoint};
use crate::sandbox::Sandbox;
use crate::sandbox::call::{Call, Reply, check_count, parse, to_value};
use crate::sandbox::state::{Material, refuse};
use crate::wechat::types::{
    BatchGetMaterialRequest, BatchGetMaterialResponse, MaterialCount, MaterialItem, MaterialType, MediaId,
};

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/cgi-bin/material/batchget_material", endpoint(batchget))
        .route("/cgi-bin/material/get_materialcount", endpoint(count))
        .route("/cgi-bin/material/del_material", endpoint(delete))
}

/// One kind of material, newest first.
fn batchget(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: BatchGetMaterialRequest = parse(&call.body)?;
    check_count(request.count)?;
    let mut items: Vec<&Material> = ctx.state.materials.iter().filter(|m| m.kind == request.kind).collect();
    items.reverse();
    let total = items.len() as u32;
    let page: Vec<MaterialItem> = items
        .into_iter()
        .skip(request.offset as usize)
        .take(request.count as usize)
        .map(|m| MaterialItem {
            media_id: m.media_id.clone(),
            name: m.name.clone(),
            update_time: m.update_time,
            url: m.url.clone(),
        })
        .collect();
    Ok(to_value(&BatchGetMaterialResponse { total_count: total, item_count: page.len() as u32, item: page }))
}

fn count(ctx: &mut Ctx<'_>, _: Call) -> Reply {
    let count = |kind| ctx.state.materials.iter().filter(|m| m.kind == kind).count() as u32;
    Ok(to_value(&MaterialCount {
        voice_count: count(MaterialType::Voice),
        video_count: count(MaterialType::Video),
        image_count: count(MaterialType::Image),
        news_count: 0,
    }))
}

fn delete(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let request: MediaId = parse(&call.body)?;
    let materials = &mut ctx.state.materials;
    let before = materials.len();
    materials.retain(|m| m.media_id != request.media_id);
    if materials.len() == before {
        return Err(refuse(40007, "invalid media_id"));
    }
    Ok(json!({ "errcode": 0, "errmsg": "ok" }))
}
