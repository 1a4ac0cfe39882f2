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

/// GitHub's anchor for a heading's text: the rendered text (links and images reduced to their
/// text) lowercased, characters other than letters, digits, `-`, `_` and spaces dropped, spaces
/// turned into `-` (github-slugger).
fn slug(heading: &str) -> String {
    inline_text(heading)
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text of inline Markdown with `[text](target)` and `![text](target)` reduced to `text`.
fn inline_text(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|i| close + i) else {
            break;
        };
        out.push_str(rest[..open].trim_end_matches('!'));
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether `line` opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

/// The text of an ATX heading (`#` to `######`, up to three spaces of indentation, an optional
/// closing run of `#`), if `line` is one.
fn heading_text(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let line = &line[indent..];
    let hashes = line.chars().take_while(|&c| c == '#').count();
    let text = &line[hashes..];
    if !(1..=6).contains(&hashes) || !(text.is_empty() || text.starts_with([' ', '\t'])) {
        return None;
    }
    let text = text.trim();
    let closed = text.trim_end_matches('#');
    Some(if closed.is_empty() || closed.ends_with([' ', '\t']) {
        closed.trim_end()
    } else {
        text
    })
}

/// The lines of a document outside fenced code blocks (the fence lines left out).
fn prose_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    text.lines().filter(move |line| {
        if is_fence(line) {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The anchors of a document's headings (outside fenced code), repeated headings numbered as
/// github-slugger does.
fn anchors(text: &str) -> HashSet<String> {
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    for line in prose_lines(text) {
        let Some(heading) = heading_text(line) else {
            continue;
        };
        let original = slug(heading);
        let mut result = original.clone();
        while occurrences.contains_key(&result) {
            let n = occurrences
                .get_mut(&original)
                .expect("the original slug was seen");
            *n += 1;
            result = format!("{original}-{n}");
        }
        occurrences.insert(result, 0);
    }
    occurrences.into_keys().collect()
}

/// Every `](target#anchor)` of a document outside fenced code whose target is the document
/// itself (empty) or another Markdown file: the target and the anchor.
fn links(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in prose_lines(text) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find([')', ' ']).unwrap_or(rest.len());
            if let Some((file, anchor)) = rest[..end].split_once('#')
                && (file.is_empty() || file.ends_with(".md"))
            {
                out.push((file.to_string(), anchor.to_string()));
            }
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
    assert_eq!(
        slug("See [the architecture](ARCHITECTURE.md) here"),
        "see-the-architecture-here"
    );
    let doc = "# A\n## A ##\n```\n# not a heading\n```\n~~~\n# nor this\n~~~\n   ## A-1\n####### B\n##C\n";
    let found = anchors(doc);
    let expected = ["a", "a-1", "a-1-1"]
        .map(String::from)
        .into_iter()
        .collect();
    assert_eq!(found, expected);
    let links = links("[x](#a) `y` [z](OTHER.md#b) [c](src/main.rs#L10)\n```\n[no](#c)\n```\n");
    assert_eq!(
        links,
        [("", "a"), ("OTHER.md", "b")].map(|(f, a)| (f.to_string(), a.to_string()))
    );
}
