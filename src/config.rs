//! `publish.toml`: the project configuration, parsed strictly and validated into one [`Config`].
//!
//! Every key is known: an unknown key is an error naming its path (`accounts.service.mdoe`) with
//! a did-you-mean suggestion, because a silently ignored typo in a publishing config is how a
//! push goes out at the wrong time or to the wrong account.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::util::diagnostics::{explain_unknown_field, line_col};

pub const CONFIG_FILE: &str = "publish.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error(
        "cannot read {path}: {source}\n  hint: run wxpub in the project folder (the one with publish.toml) or pass -C DIR"
    )]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{path}: `{key}`: {message}")]
    Value { path: PathBuf, key: String, message: String },
    #[error("no account `{name}` in publish.toml (accounts: {known})")]
    UnknownAccount { name: String, known: String },
}

/// Raw file shape. `deny_unknown_fields` everywhere: typos are errors, not silence.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub site: Site,
    pub accounts: BTreeMap<String, Account>,
    #[serde(default)]
    pub images: Images,
    #[serde(default)]
    pub build: Build,
    #[serde(default)]
    pub check: Check,
    #[serde(default)]
    pub publish: Publish,
    #[serde(default)]
    pub metrics: Metrics,
    #[serde(default)]
    pub archive: Archive,
    /// `[surveys.NAME]`: how to read each questionnaire tool's response export.
    #[serde(default)]
    pub surveys: BTreeMap<String, Survey>,
    /// `[miniprograms.NAME]`: mini programs linked to the accounts (visit booking, sign-up),
    /// which `booking` blocks turn into cards.
    #[serde(default)]
    pub miniprograms: BTreeMap<String, MiniProgram>,
    /// `[targets.YEAR]`: the yearly performance indicators `wxpub report annual` scores.
    #[serde(default)]
    pub targets: BTreeMap<String, BTreeMap<String, Target>>,
    /// `[monitor]` and `[[monitor.check]]`: availability checks of the museum's WeChat services.
    #[serde(default)]
    pub monitor: Monitor,
    /// `[comments]`: answering readers' comments.
    #[serde(default)]
    pub comments: Comments,
    /// `[mcp]`: what `wxpub mcp` may do beyond the project's own files.
    #[serde(default)]
    pub mcp: Mcp,
}

/// `[mcp]`: the tools of `wxpub mcp` that reach WeChat are off until named here; publishing and
/// mass sending are never tools at all.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mcp {
    /// `allow = ["send_preview", "reply_comment"]`.
    pub allow: Vec<McpGate>,
}

/// A tool of `wxpub mcp` that reaches WeChat, as `[mcp] allow` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum McpGate {
    /// Send a push's draft to the reviewers of `[publish] reviewers`.
    SendPreview,
    /// Answer a reader's comment.
    ReplyComment,
}

impl McpGate {
    /// The tool's name, as `[mcp] allow` and the assistant write it.
    pub fn name(self) -> &'static str {
        match self {
            McpGate::SendPreview => "send_preview",
            McpGate::ReplyComment => "reply_comment",
        }
    }
}

/// `[comments]`: answering readers' comments (`wxpub comments`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Comments {
    /// A TOML file of reply templates, relative to the project: `[templates]` with
    /// `name = "text"` (`wxpub comments reply ID --template name`).
    pub templates: Option<PathBuf>,
}

/// `[monitor]`: what `wxpub monitor` checks, and how often.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Monitor {
    /// Time between rounds (`monitor serve`); one round is recorded per such slot of the clock,
    /// whoever runs it.
    pub every: Interval,
    /// How long a check may take when it names no `timeout`.
    pub timeout: Interval,
    /// Warn when an HTTPS certificate expires within this many days.
    pub cert_warn_days: u32,
    /// Also check that each account's WeChat API (or its relay) answers: a call that needs no
    /// credentials and counts against no quota.
    pub api_checks: bool,
    /// `[[monitor.check]]`: the services, in the order reports list them.
    #[serde(rename = "check")]
    pub checks: Vec<MonitorCheck>,
    /// `[[monitor.maintenance]]`: announced windows, recorded but not counted as downtime.
    pub maintenance: Vec<MaintenanceWindow>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            every: Interval(std::time::Duration::from_secs(300)),
            timeout: Interval(std::time::Duration::from_secs(10)),
            cert_warn_days: 14,
            api_checks: true,
            checks: Vec::new(),
            maintenance: Vec::new(),
        }
    }
}

