//! The security documents name the tests that prove each rule; a renamed or
//! removed test must not leave them pointing at nothing.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "target" && n != "node_modules") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text that names tests: a `Test:`/`Tests:` item or paragraph with its
/// continuation lines, and every table row.
fn test_passages(doc: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in doc.lines() {
        let t = line.trim_start();
        let starts_item = t.starts_with("- ") || t.is_empty() || t.starts_with('#');
        if t.contains("Test:") || t.contains("Tests:") || t.starts_with('|') {
            inside = true;
        } else if starts_item {
            inside = false;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Test-like names in backticks: `name_with_words`, `file::name`, `tests/e2e/file.rs: name`.
fn named_tests(doc: &str) -> Vec<String> {
    test_passages(doc)
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|quoted| {
            let name = quoted.rsplit([':', ' ']).next().unwrap_or(quoted);
            let words = name.split('_').count();
            (words >= 3
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn every_test_the_security_documents_name_exists() {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    let sources: String = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    for doc in ["SECURITY.md", "docs/SECURITY-RULES.md", "docs/ABUSE-LIMITS.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let names = named_tests(&text);
        assert!(names.len() > 5, "{doc}: names tests");
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| {
                !["fn {n}(", "mod {n} ", "mod {n};"]
                    .iter()
                    .any(|p| sources.contains(&p.replace("{n}", n)))
            })
            .collect();
        assert!(missing.is_empty(), "{doc} names tests that do not exist: {missing:?}");
    }
}
