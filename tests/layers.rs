//! The layer order of ARCHITECTURE.md, enforced: every module under `src/` imports only
//! the modules listed below it there, and the files of one folder never import each other
//! in a cycle. The list is read from ARCHITECTURE.md itself, so the document and the code
//! cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The modules in ARCHITECTURE.md's layer table, top first: rows `| N | `name` | … |`
/// between the `layers:begin` and `layers:end` markers.
fn layer_list(architecture: &str) -> Vec<String> {
    let begin = architecture
        .find("<!-- layers:begin -->")
        .expect("ARCHITECTURE.md has a <!-- layers:begin --> marker");
    let end = architecture
        .find("<!-- layers:end -->")
        .expect("ARCHITECTURE.md has a <!-- layers:end --> marker");
    architecture[begin..end]
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let number = cells.next()?;
            let name = cells.next()?;
            (number.parse::<usize>().is_ok()).then_some(())?;
            Some(name.trim_matches('`').to_string())
        })
        .collect()
}

/// Code without its comments: whole-line `//` comments (docs included) are dropped, and
/// so is a trailing `// …` after code (never inside a string here: the check's sources
/// write `//` in strings only as part of `://`).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find(" //") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment after every `prefix` (`crate::`, `super::`), `use prefix{a, b::c}`
/// groups included.
fn segments_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level names of a `{…}` group (nested groups belong to their name).
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && depth == 0 && !c.is_whitespace() => {
                        let name = ident(&group[j..]);
                        if !name.is_empty() {
                            out.insert(name);
                        }
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level modules of `src/`: its files and folders, but the crate roots.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs")).then_some(name)
        })
        .filter(|n| n != "lib" && n != "main")
        .collect()
}

/// The upward imports in `src`, as `file: module → used (layer i → j)` lines.
fn upward_imports(src: &Path, layers: &[String]) -> Vec<String> {
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap();
        let module = Path::new(first.as_os_str())
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let Some(&mine) = rank.get(module.as_str()) else {
            continue; // lib.rs and main.rs: the crate roots sit above every layer
        };
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for used in segments_after(&text, "crate::") {
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs < mine => out.push(format!(
                    "src/{}: `{module}` (layer {}) uses `crate::{used}` (layer {}), which is above it",
                    relative.display(),
                    mine + 1,
                    theirs + 1
                )),
                _ => {}
            }
        }
    }
    out
}

/// Cycles among the files of each folder of `src` (`super::x` and `crate::<folder>::x`).
fn sibling_cycles(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let folder = dir.file_name().unwrap().to_str().unwrap().to_string();
        let files: BTreeMap<String, PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| (p.file_stem().unwrap().to_str().unwrap().to_string(), p))
            .filter(|(name, _)| name != "mod")
            .collect();
        let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (name, path) in &files {
            let text = code(&std::fs::read_to_string(path).unwrap());
            let mut used = segments_after(&text, "super::");
            used.extend(segments_after(&text, &format!("crate::{folder}::")));
            used.retain(|u| u != name && files.contains_key(u));
            edges.insert(name, used);
        }
        // Depth-first search for a back edge, naming the cycle.
        fn visit<'a>(
            node: &'a str,
            edges: &'a BTreeMap<&'a str, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
            found: &mut Vec<String>,
        ) {
            if let Some(at) = path.iter().position(|n| *n == node) {
                let mut cycle: Vec<&str> = path[at..].to_vec();
                cycle.push(node);
                found.push(cycle.join(" → "));
                return;
            }
            if !done.insert(node) {
                return;
            }
            path.push(node);
            for next in edges.get(node).into_iter().flatten() {
                visit(next, edges, path, done, found);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        let mut found = Vec::new();
        for name in edges.keys() {
            visit(name, &edges, &mut Vec::new(), &mut done, &mut found);
        }
        out.extend(found.into_iter().map(|c| format!("src/{folder}/: {c}")));
    }
    out
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let layers = layer_list(&architecture);
    let src = root().join("src");
    let listed: BTreeSet<String> = layers.iter().cloned().collect();
    assert_eq!(
        listed.len(),
        layers.len(),
        "a module listed twice: {layers:?}"
    );
    let present = top_level_modules(&src);
    assert_eq!(
        present.difference(&listed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "modules of src/ missing from ARCHITECTURE.md's layer table"
    );
    assert_eq!(
        listed.difference(&present).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "ARCHITECTURE.md lists modules src/ does not have"
    );
    let upward = upward_imports(&src, &layers);
    assert!(
        upward.is_empty(),
        "imports pointing up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_files_of_a_folder_never_import_each_other_in_a_cycle() {
    let cycles = sibling_cycles(&root().join("src"));
    assert!(cycles.is_empty(), "cycles:\n{}", cycles.join("\n"));
}

/// The checker itself: it sees `use crate::{…}` groups and plain paths, not comments, and
/// finds an upward import and a cycle in a made-up tree.
#[test]
fn the_checker_finds_what_it_should() {
    let text = "//! see crate::guard\nuse crate::{a::{b, c}, d};\nlet x = crate::e::f(); // crate::g\nlet u = \"http://x\";";
    assert_eq!(
        segments_after(&code(text), "crate::"),
        ["a", "d", "e"].iter().map(|s| s.to_string()).collect()
    );
    let dir = std::env::temp_dir().join(format!("ctlb-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("low")).unwrap();
    std::fs::write(dir.join("top.rs"), "use crate::low::x;\n").unwrap();
    std::fs::write(dir.join("low/mod.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("low/a.rs"), "use super::b::y;\nuse crate::top;\n").unwrap();
    std::fs::write(dir.join("low/b.rs"), "use super::a::z;\n").unwrap();
    let layers = vec!["top".to_string(), "low".to_string()];
    assert_eq!(
        upward_imports(&dir, &layers),
        vec!["src/low/a.rs: `low` (layer 2) uses `crate::top` (layer 1), which is above it"]
    );
    assert_eq!(sibling_cycles(&dir), vec!["src/low/: a → b → a"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
