//! `wxpub survey new|import|report`.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::SurveyCommand;
use crate::config::Config;
use crate::metrics::survey;

pub fn run(project: &Path, command: SurveyCommand) -> Result<ExitCode> {
    match command {
        SurveyCommand::New { title, url, date, account } => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("--url must be the questionnaire's http(s) address, e.g. https://wj.qq.com/s2/123/abc");
            }
            if url.len() > 1024 {
                bail!("--url is longer than WeChat's 1 KB limit for the \"read original\" link");
            }
            let folder = super::init::new_item(project, "article", &title, date, account.as_deref())?;
            // The invitation: what the survey is for, the QR code, and the link as 阅读原文.
            let index = folder.join("index.md");
            let text = std::fs::read_to_string(&index)?;
            let quoted = serde_json::to_string(&url)?;
            let text = text.replacen("tags: []\n", &format!("tags: [满意度调查]\nsource_url: {quoted}\n"), 1).replacen(
                "正文从这里开始。\n",
                &format!(
                    "为了把展览和活动办得更好，我们想听听您的意见。问卷约需 3 分钟，答案仅用于改进服务。\n\n\
                     ```qr\nurl: {quoted}\ncaption: 长按识别二维码，或点击文末“阅读原文”参与问卷\n```\n\n感谢您的参与！\n"
                ),
                1,
            );
            std::fs::write(&index, text).with_context(|| format!("cannot write {}", index.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        SurveyCommand::Import { file, survey: name } => {
            // It writes the metrics database, like `stats pull`: one writer at a time.
            let Some(_lock) = super::lock_project(project, "survey import", true)? else {
                return Ok(ExitCode::from(crate::state::run_lock::EXIT_BUSY));
            };
            let config = Config::load(project)?;
            let Some(settings) = config.surveys.get(&name) else {
                let known: Vec<_> = config.surveys.keys().cloned().collect();
                bail!(
                    "no [surveys.{name}] in publish.toml{}; add one naming the rating and time columns (docs/reporting-guide.md)",
                    if known.is_empty() { String::new() } else { format!(" (surveys: {})", known.join(", ")) }
                );
            };
            let mut store = super::stats::open_store(project, &config)?;
            let report = survey::import(&mut store, &name, settings, &file)?;
            for (row, message) in &report.skipped {
                eprintln!("warning: {}: row {row}: {message}; skipped", file.display());
            }
            println!(
                "{}: {} response(s) read, {} imported, {} already imported, {} skipped",
                file.display(),
                report.rows,
                report.imported,
                report.already_imported,
                report.skipped.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        SurveyCommand::Report { survey: name, year, json } => {
            let config = Config::load(project)?;
            let store = super::stats::open_store(project, &config)?;
            let results = survey::satisfaction(&store, name.as_deref(), year)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
                return Ok(ExitCode::SUCCESS);
            }
            if results.is_empty() {
                println!("no survey responses imported{}", year.map_or(String::new(), |y| format!(" for {y}")));
            }
            for s in &results {
                let (low, high) = s.interval.unwrap_or((0.0, 0.0));
                println!(
                    "{}: {:.1} % satisfied ({} of {} valid responses; 95 % Wilson interval {:.1}–{:.1} %)",
                    s.survey,
                    s.rate.unwrap_or(0.0) * 100.0,
                    s.satisfied,
                    s.responses,
                    low * 100.0,
                    high * 100.0
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
