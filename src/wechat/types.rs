//! Wire types of the WeChat Official Account API (docs/wechat-contract.md), shared by the client
//! and the sandbox so both speak exactly the same JSON.
use serde::{Deserialize, Serialize};

/// Every error answer: HTTP 200 with an errcode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StableTokenRequest {
    pub grant_type: String,
    pub appid: String,
    pub secret: String,
    #[serde(default)]
    pub force_refresh: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadImgResponse {
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaterialType {
    Image,
    Thumb,
    Voice,
    Video,
    News,
}

impl MaterialType {
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialType::Image => "image",
            MaterialType::Thumb => "thumb",
            MaterialType::Voice => "voice",
            MaterialType::Video => "video",
            MaterialType::News => "news",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddMaterialResponse {
    pub media_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The `description` form field a video upload needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VideoDescription {
    pub title: String,
    pub introduction: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchGetMaterialRequest {
    #[serde(rename = "type")]
    pub kind: MaterialType,
    pub offset: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MaterialItem {
    pub media_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub update_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchGetMaterialResponse {
    pub total_count: u32,
    pub item_count: u32,
    #[serde(default)]
    pub item: Vec<MaterialItem>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MaterialCount {
    pub voice_count: u32,
    pub video_count: u32,
    pub image_count: u32,
    pub news_count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaId {
    pub media_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub image_list: Vec<ImageListItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageListItem {
    pub image_media_id: String,
}

/// One article of a draft (draft/add, draft/update, draft/get).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_source_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_media_id: Option<String>,
    #[serde(default)]
    pub need_open_comment: u8,
    #[serde(default)]
    pub only_fans_can_comment: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_crop_235_1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_crop_1_1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_info: Option<ImageInfo>,
    /// Only in answers: the draft's preview URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Only in answers (freepublish lists): the cover image's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftAddRequest {
    pub articles: Vec<Article>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftUpdateRequest {
    pub media_id: String,
    pub index: u32,
    pub articles: Article,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewsItems {
    pub news_item: Vec<Article>,
}

/// draft/get's answer: the stored articles and when the draft was last changed (by the API or
/// in the web backend).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDraft {
    pub news_item: Vec<Article>,
    /// Unix seconds; 0 when WeChat does not say.
    #[serde(default)]
    pub update_time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TotalCount {
    pub total_count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchGetRequest {
    pub offset: u32,
    pub count: u32,
    #[serde(default)]
    pub no_content: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftItem {
    pub media_id: String,
    pub content: NewsItems,
    pub update_time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftBatchGetResponse {
    pub total_count: u32,
    pub item_count: u32,
    #[serde(default)]
    pub item: Vec<DraftItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitResponse {
    pub publish_id: String,
    #[serde(default)]
    pub msg_data_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishId {
    pub publish_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArticleUrl {
    pub idx: u32,
    pub article_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArticleDetail {
    pub count: u32,
    pub item: Vec<ArticleUrl>,
}

/// freepublish/get. `publish_status`: 0 success · 1 publishing · 2 originality check failed ·
/// 3 failed · 4 rejected by review · 5 deleted after success · 6 banned after success.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishStatus {
    pub publish_id: String,
    pub publish_status: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_detail: Option<ArticleDetail>,
    #[serde(default)]
    pub fail_idx: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedItem {
    pub article_id: String,
    pub content: NewsItems,
    pub update_time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedBatchGetResponse {
    pub total_count: u32,
    pub item_count: u32,
    #[serde(default)]
    pub item: Vec<PublishedItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArticleId {
    pub article_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FreepublishDeleteRequest {
    pub article_id: String,
    #[serde(default)]
    pub index: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassFilter {
    pub is_to_all: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassSendRequest {
    pub filter: MassFilter,
    pub mpnews: MediaId,
    pub msgtype: String,
    pub send_ignore_reprint: u8,
    /// *(2026)* The send's identity (≤ 64 bytes): WeChat refuses a repeat within 24 hours with
    /// 45065 and the first send's `msg_id`, so a send whose answer was lost can be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clientmsgid: Option<String>,
}

/// *(2026)* `message/mass/preview`: a draft sent to one person's WeChat (who must follow the
/// account), to proof it on a phone. Publishes nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassPreviewRequest {
    /// The reviewer's WeChat ID (微信号).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub towxname: Option<String>,
    /// Or the reviewer's openid for this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touser: Option<String>,
    pub mpnews: MediaId,
    pub msgtype: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MassPreviewResponse {
    #[serde(default)]
    pub msg_id: u64,
}

/// Who receives a preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reviewer {
    WechatId(String),
    OpenId(String),
}

impl std::fmt::Display for Reviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reviewer::WechatId(id) => write!(f, "WeChat ID {id}"),
            Reviewer::OpenId(id) => write!(f, "openid {id}"),
        }
    }
}

impl MassPreviewRequest {
    pub fn new(media_id: &str, reviewer: &Reviewer) -> MassPreviewRequest {
        let (towxname, touser) = match reviewer {
            Reviewer::WechatId(id) => (Some(id.clone()), None),
            Reviewer::OpenId(id) => (None, Some(id.clone())),
        };
        MassPreviewRequest { towxname, touser, mpnews: MediaId { media_id: media_id.into() }, msgtype: "mpnews".into() }
    }
}

/// The longest `clientmsgid` WeChat takes (45067 beyond).
pub const CLIENTMSGID_MAX_BYTES: usize = 64;

impl MassSendRequest {
    /// A send of draft `media_id` to every follower, identified by `clientmsgid`.
    pub fn to_all(media_id: &str, clientmsgid: &str) -> MassSendRequest {
        MassSendRequest {
            filter: MassFilter { is_to_all: true },
            mpnews: MediaId { media_id: media_id.to_string() },
            msgtype: "mpnews".into(),
            send_ignore_reprint: 0,
            clientmsgid: Some(clientmsgid.to_string()),
        }
    }
}

/// `message/mass/get`: `{"msg_id"}` → where a mass send stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassGetRequest {
    pub msg_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassStatus {
    pub msg_id: u64,
    /// `SEND_SUCCESS`, `SENDING` (e.g. awaiting an administrator's confirmation under send
    /// protection), `SEND_FAIL`, `DELETE`.
    pub msg_status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassSendResponse {
    pub msg_id: u64,
    #[serde(default)]
    pub msg_data_id: u64,
}

// ---- datacube ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DateRange {
    pub begin_date: String,
    pub end_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List<T> {
    pub list: Vec<T>,
}

/// A datacube answer: its rows, and *(2026 endpoints)* whether the latest day in it is not final
/// yet (`is_delay`: fetch it again later). An empty answer may leave `list` out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatacubeAnswer<T> {
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_delay: bool,
}

/// The first day the 2026 statistics endpoints have data for; before it, only the deprecated
/// ones (which count mass-sent articles only) know anything about articles.
pub fn statistics_epoch() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 11, 1).expect("valid date")
}

/// The datacube endpoints and the longest range (in days) each accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datacube {
    GetUserSummary,
    GetUserCumulate,
    GetArticleSummary,
    GetArticleTotal,
    GetUserRead,
    GetUserReadHour,
    GetUserShare,
    GetUserShareHour,
    GetArticleRead,
    GetArticleShare,
    GetBizSummary,
    GetArticleTotalDetail,
}

impl Datacube {
    pub const ALL: [Datacube; 12] = [
        Datacube::GetUserSummary,
        Datacube::GetUserCumulate,
        Datacube::GetArticleSummary,
        Datacube::GetArticleTotal,
        Datacube::GetUserRead,
        Datacube::GetUserReadHour,
        Datacube::GetUserShare,
        Datacube::GetUserShareHour,
        Datacube::GetArticleRead,
        Datacube::GetArticleShare,
        Datacube::GetBizSummary,
        Datacube::GetArticleTotalDetail,
    ];

    /// The first and last day this endpoint is pulled for: the deprecated article endpoints
    /// before [`statistics_epoch`], their 2026 replacements from it on, the follower and hourly
    /// ones for every day.
    pub fn valid_days(self) -> (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) {
        match self {
            Datacube::GetArticleSummary
            | Datacube::GetArticleTotal
            | Datacube::GetUserRead
            | Datacube::GetUserShare => (None, statistics_epoch().pred_opt()),
            Datacube::GetArticleRead
            | Datacube::GetArticleShare
            | Datacube::GetBizSummary
            | Datacube::GetArticleTotalDetail => (Some(statistics_epoch()), None),
            _ => (None, None),
        }
    }

    /// Whether the answers carry `is_delay` (the 2026 endpoints).
    pub fn reports_delay(self) -> bool {
        matches!(
            self,
            Datacube::GetArticleRead
                | Datacube::GetArticleShare
                | Datacube::GetBizSummary
                | Datacube::GetArticleTotalDetail
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Datacube::GetUserSummary => "getusersummary",
            Datacube::GetUserCumulate => "getusercumulate",
            Datacube::GetArticleSummary => "getarticlesummary",
            Datacube::GetArticleTotal => "getarticletotal",
            Datacube::GetUserRead => "getuserread",
            Datacube::GetUserReadHour => "getuserreadhour",
            Datacube::GetUserShare => "getusershare",
            Datacube::GetUserShareHour => "getusersharehour",
            Datacube::GetArticleRead => "getarticleread",
            Datacube::GetArticleShare => "getarticleshare",
            Datacube::GetBizSummary => "getbizsummary",
            Datacube::GetArticleTotalDetail => "getarticletotaldetail",
        }
    }

    pub fn from_name(name: &str) -> Option<Datacube> {
        Datacube::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Longest range accepted, in days (both ends included).
    pub fn max_days(self) -> i64 {
        match self {
            Datacube::GetUserSummary | Datacube::GetUserCumulate | Datacube::GetUserShare => 7,
            Datacube::GetUserRead => 3,
            Datacube::GetBizSummary | Datacube::GetArticleTotalDetail => 30,
            _ => 1,
        }
    }
}

/// The read/share/favourite counters every article and read row carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCounters {
    pub int_page_read_user: u64,
    pub int_page_read_count: u64,
    pub ori_page_read_user: u64,
    pub ori_page_read_count: u64,
    pub share_user: u64,
    pub share_count: u64,
    pub add_to_fav_user: u64,
    pub add_to_fav_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummaryRow {
    pub ref_date: String,
    pub user_source: i64,
    pub new_user: u64,
    pub cancel_user: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCumulateRow {
    pub ref_date: String,
    pub cumulate_user: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleSummaryRow {
    pub ref_date: String,
    pub msgid: String,
    pub title: String,
    #[serde(flatten)]
    pub counters: ReadCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleTotalDetail {
    pub stat_date: String,
    pub target_user: u64,
    #[serde(flatten)]
    pub counters: ReadCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleTotalRow {
    pub ref_date: String,
    pub msgid: String,
    pub title: String,
    pub details: Vec<ArticleTotalDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReadRow {
    pub ref_date: String,
    pub user_source: i64,
    #[serde(flatten)]
    pub counters: ReadCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReadHourRow {
    pub ref_date: String,
    pub ref_hour: u32,
    pub user_source: i64,
    #[serde(flatten)]
    pub counters: ReadCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserShareRow {
    pub ref_date: String,
    pub share_scene: i64,
    pub share_count: u64,
    pub share_user: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserShareHourRow {
    pub ref_date: String,
    pub ref_hour: u32,
    pub share_scene: i64,
    pub share_count: u64,
    pub share_user: u64,
}

// ---- comments (2026): keyed by the publication's msg_data_id and the 0-based article index ----

/// `comment/open`, `comment/close`: one article of a publication.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CommentArticle {
    pub msg_data_id: u64,
    #[serde(default)]
    pub index: u32,
}

/// `comment/list`: `type` 0 all, 1 ordinary only, 2 elected only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentListRequest {
    pub msg_data_id: u64,
    #[serde(default)]
    pub index: u32,
    pub begin: u32,
    pub count: u32,
    #[serde(rename = "type", default)]
    pub kind: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentPage {
    pub total: u32,
    #[serde(default)]
    pub comment: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub user_comment_id: u64,
    pub create_time: i64,
    pub content: String,
    /// 1: elected (精选), shown to readers.
    #[serde(default)]
    pub comment_type: u32,
    /// Absent for commenters without a WeChat identity for the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<CommentReply>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentReply {
    pub content: String,
    pub create_time: i64,
}

/// `comment/markelect`, `unmarkelect`, `delete`, `reply/delete`: one comment.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CommentTarget {
    pub msg_data_id: u64,
    #[serde(default)]
    pub index: u32,
    pub user_comment_id: u64,
}

/// `comment/reply/add`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentReplyRequest {
    pub msg_data_id: u64,
    #[serde(default)]
    pub index: u32,
    pub user_comment_id: u64,
    pub content: String,
}

// ---- datacube (2026): keyed by msgid = "<msg_data_id>_<index>", index 1-based ----

/// Readers from one source (`scene_desc` as WeChat names it; "全部" is every source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadUserSource {
    #[serde(alias = "source_name")]
    pub scene_desc: String,
    #[serde(alias = "read_user")]
    pub user_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleReadDetail {
    #[serde(default)]
    pub read_user: u64,
    #[serde(default)]
    pub read_user_source: Vec<ReadUserSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleReadRow {
    pub ref_date: String,
    pub msgid: String,
    pub detail: ArticleReadDetail,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleShareDetail {
    #[serde(default)]
    pub share_user: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleShareRow {
    pub ref_date: String,
    pub msgid: String,
    pub detail: ArticleShareDetail,
}

/// The counters of getbizsummary's `detail` and of getarticletotaldetail's `detail_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedCounters {
    #[serde(default)]
    pub read_user: u64,
    #[serde(default)]
    pub read_user_source: Vec<ReadUserSource>,
    #[serde(default)]
    pub share_user: u64,
    /// 在看 (爱心赞).
    #[serde(default)]
    pub zaikan_user: u64,
    /// 点赞 (拇指赞).
    #[serde(default)]
    pub like_user: u64,
    #[serde(default)]
    pub comment_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BizSummaryRow {
    pub ref_date: String,
    pub detail: PublishedCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalDetailEntry {
    pub stat_date: String,
    #[serde(flatten)]
    pub counters: PublishedCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleTotalDetailRow {
    /// The publish day.
    pub ref_date: String,
    pub msgid: String,
    /// 0: followers were notified (mass send); 1: not notified (freepublish).
    pub publish_type: u8,
    pub detail_list: Vec<TotalDetailEntry>,
}

/// The statistics key (`msg_data_id`, 1-based index) an article's URL carries. WeChat's article
/// links have the form `https://mp.weixin.qq.com/s?__biz=…&mid=MSG_DATA_ID&idx=INDEX&sn=…`: `mid`
/// is the push's `msg_data_id` and `idx` the article's position, which is how a publication
/// whose `msg_data_id` was never recorded (made before publish.lock, or found again after a lost
/// answer) is joined to the 2026 statistics. Short links (`/s/AbC…`) carry neither: None.
pub fn statistics_key_of_url(url: &str) -> Option<(u64, u32)> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let mut mid = None;
    let mut idx = None;
    for (name, value) in parsed.query_pairs() {
        match name.as_ref() {
            "mid" | "appmsgid" => mid = value.parse::<u64>().ok().filter(|m| *m > 0),
            "idx" | "itemidx" => idx = value.parse::<u32>().ok().filter(|i| *i >= 1),
            _ => {}
        }
    }
    Some((mid?, idx?))
}

#[cfg(test)]
mod url_tests {
    use super::statistics_key_of_url;

    #[test]
    fn long_article_links_carry_the_statistics_key_and_short_ones_do_not() {
        let long = "http://mp.weixin.qq.com/s?__biz=MzI1NjA4MTAxMA==&mid=2247483685&idx=2&sn=6a1c0e&chksm=ea#rd";
        assert_eq!(statistics_key_of_url(long), Some((2_247_483_685, 2)));
        assert_eq!(statistics_key_of_url("https://mp.weixin.qq.com/s/AbCdEf123"), None);
        assert_eq!(statistics_key_of_url("https://mp.weixin.qq.com/s?__biz=x&mid=0&idx=1"), None);
        assert_eq!(statistics_key_of_url("https://mp.weixin.qq.com/s?__biz=x&mid=22&idx=0"), None);
        assert_eq!(statistics_key_of_url("not a url"), None);
    }
}