/// One service to check: a booking H5 page, a mini program backend's health URL, a menu link.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorCheck {
    /// Shown in reports and the annual form's evidence (`预约`, `核验`, `志愿者管理`…).
    pub name: String,
    pub url: CheckUrl,
    /// The HTTP status a working service answers with.
    #[serde(default)]
    pub expect_status: HttpStatus,
    /// Text the page must contain (a word of the booking page, `"ok"` of a health URL).
    #[serde(default)]
    pub expect_text: Option<String>,
    /// Longest wait for the whole answer (default: `[monitor] timeout`).
    #[serde(default)]
    pub timeout: Option<Interval>,
    /// A PEM file of certificate authorities trusted for this check besides the system's (an
    /// intranet service with the museum's own CA), relative to the project.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

/// A maintenance window, in the site's time zone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    pub start: LocalMoment,
    pub end: LocalMoment,
    /// Only these checks (by name); default: every check.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Why (shown in the availability report).
    #[serde(default)]
    pub note: Option<String>,
}

/// A length of time written as people write it (`"5m"`, `"30s"`, `"1m30s"`; a bare number is
/// seconds), more than zero; checked while the file is read, so an error names its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Interval(pub std::time::Duration);

impl From<Interval> for String {
    fn from(interval: Interval) -> String {
        format!("{}ms", interval.0.as_millis())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Seconds(f64),
        }
        let duration = match Written::deserialize(deserializer)? {
            Written::Text(text) => parse_duration(&text).ok_or_else(|| {
                serde::de::Error::custom(format!("`{text}` is not a duration (e.g. \"5m\", \"30s\", \"1m30s\")"))
            })?,
            Written::Seconds(seconds) => std::time::Duration::try_from_secs_f64(seconds)
                .map_err(|_| serde::de::Error::custom(format!("{seconds} is not a number of seconds")))?,
        };
        if duration.is_zero() {
            return Err(serde::de::Error::custom("must be more than 0 (e.g. \"5m\")"));
        }
        Ok(Interval(duration))
    }
}

/// An HTTP status code a service can answer with (100–599).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HttpStatus(pub u16);

impl Default for HttpStatus {
    fn default() -> Self {
        HttpStatus(200)
    }
}

impl<'de> Deserialize<'de> for HttpStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = i64::deserialize(deserializer)?;
        match u16::try_from(code) {
            Ok(code) if (100..=599).contains(&code) => Ok(HttpStatus(code)),
            _ => Err(serde::de::Error::custom(format!(
                "{code} is not an HTTP status (100–599; a working page answers 200)"
            ))),
        }
    }
}

/// The http(s) address of a service to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckUrl(pub String);

impl<'de> Deserialize<'de> for CheckUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match url::Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(CheckUrl(text)),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not an http(s) address (e.g. \"https://booking.museum.example/\")"
            ))),
        }
    }
}

/// A moment written `YYYY-MM-DD HH:MM` in the site's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LocalMoment(pub chrono::NaiveDateTime);

impl<'de> Deserialize<'de> for LocalMoment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|format| chrono::NaiveDateTime::parse_from_str(text.trim(), format).ok())
            .map(LocalMoment)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("`{text}` is not a time `YYYY-MM-DD HH:MM` (in the site's time zone)"))
            })
    }
}

