//! The hosts file's portproxy block: the fallback that makes `PORT.localhost` resolve for
//! every program (curl, Node, Python, Safari) where the system resolver doesn't answer
//! `*.localhost` itself. Rendering and merging are pure: everything outside the block is
//! kept byte for byte, a sync is idempotent and a removal takes out exactly the block.

use std::path::PathBuf;

/// The first line of the block; what follows on it is for the human who opens the file.
pub(crate) const BEGIN: &str = "# BEGIN portproxy";
pub(crate) const END: &str = "# END portproxy";

/// Another hosts file than the system's, for tests (a running portproxy keeps the block in a
/// temporary file there instead of /etc/hosts).
pub(crate) const FILE_ENV: &str = "PORTPROXY_HOSTS_FILE";

/// The system's hosts file (or `PORTPROXY_HOSTS_FILE`'s, for tests).
pub(crate) fn path() -> PathBuf {
    if let Some(file) = std::env::var_os(FILE_ENV).filter(|f| !f.is_empty()) {
        return PathBuf::from(file);
    }
    if cfg!(windows) {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        PathBuf::from(root).join("System32\\drivers\\etc\\hosts")
    } else {
        PathBuf::from("/etc/hosts")
    }
}

/// The names to write for `ports` and the project `names` (`shop-web`,
/// `feature-login.shop-web`) under the local domains among `domains`: `PORT.DOMAIN` and
/// `NAME.DOMAIN` each, and each local domain but `localhost` (which every hosts file has).
pub(crate) fn names_for(domains: &[String], ports: &[u16], project: &[&str]) -> Vec<String> {
    let local: Vec<&String> = domains
        .iter()
        .filter(|d| crate::route::is_local(d))
        .collect();
    let mut out: Vec<String> = local
        .iter()
        .filter(|d| **d != "localhost")
        .map(|d| d.to_string())
        .collect();
    let labels = ports.iter().map(u16::to_string);
    for label in labels.chain(project.iter().map(|n| n.to_string())) {
        for domain in &local {
            let name = format!("{label}.{domain}");
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The names of the ports listening now and of their projects (`names::Table`), portproxy's
/// and Caddy's own ports left out: what `hosts --sync` writes and a running portproxy keeps.
pub(crate) fn served(
    config: &crate::config::Config,
    listening: &[u16],
    table: &crate::names::Table,
) -> Vec<String> {
    let ports: Vec<u16> = listening
        .iter()
        .copied()
        .filter(|port| !config.policy.own_ports.contains(port))
        .collect();
    let project: Vec<&str> = ports
        .iter()
        .filter_map(|port| table.name_of(*port).map(|(name, _)| name))
        .collect();
    names_for(&config.settings.domains, &ports, &project)
}

/// The block for `names`, each to both loopback addresses (dev servers bind `::1` or
/// `127.0.0.1`, and portproxy and Caddy listen on both), one name per line: some resolvers
/// limit the names on a line. `newline` is the file's own (`\r\n` on Windows).
///
/// `render(&["5173.localhost".into()], "\n")` is
/// `# BEGIN portproxy …\n127.0.0.1 5173.localhost\n::1 5173.localhost\n# END portproxy\n`.
pub(crate) fn render(names: &[String], newline: &str) -> String {
    let mut block = format!(
        "{BEGIN} (kept by `portproxy hosts --sync` and a running portproxy; `portproxy hosts --remove` takes it out){newline}"
    );
    for name in names {
        block.push_str(&format!("127.0.0.1 {name}{newline}::1 {name}{newline}"));
    }
    block.push_str(END);
    block.push_str(newline);
    block
}

/// `text` with the portproxy block replaced by `block` (added at the end when there is none),
/// or taken out when `block` is None. A file without a final newline gets one before an
/// added block; everything else outside the block stays as it was.
pub(crate) fn merge(text: &str, block: Option<&str>) -> String {
    let (before, after) = match find(text) {
        Some((start, end)) => (&text[..start], &text[end..]),
        None => (text, ""),
    };
    let mut out = before.to_string();
    if let Some(block) = block {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline_of(text));
        }
        out.push_str(block);
    }
    out.push_str(after);
    out
}

/// The byte range of the block, from the start of its BEGIN line to the end of its END line
/// (its newline included): the first END line and the last BEGIN line before it. None unless
/// both markers stand at the start of a line, in order. A stray BEGIN of the user's before
/// the block is not part of it.
fn find(text: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.starts_with(BEGIN) {
            start = Some(offset);
        } else if let (Some(begin), true) = (start, bare == END) {
            return Some((begin, offset + line.len()));
        }
        offset += line.len();
    }
    None
}

