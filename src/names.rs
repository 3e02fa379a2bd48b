//! Names, not numbers: which name each listening port answers to (`shop-web.localhost`).
//!
//! Pure: what `ports` learnt about the process behind each port (its project) and the
//! settings in, one `Table` of names out. A port's name is, first of: its label; the name
//! the `[names]` setting pins its directory to; its project's manifest name (an npm scope
//! dropped); the top directory of its git work tree; its working directory's own name. In a
//! linked git worktree on branch `B` the name is `B.NAME`. Several ports of one project: the
//! lowest of those whose process no other port's process started (Jupyter's kernels listen on
//! ZMQ ports below the server's). Two projects of one name: a clash, never a silent pick.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Longest DNS label (RFC 1035 2.3.4).
const MAX_LABEL: usize = 63;

/// What the files around a process say about its project (read by `ports`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Project {
    /// The process's working directory.
    pub(crate) cwd: PathBuf,
    /// Where the project lives: the manifest's directory, else the git work tree's top, else
    /// the working directory. Two ports with the same root are one project.
    pub(crate) root: PathBuf,
    /// The name as the project spells it: the manifest's (`@acme/shop-web`, scope already
    /// dropped by `manifest_name`), else a directory's name.
    pub(crate) name: Option<String>,
    /// The branch of the linked git worktree the process runs in (not the main one).
    pub(crate) branch: Option<String>,
    /// `name` is the manifest's (not a directory's).
    pub(crate) from_manifest: bool,
    /// The process and the processes that started it, nearest first (pids), as far as the OS
    /// tells: a port whose process another port's process started never names the project.
    pub(crate) lineage: Vec<u32>,
}

/// What decides names, from the settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Rules {
    /// `names = false` turns learning off; labels still name ports.
    pub(crate) learn: bool,
    /// `--label 5173=web`.
    pub(crate) labels: BTreeMap<u16, String>,
    /// `[names]`: a directory (and everything under it) pinned to a name.
    pub(crate) pins: BTreeMap<PathBuf, String>,
}

/// Who claims a name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Claim {
    pub(crate) port: u16,
    /// The project's directory; None for a label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dir: Option<PathBuf>,
}

/// Where a name points now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    Port(u16),
    /// Two projects (or two labels) share it: the claims, by port.
    Clash(Vec<Claim>),
}

/// Every name in force, from one look at the listening ports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Table {
    names: BTreeMap<String, Entry>,
    /// Each claim's directory, by port, for `name_of` and the not-running page.
    claims: BTreeMap<u16, (String, Option<PathBuf>)>,
}

impl Table {
    /// The names of `ports` (the listening ones, with their projects where known).
    ///
    /// Labels win over learned names (the user chose them); among learned names, one project
    /// holding several ports is named by its lowest that a process of its own started (not
    /// a child's: a kernel, a worker), and two projects are a clash.
    pub(crate) fn build(ports: &[(u16, Option<Project>)], rules: &Rules) -> Table {
        let mut labelled: BTreeMap<String, Vec<Claim>> = BTreeMap::new();
        let mut learned: BTreeMap<String, Vec<Claim>> = BTreeMap::new();
        let mut claims = BTreeMap::new();
        let started_by_another = started_by_another(ports);
        // Labels name their port whether or not it listens yet (the 502 page waits for it).
        for (port, label) in &rules.labels {
            if let Some(name) = normalise(label) {
                labelled.entry(name.clone()).or_default().push(Claim {
                    port: *port,
                    dir: None,
                });
                claims.insert(*port, (name, None));
            }
        }
        for (port, project) in ports {
            if rules.labels.contains_key(port) || !rules.learn {
                continue;
            }
            let Some(project) = project else { continue };
            let Some(name) = learned_name(project, &rules.pins) else {
                continue;
            };
            if started_by_another.contains(port) {
                continue;
            }
            claims.insert(*port, (name.clone(), Some(project.root.clone())));
            learned.entry(name).or_default().push(Claim {
                port: *port,
                dir: Some(project.root.clone()),
            });
        }
        let mut names = BTreeMap::new();
        for (name, mut found) in learned.into_iter().chain(labelled) {
            found.sort_by_key(|c| c.port);
            // One project's ports: the first (lowest) stands for them all.
            found.dedup_by(|later, first| later.dir.is_some() && later.dir == first.dir);
            let entry = match found.as_slice() {
                [one] => Entry::Port(one.port),
                _ => Entry::Clash(found),
            };
            names.insert(name, entry);
        }
        Table { names, claims }
    }

