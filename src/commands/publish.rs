//! `wxpub publish`: build → check → plan → upload, draft, publish (recorded in publish.lock).
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::build::{self, BuildOptions};
use crate::cli::{PublishArgs, SendPreviewArgs};
use crate::config::Config;
use crate::project::Project;
use crate::publish::{self, ExecuteOptions};
use crate::state::file_hashes::FileHashes;
use crate::state::ledger::Ledger;
use crate::wechat::Client;
use crate::wechat::types::Reviewer;

/// Records the run (one row per account: outcome and error) and every publication in
/// publish.lock in the metrics database, for the yearly service-stability and output figures.
fn record_run(
    project: &Path,
    config: &Config,
    items: &[crate::content::Item],
    lock: &Ledger,
    outcomes: &[publish::PushOutcome],
    started_at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ended_at = stamp(crate::util::clock::now());
    let run = format!("{}-{}", started_at.format("%Y%m%dT%H%M%S"), std::process::id());
    let mut store = super::stats::open_store(project, config)?;
    let mut by_account: BTreeMap<&str, Vec<&publish::PushOutcome>> = BTreeMap::new();
    for outcome in outcomes {
        by_account.entry(outcome.account.as_str()).or_default().push(outcome);
    }
    for (account, outcomes) in by_account {
        let errors: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_ref()).map(|e| e.message.as_str()).collect();
        store.record_run(&crate::metrics::PublishRun {
            run: run.clone(),
            account: account.to_string(),
            started_at: stamp(started_at),
            ended_at: ended_at.clone(),
            items: outcomes.iter().map(|o| o.items.len()).sum(),
            ok: errors.is_empty(),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        })?;
    }
    let publications = crate::metrics::annual::publications_from_lock(lock, items, &config.metrics.live_tag);
    store.record_publications(&publications)?;
    Ok(())
}

/// Adds this run's API calls to `.wxpub/api-usage.json`; when a daily quota ran out, returns
/// what to tell the operator: today's recorded calls of each quota'd endpoint and when they reset.
fn record_usage(project: &Path, clients: &BTreeMap<String, Client>, quota_ran_out: bool) -> Option<String> {
    use crate::wechat::limits::{daily_quota, quota_day, until_quota_reset};
    let now = crate::util::clock::now();
    let day = quota_day(now);
    let (usage, notes) = publish::usage::record(project, day, clients);
    for note in notes {
        eprintln!("warning: {note}");
    }
    if !quota_ran_out {
        return None;
    }
    let reset = until_quota_reset(now);
    let mut note =
        format!("A daily WeChat quota ran out. Calls recorded today ({day}, Beijing), against WeChat's daily quotas:");
    for account in clients.keys() {
        for (endpoint, calls) in usage.on(account, day) {
            if let Some(limit) = daily_quota(&endpoint) {
                note.push_str(&format!("\n  {account} {endpoint}: {calls} of {limit}"));
            }
        }
    }
    note.push_str(&format!(
        "\nThe quotas reset at 00:00 Beijing time, in {} h {} min; what is unfinished stays recorded in publish.lock and the next run after that finishes it.",
        reset.num_hours(),
        reset.num_minutes() % 60
    ));
    Some(note)
}

use crate::publish::preview::{first_look, sent_build};

/// Builds (incrementally) and checks the same renders; an error blocks the run (each error
/// printed first).
fn build_and_check(
    project: &Project,
    options: &BuildOptions<'_>,
    now: chrono::DateTime<chrono::Utc>,
    what: &str,
) -> Result<build::Build> {
    let (build, notes) = publish::preview::build_checked(project, options, now, what).inspect_err(print_blocked)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(build)
}

/// The check's errors that blocked a run, each with its file and line.
fn print_blocked(error: &publish::preview::PreviewError) {
    if let publish::preview::PreviewError::Blocked { errors, .. } = error {
        errors.iter().for_each(|d| eprintln!("{d}"));
    }
}

/// A client per account that the pushes use, credentials from the environment.
fn clients_for(config: &Config, pushes: &[publish::Push]) -> Result<BTreeMap<String, Client>> {
    let client_of = |account: &str| super::account_client(account, &config.accounts[account]);
    Ok(publish::preview::clients_for(pushes, &client_of)?)
}

