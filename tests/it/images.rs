//! The image pipeline through `wxpub build`, on real images generated here and decoded back.

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use predicates::prelude::*;

use crate::support::TestProject;

const HEAD: &str = "---\ntitle: 图片测试\naccount: service\n---\n\n";

fn project_with(files: &[(&str, Vec<u8>)], body: &str) -> TestProject {
    let project = TestProject::with_items(&[("articles/pics", &format!("{HEAD}{body}"))]);
    for (name, bytes) in files {
        std::fs::write(project.path().join("content/articles/pics").join(name), bytes).unwrap();
    }
    project
}

fn manifest_images(project: &TestProject) -> Vec<serde_json::Value> {
    let manifest: serde_json::Value = serde_json::from_str(&project.read("dist/manifest.json")).unwrap();
    manifest["items"][0]["images"].as_array().unwrap().clone()
}

fn output_bytes(project: &TestProject, image: &serde_json::Value) -> Vec<u8> {
    std::fs::read(project.path().join("dist/articles/pics/images").join(image["file"].as_str().unwrap())).unwrap()
}

/// A minimal EXIF block (TIFF, little endian) with an orientation and a GPS pointer.
fn exif_with_orientation(orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&2u16.to_le_bytes()); // two entries
    // 0x0112 Orientation, SHORT, 1, value
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // 0x8825 GPS IFD pointer, LONG, 1, offset 38
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    // GPS IFD: one entry, GPSLatitudeRef "N"
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0001u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\x00\x00\x00");
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut exif = b"Exif\x00\x00".to_vec();
    exif.extend(tiff);
    exif
}

/// A 40×20 JPEG, red on the left and blue on the right, stored with EXIF orientation 6.
fn rotated_jpeg() -> Vec<u8> {
    let image = RgbImage::from_fn(40, 20, |x, _| if x < 20 { Rgb([230, 20, 20]) } else { Rgb([20, 20, 230]) });
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 95);
    encoder.add_app_segment(1, exif_with_orientation(6)).unwrap();
    encoder.encode(image.as_raw(), 40, 20, jpeg_encoder::ColorType::Rgb).unwrap();
    assert!(out.windows(4).any(|w| w == b"Exif"));
    out
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    crate::support::encode_image(image, format)
}

/// A smooth photo-like gradient: thousands of colours, no transparency.
fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, ((x + y) % 256) as u8])
    })
}

#[test]
fn exif_orientation_is_applied_and_all_metadata_stripped() {
    let project = project_with(&[("turned.jpg", rotated_jpeg())], "![转过的照片](turned.jpg)\n");
    project.wxpub().arg("build").assert().success();
    let images = manifest_images(&project);
    let bytes = output_bytes(&project, &images[0]);
    let out = image::load_from_memory(&bytes).unwrap().to_rgb8();
    // Orientation 6 turns the stored image 90° clockwise: 20×40, the red left half on top.
    assert_eq!((out.width(), out.height()), (20, 40));
    let (top, bottom) = (out.get_pixel(10, 5), out.get_pixel(10, 34));
    assert!(top[0] > 180 && top[2] < 80, "top should be red: {top:?}");
    assert!(bottom[2] > 180 && bottom[0] < 80, "bottom should be blue: {bottom:?}");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF (and its GPS block) must be gone");
    assert!(!bytes.windows(3).any(|w| w == b"GPS"));
}

#[test]
fn worst_case_noisy_24_megapixel_photo_ends_under_one_megabyte() {
    let mut rng = fastrand::Rng::with_seed(42);
    let noise = RgbImage::from_fn(6000, 4000, |_, _| Rgb([rng.u8(..), rng.u8(..), rng.u8(..)]));
    let source = crate::support::encode_image(&DynamicImage::ImageRgb8(noise), ImageFormat::Jpeg);
    let project = project_with(&[("noise.jpg", source)], "![噪点](noise.jpg)\n");
    project.wxpub().arg("build").assert().success();
    let images = manifest_images(&project);
    let bytes = output_bytes(&project, &images[0]);
    assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
    let out = image::load_from_memory(&bytes).unwrap();
    assert!(out.width() <= 1080 && out.width() >= 500, "width {}", out.width());
    assert_eq!(images[0]["width"], out.width());
}

