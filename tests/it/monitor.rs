//! #43, the availability monitor: loopback services that fail on a schedule (refused, hanging,
//! answering 500), a self-signed certificate about to expire, a name that does not resolve; the
//! rounds recorded in both stores, the availability report and the annual form's rows from them;
//! `monitor serve` stopped by SIGTERM; bad configuration refused with its line.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use calamine::Reader;

use crate::evidence::cell_text;
use wxpub::metrics::store::{StoreTarget, test_support};

use crate::support::TestProject;

/// What a scripted service does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Up,
    /// Nothing listens: connections are refused.
    Refuse,
    /// Accepts, reads the request, never answers (the check's timeout cuts it).
    Hang,
    Error500,
}

/// A loopback HTTP service whose behaviour the test sets round by round.
struct Service {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Service {
    fn start() -> Service {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut service = Service { port, mode: Arc::new(Mutex::new(Mode::Up)), running: None };
        service.listen(listener);
        service
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/booking", self.port)
    }

    fn listen(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (mode, stopped) = (self.mode.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let mode = *mode.lock().unwrap();
                        std::thread::spawn(move || answer(stream, mode));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        self.running = Some((stop, thread));
    }

    fn set(&mut self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        match (mode, self.running.is_some()) {
            (Mode::Refuse, true) => {
                let (stop, thread) = self.running.take().unwrap();
                stop.store(true, Ordering::SeqCst);
                thread.join().unwrap();
            }
            (Mode::Up | Mode::Hang | Mode::Error500, false) => {
                self.listen(TcpListener::bind(("127.0.0.1", self.port)).unwrap());
            }
            _ => {}
        }
    }
}

fn answer(mut stream: TcpStream, mode: Mode) {
    stream.set_nonblocking(false).unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let (status, body) = match mode {
        Mode::Hang => {
            std::thread::sleep(Duration::from_secs(3));
            return;
        }
        Mode::Error500 => ("500 Internal Server Error", "服务暂时不可用"),
        _ => ("200 OK", "<html><body>参观预约</body></html>"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A project with two services and `[targets.2026]` for the three monitor indicators.
fn project(booking: &str, verification: &str, metrics: &str) -> TestProject {
    let project = TestProject::with_items(&[]);
    let config = project.read("publish.toml")
        + &format!(
            "{metrics}\n[monitor]\nevery = \"1m\"\ntimeout = \"2s\"\napi_checks = false\n\n\
             [[monitor.check]]\nname = \"预约\"\nurl = \"{booking}\"\nexpect_text = \"预约\"\ntimeout = \"1s\"\n\n\
             [[monitor.check]]\nname = \"核验\"\nurl = \"{verification}\"\n\n\
             [[monitor.maintenance]]\nstart = \"2026-03-02 12:00\"\nend = \"2026-03-02 13:00\"\nnote = \"系统升级\"\n\n\
             [targets.2026]\n\
             service_stability = {{ value = 99, weight = 15 }}\n\
             safe_operation = {{ value = 95, weight = 7 }}\n\
             wechat_services = {{ value = 2, weight = 6 }}\n"
        );
    project.write("publish.toml", &config);
    project
}

fn wxpub(project: &TestProject, now: &str, args: &[&str]) -> (i32, String, String) {
    let output =
        crate::support::binary().current_dir(project.path()).env("WXPUB_NOW", now).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// Sixty rounds a minute apart from 2026-03-02 10:00: 预约 refused in rounds 10–12, hanging in
/// 30–31 and answering 500 in 45; 核验 always up.
fn sixty_rounds(project: &TestProject, booking: &mut Service) {
    for round in 0..60 {
        booking.set(match round {
            10..=12 => Mode::Refuse,
            30 | 31 => Mode::Hang,
            45 => Mode::Error500,
            _ => Mode::Up,
        });
        let now = format!("2026-03-02 10:{round:02}");
        let (code, out, err) = wxpub(project, &now, &["monitor", "run"]);
        assert_eq!(code, 0, "round {round}: {out}{err}");
        let expected = match round {
            10..=12 => "down (connection refused)",
            30 | 31 => "down (timeout)",
            45 => "down (HTTP status)",
            _ => "✓ 预约",
        };
        assert!(out.contains(expected), "round {round}: {out}");
    }
    // Inside the announced window (12:00–13:00) 预约 is down: recorded, not counted.
    booking.set(Mode::Refuse);
    let (code, out, err) = wxpub(project, "2026-03-02 12:30", &["monitor", "run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("· 预约  maintenance window (down, not counted)"), "{out}");
    booking.set(Mode::Up);
}

#[test]
fn sixty_rounds_of_a_failing_service_give_exact_availability_incidents_and_form_rows_on_both_stores() {
    let mut booking = Service::start();
    let verification = Service::start();
    let postgres = test_support::postgres_url().map(|url| (url, test_support::fresh_schema("monitor")));
    let mut stores = vec![String::new()];
    if let Some((url, schema)) = &postgres {
        stores.push(format!("\n[metrics]\ndb = \"{url}\"\nschema = \"{schema}\"\n"));
    }
    let mut reports = Vec::new();
    for metrics in &stores {
        let project = project(&booking.url(), &verification.url(), metrics);
        sixty_rounds(&project, &mut booking);
        // The same round again (a timer firing twice): nothing more is counted.
        let (code, _, err) = wxpub(&project, "2026-03-02 10:59:30", &["monitor", "run"]);
        assert_eq!(code, 0);
        assert!(err.contains("recorded already"), "{err}");

        let (code, json, err) =
            wxpub(&project, "2026-12-07 09:00", &["report", "availability", "--year", "2026", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let check =
            |name: &str| report["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap().clone();
        let booked = check("预约");
        // 6 of 60 rounds failed: 90 %; three incidents of 3, 2 and 1 minutes (first failure to
        // the first good round after it).
        assert_eq!((booked["rounds"].as_u64(), booked["up"].as_u64()), (Some(60), Some(54)));
        assert_eq!(booked["availability"], 90.0);
        assert_eq!(booked["incidents"], 3);
        assert_eq!(booked["downtime_minutes"], 6.0);
        assert_eq!((booked["maintenance"].as_u64(), booked["last"].as_str()), (Some(1), Some("2026-03-02 10:59:00")));
        assert_eq!(check("核验")["availability"], 100.0);
        let incidents: Vec<(String, String, f64, String)> = report["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["started_at"].as_str().unwrap().to_string(),
                    i["ended_at"].as_str().unwrap().to_string(),
                    i["minutes"].as_f64().unwrap(),
                    i["failure"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            incidents,
            [
                ("2026-03-02 10:10:00".into(), "2026-03-02 10:13:00".into(), 3.0, "refused".into()),
                ("2026-03-02 10:30:00".into(), "2026-03-02 10:32:00".into(), 2.0, "timeout".into()),
                ("2026-03-02 10:45:00".into(), "2026-03-02 10:46:00".into(), 1.0, "status".into()),
            ]
        );
        // Over both services: 114 of 120 rounds; (118 − 6) of 118 monitored minutes.
        assert_eq!(report["service_stability"], 95.0);
        assert_eq!(report["safe_operation"], 94.92);
        let table = wxpub(&project, "2026-12-07 09:00", &["report", "availability", "--year", "2026"]).1;
        assert!(
            table.contains("connection refused") && table.contains("90.00%") && table.contains("系统升级"),
            "{table}"
        );
        if metrics.is_empty() {
            // HTML with its chart, and a workbook with a sheet per table.
            let html = project.path().join("availability.html");
            let xlsx = project.path().join("availability.xlsx");
            for out in [&html, &xlsx] {
                let args = ["report", "availability", "--year", "2026", "--out", out.to_str().unwrap()];
                assert_eq!(wxpub(&project, "2026-12-07 09:00", &args).0, 0);
            }
            let html = std::fs::read_to_string(html).unwrap();
            assert!(html.contains("id=\"chart-availability\"") && html.contains("<polyline"), "a line per check");
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
            let incidents = book.worksheet_range("Incidents").unwrap();
            assert_eq!(incidents.rows().count(), 1 + 3);
        }

        // The annual report and the form: the three rows from the monitor, with the form's levels.
        let (code, json, err) =
            wxpub(&project, "2026-12-07 09:00", &["report", "annual", "--year", "2026", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let annual: serde_json::Value = serde_json::from_str(&json).unwrap();
        let row =
            |key: &str| annual["indicators"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap().clone();
        let stability = row("service_stability");
        assert_eq!((stability["level1"].as_str(), stability["level2"].as_str()), (Some("产出指标"), Some("质量指标")));
        assert_eq!(stability["label"], "功能服务稳定度");
        assert_eq!(stability["actual"], 95.0);
        assert_eq!(stability["scored"]["score"], 14.39, "95 / 99 × 15");
        assert!(stability["evidence"].as_str().unwrap().contains("114 of 120 monitor rounds"), "{stability}");
        let safe = row("safe_operation");
        assert_eq!((safe["level1"].as_str(), safe["level2"].as_str()), (Some("效益指标"), Some("社会效益指标")));
        assert_eq!(safe["actual"], 94.92);
        assert_eq!(safe["scored"]["score"], 6.99, "94.92 / 95 × 7");
        let services = row("wechat_services");
        assert_eq!(services["actual"], 2.0);
        assert!(
            services["evidence"].as_str().unwrap().contains("预约 (60 rounds, 54 up, 3 incident(s))"),
            "{services}"
        );

        let out = project.path().join("form.xlsx");
        let args = ["report", "annual", "--year", "2026", "--format", "xlsx", "--out", out.to_str().unwrap()];
        assert_eq!(wxpub(&project, "2026-12-07 09:00", &args).0, 0);
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
        let form = book.worksheet_range("自评表").unwrap();
        let rows: Vec<Vec<String>> = form.rows().map(|r| r.iter().map(cell_text).collect()).collect();
        let form_row =
            |label: &str| rows.iter().find(|r| r[2] == label).unwrap_or_else(|| panic!("{label}: {rows:?}")).clone();
        assert_eq!(
            &form_row("功能服务稳定度")[..7],
            ["产出指标", "质量指标", "功能服务稳定度", "99", "95", "15", "14.39"]
        );
        assert_eq!(
            &form_row("安全运行保障率")[..7],
            ["效益指标", "社会效益指标", "安全运行保障率", "95", "94.92", "7", "6.99"]
        );
        assert_eq!(form_row("提供基于微信的功能服务")[4], "2");
        assert!(book.worksheet_range("服务可用性").unwrap().rows().count() >= 3);
        reports.push(json.replace(&project.path().display().to_string(), "PROJECT"));
    }
    if let Some((url, schema)) = postgres {
        test_support::drop_schema(&url, &schema);
        assert_eq!(reports[0], reports[1], "both stores give the same annual report");
    }
}

/// A TLS service with the self-signed test certificate (expiring 2026-12-17 00:00 UTC).
fn tls_service() -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = crate::support::repo_root().join("tests/fixtures/monitor-tls");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = vec![CertificateDer::from_pem_file(dir.join("cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = Arc::new(rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut request = [0u8; 2048];
                if tls.read(&mut request).unwrap_or(0) > 0 {
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                    let _ = tls.flush();
                }
            });
        }
    });
    port
}

#[test]
fn certificates_about_to_expire_are_warned_and_unresolvable_hosts_are_down_dns() {
    let port = tls_service();
    let sandbox = wxpub::sandbox::spawn(wxpub::sandbox::SandboxOptions {
        appid: crate::support::APPID.into(),
        secret: crate::support::SECRET.into(),
        ..Default::default()
    })
    .unwrap();
    let project = TestProject::with_items(&[]);
    std::fs::copy(
        crate::support::repo_root().join("tests/fixtures/monitor-tls/cert.pem"),
        project.path().join("museum-ca.pem"),
    )
    .unwrap();
    let config = project.read("publish.toml")
        + &format!(
            "\n[monitor]\ntimeout = \"5s\"\n\n\
             [[monitor.check]]\nname = \"untrusted\"\nurl = \"https://127.0.0.1:{port}/\"\n\n\
             [[monitor.check]]\nname = \"intranet\"\nurl = \"https://localhost:{port}/\"\nexpect_text = \"ok\"\nca = \"museum-ca.pem\"\n\n\
             [[monitor.check]]\nname = \"nowhere\"\nurl = \"http://wxpub-monitor-test.invalid/\"\n"
        );
    project.write("publish.toml", &config);
    // Ten days before the certificate expires (2026-12-07 08:00 in Beijing is 00:00 UTC).
    let output = crate::support::binary()
        .current_dir(project.path())
        .env("WXPUB_NOW", "2026-12-07 08:00")
        .env("WXPUB_API_BASE", &sandbox.base_url)
        .args(["monitor", "run", "--json"])
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{out}{err}");
    let round: serde_json::Value = serde_json::from_str(&out).unwrap();
    let result = |name: &str| round["results"].as_array().unwrap().iter().find(|r| r["check"] == name).unwrap().clone();
    let untrusted = result("untrusted");
    assert_eq!((untrusted["up"].as_bool(), untrusted["failure"].as_str()), (Some(false), Some("tls")), "{untrusted}");
    assert_eq!(
        untrusted["cert_expires_at"], "2026-12-17T00:00:00Z",
        "the expiry is read even when the certificate is not trusted"
    );
    let intranet = result("intranet");
    assert_eq!((intranet["up"].as_bool(), intranet["status"].as_u64()), (Some(true), Some(200)), "{intranet}");
    assert!(err.contains("certificate of intranet expires 2026-12-17T00:00:00Z (10 days left)"), "{err}");
    let nowhere = result("nowhere");
    assert_eq!((nowhere["up"].as_bool(), nowhere["failure"].as_str()), (Some(false), Some("dns")), "{nowhere}");
    // Each account's API, through a call that needs no credentials (the sandbox answers 40002).
    for account in ["service", "subscription"] {
        let api = result(&format!("wechat-api:{account}"));
        assert_eq!(api["up"], true, "{api}");
        assert!(api["url"].as_str().unwrap().ends_with("/cgi-bin/token"), "{api}");
    }
    let (code, table, _) = wxpub(&project, "2026-12-07 09:00", &["report", "availability", "--year", "2026"]);
    assert_eq!(code, 0);
    assert!(table.contains("expires in 10 days: renew it") && table.contains("DNS"), "{table}");
}

#[cfg(unix)] // SIGTERM: Windows has no such signal (Ctrl-C there is tested by hand).
#[test]
fn monitor_serve_runs_a_round_a_second_and_stops_cleanly_on_sigterm() {
    let service = Service::start();
    let project = TestProject::with_items(&[]);
    let config = project.read("publish.toml")
        + &format!(
            "\n[monitor]\nevery = \"1s\"\napi_checks = false\n\n[[monitor.check]]\nname = \"预约\"\nurl = \"{}\"\n",
            service.url()
        );
    project.write("publish.toml", &config);
    let mut child = crate::support::binary()
        .current_dir(project.path())
        .env_remove("WXPUB_NOW")
        .args(["monitor", "serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{status:?}: {err}");
    let store = wxpub::metrics::Store::open(StoreTarget::Sqlite(project.path().join(".wxpub/metrics.db"))).unwrap();
    let rounds = store.rows("SELECT COUNT(DISTINCT round) FROM monitor_results", &[]).unwrap()[0].int(0).unwrap();
    assert!((4..=6).contains(&rounds), "{rounds} rounds in 5 s: {err}");
    assert!(err.contains(&format!("stopped after {rounds} round(s)")), "{err}");

    // Two monitors at once in the same slot (a timer and a person, say): the round counts once.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            crate::support::binary()
                .current_dir(project.path())
                .env("WXPUB_NOW", "2026-12-07 09:00")
                .args(["monitor", "run"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let errs: Vec<String> = runs
        .into_iter()
        .map(|run| {
            let output = run.wait_with_output().unwrap();
            assert!(output.status.success());
            String::from_utf8_lossy(&output.stderr).into_owned()
        })
        .collect();
    assert_eq!(errs.iter().filter(|e| e.contains("recorded already")).count(), 1, "{errs:?}");
    let after = store.rows("SELECT COUNT(*) FROM monitor_results", &[]).unwrap()[0].int(0).unwrap();
    assert_eq!(after, rounds + 1);
}

#[test]
fn bad_monitor_settings_are_refused_with_their_line() {
    let project = TestProject::with_items(&[]);
    let base = project.read("publish.toml");
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases = [
        ("[monitor]\nevery = \"0s\"\n", "every = \"0s\"", "must be more than 0"),
        (
            "[[monitor.check]]\nname = \"预约\"\nurl = \"https://booking.example/\"\nexpect_status = 999\n",
            "expect_status = 999",
            "not an HTTP status",
        ),
        ("[[monitor.check]]\nname = \"预约\"\nexpect_status = 200\n", "name = \"预约\"", "missing field `url`"),
    ];
    for (section, key_line, message) in cases {
        let text = format!("{base}\n{section}");
        project.write("publish.toml", &text);
        let (code, out, err) = wxpub(&project, "2026-12-07 09:00", &["monitor", "run"]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains(message), "{err}");
        let line = line_of(&text, key_line);
        let header = line_of(&text, section.lines().next().unwrap());
        assert!(
            err.contains(&format!("publish.toml:{line}:")) || err.contains(&format!("publish.toml:{header}:")),
            "{section}: want line {line}: {err}"
        );
    }
    // The store cannot be written: the monitor says so and fails.
    project.write(
        "publish.toml",
        &format!("{base}\n[metrics]\ndb = \"publish.toml/metrics.db\"\n\n[[monitor.check]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n"),
    );
    let (code, _, err) = wxpub(&project, "2026-12-07 09:00", &["monitor", "run"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("metrics database") || err.contains("metrics.db"), "{err}");
}
