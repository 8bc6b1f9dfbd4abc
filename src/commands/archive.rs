//! `wxpub archive verify|index`.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::archive;
use crate::cli::ArchiveCommand;
use crate::config::Config;

pub fn run(project: &Path, command: ArchiveCommand) -> Result<ExitCode> {
    let config = Config::load(project)?;
    let dir = project.join(&config.archive.dir);
    match command {
        ArchiveCommand::Verify { year } => {
            let years = match year {
                Some(year) => vec![year],
                None => archive::years(&dir),
            };
            if years.is_empty() {
                println!("{}: no archive yet (wxpub publish archives every publication)", config.archive.dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let mut failed = 0;
            for year in &years {
                let (problems, entries) = archive::verify(&dir, year)?;
                for p in &problems {
                    eprintln!("{}/{}/{}: {}", config.archive.dir.display(), p.year, p.entry, p.message);
                }
                if problems.is_empty() {
                    println!("{year}: {entries} entries, every file and link verified");
                } else {
                    failed += problems.len();
                }
            }
            if failed > 0 {
                eprintln!("{failed} problem(s): the archive was changed after archiving");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Index { year, out } => {
            if !dir.join(&year).join("index.json").exists() {
                bail!("{}/{year}: no archive for {year}", config.archive.dir.display());
            }
            let html = archive::index_html(&dir, &year, &config.site.name)?;
            match out {
                Some(path) => {
                    super::report::write_whole(&path, html.as_bytes())?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{html}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