/// The names in `text`'s block, in its order, each once.
#[cfg(test)]
fn names(text: &str) -> Vec<String> {
    let Some((start, end)) = find(text) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for line in text[start..end].lines().filter(|l| !l.starts_with('#')) {
        for name in line.split_whitespace().skip(1) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// `\r\n` if the file uses it, else `\n`.
pub(crate) fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// What a sync or a removal did to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Written,
    Unchanged,
}

/// Replaces (or, with None, removes) the block in the hosts file at `path`. The file is
/// rewritten in place, not renamed over: in containers /etc/hosts is a bind mount, which a
/// rename cannot replace.
pub(crate) fn update(path: &std::path::Path, names: Option<&[String]>) -> std::io::Result<Change> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && names.is_none() => {
            return Ok(Change::Unchanged)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let block = names.map(|names| render(names, newline_of(&text)));
    let new = merge(&text, block.as_deref());
    if new == text {
        return Ok(Change::Unchanged);
    }
    std::fs::write(path, new)?;
    Ok(Change::Written)
}

/// Whether the hosts file at `path` holds portproxy's block: the user asked for it.
pub(crate) fn asked(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| find(&text).is_some())
}

/// Keeps the block of the hosts file at `path` naming `names`, for a running portproxy —
/// only where the user asked for the block (`portproxy hosts --sync` wrote it): a file
/// without one is not touched (None). Writes only when the names change.
pub(crate) fn follow(path: &std::path::Path, names: &[String]) -> std::io::Result<Option<Change>> {
    let text = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        read => read?,
    };
    if find(&text).is_none() {
        return Ok(None);
    }
    update(path, Some(names)).map(Some)
}

