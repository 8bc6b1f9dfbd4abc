//! The module structure ARCHITECTURE.md describes, checked on the sources: dependencies between
//! the top-level modules point one way, and nothing below `commands/` reaches up into it.
use std::collections::{BTreeMap, BTreeSet};

/// Each top-level module of `src/` (a file or a folder) → the top-level modules it names as
/// `crate::name` (in code or in doc links: both tie it to them).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = crate::support::repo_root().join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src).into_iter().map(Result::unwrap) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let named = text.split("crate::").skip(1).filter_map(|rest| {
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            (!name.is_empty()).then_some(name)
        });
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(named.filter(|name| *name != module));
    }
    graph
}

/// A cycle through `start`, if there is one: the modules along it.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((module, path)) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![start.to_string()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn modules_depend_one_way_and_only_the_cli_reaches_commands() {
    let graph = dependencies();
    // The stages are all there: a rename that this test no longer sees would make it pass.
    for stage in [
        "project", "content", "render", "images", "build", "check", "wechat", "publish", "metrics", "monitor",
        "preview",
    ] {
        assert!(graph.contains_key(stage), "no module `{stage}` under src/");
    }
    assert!(graph["project"].contains("content") && graph["build"].contains("render"), "{graph:?}");
    let reaching_up: Vec<&String> =
        graph.iter().filter(|(_, deps)| deps.contains("commands")).map(|(m, _)| m).collect();
    assert!(reaching_up.is_empty(), "modules below commands/ import from it: {reaching_up:?}");
    let cycles: Vec<String> =
        graph.keys().filter_map(|module| cycle_through(&graph, module)).map(|cycle| cycle.join(" → ")).collect();
    assert!(cycles.is_empty(), "import cycles between modules:\n{}", cycles.join("\n"));
}

/// Inside `stage` (a folder of src/), each of its files and subfolders → the siblings it names
/// (`super::name` from where that reaches the stage, or `crate::stage::name`). The stage's
/// `mod.rs`, its face, is left out: its children use what it declares.
fn sibling_dependencies(stage: &str) -> BTreeMap<String, BTreeSet<String>> {
    let dir = crate::support::repo_root().join("src").join(stage);
    let children: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string())
        .filter(|name| name != "mod")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&dir).into_iter().map(Result::unwrap) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module: Vec<String> = path
            .strip_prefix(&dir)
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string())
            .filter(|name| name != "mod")
            .collect();
        let Some(child) = module.first().cloned() else { continue };
        let text = std::fs::read_to_string(path).unwrap();
        let named = graph.entry(child.clone()).or_default();
        for prefix in ["super::".repeat(module.len()), format!("crate::{stage}::")] {
            for rest in text.split(prefix.as_str()).skip(1) {
                // `super::name` or `super::{name, other::thing, Type}`.
                let parts: Vec<&str> = match rest.strip_prefix('{') {
                    Some(inner) => inner.split('}').next().unwrap_or("").split(',').collect(),
                    None => vec![rest],
                };
                for part in parts {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if children.contains(&name) && name != child {
                        named.insert(name);
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn inside_each_stage_files_depend_one_way() {
    let src = crate::support::repo_root().join("src");
    let mut cycles = Vec::new();
    let mut stages = 0;
    for entry in std::fs::read_dir(&src).unwrap().map(Result::unwrap) {
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        stages += 1;
        let stage = entry.file_name().to_string_lossy().to_string();
        let graph = sibling_dependencies(&stage);
        cycles.extend(
            graph.keys().filter_map(|m| cycle_through(&graph, m)).map(|c| format!("{stage}: {}", c.join(" → "))),
        );
    }
    assert!(stages >= 8, "only {stages} stage folders under src/");
    // The test sees the edges it is about: render's markdown uses its components.
    assert!(sibling_dependencies("render")["markdown"].contains("components"));
    assert!(cycles.is_empty(), "import cycles inside a stage:\n{}", cycles.join("\n"));
}

/// The project owns its platform knowledge: code and guides cite docs/wechat-contract.md and
/// docs/wechat-editor-rules.md, never a document a user who clones wxpub does not have.
#[test]
fn sources_and_guides_cite_no_document_outside_the_repository() {
    const OUTSIDE: &[&str] = &["shared/wechat", "../shared/"];
    let root = crate::support::repo_root();
    let mut files: Vec<std::path::PathBuf> = ["README.md", "ARCHITECTURE.md"].iter().map(|f| root.join(f)).collect();
    for folder in ["src", "docs"] {
        let walk = walkdir::WalkDir::new(root.join(folder)).into_iter().filter_entry(|e| e.file_name() != "target");
        files.extend(walk.map(Result::unwrap).filter(|e| e.file_type().is_file()).map(|e| e.into_path()));
    }
    assert!(files.iter().any(|f| f.ends_with("docs/wechat-contract.md")), "docs/wechat-contract.md is missing");
    assert!(files.iter().any(|f| f.ends_with("docs/wechat-editor-rules.md")), "docs/wechat-editor-rules.md is missing");
    let mut found = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            if OUTSIDE.iter().any(|needle| line.contains(needle)) {
                let shown = file.strip_prefix(&root).unwrap_or(file).display();
                found.push(format!("{shown}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "references to documents outside the repository (cite docs/wechat-contract.md or docs/wechat-editor-rules.md):\n{}",
        found.join("\n")
    );
}

/// #39: the release workflow builds the five targets editors' and servers' machines need, and
/// the Homebrew formula, the Scoop manifest and the install scripts name only archives it makes.
#[test]
fn the_release_workflow_builds_every_target_the_installers_name() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).expect(path);
    let workflow = read(".github/workflows/release.yml");
    let targets = [
        "x86_64-pc-windows-msvc",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
    ];
    for target in targets {
        assert!(workflow.contains(&format!("target: {target},")), "release.yml builds {target}");
    }
    let render = read("packaging/render.sh");
    for target in targets {
        assert!(render.contains(target), "render.sh fills in {target}'s sum");
    }
    let named = |text: &str| -> Vec<String> {
        text.match_indices("wxpub-")
            .filter_map(|(at, _)| {
                let name: String = text[at + 6..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                targets.contains(&name.as_str()).then_some(name)
            })
            .collect()
    };
    for (path, at_least) in [("packaging/wxpub.rb.in", 4), ("packaging/wxpub.json.in", 1), ("packaging/install.ps1", 1)]
    {
        let text = read(path);
        let archives = named(&text);
        assert!(archives.len() >= at_least, "{path} names {archives:?}");
        for placeholder in text.match_indices("@SHA256_").map(|(at, _)| &text[at + 8..]) {
            let target = placeholder.split('@').next().unwrap_or_default();
            assert!(targets.contains(&target), "{path}: a sum for `{target}`, which is not built");
        }
    }
    let install = read("packaging/install.sh");
    for target in &targets[1..] {
        assert!(install.contains(&format!("target={target}")), "install.sh installs {target}");
    }
}