/// `wxpub send-preview`: the drafts of the pushes holding the named items, made or brought up
/// to date as `publish` would (and recorded for it), sent to each reviewer's phone.
pub fn send_preview(project: &Path, args: SendPreviewArgs) -> Result<ExitCode> {
    let Some(_lock) = super::lock_project(project, "send-preview", true)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let loaded = Project::load(project)?;
    let config = &loaded.config;
    let reviewers = reviewers_of(config, &args)?;
    let keys = publish::preview::item_keys(&loaded, &args.items)?;
    let client_of = |account: &str| super::account_client(account, &config.accounts[account]);
    let upload_progress = super::TerminalProgress::new(!args.json);
    let request = publish::preview::PreviewRequest {
        keys: &keys,
        reviewers: &reviewers,
        client_of: &client_of,
        progress: &upload_progress,
        now: crate::util::clock::now(),
    };
    let publish::preview::PreviewRun { previews, clients, notes } =
        publish::preview::send(&loaded, &request).inspect_err(print_blocked)?;
    notes.iter().for_each(|note| eprintln!("note: {note}"));
    record_usage(project, &clients, false);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&previews)?);
    } else {
        for preview in &previews.sent {
            println!("sent {} push at {} (draft {}) to {}", preview.account, preview.slot, preview.draft, preview.to);
        }
    }
    if !previews.failed.is_empty() {
        for failure in &previews.failed {
            eprintln!("not sent: {failure}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Who receives the previews: `--to` and `--openid`, or else `[publish] reviewers`; nobody is
/// an error.
fn reviewers_of(config: &Config, args: &SendPreviewArgs) -> Result<Vec<Reviewer>> {
    let mut reviewers: Vec<Reviewer> = args.to.iter().map(|id| Reviewer::WechatId(id.clone())).collect();
    reviewers.extend(args.openid.iter().map(|id| Reviewer::OpenId(id.clone())));
    if reviewers.is_empty() {
        reviewers = config.publish.reviewers.iter().map(|id| Reviewer::WechatId(id.clone())).collect();
    }
    if reviewers.is_empty() {
        bail!(
            "who receives the preview? Give --to WECHAT_ID (or --openid OPENID), or list WeChat IDs in `[publish] reviewers` in publish.toml"
        );
    }
    Ok(reviewers)
}

/// `--wait` without a duration: until WeChat has settled everything, but not for ever (a
/// publication stuck in review for an hour is the next run's).
const UNTIL_DONE: Duration = Duration::from_secs(3600);

/// Item keys named on the command line (keys, folders or content/ paths), each checked.
fn item_keys(project: &Project, names: &[String], flag: &str) -> Result<Vec<String>> {
    names
        .iter()
        .map(|name| {
            let key = name.trim_end_matches('/').trim_end_matches("/index.md").trim_start_matches("content/");
            match project.item(key) {
                Some(_) => Ok(key.to_string()),
                None => bail!(
                    "{flag} {name}: no such item (give item keys like articles/2026-12-01-ding-story, or their folders)"
                ),
            }
        })
        .collect()
}

/// Adds a later round's outcomes to the first round's: the steps done in both, the state of
/// the last.
fn merge_rounds(outcomes: &mut Vec<publish::PushOutcome>, round: Vec<publish::PushOutcome>) {
    for later in round {
        match outcomes.iter_mut().find(|o| o.account == later.account && o.slot == later.slot) {
            Some(first) => {
                first.done.extend(later.done);
                first.error = later.error;
                first.waiting_for = later.waiting_for;
                first.warnings.extend(later.warnings);
                first.in_progress = later.in_progress;
                first.waiting_for_video = later.waiting_for_video;
                if !later.article_urls.is_empty() {
                    first.article_urls = later.article_urls;
                }
            }
            None => outcomes.push(later),
        }
    }
}

/// `wxpub publish`, phase by phase: 1. build and check, 2. plan, 3. execute (in rounds while
/// pushes wait for what this run published) and record the run, 4. archive, 5. report, 6. the
/// exit code.
pub fn run(project: &Path, args: PublishArgs, quiet: bool) -> Result<ExitCode> {
    // Before anything is read: a run that waited must see what the other one wrote.
    let Some(_lock) = super::lock_project(project, "publish", !args.no_wait)? else {
        return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
    };
    let mut loaded = Project::load(project)?;
    let now = crate::util::clock::now();

    // 1. Build (incremental: images come from the cache) and check the same renders; errors block.
    let hashes = FileHashes::load(project);
    let output_dir = project.join(&loaded.config.site.output_dir);
    let build_options = sent_build(&output_dir, &hashes);
    let build = build_and_check(&loaded, &build_options, now, "published")?;
    let (keep_server, overwrite_server) = server_decisions(&loaded, &args)?;
    let wait = wait_of(&loaded.config, args.wait.as_deref())?;

    // 2. Plan: pushes in time order, each after the items it links to.
    let mut lock = Ledger::load(project)?;
    let config = &loaded.config.clone();
    let pushes = plan_pushes(&build.manifest, config, &args, &lock, now)?;
    if args.dry_run || pushes.is_empty() {
        print_plan(&pushes, &args)?;
        return Ok(ExitCode::SUCCESS);
    }

    // 3. Execute against the lock, then record the run.
    let clients = clients_for(config, &pushes)?;
    let upload_progress = super::TerminalProgress::new(!args.json);
    let status_budget = publish::StatusBudget::new(config.publish.status_checks_per_run);
    let options = ExecuteOptions {
        project,
        dist_dir: &output_dir,
        publish_due: args.due,
        pace: publish::Pace { first_look: first_look(config), wait },
        upload_concurrency: config.publish.upload_concurrency,
        progress: &upload_progress,
        retry_refused: !args.items.is_empty(),
        status_budget: &status_budget,
        keep_server: &keep_server,
        overwrite_server: &overwrite_server,
    };
    let started_at = crate::util::clock::now();
    let rounds =
        Rounds { config, args: &args, now, build_options: &build_options, clients: &clients, options: &options };
    let (outcomes, build) = rounds.execute(&mut loaded, &mut lock, build, pushes);
    let quota_note = record(project, config, &loaded.items, &lock, &clients, &outcomes, started_at);

    // 4. Archive what was published (evidence); a failure here fails the run, and the next run
    // archives what is missing.
    let archive_dir = project.join(&config.archive.dir);
    let archived =
        crate::archive::archive_pending(project, &archive_dir, config, &mut lock, &build.manifest, &output_dir);
    let archive_error = archived.as_ref().err().map(|e| e.to_string());

    // 5. Report; 6. the exit code.
    print_outcomes(&outcomes, &archived, config, args.json, quiet)?;
    Ok(exit_code(&outcomes, archive_error, quota_note, quiet))
}

/// Phase 1: the editor's decisions about drafts edited in the web backend, by item key:
/// `--keep-server` and `--overwrite-server`; an item named with both is an error.
fn server_decisions(loaded: &Project, args: &PublishArgs) -> Result<(Vec<String>, Vec<String>)> {
    let keep_server = item_keys(loaded, &args.keep_server, "--keep-server")?;
    let overwrite_server = item_keys(loaded, &args.overwrite_server, "--overwrite-server")?;
    if let Some(both) = keep_server.iter().find(|k| overwrite_server.contains(k)) {
        bail!("{both} is named with both --keep-server and --overwrite-server; choose one");
    }
    Ok((keep_server, overwrite_server))
}

/// Phase 1: how long the run waits for WeChat to settle what it submitted: `[publish] wait`,
/// or `--wait DURATION`, or `--wait` alone (until done, at most [`UNTIL_DONE`]).
fn wait_of(config: &Config, wait: Option<&str>) -> Result<Duration> {
    Ok(match wait {
        None => config.publish.wait(),
        Some("until-done") => UNTIL_DONE,
        Some(text) => crate::config::parse_duration(text).ok_or_else(|| {
            anyhow::anyhow!("--wait {text}: not a duration (e.g. 90s, 5m; or --wait alone to wait until done)")
        })?,
    })
}

/// Phase 2, the plan: the pushes the arguments select, in time order, each waiting for the
/// items it links to that are not settled in `lock` yet.
fn plan_pushes(
    manifest: &build::Manifest,
    config: &Config,
    args: &PublishArgs,
    lock: &Ledger,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<publish::Push>> {
    let mut pushes = publish::plan(manifest, config, &args.items, args.account.as_deref(), now)?;
    publish::wait_for_links(&mut pushes, manifest, config, &lock.settled_items());
    Ok(pushes)
}

/// Phase 2: what a dry run (or a run with nothing to publish) prints: the plan, as JSON or a
/// block per push.
fn print_plan(pushes: &[publish::Push], args: &PublishArgs) -> Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "dry_run": true, "pushes": pushes }))?);
        return Ok(());
    }
    if pushes.is_empty() {
        println!("nothing to publish: no scheduled item matches");
    }
    for push in pushes {
        let action = if args.due && push.due { "publish now" } else { "draft only" };
        println!("{} at {} ({action}):", push.account, push.slot);
        for item in &push.items {
            println!("  {item}");
        }
        if !push.waits_for.is_empty() {
            println!("  published after: {}", push.waits_for.join(", "));
        }
    }
    Ok(())
}