    /// Where `name` (`shop-web`, `feature-login.shop-web`) points now.
    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.names.get(name)
    }

    /// The name that reaches `port`, and whether it clashes; None when the port has none
    /// (or its project's name points at a lower port of it).
    pub(crate) fn name_of(&self, port: u16) -> Option<(&str, bool)> {
        let (name, _) = self.claims.get(&port)?;
        match self.names.get(name)? {
            Entry::Port(p) if *p == port => Some((name, false)),
            Entry::Port(_) => None,
            Entry::Clash(_) => Some((name, true)),
        }
    }

    /// The names that point at a port now, each with its port (clashes left out).
    pub(crate) fn ports(&self) -> impl Iterator<Item = (&str, u16)> {
        self.names.iter().filter_map(|(name, entry)| match entry {
            Entry::Port(port) => Some((name.as_str(), *port)),
            Entry::Clash(_) => None,
        })
    }

    /// Every name with the directory it stands for, to remember across restarts.
    pub(crate) fn seen(&self) -> impl Iterator<Item = (&str, Claim)> {
        self.ports().map(|(name, port)| {
            let dir = self.claims.get(&port).and_then(|(_, dir)| dir.clone());
            (name, Claim { port, dir })
        })
    }
}

/// The ports whose process a process holding another port of the same project started.
fn started_by_another(ports: &[(u16, Option<Project>)]) -> Vec<u16> {
    let projects: Vec<&Project> = ports.iter().filter_map(|(_, p)| p.as_ref()).collect();
    ports
        .iter()
        .filter_map(|(port, project)| {
            let project = project.as_ref()?;
            let ancestors = project.lineage.get(1..)?;
            projects
                .iter()
                .filter(|other| other.root == project.root)
                .filter_map(|other| other.lineage.first())
                .any(|pid| ancestors.contains(pid))
                .then_some(*port)
        })
        .collect()
}

/// A learned name: the pinned one, else the project's, with the worktree's branch in front.
fn learned_name(project: &Project, pins: &BTreeMap<PathBuf, String>) -> Option<String> {
    let pinned = pins
        .iter()
        .filter(|(dir, _)| project.cwd.starts_with(dir))
        .max_by_key(|(dir, _)| dir.as_os_str().len())
        .map(|(_, name)| name.as_str());
    let name = normalise(pinned.or(project.name.as_deref())?)?;
    match project.branch.as_deref().and_then(normalise) {
        Some(branch) => Some(format!("{branch}.{name}")),
        None => Some(name),
    }
}

/// One DNS label from what a project calls itself: lowercase, every run of characters outside
/// `a-z0-9` one `-`, trimmed, at most 63. None when that leaves no name: empty, all digits (a
/// port), `localhost`, or holding `--` (the `TARGET--PORT` form).
///
/// `normalise("Shop Web!")` is `Some("shop-web")`; `normalise("5173")` is None.
pub(crate) fn normalise(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => out.push(c),
            _ if out.ends_with('-') => {}
            _ => out.push('-'),
        }
    }
    let mut name = out.trim_matches('-').to_string();
    name.truncate(MAX_LABEL);
    let name = name.trim_end_matches('-');
    is_name(name).then(|| name.to_string())
}

/// Whether one label of a host can be (part of) a name: `[a-z0-9-]`, 1 to 63 long, not all
/// digits, no `--`, no `-` at either end, not `localhost`.
pub(crate) fn is_name(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.bytes().all(|b| b.is_ascii_digit())
        && !label.contains("--")
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label != "localhost"
}