impl MonitorCheck {
    /// This check's timeout: its own, else `[monitor] timeout`.
    pub fn timeout(&self, monitor: &Monitor) -> std::time::Duration {
        self.timeout.unwrap_or(monitor.timeout).0
    }
}

/// A mini program an article may link to with a card (`booking` block).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MiniProgram {
    /// Its AppID: `wx` and 16 hexadecimal digits. It must be linked to the account in the web
    /// backend (小程序管理), or WeChat drops the card.
    pub appid: String,
    /// The page a card opens when its block names none (`pages/booking/index`).
    #[serde(default)]
    pub path: String,
    /// The card's title when its block gives none.
    #[serde(default)]
    pub title: String,
}

/// Whether `appid` has the shape of a mini program's AppID (`wx` + 16 hex digits).
pub fn is_miniprogram_appid(appid: &str) -> bool {
    appid.len() == 18 && appid.starts_with("wx") && appid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `[metrics]`: the statistics database and how `wxpub stats pull` fetches.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// SQLite file, relative to the project folder, or a PostgreSQL URL
    /// (`postgres://user@host:5432/database`, never with a password) shared by a team or a network.
    pub db: PathBuf,
    /// With a PostgreSQL `db`: the museum's own schema (namespace) in it.
    pub schema: Option<String>,
    /// With a PostgreSQL `db`: the environment variable that holds the password.
    pub password_env: Option<String>,
    /// Datacube calls running at once.
    pub concurrency: usize,
    /// Days fetched again on every pull, because WeChat revises recent figures.
    pub refetch_days: u32,
    /// With an empty database and no `--since`, start this many days before yesterday.
    pub first_pull_days: u32,
    /// Items carrying this tag count as live streams in the annual report.
    pub live_tag: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            db: PathBuf::from(".wxpub/metrics.db"),
            schema: None,
            password_env: None,
            concurrency: 16,
            refetch_days: 3,
            first_pull_days: 365,
            live_tag: "直播".into(),
        }
    }
}

/// `[archive]`: where publications are archived as evidence.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Archive {
    /// Folder, relative to the project; meant to be committed or kept as a CI artifact.
    pub dir: PathBuf,
}

impl Default for Archive {
    fn default() -> Self {
        Archive { dir: PathBuf::from("archive") }
    }
}

/// `[surveys.NAME]`: the columns of a questionnaire export (问卷星, 腾讯问卷) and the scale.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    /// Shown in reports.
    #[serde(default)]
    pub title: Option<String>,
    /// Header of the overall-satisfaction column.
    pub rating_column: String,
    /// Lowest and highest rating, e.g. [1, 5].
    #[serde(default = "default_scale")]
    pub scale: [f64; 2],
    /// Ratings at or above this count as satisfied (default: the top two points of the scale).
    #[serde(default)]
    pub satisfied_min: Option<f64>,
    /// Text answers in scale order, when the export has words instead of numbers
    /// (e.g. ["非常不满意", "不满意", "一般", "满意", "非常满意"] for 1–5).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Header of the submission time column.
    pub time_column: String,
    /// Header of a response id column (序号); without it, a response is identified by its row.
    #[serde(default)]
    pub id_column: Option<String>,
}

fn default_scale() -> [f64; 2] {
    [1.0, 5.0]
}

impl Survey {
    pub fn satisfied_threshold(&self) -> f64 {
        self.satisfied_min.unwrap_or(self.scale[1] - 1.0)
    }
}

/// One indicator of the yearly self-evaluation form.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The target value (A) in the indicator's unit.
    pub value: f64,
    /// Points the indicator is worth.
    pub weight: f64,
    /// `positive` (more is better) or `negative` (cost-like: less is better).
    #[serde(default = "default_direction")]
    pub direction: Direction,
    /// Name shown in reports; defaults to the built-in name of a measured indicator.
    #[serde(default)]
    pub label: Option<String>,
    /// The actual value, for indicators wxpub cannot measure (budget execution, say).
    #[serde(default)]
    pub actual: Option<f64>,
    /// Level-1 and level-2 indicator headings of the form (产出/数量, 效益/社会效益…).
    #[serde(default)]
    pub level1: Option<String>,
    #[serde(default)]
    pub level2: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Positive,
    Negative,
}

