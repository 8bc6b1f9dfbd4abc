//! Command-line definitions (clap derive). The doc comments are the `--help` text.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// wxpub — build, check, publish and measure a museum's WeChat Official Account content.
///
/// Articles, posters and topic pages are Markdown + images under `content/`, styled by the Tera
/// layouts and themes under `layouts/`, configured by `publish.toml`.
#[derive(Debug, Parser)]
#[command(name = "wxpub", version, propagate_version = true)]
pub struct Cli {
    /// Project directory (the folder holding publish.toml).
    #[arg(short = 'C', long = "project", global = true, default_value = ".")]
    pub project: PathBuf,

    /// Print less: only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Act as if it were this moment (`YYYY-MM-DD HH:MM` in the site time zone, or RFC 3339):
    /// what is due, which publish times have passed, which statistics days exist.
    ///
    /// Example: `wxpub publish --dry-run --due --now "2026-12-07 09:00"`
    #[arg(long, global = true, env = "WXPUB_NOW", value_name = "MOMENT")]
    pub now: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

impl Command {
    /// Commands that change nothing on WeChat or in the project (output files named by the
    /// user aside).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::Status { .. }
                | Command::Check(_)
                | Command::Report(_)
                | Command::Completions { .. }
                | Command::Archive(_)
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every item under content/ into WeChat-compatible HTML in the output directory.
    ///
    /// Output: `dist/<kind>/<slug>/content.html` (the exact HTML sent to WeChat),
    /// `dist/<kind>/<slug>/index.html` (the same, wrapped for a browser), the item's images, and
    /// `dist/manifest.json`.
    ///
    /// Incremental: only items whose sources, images, layouts or settings changed are rendered
    /// and written, each swapped in whole, so an interrupted build leaves every item old or new.
    /// When no file the last build read or wrote has changed (same size, mtime, ctime and inode),
    /// it says so without loading the project. `rm -rf .wxpub/cache` builds from nothing.
    /// While another wxpub run writes the project (a publish, another build), it waits.
    ///
    /// Example: `wxpub build` or `wxpub -C path/to/project build --out /tmp/dist`
    Build {
        /// Write to this directory instead of `[site] output_dir`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Include items marked `draft: true`.
        #[arg(long)]
        drafts: bool,
    },
    /// Show each item's state: built, drafted, scheduled, published (with URLs) or failed.
    ///
    /// Reads content/, the build output and publish.lock; talks to nobody.
    ///
    /// Example: `wxpub status` or `wxpub status --json`
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild (or verify) publish.lock from what the server has, when the lock was lost.
    ///
    /// Finds this project's permanent materials by name (uploads are named by content hash),
    /// its drafts and its published pushes by their titles, and records them, so that the next
    /// `wxpub publish` does not upload, draft or publish them again. Body images (uploadimg)
    /// cannot be listed and are uploaded again; that creates nothing visible.
    ///
    /// Examples: `wxpub sync`, `wxpub sync --check` (report differences, write nothing)
    Sync {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// Compare the server with publish.lock and report; do not write.
        #[arg(long)]
        check: bool,
    },
    /// Serve the WeChat API contract locally: a faithful emulator for tests and first tries.
    ///
    /// It enforces the real limits and error codes (tokens, upload types and sizes, draft field
    /// limits, 1–8 articles, cover material, datacube spans), keeps its state in SQLite, serves
    /// uploaded images back, and can inject seeded faults. It prints the environment variables
    /// to export so that every other command talks to it instead of WeChat.
    ///
    /// Example: `wxpub sandbox --port 8964 --state .wxpub/sandbox.db --publish-delay-ms 500`
    Sandbox(SandboxArgs),
    /// Run the relay: the one machine on the accounts' IP allow-lists, holding their secrets.
    ///
    /// Hosted CI runners change address on every run, and WeChat answers only addresses on the
    /// account's allow-list (40164). Run `wxpub relay` on a machine with a fixed address; give it
    /// the AppIDs and AppSecrets (in its own environment, named in relay.toml) and a token per
    /// client. A project's account with `relay = "https://…"` (or `WXPUB_RELAY`) then sends its
    /// calls there with the token from `WXPUB_RELAY_TOKEN`; the relay checks the token, forwards
    /// only the contract's endpoints, adds the access token itself and answers with WeChat's
    /// answer. Plain HTTP by default (put it behind nginx or Caddy), or HTTPS with tls_cert and
    /// tls_key. Access log: one JSON line per call on stdout, no secret or token in it.
    ///
    /// Example: `wxpub relay --config /etc/wxpub/relay.toml`
    Relay(RelayArgs),
    /// Check that each account can reach the WeChat API from this machine.
    ///
    /// For every account in publish.toml (or the one named): reads its AppID/AppSecret from the
    /// environment, fetches an access token and counts its material and drafts. Use it when
    /// setting up CI: it names a missing variable, a wrong secret or an IP missing from the
    /// allow-list in plain words. Exit code 0 when every account answered, 1 otherwise.
    ///
    /// Example: `WXPUB_API_BASE=http://127.0.0.1:8964 wxpub doctor --account service`
    Doctor {
        /// Only this account (a key of [accounts]).
        #[arg(long)]
        account: Option<String>,
        /// Also check the rules of the WeChat contract wxpub relies on against the live account:
        /// throwaway drafts just inside and outside each limit (deleted at once), uploadimg just
        /// under and over 1 MB, publish permission, statistics fields (and, with --preview-to, the
        /// mass-send permission). Publishes nothing and sends nothing to followers.
        #[arg(long)]
        probe: bool,
        /// With --probe: write the findings to this file as JSON, and beside it as text (.txt).
        #[arg(long, requires = "probe", value_name = "FILE")]
        report: Option<PathBuf>,
        /// With --probe: go ahead on an account in `masssend` mode (nothing is sent, but the probe
        /// touches the account's drafts and materials).
        #[arg(long, requires = "probe")]
        yes: bool,
        /// With --probe: also check the mass-send permission, which no read-only call shows, by
        /// sending one throwaway draft as a preview (message/mass/preview) to this WeChat ID, who
        /// must follow the account. It reaches that one phone only; nothing goes to followers.
        #[arg(long, requires = "probe", value_name = "WECHAT_ID")]
        preview_to: Option<String>,
    },
    /// Lint items: WeChat limits, front matter, images, links, Chinese typography, word list.
    ///
    /// Prints diagnostics with file:line:col, rule id, severity, message and a hint. Exit code:
    /// 0 when there is no error (and no warning with --deny-warnings), 1 otherwise, 2 when the
    /// check could not run (e.g. a broken publish.toml). Rule severities are set in `[check]
    /// severity` of publish.toml (`off` disables a rule); `<!-- wxpub-ignore RULE -->` on a line
    /// (or the line before) silences one rule there.
    ///
    /// Examples: `wxpub check`, `wxpub check content/articles/2026-12-01-ding-story --fix`,
    /// `wxpub check --format github --deny-warnings` (in CI)
    Check(CheckArgs),
    /// Upload images, create or update drafts, and publish what is due — never twice.
    ///
    /// Builds (incrementally) and checks first: errors block. Then groups items into pushes (same
    /// account and publish_at, ordered by position, at most 8) and runs them against
    /// publish.lock, which records every write to WeChat as soon as it succeeds: a re-run with
    /// nothing changed writes nothing, and an interrupted run is finished by the next one.
    /// Without --due nothing is published, only drafted.
    ///
    /// WeChat keeps its own pace: every due push is submitted first, then all are settled
    /// together (one listing settles many); a publication still under review when the run stops
    /// waiting (`[publish] wait`, default 30 s; `--wait` to wait until done) is reported as
    /// `publishing` and confirmed by the next run — not a failure.
    ///
    /// Drafts are shared with the web backend (草稿箱), where editors insert videos: a draft edited
    /// there is never overwritten unasked. The push is reported as a conflict (what changed) and
    /// waits for `--keep-server ITEM` (publish the web backend's version) or `--overwrite-server
    /// ITEM` (send the build). A draft with a `video` placeholder is published once the video
    /// replaced it there.
    ///
    /// Exit codes: 0 everything done, or still publishing at WeChat (the next run confirms it) ·
    /// 1 a push failed, was rejected by review, or is in conflict with the web backend (the
    /// summary says what was done and what is left) · 2 the run could not start (configuration,
    /// check errors, credentials) · 3 --no-wait and another run holds the project · 4 the only
    /// failures are pushes the account may not publish through the API (drafts ready).
    ///
    /// Examples: `wxpub publish --dry-run`, `wxpub publish --due` (CI, on a schedule),
    /// `wxpub publish --due --wait` (at a terminal: until WeChat has settled everything),
    /// `wxpub publish articles/2026-12-01-ding-story --account service`,
    /// `wxpub publish --due --keep-server articles/2026-12-12-conservation-lab`
    Publish(PublishArgs),
    /// Send pushes to editors' phones to proof them, before they go out. Publishes nothing.
    ///
    /// Builds, uploads what is needed, creates or updates the draft of each push holding the
    /// named items (recorded in publish.lock, so `publish` reuses it), and sends that draft to
    /// each reviewer through WeChat's preview (message/mass/preview, 100 a day). A reviewer must
    /// follow the account. Reviewers: --to WeChat IDs, --openid openids, or `[publish] reviewers`.
    ///
    /// Examples: `wxpub send-preview articles/2026-12-01-ding-story --to museum-editor`,
    /// `wxpub send-preview content/articles/2026-12-12-conservation-lab` (to `[publish] reviewers`)
    SendPreview(SendPreviewArgs),
    /// Fetch follower and engagement statistics from the datacube APIs into the metrics database.
    ///
    /// Example: `wxpub stats pull`, `wxpub stats pull --account service --since 2026-01-01`
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Reports from the metrics database: followers, articles, summary, and the annual report.
    ///
    /// Reads only the database (`[metrics] db`, default .wxpub/metrics.db): run `wxpub stats
    /// pull` first. The period is `--since/--until`, or `--period week|month|year` (the calendar
    /// period holding --until, which defaults to the latest day stored), or the 30 days up to the
    /// latest day stored. Formats: table (default), csv (the main table), json, html (one
    /// self-contained file with SVG charts, good on a phone and on paper).
    ///
    /// Examples: `wxpub report summary --period month`,
    /// `wxpub report articles --since 2026-11-01 --until 2026-11-30 --top 10 --format csv`,
    /// `wxpub report annual --year 2026 --format html --out annual-2026.html`
    Report(ReportArgs),
    /// Readers' comments (留言): pull them, see what needs an answer, reply, elect, delete.
    ///
    /// `wxpub comments pull` reads the comments of every published article (both accounts, both
    /// publish modes) into the statistics store: a comment seen before is updated, never
    /// duplicated; one gone from WeChat is marked deleted. Comments are for verified accounts
    /// only: an account WeChat refuses (88000) is named and skipped, the others are pulled.
    /// `wxpub comments` lists them, unanswered first, oldest first, each with its number; the
    /// other subcommands act on one by that number, exactly once (after a lost answer the
    /// comment is looked at before anything is sent again), and record who did it. A reply is
    /// checked (length, the project's word list) before it is sent. Replies can come from
    /// templates: `[comments] templates = "replies.toml"` with `[templates] hours = "…"`.
    ///
    /// Examples: `wxpub comments pull`, `wxpub comments --unanswered`,
    /// `wxpub comments --item 2026-12-01-ding-story --format json`,
    /// `wxpub comments reply 17 "您好，本馆周一闭馆。"`, `wxpub comments reply 18 --template hours`,
    /// `wxpub comments elect 17`, `wxpub comments close articles/2026-12-01-ding-story`
    Comments(CommentsArgs),
    /// Serve this project to an AI assistant over the Model Context Protocol (MCP), on stdin/stdout.
    ///
    /// The assistant's client starts it and talks to it; it reads and writes only this project. Tools:
    /// list_items, read_item, check, status, report, list_comments, contract_rules (read);
    /// new_item, update_item, fix_typography, build_item (the project's own files: never outside
    /// content/, and a front matter wxpub's parser refuses is never written); send_preview and
    /// reply_comment (reach WeChat: off until publish.toml says `[mcp] allow = ["send_preview",
    /// "reply_comment"]`; previews go to `[publish] reviewers` only). Publishing and mass sending
    /// are never tools. Resources: the editors' guide and the check rules. Every call is logged on
    /// stderr (tool and arguments, long texts shortened, no secret); stdout is the protocol's.
    /// Credentials come from the environment, as for every command.
    ///
    /// Add it to a client (Claude Desktop's claude_desktop_config.json, Cursor's .cursor/mcp.json;
    /// VS Code's .vscode/mcp.json names the list "servers" and adds "type": "stdio"):
    ///
    /// {"mcpServers": {"wxpub": {"command": "wxpub", "args": ["mcp", "--project", "/path/to/museum"]}}}
    ///
    /// Example: `wxpub mcp --project /path/to/museum` (started by the client, not by hand)
    Mcp,
    /// Check that the museum's WeChat services answer, round after round, as evidence for the
    /// yearly form (功能服务稳定度, 安全运行保障率, 提供基于微信的功能服务).
    ///
    /// The services are named in publish.toml: `[[monitor.check]]` with `name`, `url` (a booking
    /// H5 page, a mini program backend's health URL, a menu link), `expect_status` (default 200),
    /// optional `expect_text` and `timeout`; `[monitor] every` (default 5m) and
    /// `[[monitor.maintenance]]` windows (`start`, `end`, site time; recorded, not counted). Each
    /// account's API is checked too (`[monitor] api_checks`, default true), with a call that needs
    /// no credentials and spends no quota. Every result goes into the statistics store (up/down,
    /// HTTP status, latency, why: DNS, refused, timeout, TLS, status, text missing; the HTTPS
    /// certificate's expiry, warned about under `cert_warn_days`, default 14), and incidents run
    /// from the first failure to the recovery. `wxpub report availability` shows them.
    ///
    /// A round fills one slot of the clock (`every` long): two monitors at once, or a timer that
    /// fires twice, record it once. Exit code 2 when the monitor itself fails (configuration,
    /// store); a service that is down is a result, not a failure (unless --fail-on-down).
    ///
    /// Examples: `wxpub monitor run` (cron: `*/5 * * * * cd /srv/museum && wxpub monitor run -q`),
    /// `wxpub monitor serve` (a systemd service: docs/operators-guide.md)
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// Serve every item on 127.0.0.1 as readers will see it, rebuilt and reloaded on every save.
    ///
    /// The index lists each item with its kind, account, schedule, check results and both cover
    /// crops; each item opens in a 375 px phone frame drawn like a WeChat article page (account,
    /// title, author, date, 阅读原文). Changes to content/, layouts/, publish.toml or
    /// publish.lock rebuild what they touch (images come from the cache), and the open pages
    /// that changed reload themselves. Drafts are included. Nothing is written for it: `dist/`
    /// stays as the last `wxpub build` left it.
    ///
    /// `/__comments` lists readers' comments (from the last `wxpub comments pull`) per article,
    /// unanswered first, with a reply box, the reply templates and elect buttons; it answers
    /// through the accounts' API, so a change must come from that page (POST, its session token,
    /// the preview's own Origin) — another website open in the browser cannot drive it.
    ///
    /// Examples: `wxpub preview`, `wxpub preview --port 8000 --open`
    Preview {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 8380)]
        port: u16,
        /// Open the index in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Create a new wxpub project that builds at once.
    ///
    /// Writes publish.toml (with comments), layouts/ with the default theme, one example article
    /// with a generated cover, and a .gitignore for .wxpub/ and dist/. Refuses to overwrite files.
    ///
    /// Examples: `wxpub init my-museum`, `wxpub init` (in an empty folder)
    Init {
        /// Folder to create the project in (created if missing).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The museum's name.
        #[arg(long, default_value = "我的博物馆")]
        name: String,
    },
    /// Create a dated item folder with its front matter filled in.
    ///
    /// The folder is `content/<kind>s/<date>-<slug>/`, the slug made from the title (Chinese in
    /// pinyin). publish_at is the date at 08:00; the account is the first in publish.toml unless
    /// --account says otherwise.
    ///
    /// Examples: `wxpub new article "冬至特展开幕" --date 2026-12-21`,
    /// `wxpub new poster "元旦闭馆通知" --account subscription`
    New {
        /// article, poster or topic.
        #[arg(value_parser = ["article", "poster", "topic"])]
        kind: String,
        /// The title (at most 32 characters: WeChat's limit).
        title: String,
        /// Publication date (YYYY-MM-DD); default: today.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Account key from publish.toml.
        #[arg(long)]
        account: Option<String>,
    },
    /// Make an item from a manuscript written elsewhere.
    ///
    /// `wxpub import docx FILE.docx` turns a Word document into a new item folder, as `wxpub new`
    /// makes one: the title (the document's title property, else its first heading, else the
    /// file's name), author and digest (its first paragraph) in the front matter; headings,
    /// emphasis, lists, tables (merged cells written out), footnotes, links, line breaks and
    /// quotes as Markdown; the pictures beside index.md as figure-01.jpg… with their alt text and
    /// captions; the typography normalised as `check --fix` would. What has no Markdown form (text
    /// boxes, shapes, comments, tracked changes — the final text is used —, fields, equations,
    /// pictures WeChat cannot show) is listed with its paragraph number, and its text kept where
    /// it has one. The item is then checked and the findings printed. Nothing is written when the
    /// file cannot be imported, and never a half-made folder.
    ///
    /// Examples: `wxpub import docx 展览文稿.docx --date 2026-12-21`,
    /// `wxpub import docx 修复笔记.docx --kind article --account subscription --slug restoration-notes`
    #[command(subcommand)]
    Import(ImportCommand),
    /// The publication archive: verify it, or print its index.
    ///
    /// Every publication (and mass send) is archived by `wxpub publish` as it happens, under
    /// `[archive] dir` (default archive/): the HTML as sent, images, cover, URLs, publish_id and
    /// times, with the sha256 of every file, each entry chained to the one before.
    ///
    /// Examples: `wxpub archive verify`, `wxpub archive index --year 2026 --out archive-2026.html`
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Audience-satisfaction surveys: invite readers, import the answers, report the rate.
    ///
    /// Examples: `wxpub survey new "2026 年观众满意度调查" --url https://wj.qq.com/s2/123/abc`,
    /// `wxpub survey import export.xlsx --survey visitors-2026`, `wxpub survey report --year 2026`
    #[command(subcommand)]
    Survey(SurveyCommand),
    /// Print a shell completion script.
    ///
    /// Examples: `wxpub completions bash > ~/.local/share/bash-completion/completions/wxpub`,
    /// `wxpub completions zsh > ~/.zfunc/_wxpub`, `wxpub completions fish > ~/.config/fish/completions/wxpub.fish`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Word manuscript (.docx; a .doc must be saved as .docx first) → a new item folder, its
    /// pictures beside it; what had no Markdown form is listed; the item is checked.
    ///
    /// Example: `wxpub import docx 展览文稿.docx --date 2026-12-21 --account service`
    Docx(ImportDocxArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportDocxArgs {
    /// The .docx file.
    pub file: PathBuf,
    /// article, poster or topic.
    #[arg(long, default_value = "article", value_parser = ["article", "poster", "topic"])]
    pub kind: String,
    /// Publication date (YYYY-MM-DD); default: today.
    #[arg(long)]
    pub date: Option<chrono::NaiveDate>,
    /// Account key from publish.toml; default: `service`, else the first.
    #[arg(long)]
    pub account: Option<String>,
    /// The folder's name after the date (made safe: letters, digits, pinyin); default: the
    /// title's pinyin.
    #[arg(long)]
    pub slug: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Recompute every file's sha256 and the index chain; name each entry that does not match.
    ///
    /// Exit code 1 when anything was edited, added or removed after archiving.
    ///
    /// Examples: `wxpub archive verify`, `wxpub archive verify --year 2026`
    Verify {
        /// Only this year (default: every year in the archive).
        #[arg(long)]
        year: Option<String>,
    },
    /// Write a self-contained, printable HTML index of a year (date, account, title, link,
    /// thumbnail), for the appendix of the self-evaluation.
    ///
    /// Example: `wxpub archive index --year 2026 --out archive-2026.html`
    Index {
        #[arg(long)]
        year: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import what the accounts published before wxpub (or in the web backend) into the
    /// archive, marked as imported: the HTML as the server returns it, its images and cover
    /// downloaded, URLs, dates, the statistics key; hashed and chained like every entry.
    ///
    /// Lists the published items through freepublish/batchget (which lists 发布 publications,
    /// not older mass sends or deleted ones). Items wxpub published itself and items imported
    /// before are skipped, so a second run adds nothing and a killed run is continued. An image
    /// that is too large or not an image is recorded as missing, with why, and the import goes on.
    ///
    /// Example: `wxpub archive import --account service --since 2024-01-01`
    Import {
        /// Only this account (default: every account).
        #[arg(long)]
        account: Option<String>,
        /// Only publications from this day (YYYY-MM-DD, Beijing time).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Only publications up to this day.
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        /// Larger images are recorded as missing.
        #[arg(long, default_value_t = crate::wechat::limits::IMAGE_MATERIAL_MAX_BYTES)]
        max_image_bytes: usize,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CommentsArgs {
    #[command(subcommand)]
    pub command: Option<CommentsCommand>,
    /// Only this account's comments.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this item's (its key, folder name or msgid).
    #[arg(long)]
    pub item: Option<String>,
    /// Only comments written on or after this day (YYYY-MM-DD, site time).
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// Only elected (精选) comments.
    #[arg(long, conflicts_with = "unelected")]
    pub elected: bool,
    /// Only comments not elected.
    #[arg(long)]
    pub unelected: bool,
    /// Only comments without a reply.
    #[arg(long)]
    pub unanswered: bool,
    /// Also comments deleted since.
    #[arg(long)]
    pub deleted: bool,
    /// Print JSON (each comment with its number, `id`) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CommentsCommand {
    /// Read the comments of every published article into the statistics store.
    ///
    /// Example: `wxpub comments pull`, `wxpub comments pull --account service`
    Pull {
        #[arg(long)]
        account: Option<String>,
    },
    /// Answer a comment (one reply per comment: WeChat keeps one).
    ///
    /// Examples: `wxpub comments reply 17 "您好，本馆周一闭馆。"`, `wxpub comments reply 18 --template hours --as 王老师`
    Reply {
        /// The comment's number (`wxpub comments` lists them).
        id: i64,
        /// What to answer.
        #[arg(required_unless_present = "template", conflicts_with = "template")]
        text: Option<String>,
        /// A reply from `[comments] templates`, by name.
        #[arg(long)]
        template: Option<String>,
        /// Who answers, as recorded (default: `git config user.name`, else the login name).
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
    /// Elect a comment (精选): readers see it under the article.
    ///
    /// Example: `wxpub comments elect 17`
    Elect { id: i64 },
    /// Take a comment out of the elected ones.
    ///
    /// Example: `wxpub comments unelect 17`
    Unelect { id: i64 },
    /// Delete a comment (abuse, spam).
    ///
    /// Example: `wxpub comments delete 17`
    Delete { id: i64 },
    /// Open an article's comments.
    ///
    /// Example: `wxpub comments open articles/2026-12-01-ding-story`
    Open {
        /// The item (key or folder name).
        item: String,
    },
    /// Close an article's comments.
    ///
    /// Example: `wxpub comments close articles/2026-12-01-ding-story`
    Close {
        /// The item (key or folder name).
        item: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// One round: check every service and account API once, at the same time (each cut at its
    /// timeout), and record the results.
    ///
    /// Examples: `wxpub monitor run`, `wxpub monitor run --json`, `wxpub monitor run --fail-on-down`
    Run {
        /// Print the round's results as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Exit 1 when a check found its service down (outside maintenance), for alerting.
        #[arg(long)]
        fail_on_down: bool,
    },
    /// Run rounds every `[monitor] every` until stopped: Ctrl-C or SIGTERM finish the round under
    /// way and exit 0 (a second Ctrl-C stops at once).
    ///
    /// Example: `wxpub monitor serve` (as a systemd service: docs/operators-guide.md)
    Serve,
}

#[derive(Debug, Subcommand)]
pub enum SurveyCommand {
    /// Create an article inviting readers to a questionnaire: a QR code of the URL (made at
    /// build time) and the URL as the "read original" link.
    ///
    /// Example: `wxpub survey new "2026 年观众满意度调查" --url https://wj.qq.com/s2/123/abc --date 2026-12-10`
    New {
        title: String,
        /// The questionnaire's address (Tencent Questionnaire, Wenjuanxing, …).
        #[arg(long)]
        url: String,
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        #[arg(long)]
        account: Option<String>,
    },
    /// Import a questionnaire tool's response export (CSV or XLSX) into the metrics database.
    ///
    /// The columns are named in `[surveys.NAME]` of publish.toml. Re-importing the same file
    /// adds nothing; rows that cannot be read are reported with their row number and skipped.
    ///
    /// Example: `wxpub survey import 问卷导出.xlsx --survey visitors-2026`
    Import {
        file: PathBuf,
        /// Which `[surveys.NAME]`.
        #[arg(long)]
        survey: String,
    },
    /// Satisfaction rate per survey: satisfied / valid responses, sample size, 95 % Wilson interval.
    ///
    /// Example: `wxpub survey report --year 2026`
    Report {
        #[arg(long)]
        survey: Option<String>,
        #[arg(long)]
        year: Option<i32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Fetch every datacube endpoint up to yesterday, splitting ranges to each endpoint's
    /// longest span, with bounded parallel calls; stored with upserts, so pulling twice changes
    /// nothing. By default only missing days are fetched, plus the last few days again
    /// (`[metrics] refetch_days`, default 3: WeChat revises recent figures). An interrupted pull
    /// keeps every range it stored; the next pull fetches the rest. Exit code 1 when some
    /// ranges could not be fetched (they are listed; run it again).
    ///
    /// Examples: `wxpub stats pull`, `wxpub stats pull --since 2026-01-01 --until 2026-06-30`
    Pull(StatsPullArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatsPullArgs {
    /// Only this account (default: every account in publish.toml).
    #[arg(long)]
    pub account: Option<String>,
    /// First day (YYYY-MM-DD). Default: the first day already stored (gaps are filled), or
    /// `[metrics] first_pull_days` before --until for an empty database.
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// Last day (YYYY-MM-DD). Default: yesterday in the site time zone (the day before, before
    /// 08:00, when WeChat has not finished yesterday's figures).
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    /// Only these endpoints (e.g. getusersummary,getusercumulate).
    #[arg(long, value_delimiter = ',')]
    pub endpoint: Vec<String>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportKind {
    /// Daily new, cancelled, net and cumulative followers, by source.
    Followers,
    /// Per article: readers and reads, shares, favourites, read rate; most read first.
    Articles,
    /// The period at a glance against the previous period of the same length.
    Summary,
    /// The yearly evidence report: output, engagement, service stability, scored indicators
    /// from [targets.YEAR], and every push.
    Annual,
    /// One published item (`wxpub report item articles/2026-12-01-ding-story`, or its folder
    /// name, or a msgid): its first 30 days day by day and as a curve, and its readers by source.
    Item,
    /// The museum's WeChat services as `wxpub monitor` found them: availability per check and
    /// month, incidents with their duration, downtime, latency p50/p95, certificate warnings
    /// (`--year`, or `--since/--until`; default the current year).
    Availability,
    /// Readers' comments per article and per month: comments, answered share, median and p90
    /// time to answer, elected share, still unanswered (after `wxpub comments pull`).
    Comments,
    /// Many museums side by side for the bureau overseeing them: each museum's annual figures
    /// and form score, totals and rankings; museums without figures named with why. Needs
    /// `--museums network.toml` (`[museums.KEY] name = "…", project = "path"` or `db = "path"`).
    Network,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
    Html,
    /// A spreadsheet: the self-evaluation form (项目支出绩效自评表) for `annual`, a sheet per
    /// table for `availability` and `network`.
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeriodKind {
    Week,
    Month,
    Year,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Which report.
    #[arg(value_enum)]
    pub kind: ReportKind,
    /// `item` only: the item's key or folder name (`2026-12-01-ding-story`), or a msgid.
    #[arg(value_name = "ITEM")]
    pub target: Option<String>,
    /// Only this account (default: all accounts added together).
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    /// The calendar week, month or year holding --until.
    #[arg(long, value_enum, conflicts_with = "since")]
    pub period: Option<PeriodKind>,
    /// Year of the annual report (default: the current year).
    #[arg(long)]
    pub year: Option<i32>,
    /// Only the N most read articles (articles report).
    #[arg(long)]
    pub top: Option<usize>,
    /// Output format. Default: from the --out file's extension (.csv, .json, .html), else table.
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write to this file instead of standard output (written whole, or not at all).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `network` only: the museums of the network (a TOML file; paths in it are relative to it).
    #[arg(long, value_name = "FILE")]
    pub museums: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    /// The relay's configuration (listen address, WeChat's base URL, accounts, tokens).
    #[arg(long, default_value = "relay.toml")]
    pub config: PathBuf,
    /// Listen here instead of the configuration's `listen` (e.g. 127.0.0.1:8971).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Forward to this base URL instead of the configuration's `wechat_base` (e.g. a sandbox).
    #[arg(long)]
    pub wechat_base: Option<String>,
    /// Read a token on standard input and print its SHA-256, for `sha256 = "…"` in relay.toml
    /// (so that the file holds no token), and exit.
    #[arg(long)]
    pub hash_token: bool,
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1; 0 picks a free one (printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// SQLite file holding the sandbox's state across restarts (default: memory only).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// AppID the sandbox accepts.
    #[arg(long, default_value = "wxsandbox000000001")]
    pub appid: String,
    /// AppSecret the sandbox accepts.
    #[arg(long, default_value = "sandbox-secret-change-me")]
    pub secret: String,
    /// Which allowance mass sends follow: service (4 a month) or subscription (1 a day).
    #[arg(long, value_parser = ["service", "subscription"], default_value = "service")]
    pub account_kind: String,
    /// Delay added to every API answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API calls (0..1) answered with a fault: errcode -1, 45009, a dropped connection
    /// or an expired token.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Seed of the fault sequence (same seed, same faults).
    #[arg(long, default_value_t = 1)]
    pub fault_seed: u64,
    /// Lifetime of access tokens in seconds.
    #[arg(long, default_value_t = 7200)]
    pub token_ttl: u64,
    /// How long freepublish stays "publishing" (status 1) before it succeeds. WeChat takes
    /// seconds to minutes (review, originality checks); the default plays an ordinary day.
    #[arg(long, default_value_t = 8000)]
    pub publish_delay_ms: u64,
    /// The sandbox's today (YYYY-MM-DD): datacube answers up to the day before.
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
    /// Make every publish fail with this status (2 originality check, 3 failure, 4 rejected).
    #[arg(long, value_parser = clap::value_parser!(i32).range(2..=4))]
    pub publish_fail_status: Option<i32>,
    /// Play an account that may not publish through the API (freepublish answers 48001), as
    /// personal and unverified accounts have been since July 2025. Drafts still work.
    #[arg(long)]
    pub no_publish_permission: bool,
    /// Play an account without the mass-send permission: every `message/mass/*` call (sendall,
    /// preview, get) answers 48001.
    #[arg(long)]
    pub no_mass_send_permission: bool,
    /// Play an unverified account, without readers' comments: every `comment/*` call answers
    /// 88000.
    #[arg(long)]
    pub no_comment_permission: bool,
    /// Statistics describe only what was published into the sandbox, not also the articles a
    /// real account publishes in the web backend (which the sandbox makes up by default).
    #[arg(long)]
    pub no_background_articles: bool,
    /// Lower (or raise) a daily quota, e.g. `--quota /cgi-bin/freepublish/get=3`, to see what
    /// wxpub does when one runs out. Repeatable.
    #[arg(long = "quota", value_name = "ENDPOINT=N")]
    pub quotas: Vec<String>,
    /// Play an account with API send protection (设置-安全中心-风险操作保护): a mass send waits
    /// this many milliseconds for an administrator's confirmation (message/mass/get: SENDING).
    #[arg(long, value_name = "MS")]
    pub send_protection_ms: Option<u64>,
    /// With --send-protection-ms: the administrator refuses (the send fails, its draft stays).
    #[arg(long, requires = "send_protection_ms")]
    pub send_refused: bool,
    /// Enforce a different digest limit than the contract's 120 (to see `doctor --probe` notice).
    #[arg(long, value_name = "CHARS")]
    pub digest_max: Option<usize>,
    /// Count the HTML source, not the visible text, against the 20,000-character content limit
    /// (the rule before 2026; to see `doctor --probe` notice).
    #[arg(long)]
    pub content_counts_html: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Only check items under these paths (default: every item).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: crate::check::output::Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Apply the safe typography fixes (spacing, punctuation, brackets) in place and report them.
    #[arg(long)]
    pub fix: bool,
    /// List the rules with their default severity, and exit.
    #[arg(long)]
    pub list_rules: bool,
}

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Only these items (keys like articles/FOLDER, or content/ paths); default: all scheduled.
    pub items: Vec<String>,
    /// Only this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Publish (or mass-send) the pushes whose publish_at has come; otherwise only draft.
    #[arg(long)]
    pub due: bool,
    /// When another wxpub run is writing this project, exit at once with code 3 instead of
    /// waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Wait for WeChat to settle what this run submitted: until it is all done (no value; at
    /// most an hour), or at most DURATION (`90s`, `5m`). Default: `[publish] wait` (30 s).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "until-done")]
    pub wait: Option<String>,
    /// Publish the web backend's draft of this item's push as it is there (an editor changed it
    /// there, e.g. inserted a video); later changes in git to it are reported, not sent.
    /// Repeatable.
    #[arg(long, value_name = "ITEM")]
    pub keep_server: Vec<String>,
    /// Send the build over the web backend's draft of this item's push, losing what was changed
    /// there (printed first). Repeatable.
    #[arg(long, value_name = "ITEM")]
    pub overwrite_server: Vec<String>,
    /// Print the plan and stop: nothing is uploaded or written.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a machine-readable summary (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SendPreviewArgs {
    /// The items to proof (keys like articles/FOLDER, or content/ paths): their whole pushes go.
    #[arg(required = true)]
    pub items: Vec<String>,
    /// A reviewer's WeChat ID (微信号); repeat for several.
    #[arg(long = "to", value_name = "WECHAT_ID")]
    pub to: Vec<String>,
    /// A reviewer's openid for the account; repeat for several.
    #[arg(long, value_name = "OPENID")]
    pub openid: Vec<String>,
    /// Print a machine-readable summary (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--help` teaches by example: every subcommand's long help shows at least one.
    #[test]
    fn every_subcommand_help_has_an_example() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("{path} {}", sub.get_name());
                let help = sub.get_long_about().or(sub.get_about()).map(|s| s.to_string()).unwrap_or_default();
                if !help.contains("Example") {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&<Cli as clap::CommandFactory>::command(), "wxpub", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }
}
