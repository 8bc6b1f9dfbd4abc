//! A headless Chromium driven over the DevTools protocol (one WebSocket, no driver binary):
//! open a page, collect console errors, failed loads and uncaught exceptions, evaluate
//! JavaScript, take screenshots. `.ci/run` installs Debian's `chromium` when it is missing.
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::stream::MaybeTlsStream;

pub fn chromium_path() -> PathBuf {
    let candidates = [std::env::var("WXPUB_CHROMIUM").unwrap_or_default(), "/usr/bin/chromium".into()];
    candidates.iter().filter(|c| !c.is_empty()).map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| {
        panic!("Chromium is needed for browser tests: `apt-get install chromium` (bash .ci/run installs it)")
    })
}

pub struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every event received so far (console calls, log entries, exceptions, page events).
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts Chromium with a phone-sized window.
    pub fn launch(width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium_path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(port) = text.lines().next().and_then(|l| l.trim().parse::<u16>().ok())
            {
                break port;
            }
            assert!(Instant::now() < deadline, "chromium did not open its DevTools port");
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let targets: Value =
            reqwest::blocking::get(format!("http://127.0.0.1:{port}/json/list")).unwrap().json().unwrap();
        let page = targets.as_array().unwrap().iter().find(|t| t["type"] == "page").expect("a page target");
        let url = page["webSocketDebuggerUrl"].as_str().unwrap().to_string();
        let (socket, _) = tungstenite::connect(url).expect("DevTools WebSocket");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        let mut browser = Browser { child, socket, next_id: 0, events: Vec::new(), _profile: profile };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.call(domain, json!({}));
        }
        // A phone's viewport, whatever the smallest window the headless shell allows.
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": width < 600 }),
        );
        browser
    }

    /// Sends a command and waits for its answer, keeping the events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket.send(tungstenite::Message::text(message)).unwrap();
        loop {
            let value = self.read();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.socket.read() {
                Ok(tungstenite::Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    panic!("DevTools did not answer in time")
                }
                Err(e) => panic!("DevTools connection: {e}"),
            }
        }
    }

    /// A real mouse click (press and release) at viewport coordinates, as a tap.
    pub fn tap(&mut self, x: f64, y: f64) {
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// Taps the middle of the first element matching `selector`, scrolled into view first.
    pub fn tap_selector(&mut self, selector: &str) {
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); e.scrollIntoView({{block: 'center'}}); \
               const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        ));
        self.tap(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    }

    /// Opens `url` and waits for its load event.
    pub fn open(&mut self, url: &str) {
        let seen = self.events.len();
        self.call("Page.navigate", json!({ "url": url }));
        while !self.events[seen..].iter().any(|e| e["method"] == "Page.loadEventFired") {
            let event = self.read();
            self.events.push(event);
        }
        // Let late console messages and failed loads arrive.
        self.eval("new Promise(r => setTimeout(r, 200))");
    }

    /// Evaluates JavaScript (awaiting a promise) and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let answer = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        assert!(answer.get("exceptionDetails").is_none(), "{expression}: {answer}");
        answer["result"]["value"].clone()
    }

    /// Like [`Browser::eval`], for polling while a page may be reloading: an exception (no
    /// document body yet, say) gives `null` instead of failing the test.
    pub fn poll(&mut self, expression: &str) -> Value {
        let answer = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        if answer.get("exceptionDetails").is_some() { Value::Null } else { answer["result"]["value"].clone() }
    }

    /// Console errors, uncaught exceptions and error log entries (failed loads, CSP) seen so far.
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.consoleAPICalled" if e["params"]["type"] == "error" => Some(e["params"]["args"].to_string()),
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"]["text"].as_str().unwrap_or("").to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// Saves a PNG screenshot of the whole page and returns its size in bytes.
    pub fn screenshot(&mut self, path: &Path) -> usize {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true }));
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, shot["data"].as_str().unwrap()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        std::fs::write(path, &bytes).unwrap();
        bytes.len()
    }
}

#[test]
fn the_harness_sees_console_errors_and_failed_loads() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(&page, "<!DOCTYPE html><p>x</p><script>console.error('boom')</script><img src='missing.png'>")
        .unwrap();
    let mut browser = Browser::launch(390, 800);
    browser.open(&format!("file://{}", page.display()));
    let errors = browser.errors();
    assert!(errors.iter().any(|e| e.contains("boom")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("missing.png") || e.contains("ERR_FILE_NOT_FOUND")), "{errors:?}");
    assert_eq!(browser.eval("document.querySelector('p').textContent"), "x");
}
