//! The repository's Markdown documents link to headings that exist: every `[text](#anchor)` and
//! `[text](FILE.md#anchor)` names a heading of its target by the anchor GitHub gives it
//! (lowercased; characters other than letters, digits, `-`, `_` and spaces dropped; spaces
//! turned into `-`; `-1`, `-2`, ... appended to repeated headings).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// The Markdown files of the repository, outside build output and installed packages.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read directory") {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !matches!(name, "target" | "node_modules" | "venv" | ".git") {
                markdown_files(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a document's headings (outside fenced code).
fn anchors(text: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let n = seen.entry(base.clone()).or_default();
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// Every `](target#anchor)` of a document: the target file (empty for the document itself) and
/// the anchor.
fn links(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find([')', ' ', '\n']).unwrap_or(rest.len());
        let link = &rest[..end];
        if let Some((file, anchor)) = link.split_once('#')
            && !file.contains("://")
        {
            out.push((file.to_string(), anchor.to_string()));
        }
    }
    out
}

#[test]
fn links_to_headings_resolve() {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("BENCHMARKS.md")),
        "found no documents under {}",
        root.display()
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read document");
        for (target, anchor) in links(&text) {
            let target_path = if target.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a file has a directory").join(&target)
            };
            let Ok(target_text) = std::fs::read_to_string(&target_path) else {
                broken.push(format!("{}: no file {target}", file.display()));
                continue;
            };
            checked += 1;
            if !anchors(&target_text).contains(&anchor) {
                broken.push(format!("{}: {target}#{anchor}", file.display()));
            }
        }
    }
    assert!(checked > 0, "no links to headings were found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Memories that cost what is touched (commit `a139489`, Dec 3 2026, 18:05–18:45 UTC)"),
        "memories-that-cost-what-is-touched-commit-a139489-dec-3-2026-18051845-utc"
    );
    assert_eq!(
        slug("`call_indirect`: closures name a table slot"),
        "call_indirect-closures-name-a-table-slot"
    );
    let doc = "# A\n## A\n```\n# not a heading\n```\n## B c\n";
    let found = anchors(doc);
    assert_eq!(
        found,
        ["a", "a-1", "b-c"].map(String::from).into_iter().collect()
    );
}