fn default_direction() -> Direction {
    Direction::Positive
}

/// `[publish]`: how `wxpub publish` talks to WeChat.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Publish {
    /// Uploads running at once (drafts and publications always go one after another).
    pub upload_concurrency: usize,
    /// freepublish/get calls one run may make per account while it waits for publications to
    /// finish. WeChat allows 100 a day; a run every 15 minutes must not spend them on one review.
    pub status_checks_per_run: usize,
    /// WeChat IDs that `wxpub send-preview` sends to when no --to/--openid is given (each must
    /// follow the account).
    pub reviewers: Vec<String>,
    /// How long a run waits for its publications to finish (WeChat reviews them for seconds to
    /// minutes); what is still publishing then is confirmed by the next run. `publish --wait`
    /// overrides it.
    pub wait: String,
    /// How long after submitting the first look at a publication (then at doubling intervals).
    pub first_look: String,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            upload_concurrency: 4,
            status_checks_per_run: 10,
            reviewers: Vec::new(),
            wait: "30s".into(),
            first_look: "4s".into(),
        }
    }
}

impl Publish {
    /// `wait` as a duration (validated when the configuration is loaded).
    pub fn wait(&self) -> std::time::Duration {
        parse_duration(&self.wait).unwrap_or(std::time::Duration::from_secs(30))
    }

    /// `first_look` as a duration (validated when the configuration is loaded).
    pub fn first_look(&self) -> std::time::Duration {
        parse_duration(&self.first_look).unwrap_or(std::time::Duration::from_secs(4))
    }
}

