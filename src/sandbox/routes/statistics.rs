//! The datacube statistics (`/datacube/NAME`), deterministic plausible figures for what was
//! published. The middleware saves no state after them.
use std::sync::Arc;

use axum::Router;
use chrono::NaiveDate;

use super::{Ctx, endpoint};
use crate::sandbox::call::{Call, Reply, parse};
use crate::sandbox::state::{self, refuse};
use crate::sandbox::{Sandbox, datacube};
use crate::wechat::types::{Datacube, DateRange};

pub fn routes() -> Router<Arc<Sandbox>> {
    // The name is looked up by the endpoint: an unknown one (even empty) answers 40066.
    Router::new().route("/datacube/", endpoint(statistics)).route("/datacube/{*name}", endpoint(statistics))
}

fn statistics(ctx: &mut Ctx<'_>, call: Call) -> Reply {
    let name = &call.path["/datacube/".len()..];
    let endpoint = Datacube::from_name(name).ok_or_else(|| refuse(40066, "invalid url"))?;
    let range: DateRange = parse(&call.body)?;
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| refuse(61500, "date format error"));
    let (begin, end) = (date(&range.begin_date)?, date(&range.end_date)?);
    let yesterday = ctx.today.pred_opt().unwrap_or(begin);
    let span = (end - begin).num_days() + 1;
    if begin > end || span > endpoint.max_days() || end > yesterday || begin < datacube::data_epoch() {
        return Err(refuse(
            61501,
            format!(
                "date range error: {} takes at most {} day(s), ending yesterday",
                endpoint.name(),
                endpoint.max_days()
            ),
        ));
    }
    let mut articles = ctx.state.published_articles();
    // Follower figures depend on publish days only through wxpub's own publications (and
    // their running totals are memoised per set of them).
    if ctx.options.background_articles && !matches!(endpoint, Datacube::GetUserSummary | Datacube::GetUserCumulate) {
        articles.extend(datacube::background_articles(begin - chrono::Days::new(30), end));
    }
    Ok(state::datacube_rows(endpoint, begin, end, yesterday, &articles))
}