/// The manifests that name a project, nearest first in each directory.
pub(crate) const MANIFESTS: [&str; 6] = [
    "package.json",
    "Cargo.toml",
    "pyproject.toml",
    "go.mod",
    "composer.json",
    "deno.json",
];

/// The name a manifest gives its project, from the file's text: `package.json` `name` (the
/// npm scope dropped: `@acme/web` → `web`), `Cargo.toml` `[package] name`, `pyproject.toml`
/// `[project] name`, `go.mod`'s module path (its last element, a `/v2` major version
/// skipped), `composer.json` `name` after the `/`, `deno.json` `name`.
pub(crate) fn manifest_name(file: &str, text: &str) -> Option<String> {
    let json = || -> Option<String> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(value.get("name")?.as_str()?.to_string())
    };
    let toml = |table: &str| -> Option<String> {
        let value: toml::Value = toml::from_str(text).ok()?;
        Some(value.get(table)?.get("name")?.as_str()?.to_string())
    };
    let after_slash = |name: String| name.rsplit('/').next().map(str::to_string);
    let name = match file {
        "package.json" | "deno.json" | "composer.json" => json().and_then(after_slash),
        "Cargo.toml" => toml("package"),
        "pyproject.toml" => toml("project"),
        "go.mod" => text.lines().find_map(|line| {
            let path = line.trim().strip_prefix("module")?.trim().trim_matches('"');
            let mut parts = path.rsplit('/');
            let last = parts.next()?;
            let major = last.len() > 1
                && last.starts_with('v')
                && last[1..].bytes().all(|b| b.is_ascii_digit());
            if major {
                parts.next().map(str::to_string)
            } else {
                Some(last.to_string())
            }
        }),
        _ => None,
    }?;
    (!name.trim().is_empty()).then_some(name)
}

/// What a `.git` file in a linked worktree points at: `gitdir: /src/shop/.git/worktrees/login`.
pub(crate) fn gitdir_of(dot_git_file: &str, base: &Path) -> Option<PathBuf> {
    let dir = dot_git_file.lines().next()?.strip_prefix("gitdir:")?.trim();
    (!dir.is_empty()).then(|| base.join(dir))
}

