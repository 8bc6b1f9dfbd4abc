//! Shared by the benchmarks: a project folder with the example's configuration and layouts.
use std::path::Path;

/// Copies publish.toml and layouts/ from the repository into `project` (content is generated).
pub fn project_skeleton(project: &Path) {
    let root = &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/museum");
    std::fs::copy(root.join("publish.toml"), project.join("publish.toml")).unwrap();
    let layouts = root.join("layouts");
    for entry in walkdir::WalkDir::new(&layouts) {
        let entry = entry.unwrap();
        let target = project.join("layouts").join(entry.path().strip_prefix(&layouts).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