/// `[check]`: rule severities and the word list.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Check {
    /// Rule id → `error`, `warning`, `info` or `off`.
    pub severity: BTreeMap<String, String>,
    /// A TOML file of banned or discouraged words (`[[word]] word = "…", replacement = "…"`).
    pub words: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The museum's name, shown in previews and reports.
    pub name: String,
    /// IANA time zone in which `publish_at` times are read (e.g. `Asia/Shanghai`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Theme file under `layouts/themes/` (without `.toml`).
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Where `wxpub build` writes; relative to the project folder.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// 服务号: four mass sends a month.
    Service,
    /// 订阅号: one mass send a day.
    Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishMode {
    /// freepublish/submit: published, followers not notified.
    Publish,
    /// message/mass/sendall: pushed to followers, within the account kind's allowance.
    Masssend,
    /// Stop at the draft; a person publishes it by hand.
    Draft,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Display name, as readers see it.
    pub name: String,
    pub kind: AccountKind,
    /// Name of the environment variable holding the AppID.
    pub appid_env: String,
    /// Name of the environment variable holding the AppSecret (never the secret itself).
    pub secret_env: String,
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Send this account's API calls through a `wxpub relay` at this URL (the machine on the
    /// IP allow-list), which holds the AppSecret: the AppID/AppSecret variables are then not read.
    /// `WXPUB_RELAY` overrides it for every account.
    #[serde(default)]
    pub relay: Option<String>,
    /// The environment variable holding this client's relay token.
    #[serde(default = "default_relay_token_env")]
    pub relay_token_env: String,
    /// The account's name in the relay's configuration (default: its key here).
    #[serde(default)]
    pub relay_account: Option<String>,
    #[serde(default = "default_mode")]
    pub mode: PublishMode,
    /// Partial templates wrapped around every push of this account (under `layouts/`).
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub footer: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Images {
    /// Body images wider than this are scaled down (never up).
    pub max_width: u32,
    /// Refuse images with more pixels than this before decoding them (decompression bombs).
    pub max_megapixels: f64,
    /// Refuse images wider or taller than this many pixels before decoding them (a 99,000,000×1
    /// PNG is under any megapixel limit and still costs gigabytes to decode and resize).
    pub max_side: u32,
    /// uploadimg accepts under 1 MB; aim this far below it.
    pub size_margin: f64,
    /// JPEG quality search range.
    pub jpeg_quality_max: u8,
    pub jpeg_quality_min: u8,
    /// Permanent image material limit in bytes (older docs say 2 MB; current 10 MB).
    pub material_max_bytes: u64,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            max_width: 1080,
            max_megapixels: 100.0,
            max_side: 30_000,
            size_margin: 0.05,
            jpeg_quality_max: 90,
            jpeg_quality_min: 60,
            material_max_bytes: crate::wechat::limits::IMAGE_MATERIAL_MAX_BYTES as u64,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Build {
    /// Heading of the numbered list that outside links are turned into.
    pub references_title: String,
    /// syntect theme used for inline-styled code highlighting.
    pub code_theme: String,
    /// What a single line break inside a paragraph becomes.
    pub line_breaks: LineBreaks,
}

impl Default for Build {
    fn default() -> Self {
        Build {
            references_title: "参考资料".into(),
            code_theme: "InspiredGitHub".into(),
            line_breaks: LineBreaks::Soft,
        }
    }
}

/// `[build] line_breaks`: how a single newline inside a paragraph is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LineBreaks {
    /// As CommonMark: the lines join into one paragraph (a space between Latin words, nothing
    /// between Chinese characters). A line ending in `\` or two spaces still breaks.
    #[default]
    Soft,
    /// Every newline the author typed is a line break (`<br>`), as in a chat message.
    Hard,
}

fn default_timezone() -> String {
    "Asia/Shanghai".into()
}
fn default_theme() -> String {
    "museum".into()
}
fn default_output_dir() -> PathBuf {
    PathBuf::from("dist")
}
fn default_api_base() -> String {
    "https://api.weixin.qq.com".into()
}
fn default_relay_token_env() -> String {
    "WXPUB_RELAY_TOKEN".into()
}
fn default_mode() -> PublishMode {
    PublishMode::Draft
}

impl Config {
    /// Reads and validates `publish.toml` in `project`.
    pub fn load(project: &Path) -> Result<Config, ConfigError> {
        let path = project.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        Self::parse(&text, &path)
    }

    /// Parses and validates configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Invalid { path: path.to_path_buf(), line, column, message }
        };
        let de = toml::Deserializer::parse(text).map_err(|e| invalid(e.span(), e.message().to_string()))?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let message = explain_unknown_field(inner.message()).unwrap_or_else(|| inner.message().to_string());
            let message = if key.is_empty() || key == "." { message } else { format!("`{key}`: {message}") };
            invalid(inner.span(), message)
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let err =
            |key: &str, message: String| ConfigError::Value { path: path.to_path_buf(), key: key.into(), message };
        if self.site.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(err(
                "site.timezone",
                format!("`{}` is not an IANA time zone (try `Asia/Shanghai`)", self.site.timezone),
            ));
        }
        if self.accounts.is_empty() {
            return Err(err("accounts", "define at least one account, e.g. [accounts.service]".into()));
        }
        for (name, account) in &self.accounts {
            if !(account.api_base.starts_with("http://") || account.api_base.starts_with("https://")) {
                return Err(err(
                    &format!("accounts.{name}.api_base"),
                    format!("`{}` is not an http(s) URL", account.api_base),
                ));
            }
            if let Some(relay) = &account.relay
                && !(relay.starts_with("http://") || relay.starts_with("https://"))
            {
                return Err(err(
                    &format!("accounts.{name}.relay"),
                    format!(
                        "`{relay}` is not an http(s) URL (the relay's address, e.g. https://relay.museum.example:8971)"
                    ),
                ));
            }
            for (field, value) in [
                ("appid_env", &account.appid_env),
                ("secret_env", &account.secret_env),
                ("relay_token_env", &account.relay_token_env),
            ] {
                let valid = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(err(
                        &format!("accounts.{name}.{field}"),
                        "must be the NAME of an environment variable (letters, digits, _), never the secret itself"
                            .into(),
                    ));
                }
            }
        }
        for (key, value) in [("publish.wait", &self.publish.wait), ("publish.first_look", &self.publish.first_look)] {
            if parse_duration(value).is_none() {
                return Err(err(key, format!("`{value}` is not a duration (e.g. \"30s\", \"2m\", \"500ms\")")));
            }
        }
        if parse_duration(&self.publish.first_look).is_some_and(|d| d.is_zero()) {
            return Err(err("publish.first_look", "must be more than 0 (WeChat takes at least a moment)".into()));
        }
        if !(1..=64).contains(&self.metrics.concurrency) {
            return Err(err("metrics.concurrency", "must be between 1 and 64".into()));
        }
        for (year, targets) in &self.targets {
            if !(year.len() == 4 && year.parse::<i32>().is_ok()) {
                return Err(err(
                    &format!("targets.{year}"),
                    "tables under [targets] are named by year, e.g. [targets.2026]".into(),
                ));
            }
            for (key, target) in targets {
                let path = format!("targets.{year}.{key}");
                if !(target.value.is_finite() && target.value > 0.0) {
                    return Err(err(&format!("{path}.value"), "must be a positive number".into()));
                }
                if !(target.weight.is_finite() && target.weight > 0.0) {
                    return Err(err(&format!("{path}.weight"), "must be a positive number of points".into()));
                }
                if target.actual.is_some_and(|a| !a.is_finite() || a < 0.0) {
                    return Err(err(&format!("{path}.actual"), "must be a number ≥ 0".into()));
                }
            }
        }
        for (name, survey) in &self.surveys {
            let [low, high] = survey.scale;
            if !(low.is_finite() && high.is_finite() && low < high) {
                return Err(err(&format!("surveys.{name}.scale"), "must be [lowest, highest], e.g. [1, 5]".into()));
            }
            if !(low..=high).contains(&survey.satisfied_threshold()) {
                return Err(err(
                    &format!("surveys.{name}.satisfied_min"),
                    format!("must be on the scale {low}–{high}"),
                ));
            }
            if !survey.labels.is_empty() && survey.labels.len() as f64 != high - low + 1.0 {
                return Err(err(
                    &format!("surveys.{name}.labels"),
                    format!("give one label per point of the scale {low}–{high}, lowest first"),
                ));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (index, check) in self.monitor.checks.iter().enumerate() {
            let key = format!("monitor.check[{index}].name");
            if check.name.trim().is_empty() {
                return Err(err(&key, "give the service a name (shown in reports and the annual form)".into()));
            }
            if !names.insert(check.name.as_str()) {
                return Err(err(&key, format!("`{}` names two checks; each needs its own name", check.name)));
            }
        }
        for (index, window) in self.monitor.maintenance.iter().enumerate() {
            if window.end.0 <= window.start.0 {
                return Err(err(&format!("monitor.maintenance[{index}].end"), "must be after `start`".into()));
            }
            if let Some(unknown) = window.checks.iter().find(|c| !names.contains(c.as_str())) {
                return Err(err(
                    &format!("monitor.maintenance[{index}].checks"),
                    format!("`{unknown}` is not the name of a [[monitor.check]]"),
                ));
            }
        }
        if !(1..=32).contains(&self.publish.upload_concurrency) {
            return Err(err("publish.upload_concurrency", "must be between 1 and 32".into()));
        }
        let images = &self.images;
        if images.max_width < 100 {
            return Err(err(
                "images.max_width",
                format!("{} px is too narrow; WeChat shows bodies at about 1080 px", images.max_width),
            ));
        }
        if images.max_megapixels.is_nan() || images.max_megapixels <= 0.0 {
            return Err(err("images.max_megapixels", "must be a positive number".into()));
        }
        if images.max_side < 1000 {
            return Err(err(
                "images.max_side",
                format!("{} px is too small for photographs; use 1000 or more", images.max_side),
            ));
        }
        if !(0.0..0.5).contains(&images.size_margin) {
            return Err(err("images.size_margin", "must be between 0 and 0.5 (a fraction of the 1 MB limit)".into()));
        }
        if images.jpeg_quality_min == 0
            || images.jpeg_quality_min > images.jpeg_quality_max
            || images.jpeg_quality_max > 100
        {
            return Err(err("images.jpeg_quality_min", "need 1 ≤ jpeg_quality_min ≤ jpeg_quality_max ≤ 100".into()));
        }
        Ok(())
    }

    /// The account named `name`, or an error listing the accounts there are.
    pub fn account(&self, name: &str) -> Result<&Account, ConfigError> {
        self.accounts.get(name).ok_or_else(|| ConfigError::UnknownAccount {
            name: name.into(),
            known: self.accounts.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.site.timezone.parse().expect("validated in Config::parse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
name = "Museum"

[accounts.service]
name = "Museum"
kind = "service"
appid_env = "A"
secret_env = "S"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("publish.toml"))
    }

    #[test]
    fn mcp_allows_only_the_tools_it_names_and_knows() {
        assert!(parse(MINIMAL).unwrap().mcp.allow.is_empty(), "nothing reaches WeChat unless named");
        let config = parse(&format!("{MINIMAL}\n[mcp]\nallow = [\"send_preview\"]\n")).unwrap();
        assert_eq!(config.mcp.allow, [McpGate::SendPreview]);
        // Publishing is never a tool: naming it is an error at its line, with the names there are.
        let text = format!("{MINIMAL}\n[mcp]\nallow = [\"send_preview\", \"publish\"]\n");
        let Err(ConfigError::Invalid { line, message, .. }) = parse(&text) else { panic!("`publish` accepted") };
        assert_eq!(Some(line), text.lines().position(|l| l.starts_with("allow")).map(|i| i + 1));
        assert!(message.contains("`publish`") && message.contains("reply_comment"), "{message}");
        let Err(ConfigError::Invalid { message, .. }) = parse(&format!("{MINIMAL}\n[mcp]\nalow = []\n")) else {
            panic!("a typo accepted");
        };
        assert!(message.contains("did you mean `allow`"), "{message}");
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.images.max_width, 1080);
        assert_eq!(config.accounts["service"].mode, PublishMode::Draft);
        assert_eq!(config.timezone(), chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn unknown_key_names_path_and_suggests() {
        let text = MINIMAL.replace("kind = \"service\"", "kind = \"service\"\nmdoe = \"publish\"");
        let message = parse(&text).unwrap_err().to_string();
        assert!(message.contains("accounts.service"), "{message}");
        assert!(message.contains("did you mean `mode`"), "{message}");
        assert!(message.contains("publish.toml:8:"), "{message}");
    }

    #[test]
    fn bad_enum_and_timezone_are_named() {
        let text = MINIMAL.replace("kind = \"service\"", "kind = \"servise\"");
        let message = parse(&text).unwrap_err().to_string();
        assert!(message.contains("accounts.service.kind"), "{message}");
        let text = MINIMAL.replace("name = \"Museum\"\n\n", "name = \"Museum\"\ntimezone = \"Mars/Base\"\n\n");
        assert!(parse(&text).unwrap_err().to_string().contains("site.timezone"));
    }
}

/// Reads a duration written by a person: a number with a unit, `500ms`, `30s`, `2m`, `1h`, or
/// a combination (`1m30s`); decimals allowed (`0.5s`). A bare number is seconds.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return std::time::Duration::try_from_secs_f64(seconds).ok();
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match rest[..unit_len].trim() {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    std::time::Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;

    #[test]
    fn durations_read_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("0.2s"), Some(Duration::from_millis(200)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("3 days"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration(""), None);
    }
}