/// Takes portproxy's block out of the system hosts file, for `portproxy clean`.
pub(crate) fn remove() -> std::io::Result<Change> {
    update(&path(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    const DEBIAN: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n";

    #[test]
    fn merge_adds_replaces_and_removes_only_the_block() {
        let one = render(&names(&["5173.localhost"]), "\n");
        let two = render(&names(&["5173.localhost", "8000.localhost"]), "\n");
        let with_one = format!("{DEBIAN}{one}");
        let rows: &[(&str, &str, Option<&str>, String)] = &[
            ("added at the end", DEBIAN, Some(&one), with_one.clone()),
            ("to an empty file", "", Some(&one), one.clone()),
            (
                "after a last line without newline",
                "127.0.0.1 localhost",
                Some(&one),
                format!("127.0.0.1 localhost\n{one}"),
            ),
            ("same block again", &with_one, Some(&one), with_one.clone()),
            (
                "replaced in place",
                &format!("# mine\n{one}10.0.0.1 box\n"),
                Some(&two),
                format!("# mine\n{two}10.0.0.1 box\n"),
            ),
            ("removed", &with_one, None, DEBIAN.to_string()),
            (
                "removed from the middle",
                &format!("a\n{one}b\n"),
                None,
                "a\nb\n".to_string(),
            ),
            ("nothing to remove", DEBIAN, None, DEBIAN.to_string()),
            (
                "a BEGIN without END is not ours to touch",
                "# BEGIN portproxy\n127.0.0.1 x.localhost\n",
                None,
                "# BEGIN portproxy\n127.0.0.1 x.localhost\n".to_string(),
            ),
            (
                "markers inside a line are not markers",
                "1.2.3.4 a # BEGIN portproxy\n# END portproxy\n",
                None,
                "1.2.3.4 a # BEGIN portproxy\n# END portproxy\n".to_string(),
            ),
        ];
        for (what, text, block, expected) in rows {
            assert_eq!(&merge(text, *block), expected, "{what}");
        }
    }

    #[test]
    fn names_are_ports_under_local_domains() {
        let domains = names(&["localhost", "dev.test", "app.localhost"]);
        assert_eq!(
            names_for(
                &domains,
                &[5173, 8000],
                &["shop-web", "feature-login.shop-web"]
            ),
            names(&[
                "app.localhost",
                "5173.localhost",
                "5173.app.localhost",
                "8000.localhost",
                "8000.app.localhost",
                "shop-web.localhost",
                "shop-web.app.localhost",
                "feature-login.shop-web.localhost",
                "feature-login.shop-web.app.localhost",
            ])
        );
        assert!(names_for(&names(&["dev.test"]), &[5173], &["shop-web"]).is_empty());
        // A name given twice (two ports of one clashing name) is written once.
        assert_eq!(
            names_for(&names(&["localhost"]), &[3000], &["api", "api"]),
            names(&["3000.localhost", "api.localhost"])
        );
    }

    #[test]
    fn windows_files_keep_their_line_ends() {
        let text = "127.0.0.1 localhost\r\n";
        let block = render(&names(&["3000.localhost"]), newline_of(text));
        let merged = merge(text, Some(&block));
        assert_eq!(
            merged,
            "127.0.0.1 localhost\r\n# BEGIN portproxy (kept by `portproxy hosts --sync` and a running portproxy; `portproxy hosts --remove` takes it out)\r\n127.0.0.1 3000.localhost\r\n::1 3000.localhost\r\n# END portproxy\r\n"
        );
        assert_eq!(merge(&merged, None), text);
        assert_eq!(super::names(&merged), names(&["3000.localhost"]));
    }

    #[test]
    fn names_are_read_back_from_the_block_only() {
        let text = format!(
            "127.0.0.1 outside.localhost\n{}",
            render(&names(&["5173.localhost", "app.localhost"]), "\n")
        );
        assert_eq!(
            super::names(&text),
            names(&["5173.localhost", "app.localhost"])
        );
        assert!(super::names(DEBIAN).is_empty());
    }

    #[test]
    fn update_writes_in_place_and_reports_no_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hosts");
        std::fs::write(&file, DEBIAN).unwrap();
        let list = names(&["5173.localhost"]);
        assert_eq!(update(&file, Some(&list)).unwrap(), Change::Written);
        assert_eq!(update(&file, Some(&list)).unwrap(), Change::Unchanged);
        assert_eq!(super::names(&std::fs::read_to_string(&file).unwrap()), list);
        assert_eq!(update(&file, None).unwrap(), Change::Written);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), DEBIAN);
        assert_eq!(update(&file, None).unwrap(), Change::Unchanged);
        let missing = dir.path().join("none");
        assert_eq!(update(&missing, None).unwrap(), Change::Unchanged);
        assert!(!missing.exists());
    }

    #[test]
    fn a_running_portproxy_follows_only_a_block_the_user_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hosts");
        let list = names(&["5173.localhost", "shop-web.localhost"]);
        assert_eq!(follow(&file, &list).unwrap(), None, "no file: nothing made");
        assert!(!file.exists());
        std::fs::write(&file, DEBIAN).unwrap();
        assert_eq!(follow(&file, &list).unwrap(), None, "no block: not touched");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), DEBIAN);
        update(&file, Some(&[])).unwrap();
        assert_eq!(follow(&file, &list).unwrap(), Some(Change::Written));
        assert_eq!(follow(&file, &list).unwrap(), Some(Change::Unchanged));
        assert_eq!(super::names(&std::fs::read_to_string(&file).unwrap()), list);
        assert_eq!(follow(&file, &[]).unwrap(), Some(Change::Written));
        assert!(super::names(&std::fs::read_to_string(&file).unwrap()).is_empty());
        update(&file, None).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), DEBIAN);
        assert_eq!(follow(&file, &list).unwrap(), None, "removed: consent gone");
    }

    proptest! {
        /// Whatever the file holds around it (comments, CRLF, text that mentions the markers),
        /// a sync is idempotent, keeps the file as its prefix, and a removal gives it back.
        /// (A last line without newline gets one: see the table above.)
        #[test]
        fn sync_then_remove_restores_the_file(
            lines in proptest::collection::vec("[ -~\t]{0,40}|# BEGIN portproxy[ a-z]{0,5}|# END portproxy", 0..8),
            crlf in any::<bool>(),
            list in proptest::collection::vec("[a-z0-9-]{1,12}\\.localhost", 0..5),
        ) {
            let newline = if crlf { "\r\n" } else { "\n" };
            let text: String = lines.iter().map(|l| format!("{l}{newline}")).collect();
            // A file that already holds a whole block is a synced file, not the user's.
            prop_assume!(find(&text).is_none());
            let block = render(&list, newline_of(&text));
            let synced = merge(&text, Some(&block));
            prop_assert_eq!(&merge(&synced, Some(&block)), &synced);
            prop_assert!(synced.starts_with(&text));
            prop_assert_eq!(merge(&synced, None), text);
            let mut expected = list.clone();
            expected.sort();
            expected.dedup();
            let mut read = super::names(&synced);
            read.sort();
            prop_assert_eq!(read, expected);
        }
    }
}