/// Phase 3: what every execution round of one run shares: how its pushes are planned again
/// after a rebuild, and how they are executed.
struct Rounds<'a> {
    config: &'a Config,
    args: &'a PublishArgs,
    now: chrono::DateTime<chrono::Utc>,
    build_options: &'a BuildOptions<'a>,
    clients: &'a BTreeMap<String, Client>,
    options: &'a ExecuteOptions<'a>,
}

impl Rounds<'_> {
    /// Phase 3: executes the plan against the lock; then, round after round, the pushes that
    /// waited for items this run published, rebuilt with their URLs. Returns every push's
    /// outcome (a later round's merged into the first's) and the last build.
    fn execute(
        &self,
        loaded: &mut Project,
        lock: &mut Ledger,
        mut build: build::Build,
        mut pushes: Vec<publish::Push>,
    ) -> (Vec<publish::PushOutcome>, build::Build) {
        let mut outcomes = publish::execute(&pushes, &build.manifest, self.config, lock, self.clients, self.options);
        // A push that waited for items this run published goes out now, rebuilt with their URLs.
        // Only the pushes that waited run again (the others are done, and their status checks
        // spent); each round releases at least one, so this ends.
        for _ in 0..pushes.len() {
            let settled = lock.settled_items();
            let released: Vec<(String, String)> = pushes
                .iter()
                .filter(|p| p.waits_for.iter().any(|key| settled.contains(key)))
                .map(|p| (p.account.clone(), p.slot.clone()))
                .collect();
            if released.is_empty() {
                break;
            }
            loaded.links = crate::render::ItemLinks::new(&loaded.items, lock.published_urls());
            // What is published stays recorded; a rebuild that fails ends the rounds, reported.
            let (next_build, next_pushes) = match self.rebuild(loaded, lock) {
                Ok(rebuilt) => rebuilt,
                Err(e) => {
                    eprintln!(
                        "warning: could not rebuild with the new URLs, so the pushes waiting for them stay drafted: {e:#}"
                    );
                    break;
                }
            };
            build = next_build;
            pushes = next_pushes;
            let waited: Vec<publish::Push> =
                pushes.iter().filter(|p| released.contains(&(p.account.clone(), p.slot.clone()))).cloned().collect();
            let round = publish::execute(&waited, &build.manifest, self.config, lock, self.clients, self.options);
            merge_rounds(&mut outcomes, round);
        }
        (outcomes, build)
    }

    /// Phase 3: the build again (with the links `loaded` has now) and the plan made from it.
    fn rebuild(&self, loaded: &Project, lock: &Ledger) -> Result<(build::Build, Vec<publish::Push>)> {
        build::build(loaded, self.build_options).map_err(anyhow::Error::from).and_then(|b| {
            let next = plan_pushes(&b.manifest, self.config, self.args, lock, self.now)?;
            Ok((b, next))
        })
    }
}

