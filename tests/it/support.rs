//! A fluent test project: copy the example (or a fixture) to a temp dir, edit it, run wxpub.
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The moment every test runs at (site time): before the example's first publish time, so the
/// example checks clean. Nothing in the suite reads the real clock's date: the binary gets it as
/// `WXPUB_NOW`, in-process code through [`pin_clock`].
pub const NOW: &str = "2026-11-20 09:00";

/// Pins the in-process clock (preview servers and sandboxes run inside the test binary).
pub fn pin_clock() {
    wxpub::util::clock::pin(wxpub::util::clock::parse(NOW, chrono_tz::Asia::Shanghai).expect("NOW parses"));
}

/// `[publish] first_look` for the suite's runs (WeChat's pace is 4 s; the sandboxes here
/// publish in 50–1500 ms).
pub const FAST_FIRST_LOOK: &str = "100ms";

/// The `wxpub` binary with the pinned clock.
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("wxpub"));
    // The suite's sandboxes publish in milliseconds: look at them at that pace (tests of
    // WeChat's own pace set it back, see pace.rs).
    command.env("WXPUB_NOW", NOW).env("WXPUB_FIRST_LOOK", FAST_FIRST_LOOK);
    command
}

/// The credentials every sandbox in the suite is started with, and every wxpub run is given.
pub const APPID: &str = "wxtest0000000001";
pub const SECRET: &str = "test-secret-0123456789";

/// Points a wxpub run at `sandbox`: its address, both accounts' credentials, fast retries.
pub fn sandbox_env<'c>(
    command: &'c mut std::process::Command,
    sandbox: &wxpub::sandbox::SandboxHandle,
) -> &'c mut std::process::Command {
    command
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .env("WXPUB_SERVICE_APPID", APPID)
        .env("WXPUB_SERVICE_SECRET", SECRET)
        .env("WXPUB_SUBSCRIPTION_APPID", APPID)
        .env("WXPUB_SUBSCRIPTION_SECRET", SECRET)
        .env("WXPUB_RETRY_BASE_MS", "2")
}

/// How a test's wxpub run reaches the sandbox: directly with the accounts' credentials, or
/// through a relay holding them, with only a relay token in the run's environment.
pub enum Route {
    Direct { base: String },
    Relay { url: String, token: String },
}

impl Route {
    /// Through `relay` when there is one, else straight to `sandbox`.
    pub fn of(sandbox: &wxpub::sandbox::SandboxHandle, relay: Option<&crate::relay::Relayed>) -> Route {
        match relay {
            Some(relay) => relay.route(),
            None => Route::Direct { base: sandbox.base_url.clone() },
        }
    }

    pub fn apply<'c>(&self, command: &'c mut std::process::Command) -> &'c mut std::process::Command {
        match self {
            Route::Direct { base } => command
                .env("WXPUB_API_BASE", base)
                .env("WXPUB_SERVICE_APPID", APPID)
                .env("WXPUB_SERVICE_SECRET", SECRET)
                .env("WXPUB_SUBSCRIPTION_APPID", APPID)
                .env("WXPUB_SUBSCRIPTION_SECRET", SECRET)
                .env("WXPUB_RETRY_BASE_MS", "2"),
            Route::Relay { url, token } => command
                .env("WXPUB_RELAY", url)
                .env("WXPUB_RELAY_TOKEN", token)
                .env("WXPUB_RETRY_BASE_MS", "2")
                .env_remove("WXPUB_API_BASE")
                .env_remove("WXPUB_SERVICE_APPID")
                .env_remove("WXPUB_SERVICE_SECRET")
                .env_remove("WXPUB_SUBSCRIPTION_APPID")
                .env_remove("WXPUB_SUBSCRIPTION_SECRET"),
        }
    }
}

pub struct TestProject {
    pub dir: tempfile::TempDir,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled example project (`examples/museum/`): what `wxpub init` starts from and every
/// [`TestProject::example`] copies.
pub fn example_root() -> PathBuf {
    repo_root().join("examples/museum")
}

impl TestProject {
    /// A copy of the bundled example project (publish.toml, content/, layouts/), its image
    /// cache holding the example's images as the suite's first build processed them: a build
    /// then renders, checks and writes everything as usual but decodes no photo again (ten
    /// seconds of a debug build each; see [`example_image_cache`]). Tests of image processing
    /// itself, or that need a build to take its full time, use [`TestProject::example_cold`].
    pub fn example() -> TestProject {
        let project = TestProject::example_cold();
        let cache = wxpub::images::cache_dir(project.path());
        for entry in std::fs::read_dir(example_image_cache()).unwrap().map(Result::unwrap) {
            if entry.file_name() != "complete" {
                std::fs::create_dir_all(&cache).unwrap();
                std::fs::copy(entry.path(), cache.join(entry.file_name())).unwrap();
            }
        }
        project
    }