#[test]
fn webp_becomes_jpeg_and_transparent_png_stays_png() {
    let webp = encode(&DynamicImage::ImageRgb8(gradient(300, 200)), ImageFormat::WebP);
    let alpha =
        RgbaImage::from_fn(120, 80, |x, y| Rgba([200, (x * 2) as u8, (y * 3) as u8, if x < 60 { 0 } else { 255 }]));
    let png = encode(&DynamicImage::ImageRgba8(alpha), ImageFormat::Png);
    let project =
        project_with(&[("photo.webp", webp), ("logo.png", png)], "![照片](photo.webp)\n\n![标志](logo.png)\n");
    project.wxpub().arg("build").assert().success();
    let images = manifest_images(&project);
    let by_source = |name: &str| images.iter().find(|i| i["source"] == name).unwrap().clone();
    let photo = by_source("photo.webp");
    assert!(photo["file"].as_str().unwrap().ends_with(".jpg"));
    assert_eq!(image::guess_format(&output_bytes(&project, &photo)).unwrap(), ImageFormat::Jpeg);
    let logo = by_source("logo.png");
    assert!(logo["file"].as_str().unwrap().ends_with(".png"));
    let decoded = image::load_from_memory(&output_bytes(&project, &logo)).unwrap().to_rgba8();
    assert_eq!(decoded.get_pixel(10, 10)[3], 0, "transparency kept");
    let html = project.read("dist/articles/pics/content.html");
    assert!(html.contains(&format!("images/{}", photo["file"].as_str().unwrap())), "HTML points at the processed file");
}

#[test]
fn second_build_is_a_cache_hit_and_output_is_deterministic() {
    let project = project_with(
        &[("g.png", encode(&DynamicImage::ImageRgb8(gradient(1600, 900)), ImageFormat::Png))],
        "![渐变](g.png)\n",
    );
    project
        .wxpub()
        .args(["build", "--out", "one"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 processed, 0 from cache"));
    project
        .wxpub()
        .args(["build", "--out", "two"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 processed, 1 from cache"));
    let read = |dir: &str| std::fs::read_dir(project.path().join(dir).join("articles/pics/images")).unwrap().count();
    assert_eq!(read("one"), read("two"));
    // Same bytes from a cold cache too.
    std::fs::remove_dir_all(project.path().join(".wxpub")).unwrap();
    project
        .wxpub()
        .args(["build", "--out", "three"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 processed"));
    assert_eq!(project.read("one/manifest.json"), project.read("three/manifest.json"));
}

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    chunk.extend_from_slice(&crc.finalize().to_be_bytes());
    chunk
}

#[test]
fn decompression_bomb_header_is_refused_before_decoding() {
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(png_chunk(b"IEND", &[]));
    let project = project_with(&[("bomb.png", png)], "正文\n\n![炸弹](bomb.png)\n");
    let started = std::time::Instant::now();
    project.wxpub().arg("build").assert().failure().stderr(
        predicate::str::contains("content/articles/pics/index.md:8: image `bomb.png`")
            .and(predicate::str::contains("max_megapixels")),
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "refused from the header, without decoding");
}

#[test]
fn truncated_jpeg_names_the_file_and_the_item() {
    let full = encode(&DynamicImage::ImageRgb8(gradient(400, 300)), ImageFormat::Jpeg);
    let truncated = full[..full.len() / 3].to_vec();
    let project = project_with(&[("cut.jpg", truncated)], "![断了](cut.jpg)\n");
    project.wxpub().arg("build").assert().failure().stderr(
        predicate::str::contains("content/articles/pics/index.md:6: image `cut.jpg`")
            .and(predicate::str::contains("cannot decode")),
    );
    assert!(!project.path().join("dist").exists());
}

#[test]
fn animated_gif_is_kept_and_cover_crops_are_computed_from_the_focus() {
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        encoder.set_repeat(image::codecs::gif::Repeat::Infinite).unwrap();
        for shade in [40u8, 200] {
            let frame = RgbaImage::from_pixel(30, 20, Rgba([shade, shade, 255, 255]));
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    let cover = encode(&DynamicImage::ImageRgb8(gradient(1000, 600)), ImageFormat::Jpeg);
    let project = TestProject::with_items(&[(
        "articles/pics",
        "---\ntitle: 动图\naccount: service\ncover: cover.jpg\ncover_focus: 0.9,0.5\n---\n\n![动图](anim.gif)\n",
    )]);
    std::fs::write(project.path().join("content/articles/pics/anim.gif"), &gif).unwrap();
    std::fs::write(project.path().join("content/articles/pics/cover.jpg"), &cover).unwrap();
    project.wxpub().arg("build").assert().success();
    let manifest: serde_json::Value = serde_json::from_str(&project.read("dist/manifest.json")).unwrap();
    let item = &manifest["items"][0];
    let anim = &item["images"][0];
    assert!(anim["file"].as_str().unwrap().ends_with(".gif"));
    assert_eq!(output_bytes(&project, anim), gif, "animated GIFs go up unchanged");
    // 1000×600 cover, square crop around x = 0.9 → clamped to the right edge.
    assert_eq!(item["cover"]["crops"]["pic_crop_1_1"], "0.4_0_1_1");
    let preview = item["cover"]["crops"]["preview_1_1"].as_str().unwrap();
    let square = image::open(project.path().join("dist/articles/pics/images").join(preview)).unwrap();
    assert_eq!(square.width(), square.height(), "the square preview is square");
}
