//! The project a process works in, from the files around its working directory.

use std::path::{Path, PathBuf};

use crate::names;

/// The project a process works in, from the files at and above its working directory: the
/// nearest manifest (`names::MANIFESTS`), the git work tree (a linked worktree's branch, and
/// the main checkout's directory for its name), else the directory itself. The walk stops
/// below `home` and `/`: a stray `package.json` or dotfiles repository there is nobody's
/// project, and neither directory is ever a name.
pub(super) fn project(cwd: &Path, home: Option<&Path>) -> names::Project {
    let read = |path: PathBuf| std::fs::read_to_string(path).ok();
    let mut manifest = None;
    let mut git = None;
    for dir in cwd.ancestors().take(32) {
        if Some(dir) == home || dir.parent().is_none() {
            break;
        }
        if manifest.is_none() {
            manifest = names::MANIFESTS.iter().find_map(|file| {
                let name = names::manifest_name(file, &read(dir.join(file))?)?;
                Some((dir.to_path_buf(), name))
            });
        }
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            git = Some((dir.to_path_buf(), dir.to_path_buf(), None));
        } else if let Some(gitdir) = read(dot_git).and_then(|t| names::gitdir_of(&t, dir)) {
            // `MAIN/.git/worktrees/ID`: the main checkout names the project.
            let main = gitdir.ancestors().nth(3).unwrap_or(dir).to_path_buf();
            let branch = read(gitdir.join("HEAD")).and_then(|h| names::branch_of(&h));
            git = Some((dir.to_path_buf(), main, branch));
        }
        if git.is_some() {
            break;
        }
    }
    let file_name = |dir: &Path| {
        (Some(dir) != home && dir.parent().is_some())
            .then(|| dir.file_name()?.to_str().map(str::to_string))
            .flatten()
    };
    let branch = git.as_ref().and_then(|(_, _, branch)| branch.clone());
    let (root, name, from_manifest) = match (manifest, git) {
        (Some((dir, name)), _) => (dir, Some(name), true),
        (None, Some((top, main, _))) => (top, file_name(&main), false),
        (None, None) => (cwd.to_path_buf(), file_name(cwd), false),
    };
    names::Project {
        cwd: cwd.to_path_buf(),
        root,
        name,
        branch,
        from_manifest,
        lineage: Vec::new(),
    }
}

/// The project as the dashboard shows it: its manifest's name, else its directory with `~`
/// for home.
pub(super) fn project_label(project: &names::Project, home: Option<&Path>) -> String {
    match &project.name {
        Some(name) if project.from_manifest => name.clone(),
        _ => match home.and_then(|home| project.root.strip_prefix(home).ok()) {
            Some(rest) => format!("~/{}", rest.display()),
            None => project.root.display().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_from_manifests_git_and_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        let write = |path: &str, text: &str| {
            let path = home.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let of = |dir: &str| project(&home.join(dir), Some(home));
        // A stray manifest in home names nothing.
        write("package.json", r#"{"name": "home-junk"}"#);
        std::fs::create_dir_all(home.join("src/my-app")).unwrap();
        let app = of("src/my-app");
        assert_eq!(app.name.as_deref(), Some("my-app"));
        assert_eq!(project_label(&app, Some(home)), "~/src/my-app");
        // The nearest manifest at or above the working directory.
        write("src/shop/package.json", r#"{"name": "@acme/shop-web"}"#);
        std::fs::create_dir_all(home.join("src/shop/.git")).unwrap();
        std::fs::create_dir_all(home.join("src/shop/src/pages")).unwrap();
        let shop = of("src/shop/src/pages");
        assert_eq!(shop.name.as_deref(), Some("shop-web"));
        assert_eq!(shop.root, home.join("src/shop"));
        assert_eq!(shop.branch, None);
        assert_eq!(project_label(&shop, Some(home)), "shop-web");
        // Without a manifest, the git work tree's top directory.
        std::fs::create_dir_all(home.join("src/tool/.git")).unwrap();
        std::fs::create_dir_all(home.join("src/tool/bin")).unwrap();
        assert_eq!(of("src/tool/bin").name.as_deref(), Some("tool"));
        // A linked worktree: its branch, and the main checkout's name.
        let gitdir = home.join("src/tool/.git/worktrees/tool-login");
        std::fs::create_dir_all(&gitdir).unwrap();
        std::fs::write(gitdir.join("HEAD"), "ref: refs/heads/feature/login\n").unwrap();
        write(
            "wt/tool-login/.git",
            &format!("gitdir: {}\n", gitdir.display()),
        );
        let linked = of("wt/tool-login");
        assert_eq!(linked.name.as_deref(), Some("tool"));
        assert_eq!(linked.branch.as_deref(), Some("feature/login"));
        // Home itself is no project name.
        assert_eq!(project(home, Some(home)).name, None);
    }
}
