//! Prints what the reader makes of a .docx — the Markdown, the images and the report — and how
//! long reading took (the speed target is for the whole import, reader included):
//!
//!     cargo run --release --example dump -- manuscript.docx
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump FILE.docx");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let result = wxpub_docx::read(&bytes, &wxpub_docx::Limits::default());
    let elapsed = started.elapsed();
    match result {
        Ok(manuscript) => {
            println!("title: {:?}\nauthor: {:?}", manuscript.title, manuscript.author);
            println!(
                "first heading: {:?}\nfirst paragraph: {:?}\n",
                manuscript.first_heading, manuscript.first_paragraph
            );
            println!("{}", manuscript.markdown);
            for image in &manuscript.images {
                println!("image {image:?}");
            }
            for entry in &manuscript.report {
                println!("report: {entry}");
            }
            eprintln!("read {} bytes in {:.1} ms", bytes.len(), elapsed.as_secs_f64() * 1000.0);
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
