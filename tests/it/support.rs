//! A fluent test project: copy the example (or a fixture) to a temp dir, edit it, run wxpub.
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct TestProject {
    pub dir: tempfile::TempDir,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl TestProject {
    /// A copy of the bundled example project (publish.toml, content/, layouts/).
    pub fn example() -> TestProject {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = repo_root();
        std::fs::copy(root.join("publish.toml"), dir.path().join("publish.toml")).unwrap();
        copy_tree(&root.join("content"), &dir.path().join("content"));
        copy_tree(&root.join("layouts"), &dir.path().join("layouts"));
        TestProject { dir }
    }

    /// The example's configuration and layouts with only the given items as content.
    pub fn with_items(items: &[(&str, &str)]) -> TestProject {
        let project = TestProject::example();
        std::fs::remove_dir_all(project.path().join("content")).unwrap();
        for (folder, text) in items {
            project.write(&format!("content/{folder}/index.md"), text);
        }
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    pub fn wxpub(&self) -> Command {
        let mut cmd = Command::cargo_bin("wxpub").unwrap();
        cmd.current_dir(self.path());
        cmd
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// All files under `dir` with their bytes, sorted by path.
pub fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}
