//! Evidence for the yearly self-evaluation: the publication archive, satisfaction surveys and
//! the filled-in form, through the real binary against the sandbox.
use std::path::Path;

use calamine::{Data, Reader};
use sha2::{Digest, Sha256};

use crate::metrics::{published_example, wxpub};
use crate::support::TestProject;

const SURVEYS: &str = r#"
[surveys.visitors]
title = "2026 年观众满意度调查"
rating_column = "总体满意度"
scale = [1, 5]
time_column = "提交答卷时间"
id_column = "序号"

[surveys.words]
rating_column = "您对本次活动满意吗"
labels = ["非常不满意", "不满意", "一般", "满意", "非常满意"]
time_column = "提交时间"
"#;

#[test]
fn publishing_archives_each_push_and_verify_names_an_edited_entry() {
    let (project, sandbox, _state) = published_example();
    let archive = project.path().join("archive");
    // 7 pushes in 2026, the greeting in 2027.
    let entries: Vec<String> = std::fs::read_dir(archive.join("2026"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 7, "{entries:?}");
    // The push of 12-01 (lead article: the exhibition, then the ding story) is one entry.
    let entry = archive.join("2026/2026-12-01-service-bronze-exhibition");
    // The HTML is what WeChat received: sandbox image URLs, no local paths.
    let html = std::fs::read_to_string(entry.join("02-2026-12-01-ding-story.html")).unwrap();
    assert!(html.contains("src=\"http://127.0.0.1:") && !html.contains("src=\"images/"), "{}", &html[..300]);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(entry.join("record.json")).unwrap()).unwrap();
    assert_eq!(record["matches_sent"], true);
    assert!(record["articles"][1]["url"].as_str().unwrap().starts_with("https://mp.weixin.qq.com/"));
    assert!(record["publish_id"].is_string());
    // Every file's hash in the manifest, computed here independently.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(entry.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_object().unwrap();
    assert!(files.len() >= 5 && files.contains_key("record.json"));
    for (file, sha) in files {
        assert_eq!(
            hex::encode(Sha256::digest(std::fs::read(entry.join(file)).unwrap())),
            sha.as_str().unwrap(),
            "{file}"
        );
    }
    assert!(project.read("publish.lock").contains("archived = \"2026/2026-12-01-service-bronze-exhibition\""));

    let (code, out, err) = wxpub(&project, &sandbox, &["archive", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2026: 7 entries"), "{out}");

    // A printable index: one row per article, thumbnails inline.
    let (code, index, _) = wxpub(&project, &sandbox, &["archive", "index", "--year", "2026"]);
    assert_eq!(code, 0);
    assert_eq!(index.matches("<tr><td>").count(), 8);
    assert!(index.contains("data:image/jpeg;base64,") && !index.contains("src=\"http"));

    // One byte changed in an archived file: verify fails and names the entry and the file.
    let file = entry.join("01-2026-12-01-bronze-exhibition.html");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let (code, _, err) = wxpub(&project, &sandbox, &["archive", "verify", "--year", "2026"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2026-12-01-service-bronze-exhibition: 01-2026-12-01-bronze-exhibition.html was changed"),
        "{err}"
    );
    assert_eq!(err.matches("sha256 differs").count(), 1, "only that entry: {err}");

    // A deleted entry breaks the chain at the next one.
    std::fs::remove_dir_all(archive.join("2027")).unwrap();
    let winter = archive.join("2026/2026-12-20-service-winter-poster");
    std::fs::remove_dir_all(&winter).unwrap();
    let (code, _, err) = wxpub(&project, &sandbox, &["archive", "verify"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2026-12-20-service-winter-poster: the entry folder or its manifest.json is missing"),
        "{err}"
    );
}

#[test]
fn a_failed_archive_fails_the_run_and_the_next_run_archives_it() {
    let (project, sandbox, _state) = published_example();
    // Archive anew into a folder that cannot be created (a file is in its way).
    project.write("publish.toml", &(project.read("publish.toml") + "\n[archive]\ndir = \"evidence\"\n"));
    let lock = project.read("publish.lock").replace("archived = ", "# was archived = ");
    project.write("publish.lock", &lock);
    project.write("evidence", "not a folder");
    let (code, out, err) = wxpub(&project, &sandbox, &["publish", "--due", "--now", "2027-01-02 09:00"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("archive") && err.contains("run wxpub publish again"), "{err}");
    std::fs::remove_file(project.path().join("evidence")).unwrap();
    let (code, out, err) = wxpub(&project, &sandbox, &["publish", "--due", "--now", "2027-01-02 09:00"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("archived: evidence/").count(), 8, "{out}");
}

fn xlsx(path: &Path, rows: &[Vec<&str>]) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    workbook.save(path).unwrap();
}

#[test]
fn survey_exports_import_with_their_counts_and_a_second_import_adds_nothing() {
    let project = TestProject::example();
    project.write("publish.toml", &(project.read("publish.toml") + SURVEYS));
    let csv = "序号,提交答卷时间,总体满意度,建议\n\
               1,2026/12/10 09:00:01,5,很好\n\
               2,2026/12/10 09:05:00,4,\n\
               3,2026/12/10 10:00:00,3,\"排队太久,希望改进\"\n\
               4,2026/12/11 11:00:00,7,\n\
               5,2026/12/11 12:00:00,,\n\
               6,昨天,5,\n\
               7,2026/12/12 08:30:00,2,\n\
               ,,,\n\
               8,2026/12/12 09:30:00,5,\n";
    project.write("export.csv", csv);
    let run = |args: &[&str]| {
        let out = project.wxpub().args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["survey", "import", "export.csv", "--survey", "visitors"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("8 response(s) read, 5 imported, 0 already imported, 3 skipped"), "{out}");
    assert!(err.contains("row 5: rating 7 is outside the scale 1–5"), "{err}");
    assert!(err.contains("row 6: rating `` is not a number"), "{err}");
    assert!(err.contains("row 7: time `昨天` is not a date and time"), "{err}");
    let (_, out, _) = run(&["survey", "import", "export.csv", "--survey", "visitors"]);
    assert!(out.contains("0 imported, 5 already imported"), "{out}");

    // XLSX with worded answers, as 问卷星 exports them.
    let path = project.path().join("export.xlsx");
    xlsx(
        &path,
        &[
            vec!["提交时间", "您对本次活动满意吗", "其他"],
            vec!["2026-12-20 10:00:00", "非常满意", ""],
            vec!["2026-12-20 10:01:00", "满意", ""],
            vec!["2026-12-20 10:02:00", "一般", ""],
            vec!["2026-12-20 10:03:00", "满意", ""],
            vec!["2026-12-20 10:04:00", "还行吧", ""],
        ],
    );
    let (code, out, err) = run(&["survey", "import", "export.xlsx", "--survey", "words"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 response(s) read, 4 imported") && err.contains("row 6: rating `还行吧`"), "{out}{err}");
    let (_, out, _) = run(&["survey", "import", "export.xlsx", "--survey", "words"]);
    assert!(out.contains("0 imported, 4 already imported"), "{out}");

    // Rates with the sample size and the Wilson interval.
    let (_, out, _) = run(&["survey", "report", "--year", "2026", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let visitors = report.as_array().unwrap().iter().find(|s| s["survey"] == "visitors").unwrap();
    assert_eq!((visitors["responses"].as_u64(), visitors["satisfied"].as_u64()), (Some(5), Some(3)));
    // 3 of 5: centre (0.6 + 0.38415) / 1.76829 = 0.55655, half 1.95996 × sqrt(0.048 + 0.03842) / 1.76829 = 0.32578.
    let interval = visitors["interval"].as_array().unwrap();
    assert!((interval[0].as_f64().unwrap() - 0.2307).abs() < 1e-3, "{interval:?}");
    assert!((interval[1].as_f64().unwrap() - 0.8824).abs() < 1e-3, "{interval:?}");

    // A file without the configured columns: the expected and the found headers are named.
    project.write("wrong.csv", "id,time,score\n1,2026-12-01 10:00,5\n");
    let (code, _, err) = run(&["survey", "import", "wrong.csv", "--survey", "visitors"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("missing column(s) `总体满意度`, `提交答卷时间`, `序号`") && err.contains("`id`, `time`, `score`"),
        "{err}"
    );
}

#[test]
fn survey_new_makes_an_invitation_with_a_scannable_qr_code() {
    let project = TestProject::example();
    let url = "https://wj.qq.com/s2/12345/abcd/";
    let out = project
        .wxpub()
        .args(["survey", "new", "观众满意度问卷", "--url", url, "--date", "2026-12-10"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let folder = "content/articles/2026-12-10-guan-zhong-man-yi-du-wen-juan";
    let text = project.read(&format!("{folder}/index.md"));
    assert!(text.contains(&format!("source_url: \"{url}\"")) && text.contains("```qr"), "{text}");
    std::fs::copy(
        project.path().join("content/articles/2026-12-08-winter-camp/meadow.jpg"),
        project.path().join(folder).join("cover.jpg"),
    )
    .unwrap();
    let out = project.wxpub().args(["build"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest: serde_json::Value = serde_json::from_str(&project.read("dist/manifest.json")).unwrap();
    let item = manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == "2026-12-10-guan-zhong-man-yi-du-wen-juan")
        .unwrap();
    assert_eq!(item["source_url"], url);
    let qr = &item["images"][0];
    assert!(qr["source"].as_str().unwrap().starts_with("qr-"));
    let file = project
        .path()
        .join("dist/articles/2026-12-10-guan-zhong-man-yi-du-wen-juan/images")
        .join(qr["file"].as_str().unwrap());
    let image = image::open(&file).unwrap().to_luma8();
    assert!(image.width() >= 480);
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, url, "the code scans to the survey");
    let out = project.wxpub().args(["check", folder, "--now", "2026-12-01 12:00"]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

pub(crate) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => i.to_string(),
        _ => String::new(),
    }
}

#[test]
fn the_self_evaluation_form_is_written_as_a_spreadsheet_with_its_scores() {
    let (project, sandbox, _state) = published_example();
    let config = project.read("publish.toml") + SURVEYS + "\n";
    // The example targets (see metrics.rs) plus satisfaction.
    let config = config.replace("budget = {", "satisfaction = { value = 90, weight = 10 }\nbudget = {");
    project.write("publish.toml", &config);

    // No survey yet: the satisfaction row scores 0 and says why.
    let out = project.path().join("form-before.xlsx");
    let (code, o, e) =
        wxpub(&project, &sandbox, &["report", "annual", "--year", "2026", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{o}{e}");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let form = book.worksheet_range("自评表").unwrap();
    let rows: Vec<Vec<String>> = form.rows().map(|r| r.iter().map(cell_text).collect()).collect();
    assert_eq!(
        &rows[1][..9],
        [
            "一级指标",
            "二级指标",
            "三级指标",
            "年度指标值（A）",
            "实际完成值",
            "分值",
            "得分",
            "偏差原因分析及改进措施",
            "佐证材料"
        ]
    );
    let satisfaction = rows.iter().find(|r| r[2] == "satisfaction" || r[2] == "观众满意度").expect("satisfaction row");
    assert_eq!(satisfaction[6], "0");
    assert!(satisfaction[7].contains("no survey responses recorded for 2026"), "{satisfaction:?}");

    // With the survey imported: 3 of 4 satisfied = 75 % against 90 → 75 / 90 × 10 = 8.33.
    project.write(
        "answers.csv",
        "序号,提交答卷时间,总体满意度\n1,2026-12-10 10:00,5\n2,2026-12-10 10:01,4\n3,2026-12-10 10:02,2\n4,2026-12-10 10:03,4\n",
    );
    let (code, o, e) = wxpub(&project, &sandbox, &["survey", "import", "answers.csv", "--survey", "visitors"]);
    assert_eq!(code, 0, "{o}{e}");
    let mut book = annual_form(&project, &sandbox);
    let form = book.worksheet_range("自评表").unwrap();
    let rows: Vec<Vec<String>> = form.rows().map(|r| r.iter().map(cell_text).collect()).collect();
    let row = |label: &str| rows.iter().find(|r| r[2] == label).unwrap_or_else(|| panic!("{label}: {rows:?}")).clone();
    let budget = row("预算执行率");
    assert_eq!(&budget[..2], ["成本指标", "经济成本指标"]);
    assert_eq!(&budget[3..7], ["146.435", "144.306", "10", "9.85"], "the form's own example");
    let satisfaction = row("观众满意度");
    assert_eq!(&satisfaction[..2], ["满意度指标", "服务对象满意度指标"], "the form's own levels");
    assert_eq!(&satisfaction[4..7], ["75", "10", "8.33"]);
    assert_eq!(&row("推送次数")[..2], ["产出指标", "数量指标"]);
    assert!(
        satisfaction[8].contains("3 of 4 survey responses") && satisfaction[8].contains("answers.csv"),
        "{satisfaction:?}"
    );
    assert_eq!(row("推送次数")[6], "20");
    let total = rows.iter().find(|r| r[0] == "总分").unwrap();
    // 20 + 5 + 9 + 10 + 8.33 + 9.85 = 62.18 of 70 → 88.8 % → 良.
    assert_eq!(total[6], "62.18");
    assert!(total[7].contains("良"), "{total:?}");
    let pushes = book.worksheet_range("推送清单").unwrap();
    assert_eq!(pushes.rows().count(), 1 + 8);
    let surveys = book.worksheet_range("满意度调查").unwrap();
    assert_eq!(surveys.rows().count(), 2);
}

/// A small PNG of one colour: distinct bytes per publication.
fn png(seed: u32) -> Vec<u8> {
    let colour = image::Rgb([(seed * 37 % 256) as u8, (seed * 91 % 256) as u8, (seed * 53 % 256) as u8]);
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(24, 16, colour))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// Thirty publications made in the sandbox's "web backend" through 2026, two photos and a
/// cover each. The 5th shows an image on a host that is not WeChat's (never fetched), the 6th a
/// slow one (2 s: what the kill test kills during), the 7th one too large, the 8th a page that
/// is not an image, the 10th one the server does not have (404).
fn publish_in_the_web_backend(sandbox: &wxpub::sandbox::SandboxHandle) -> usize {
    use base64::Engine;
    let client = crate::wechat::client_for(sandbox, true);
    let file = |name: &str, content_type: &str, bytes: &[u8], delay_ms: u64| -> String {
        let answer: serde_json::Value = crate::wechat::http()
            .post(format!("{}/__sandbox/files", sandbox.base_url))
            .json(&serde_json::json!({
                "name": name,
                "content_type": content_type,
                "base64": base64::engine::general_purpose::STANDARD.encode(bytes),
                "delay_ms": delay_ms,
            }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["url"].as_str().unwrap().to_string()
    };
    let mut articles = 0;
    for n in 0..30u32 {
        let photos: Vec<String> = (0..2)
            .map(|k| {
                let bytes = png(n * 3 + k);
                let upload = wxpub::wechat::Upload { filename: &format!("p{n}-{k}.png"), bytes: &bytes };
                client.upload_image(&upload).unwrap().url
            })
            .collect();
        let cover_bytes = png(n * 3 + 2);
        let cover = client
            .add_material(
                wxpub::wechat::types::MaterialType::Image,
                &wxpub::wechat::Upload { filename: &format!("cover-{n}.png"), bytes: &cover_bytes },
                None,
            )
            .unwrap()
            .media_id;
        let extra = match n {
            4 => "<img src=\"http://169.254.169.254/latest/meta-data/photo.jpg\">".to_string(),
            5 => format!("<img src=\"{}\">", file("slow.png", "image/png", &png(999), 2000)),
            6 => format!("<img src=\"{}\">", file("huge.jpg", "image/jpeg", &vec![0xFFu8; 2_500_000], 0)),
            7 => format!("<img data-src=\"{}\">", file("page.jpg", "text/html", b"<html>login</html>", 0)),
            9 => format!("<img src=\"{}/mmbiz/never-uploaded.jpg\">", sandbox.base_url),
            _ => String::new(),
        };
        let article = |title: String| {
            serde_json::json!({
                "title": title,
                "content": format!("<p>馆藏第{n}期</p><p><img src=\"{}\"></p><p><img data-src=\"{}\" src=\"data:,\">{extra}</p>", photos[0], photos[1]),
                "thumb_media_id": cover,
            })
        };
        // Every third publication has two articles.
        let mut list = vec![article(format!("往期推送 {n}"))];
        if n % 3 == 0 {
            list.push(article(format!("往期推送 {n} 之二")));
        }
        articles += list.len();
        let published_at = 1_767_225_600 + i64::from(n) * 9 * 86_400; // from 2026-01-01, every 9 days
        let answer: serde_json::Value = crate::wechat::http()
            .post(format!("{}/__sandbox/backend_publish", sandbox.base_url))
            .json(&serde_json::json!({ "articles": list, "published_at": published_at }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(answer["errcode"], 0, "{answer}");
    }
    articles
}

/// Acceptance (#24): thirty publications made outside wxpub beside the example published by
/// wxpub; import archives exactly the thirty, images byte for byte; verify catches a flipped
/// byte; a second import adds nothing; a killed import continued equals an uninterrupted one;
/// the form's list of publications has them, marked imported.
#[test]
fn publications_made_before_wxpub_are_imported_into_the_archive_once() {
    let (project, sandbox, _state) = published_example();
    let imported_articles = publish_in_the_web_backend(&sandbox);
    let before: Vec<String> = wxpub::archive::entries(&project.path().join("archive"), "2026")
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let reference = TestProject { dir: tempfile::tempdir().unwrap() };
    crate::support::copy_tree(project.path(), reference.path());
    let import = ["archive", "import", "--account", "service", "--max-image-bytes", "2000000"];

    // Uninterrupted, in a copy of the project.
    let (code, out, err) = wxpub(&reference, &sandbox, &import);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("30 imported"), "{out}");
    // One missing image in each of four publications, two of which have two articles.
    assert!(out.contains("6 image(s) could not be kept"), "{out}");

    // Killed after its first entries, then run again.
    let mut child = crate::support::binary();
    crate::support::sandbox_env(child.current_dir(project.path()), &sandbox).args(import);
    let mut child = child.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let archive = project.path().join("archive");
    let imported_entries = || {
        wxpub::archive::entries(&archive, "2026").map_or(0, |e| e.iter().filter(|(_, r)| r.imported.is_some()).count())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while imported_entries() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = imported_entries();
    assert!((1..=5).contains(&at_kill), "killed mid-import, before the slow image's entry: {at_kill} entries");
    let (code, out, err) = wxpub(&project, &sandbox, &import);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("{} imported", 30 - at_kill)), "{out}");
    assert_eq!(
        crate::support::snapshot_tree(&archive),
        crate::support::snapshot_tree(&reference.path().join("archive")),
        "the same archive as an uninterrupted import"
    );

    // Exactly the thirty, after wxpub's own entries, each image as the server serves it.
    let entries = wxpub::archive::entries(&archive, "2026").unwrap();
    let (imported, own): (Vec<_>, Vec<_>) = entries.iter().partition(|(_, r)| r.imported.is_some());
    assert_eq!(own.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), before, "wxpub's own entries unchanged");
    assert_eq!(imported.len(), 30);
    let articles: usize = imported.iter().map(|(_, r)| r.articles.len()).sum();
    assert_eq!(articles, imported_articles);
    let mut missing = Vec::new();
    let client = crate::wechat::client_for(&sandbox, true);
    for (name, record) in &imported {
        assert_eq!(record.mode, "imported");
        assert!(record.msg_data_id.is_some(), "{name}: its statistics key, from the URL");
        let served = client.publish_getarticle(&record.imported.as_ref().unwrap().article_id).unwrap().news_item;
        assert_eq!(served.len(), record.articles.len());
        for (article, served) in record.articles.iter().zip(&served) {
            assert!(article.url.is_some() && article.cover.is_some() && article.thumbnail.is_some(), "{name}");
            let html = std::fs::read_to_string(archive.join("2026").join(name).join(&article.html)).unwrap();
            assert_eq!(html, served.content, "{name}: the HTML as the server returns it");
            for image in &article.fetched {
                match &image.file {
                    Some(file) => {
                        let kept = std::fs::read(archive.join("2026").join(name).join(file)).unwrap();
                        let served = crate::wechat::http().get(&image.url).send().unwrap().bytes().unwrap();
                        assert_eq!(kept, served.to_vec(), "{name}: {}", image.url);
                    }
                    None => missing.push(image.missing.clone().unwrap()),
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert_eq!(missing.len(), 4, "{missing:?}");
    for why in ["not a WeChat image address", "too large", "not an image", "the server answered HTTP 404"] {
        assert!(missing.iter().any(|m| m.starts_with(why)), "{why}: {missing:?}");
    }

    // A second import adds nothing.
    let (code, out, err) = wxpub(&project, &sandbox, &import);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 imported"), "{out}");

    // verify covers them: a flipped byte in an imported image is caught.
    let (code, out, err) = wxpub(&project, &sandbox, &["archive", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let (name, record) = imported[3];
    let image = archive.join("2026").join(name).join(&record.articles[0].images[0]);
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&image, &bytes).unwrap();
    let (code, _, err) = wxpub(&project, &sandbox, &["archive", "verify", "--year", "2026"]);
    assert_eq!(code, 1);
    assert!(err.contains(name.as_str()) && err.contains(&record.articles[0].images[0]), "{err}");
    bytes[40] ^= 1;
    std::fs::write(&image, &bytes).unwrap();

    // The index shows them as imported; the form's list of publications has every one.
    let (code, index, _) = wxpub(&project, &sandbox, &["archive", "index", "--year", "2026"]);
    assert_eq!(code, 0);
    assert_eq!(index.matches("imported 2026-11-20 from freepublish/batchget").count(), articles, "{index}");
    let mut book = annual_form(&project, &sandbox);
    let pushes = book.worksheet_range("推送清单").unwrap();
    let rows: Vec<Vec<String>> = pushes.rows().map(|r| r.iter().map(cell_text).collect()).collect();
    let marked = rows.iter().filter(|r| r[4].starts_with("imported")).count();
    assert_eq!(marked, articles, "every imported article listed and marked");
    assert_eq!(rows.len(), 1 + 8 + articles, "wxpub's 8 and the imported ones");
}

/// `report annual --year 2026 --format xlsx`, opened.
fn annual_form(
    project: &TestProject,
    sandbox: &wxpub::sandbox::SandboxHandle,
) -> calamine::Xlsx<std::io::BufReader<std::fs::File>> {
    let out = project.path().join("form.xlsx");
    let (code, o, e) = wxpub(
        project,
        sandbox,
        &["report", "annual", "--year", "2026", "--format", "xlsx", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{o}{e}");
    calamine::open_workbook(&out).unwrap()
}