    /// A copy of the bundled example project with an empty cache: its first build processes
    /// every image.
    pub fn example_cold() -> TestProject {
        pin_clock();
        let dir = tempfile::tempdir().expect("temp dir");
        let root = crate::support::example_root();
        std::fs::copy(root.join("publish.toml"), dir.path().join("publish.toml")).unwrap();
        copy_tree(&root.join("content"), &dir.path().join("content"));
        copy_tree(&root.join("layouts"), &dir.path().join("layouts"));
        TestProject { dir }
    }

    /// The example's configuration and layouts with only the given items as content.
    pub fn with_items(items: &[(&str, &str)]) -> TestProject {
        let project = TestProject::example_cold();
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
        cmd.current_dir(self.path()).env("WXPUB_NOW", NOW).env("WXPUB_FIRST_LOOK", FAST_FIRST_LOOK);
        cmd
    }
}

/// The image cache of a cold build of the example, copied into every [`TestProject::example`].
/// Made once per `wxpub` binary and example (the first test to need it builds it), and kept
/// under the target folder, so that a runner with one process per test (cargo-nextest) shares
/// it too. The cache is keyed by each source's hash and every setting that changes the output,
/// so a test that edits an image or the image settings processes that image again, as a user's
/// build would. The cold path itself stays covered: this build, `images.rs`, and
/// `build_is_byte_for_byte_deterministic`, which compares a cold build with a warm one.
pub fn example_image_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("example-image-cache");
        let here = kept.join(example_cache_key());
        if here.join("complete").is_file() {
            return here;
        }
        let project = TestProject::example_cold();
        let output = binary().current_dir(project.path()).args(["build", "--out", "dist"]).output().unwrap();
        assert!(
            output.status.success(),
            "the example's cold build failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary = String::from_utf8_lossy(&output.stdout);
        assert!(summary.contains(" 0 from cache"), "the first build of the example was not cold: {summary}");
        // Made beside, then renamed into place: a process that finds `here` finds it whole (two
        // processes that both build it keep one, and the other's is dropped).
        let _ = std::fs::remove_dir_all(&kept); // caches of other binaries or examples
        std::fs::create_dir_all(&kept).unwrap();
        let made = tempfile::tempdir_in(&kept).expect("temp dir");
        copy_tree(&wxpub::images::cache_dir(project.path()), made.path());
        std::fs::write(made.path().join("complete"), "").unwrap();
        let made = made.keep();
        if std::fs::rename(&made, &here).is_err() {
            let _ = std::fs::remove_dir_all(&made);
        }
        here
    })
}

/// What the example's image cache depends on: the `wxpub` binary (its size and time) and the
/// example's files (their names and sizes).
fn example_cache_key() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let binary = std::fs::metadata(assert_cmd::cargo::cargo_bin("wxpub")).expect("the wxpub binary");
    (binary.len(), binary.modified().ok()).hash(&mut hasher);
    for entry in walkdir::WalkDir::new(example_root()).sort_by_file_name() {
        let entry = entry.unwrap();
        (entry.path().strip_prefix(example_root()).unwrap(), entry.metadata().unwrap().len()).hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
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

/// GET `url` (plain HTTP on loopback) and return the status code and body.
pub fn http_get(url: &str) -> (u16, String) {
    let (status, body) = http_get_bytes(url);
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// [`http_get`], the body as bytes (an image).
pub fn http_get_bytes(url: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response[head_end..].to_vec())
}

/// `image` encoded as `format`, through a file: `save_with_format` runs the encoder compiled
/// (optimised) in the image crate, where `write_to` would instantiate it, generic over its
/// writer, in this unoptimised test binary — seconds for a photo.
pub fn encode_image(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image");
    image.save_with_format(&path, format).unwrap();
    std::fs::read(path).unwrap()
}
