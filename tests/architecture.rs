//! The engine is pure and stands alone: replay and follow feed it events with every driver off,
//! so it may use nothing else of the crate (no profile, transport, UI or clock).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/engine").flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The engine's tests may build plans from profiles.
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_engine_uses_nothing_else_of_the_crate_and_reads_no_clock() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine"),
        &mut files,
    );
    assert!(files.len() > 3, "{files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let outside = code
                .match_indices("crate::")
                .any(|(i, _)| !code[i..].starts_with("crate::engine"));
            let io = [
                "SystemTime",
                "Instant::now",
                "std::fs",
                "tokio",
                "std::process",
            ]
            .iter()
            .any(|word| code.contains(word));
            if outside || io {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine reaches outside itself:\n{}",
        found.join("\n")
    );
}
