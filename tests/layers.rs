//! The layer rule (ARCHITECTURE.md, "Floors"): a `src/` file imports only from its own floor or
//! a lower one, and no files import each other in a circle. Read from the source (test modules
//! left out), so an upward import fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `src/` file on its floor, as ARCHITECTURE.md lists them. A new file must be placed.
const FLOORS: &[(u8, &str, &[&str])] = &[
    (
        1,
        "decisions and plain data",
        &[
            "auth/cookie.rs",
            "auth/cors.rs",
            "auth/limiter.rs",
            "auth/mod.rs",
            "auth/sessions.rs",
            "banner.rs",
            "caddy/caddyfile.rs",
            "config/load.rs",
            "config/mod.rs",
            "config/parse.rs",
            "config/settings.rs",
            "control/proof.rs",
            "dns/mod.rs",
            "edit.rs",
            "form.rs",
            "gate.rs",
            "hosts.rs",
            "metrics.rs",
            "names.rs",
            "paths.rs",
            "policy/mod.rs",
            "policy/rules.rs",
            "port_links.rs",
            "ports/command.rs",
            "ports/holders.rs",
            "ports/mod.rs",
            "ports/project.rs",
            "ports/sockets.rs",
            "proxy/headers.rs",
            "proxy/pages/dashboard.rs",
            "proxy/pages/html.rs",
            "proxy/pages/json.rs",
            "proxy/pages/mod.rs",
            "proxy/pages/text.rs",
            "resolver.rs",
            "route.rs",
            "share/cookie.rs",
            "share/duration.rs",
            "share/mod.rs",
            "share/qr.rs",
            "title.rs",
        ],
    ),
    (
        2,
        "start-up and the machine",
        &[
            "caddy/locate.rs",
            "caddy/mod.rs",
            "caddy/privilege.rs",
            "caddy/supervise/mod.rs",
            "caddy/supervise/relay.rs",
            "caddy/supervise/unix.rs",
            "caddy/supervise/windows.rs",
            "caddy/trust/first_run.rs",
            "caddy/trust/linux.rs",
            "caddy/trust/macos.rs",
            "caddy/trust/mod.rs",
            "caddy/trust/windows.rs",
            "control/client.rs",
            "control/mod.rs",
            "dns/responder.rs",
            "error.rs",
            "plan.rs",
            "share/registry.rs",
            "share/tunnel.rs",
            "start.rs",
            "update.rs",
            "update/caddy.rs",
            "update/stage.rs",
        ],
    ),
    (
        3,
        "the proxy",
        &[
            "admin.rs",
            "hosts_sync.rs",
            "proxy/answer.rs",
            "proxy/app.rs",
            "proxy/ctx.rs",
            "proxy/dashboard.rs",
            "proxy/dial.rs",
            "proxy/mod.rs",
            "proxy/named.rs",
            "proxy/routed.rs",
            "proxy/share/mod.rs",
            "proxy/share/open.rs",
            "proxy/signin.rs",
            "server/mod.rs",
            "server/reload.rs",
            "server/stop.rs",
        ],
    ),
    (
        4,
        "commands",
        &[
            "cli/access.rs",
            "cli/machine.rs",
            "cli/mod.rs",
            "cli/ports.rs",
            "cli/settings.rs",
            "commands/caddyfile.rs",
            "commands/clean.rs",
            "commands/completions.rs",
            "commands/doctor.rs",
            "commands/hosts.rs",
            "commands/links.rs",
            "commands/mod.rs",
            "commands/run.rs",
            "commands/self_update.rs",
            "commands/serve.rs",
            "commands/service.rs",
            "commands/share.rs",
            "commands/trust.rs",
            "lib.rs",
            "main.rs",
        ],
    ),
];

/// `proxy/mod.rs` → `["proxy"]`, `update/stage.rs` → `["update", "stage"]`, `lib.rs` → `[]`.
fn module_of(file: &str) -> Vec<String> {
    let path = file.trim_end_matches(".rs");
    let mut segments: Vec<String> = path.split('/').map(String::from).collect();
    if matches!(segments.last().map(String::as_str), Some("mod" | "lib")) {
        segments.pop();
    }
    segments
}

/// The paths that `crate::` and `super::` references name, braces expanded:
/// `super::{a, b::{self, C}}` → `super::a`, `super::b`, `super::b::C`.
fn references(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            let before = at.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                continue;
            }
            let head = vec![start.trim_end_matches("::").to_string()];
            paths(&code[from..], head, &mut found);
        }
    }
    found
}