/// Phase 3: records the run: its API calls in `.wxpub/api-usage.json`, then the run and the
/// publications in the metrics database (a failure there is only a warning: the pushes are
/// recorded in publish.lock). Returns what to tell the operator when a daily quota ran out.
fn record(
    project: &Path,
    config: &Config,
    items: &[crate::content::Item],
    lock: &Ledger,
    clients: &BTreeMap<String, Client>,
    outcomes: &[publish::PushOutcome],
    started_at: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let quota_note = record_usage(
        project,
        clients,
        outcomes.iter().any(|o| {
            o.failed_with(publish::FailureKind::Quota) || o.warnings.iter().any(|w| w.contains(publish::QUOTA_LEFT))
        }),
    );
    if let Err(e) = record_run(project, config, items, lock, outcomes, started_at) {
        // The pushes themselves are recorded in publish.lock; only the statistics record is lost.
        eprintln!("warning: this run could not be recorded in the metrics database: {e:#}");
    }
    quota_note
}

/// Phase 5, the report on stdout: every push's outcome (as JSON, or a block per push; `quiet`
/// leaves out those that neither failed nor met the web backend), then what was archived.
fn print_outcomes(
    outcomes: &[publish::PushOutcome],
    archived: &Result<Vec<String>, crate::archive::ArchiveError>,
    config: &Config,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "pushes": outcomes, "failed": failed, "archived": archived.as_ref().ok() })
            )?
        );
    } else {
        for outcome in outcomes {
            if quiet && outcome.error.is_none() && !outcome.warnings.iter().any(|w| w.contains("web backend")) {
                continue;
            }
            print_outcome(outcome);
        }
    }
    if let Ok(entries) = archived
        && !quiet
        && !json
    {
        for entry in entries {
            println!("archived: {}/{entry}", config.archive.dir.display());
        }
    }
    Ok(())
}