/// The branch a worktree's `HEAD` holds (`ref: refs/heads/feature/login` → `feature/login`);
/// None when detached.
pub(crate) fn branch_of(head: &str) -> Option<String> {
    let branch = head.trim().strip_prefix("ref: refs/heads/")?;
    (!branch.is_empty()).then(|| branch.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{self, Route};
    use proptest::prelude::*;

    fn project(root: &str, name: &str, branch: Option<&str>) -> Option<Project> {
        Some(Project {
            cwd: PathBuf::from(root),
            root: PathBuf::from(root),
            name: Some(name.into()),
            branch: branch.map(str::to_string),
            from_manifest: true,
            lineage: Vec::new(),
        })
    }

    fn started(project: Option<Project>, lineage: &[u32]) -> Option<Project> {
        project.map(|p| Project {
            lineage: lineage.to_vec(),
            ..p
        })
    }

    fn learning() -> Rules {
        Rules {
            learn: true,
            ..Rules::default()
        }
    }

    #[test]
    fn normalise_table() {
        let rows = [
            ("shop-web", Some("shop-web")),
            ("Shop Web!", Some("shop-web")),
            ("my_app", Some("my-app")),
            ("--edge--", Some("edge")),
            ("a--b", Some("a-b")),
            ("feature/login", Some("feature-login")),
            ("café", Some("caf")),
            ("Ünïcode", Some("n-code")),
            ("v2", Some("v2")),
            ("5173", None),
            ("0", None),
            ("", None),
            ("---", None),
            ("localhost", None),
            ("LocalHost", None),
            ("日本", None),
        ];
        for (raw, want) in rows {
            assert_eq!(normalise(raw).as_deref(), want, "{raw:?}");
        }
        let long = format!("{}-x", "a".repeat(62));
        assert_eq!(normalise(&long).as_deref(), Some(&*"a".repeat(62)));
        assert_eq!(normalise(&"b".repeat(80)).map(|n| n.len()), Some(63));
    }

    #[test]
    fn manifests_table() {
        let rows = [
            (
                "package.json",
                r#"{"name": "@acme/shop-web"}"#,
                Some("shop-web"),
            ),
            ("package.json", r#"{"name": "web"}"#, Some("web")),
            ("package.json", r#"{"private": true}"#, None),
            ("package.json", "not json", None),
            ("Cargo.toml", "[package]\nname = \"api\"\n", Some("api")),
            ("Cargo.toml", "[workspace]\nmembers = []\n", None),
            (
                "pyproject.toml",
                "[project]\nname = \"notebook\"\n",
                Some("notebook"),
            ),
            (
                "go.mod",
                "module github.com/acme/billing\n\ngo 1.22\n",
                Some("billing"),
            ),
            (
                "go.mod",
                "module github.com/acme/billing/v2\n",
                Some("billing"),
            ),
            ("go.mod", "module tool\n", Some("tool")),
            ("composer.json", r#"{"name": "acme/blog"}"#, Some("blog")),
            (
                "deno.json",
                r#"{"name": "@std/fresh-site"}"#,
                Some("fresh-site"),
            ),
            ("deno.json", r#"{"name": "  "}"#, None),
            ("README.md", "# x", None),
        ];
        for (file, text, want) in rows {
            assert_eq!(
                manifest_name(file, text).as_deref(),
                want,
                "{file} {text:?}"
            );
        }
    }

    #[test]
    fn git_files() {
        let base = Path::new("/src/shop-login");
        assert_eq!(
            gitdir_of("gitdir: /src/shop/.git/worktrees/shop-login\n", base),
            Some(PathBuf::from("/src/shop/.git/worktrees/shop-login"))
        );
        assert_eq!(
            gitdir_of("gitdir: ../shop/.git/worktrees/x", base),
            Some(PathBuf::from("/src/shop-login/../shop/.git/worktrees/x"))
        );
        assert_eq!(gitdir_of("garbage", base), None);
        assert_eq!(
            branch_of("ref: refs/heads/feature/login\n").as_deref(),
            Some("feature/login")
        );
        assert_eq!(branch_of("3f2a9c0e1d\n"), None);
    }

    #[test]
    fn table_of_names() {
        let rules = Rules {
            learn: true,
            labels: [(8001, "Docs".to_string()), (9000, "5173".to_string())].into(),
            pins: [(PathBuf::from("/src/mono"), "Shop".to_string())].into(),
        };
        let ports = vec![
            // One project, two ports (Vite and Storybook): the lowest wins.
            (6006, project("/src/shop-web", "shop-web", None)),
            (5173, project("/src/shop-web", "shop-web", None)),
            // A linked worktree of it on feature/login.
            (
                5174,
                project("/src/shop-login", "shop-web", Some("feature/login")),
            ),
            // Two clones of one repo: a clash.
            (3000, project("/src/api", "api", None)),
            (3001, project("/tmp/api", "api", None)),
            // A label beats the project's name.
            (8001, project("/src/docs-site", "docs-site", None)),
            // A pin beats the manifest, for everything under its directory.
            (4000, {
                let mut p = project("/src/mono/packages/web", "@x/web", None);
                p.as_mut().unwrap().cwd = PathBuf::from("/src/mono/packages/web/src");
                p
            }),
            // No project (another user's process), and a project without a usable name.
            (22, None),
            (7000, project("/src/7000", "7000", None)),
        ];
        let table = Table::build(&ports, &rules);
        assert_eq!(table.get("shop-web"), Some(&Entry::Port(5173)));
        assert_eq!(
            table.get("feature-login.shop-web"),
            Some(&Entry::Port(5174))
        );
        assert_eq!(
            table.get("api"),
            Some(&Entry::Clash(vec![
                Claim {
                    port: 3000,
                    dir: Some("/src/api".into())
                },
                Claim {
                    port: 3001,
                    dir: Some("/tmp/api".into())
                },
            ]))
        );
        assert_eq!(table.get("docs"), Some(&Entry::Port(8001)));
        assert_eq!(table.get("docs-site"), None);
        assert_eq!(table.get("shop"), Some(&Entry::Port(4000)));
        assert_eq!(table.get("web"), None);
        assert_eq!(table.get("7000"), None);
        assert_eq!(table.name_of(5173), Some(("shop-web", false)));
        assert_eq!(table.name_of(6006), None);
        assert_eq!(table.name_of(3001), Some(("api", true)));
        assert_eq!(table.name_of(22), None);
        assert_eq!(
            table.ports().collect::<Vec<_>>(),
            [
                ("docs", 8001),
                ("feature-login.shop-web", 5174),
                ("shop", 4000),
                ("shop-web", 5173)
            ]
        );
    }

    /// Found by the compatibility suite: JupyterLab by name answered 502, the name pointing
    /// at one of the ZMQ ports its kernel (a child of the server) listens on, below the
    /// server's.
    #[test]
    fn a_port_of_a_process_the_project_started_never_names_it() {
        let lab = project("/src/notes", "notes", None);
        let ports = vec![
            (48888, started(lab.clone(), &[100, 1])),
            (41000, started(lab.clone(), &[200, 100, 1])),
            (41001, started(lab.clone(), &[200, 100, 1])),
            // Started through a shell the server ran: still the server's.
            (41002, started(lab.clone(), &[300, 250, 100, 1])),
            // A kernel of another project's server doesn't count against this one.
            (
                3000,
                started(project("/src/other", "other", None), &[400, 1]),
            ),
            (
                3001,
                started(project("/src/other", "other", None), &[500, 100, 1]),
            ),
        ];
        let table = Table::build(&ports, &learning());
        assert_eq!(table.get("notes"), Some(&Entry::Port(48888)));
        assert_eq!(table.name_of(48888), Some(("notes", false)));
        assert_eq!(table.name_of(41000), None);
        assert_eq!(table.get("other"), Some(&Entry::Port(3000)));
        // Without lineage (an OS that doesn't tell): the lowest, as before.
        let unknown = vec![(48888, lab.clone()), (41000, lab)];
        assert_eq!(
            Table::build(&unknown, &learning()).get("notes"),
            Some(&Entry::Port(41000))
        );
    }

    #[test]
    fn learning_off_keeps_labels() {
        let rules = Rules {
            learn: false,
            labels: [(8001, "docs".to_string())].into(),
            ..Rules::default()
        };
        let ports = vec![
            (5173, project("/src/shop-web", "shop-web", None)),
            (8001, None),
        ];
        let table = Table::build(&ports, &rules);
        assert_eq!(table.get("shop-web"), None);
        assert_eq!(table.get("docs"), Some(&Entry::Port(8001)));
    }

    #[test]
    fn two_labels_of_one_name_clash() {
        let rules = Rules {
            labels: [(1, "web".to_string()), (2, "Web".to_string())].into(),
            ..learning()
        };
        assert!(matches!(
            Table::build(&[], &rules).get("web"),
            Some(Entry::Clash(c)) if c.len() == 2
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Every name the table produces is a host the grammar reads back as that name,
        /// never as a port.
        #[test]
        fn every_name_parses_back_as_a_name(
            raw in "\\PC{0,80}",
            branch in proptest::option::of("\\PC{0,40}"),
            domain in prop::sample::select(vec!["localhost", "dev.example.com"]),
        ) {
            let ports = vec![(5173, project("/src/x", &raw, branch.as_deref()))];
            let table = Table::build(&ports, &learning());
            for (name, port) in table.ports() {
                prop_assert_eq!(port, 5173);
                for label in name.split('.') {
                    prop_assert!(is_name(label), "{:?}", label);
                }
                let host = format!("{name}.{domain}");
                prop_assert_eq!(
                    route::parse(&host, &["localhost", "dev.example.com"]),
                    Ok(Route::Name { name: name.to_string(), domain: domain.to_string() })
                );
            }
        }

        #[test]
        fn normalised_names_are_labels(raw in "\\PC{0,100}") {
            if let Some(name) = normalise(&raw) {
                prop_assert!(is_name(&name));
                prop_assert_eq!(normalise(&name), Some(name.clone()), "idempotent");
            }
        }
    }
}