/// Reads one path (or brace group) after `prefix`, pushing each whole path onto `found`.
fn paths(rest: &str, prefix: Vec<String>, found: &mut Vec<Vec<String>>) -> usize {
    let rest_trimmed = rest.trim_start();
    let skipped = rest.len() - rest_trimmed.len();
    if let Some(inner) = rest_trimmed.strip_prefix('{') {
        let mut used = 1;
        let mut body = inner;
        loop {
            let n = paths(body, prefix.clone(), found);
            used += n;
            body = &body[n..];
            let t = body.trim_start();
            used += body.len() - t.len();
            body = t;
            match body.chars().next() {
                Some(',') => {
                    used += 1;
                    body = &body[1..];
                }
                Some('}') => return skipped + used + 1,
                _ => return skipped + used,
            }
        }
    }
    let ident: String = rest_trimmed
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        found.push(prefix);
        return skipped;
    }
    let mut path = prefix;
    if ident != "self" {
        path.push(ident.clone());
    }
    let after = &rest_trimmed[ident.len()..];
    match after.strip_prefix("::") {
        Some(more) => skipped + ident.len() + 2 + paths(more, path, found),
        None => {
            found.push(path);
            skipped + ident.len()
        }
    }
}

/// The file a reference from `module` lands in: the longest prefix that is a module.
fn target(
    module: &[String],
    path: &[String],
    files: &BTreeMap<Vec<String>, String>,
) -> Option<String> {
    let mut absolute: Vec<String> = match path.first().map(String::as_str) {
        Some("super") => module[..module.len().saturating_sub(1)].to_vec(),
        _ => Vec::new(),
    };
    absolute.extend(path[1..].iter().cloned());
    (0..=absolute.len())
        .rev()
        .find_map(|n| files.get(&absolute[..n]).cloned())
}

fn source_files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Each file's imports of other files, test modules left out.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names = Vec::new();
    source_files(&root, &root, &mut names);
    let files: BTreeMap<Vec<String>, String> = names
        .iter()
        .filter(|f| f.as_str() != "main.rs")
        .map(|f| (module_of(f), f.clone()))
        .collect();
    names
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let code = without_tests(&text);
            let module = module_of(file);
            let to = references(&code)
                .iter()
                .filter_map(|path| target(&module, path, &files))
                .filter(|to| to != file)
                .collect();
            (file.clone(), to)
        })
        .collect()
}

/// The code before the file's test module (`#[cfg(test)]`, or `#[cfg(all(test, unix))]` and kin).
fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| {
            let item = w[1]
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ");
            let test_only = w[0].starts_with("#[cfg(") && w[0].contains("test");
            test_only && item.starts_with("mod ")
        })
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

fn floor_of(file: &str) -> Option<(u8, &'static str)> {
    FLOORS
        .iter()
        .find(|(_, _, files)| files.contains(&file))
        .map(|(floor, name, _)| (*floor, *name))
}

#[test]
fn every_file_is_on_a_floor() {
    let graph = imports();
    let unplaced: Vec<_> = graph.keys().filter(|f| floor_of(f).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "place these in tests/layers.rs and ARCHITECTURE.md: {unplaced:?}"
    );
    let gone: Vec<_> = FLOORS
        .iter()
        .flat_map(|(_, _, files)| files.iter())
        .filter(|f| !graph.contains_key(**f))
        .collect();
    assert!(gone.is_empty(), "listed but not in src/: {gone:?}");
}

#[test]
fn no_file_imports_a_higher_floor() {
    let mut upward = Vec::new();
    for (file, imported) in imports() {
        let Some((floor, _)) = floor_of(&file) else {
            continue;
        };
        for to in imported {
            if let Some((higher, name)) = floor_of(&to).filter(|(f, _)| *f > floor) {
                upward.push(format!(
                    "{file} (floor {floor}) imports {to} (floor {higher}, {name})"
                ));
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let graph = imports();
    // Depth-first; a file met again while still on the path closes a circle.
    fn visit(
        file: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|f| f == file) {
            return Some(path[at..].to_vec());
        }
        if !done.insert(file.to_string()) {
            return None;
        }
        path.push(file.to_string());
        for next in graph.get(file).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for file in graph.keys() {
        let circle = visit(file, &graph, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "a circle: {}",
            circle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn references_expand_braces_and_self() {
    let code = "use super::{answer::{self, send_page}, dial};\nlet x = crate::route::parse(h);";
    let mut got = references(code);
    got.sort();
    let want: Vec<Vec<String>> = [
        &["crate", "route", "parse"][..],
        &["super", "answer"],
        &["super", "answer", "send_page"],
        &["super", "dial"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);
}
