//! `wxpub mcp`: the project's Model Context Protocol server on stdin and stdout.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

pub fn run(project: &Path) -> Result<ExitCode> {
    // A project that does not load is said at once, not at the assistant's first call.
    let root = project.canonicalize().with_context(|| format!("no project folder {}", project.display()))?;
    let config = crate::config::Config::load(&root)?;
    let log: crate::mcp::CallLog = std::sync::Arc::new(|line: &str| eprintln!("{line}"));
    let session =
        crate::mcp::Session::new(root.clone(), super::client_factory(&root), crate::audience::who_acts(&root), log);
    let gates: Vec<&str> = config.mcp.allow.iter().map(|gate| gate.name()).collect();
    eprintln!(
        "wxpub mcp: serving {} on stdin/stdout; tools: {}; reaching WeChat: {}",
        root.display(),
        crate::mcp::tool_names().join(", "),
        if gates.is_empty() { "none ([mcp] allow)".to_string() } else { gates.join(", ") }
    );
    crate::mcp::serve(session)?;
    Ok(ExitCode::SUCCESS)
}