/// Phase 5: one push's block of the report: where it stands, the steps done, its URLs and
/// warnings, what it waits for and what is left.
fn print_outcome(outcome: &publish::PushOutcome) {
    let state = if outcome.failed_with(publish::FailureKind::Conflict) {
        "CONFLICT with the web backend"
    } else if outcome.error.is_some() {
        "FAILED"
    } else if let Some(running) = &outcome.in_progress {
        running.as_str()
    } else if !outcome.waiting_for.is_empty() {
        "drafted, waiting"
    } else if outcome.waiting_for_video {
        "drafted, waiting for its video"
    } else if outcome.done.is_empty() {
        "up to date"
    } else {
        "done"
    };
    println!("{} at {}: {state}", outcome.account, outcome.slot);
    for step in &outcome.done {
        println!("  done: {step}");
    }
    for url in &outcome.article_urls {
        println!("  url:  {url}");
    }
    for warning in &outcome.warnings {
        println!("  warn: {warning}");
    }
    if !outcome.waiting_for.is_empty() {
        println!(
            "  wait: published after {} (it links to them; their URLs go into its links)",
            outcome.waiting_for.join(", ")
        );
    }
    if let Some(error) = &outcome.error {
        println!("  left: everything after the steps above — {error}");
    }
}

/// Phase 6, the exit code, and on stderr what the operator must know about it: 1 when
/// archiving failed (the quota note is then not shown) or a push failed;
/// [`publish::EXIT_CANNOT_PUBLISH`] when every failure is an account that cannot publish through
/// the API; otherwise success, with a note on pushes still publishing at WeChat.
fn exit_code(
    outcomes: &[publish::PushOutcome],
    archive_error: Option<String>,
    quota_note: Option<String>,
    quiet: bool,
) -> ExitCode {
    if let Some(error) = archive_error {
        eprintln!("{error}\nthe publication itself is recorded in publish.lock; run wxpub publish again to archive it");
        return ExitCode::from(1);
    }
    if let Some(note) = quota_note {
        eprintln!("{note}");
    }
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    let cannot_publish = outcomes.iter().filter(|o| o.failed_with(publish::FailureKind::CannotPublish)).count();
    if failed > 0 && failed == cannot_publish {
        eprintln!(
            "{failed} push(es) drafted and waiting: the account cannot publish through the API; publish them in the web backend, or verify the account and run `wxpub publish --due ITEM…` to try again"
        );
        return ExitCode::from(publish::EXIT_CANNOT_PUBLISH);
    }
    let conflicts: Vec<String> =
        outcomes.iter().filter(|o| o.failed_with(publish::FailureKind::Conflict)).map(|o| o.items.join(", ")).collect();
    if !conflicts.is_empty() {
        eprintln!(
            "{} push(es) not published: their drafts were edited in the web backend ({}); decide with --keep-server or --overwrite-server (see above)",
            conflicts.len(),
            conflicts.join("; ")
        );
    }
    if failed > conflicts.len() {
        eprintln!(
            "{} push(es) failed; run wxpub publish again to finish them (what is done is recorded in publish.lock)",
            failed - conflicts.len()
        );
    }
    if failed > 0 {
        return ExitCode::from(1);
    }
    let running = outcomes.iter().filter(|o| o.in_progress.is_some()).count();
    if running > 0 && !quiet {
        eprintln!(
            "{running} push(es) still publishing at WeChat; the next run confirms them (nothing is submitted twice)"
        );
    }
    ExitCode::SUCCESS
}
