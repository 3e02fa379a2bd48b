//! A GitHub API look-alike on loopback: the release endpoints self-update reads, serving
//! archives laid out as cargo-dist publishes them (tests/update.rs for Linux, tests/windows.rs
//! for the Windows build under wine).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::release::{self, archive, sums_line};

/// This machine's Linux build, as the release names it.
pub fn linux_target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// `OWNER/NAME` of Cargo.toml's repository, as the API paths name it.
pub fn repo_path() -> String {
    env!("CARGO_PKG_REPOSITORY")
        .strip_prefix("https://github.com/")
        .unwrap()
        .to_string()
}

/// A release to publish: its version and the binary its archive holds.
pub struct Published {
    pub version: String,
    pub binary: PathBuf,
}

/// A GitHub API look-alike: the release endpoints self_update reads, and the assets.
pub struct FakeGitHub {
    pub url: String,
    routes: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
    files: tempfile::TempDir,
}

impl FakeGitHub {
    /// Publishes `releases` (newest last), each with its archive, `.sha256` and `sha256.sum`.
    pub fn serve(releases: &[Published]) -> FakeGitHub {
        Self::serve_at(
            releases,
            Ipv4Addr::LOCALHOST.into(),
            Ipv4Addr::LOCALHOST.into(),
        )
    }

    /// The same on every interface, the API answering on `api` and listing the files on
    /// `files` (each an address of this machine).
    pub fn serve_at(releases: &[Published], api: IpAddr, files: IpAddr) -> FakeGitHub {
        Self::serve_target(&linux_target(), releases, api, files)
    }

    /// Publishes `releases` built for `target` (a Windows target gets dist's `.zip`), on
    /// loopback.
    pub fn serve_for(target: &str, releases: &[Published]) -> FakeGitHub {
        Self::serve_target(
            target,
            releases,
            Ipv4Addr::LOCALHOST.into(),
            Ipv4Addr::LOCALHOST.into(),
        )
    }

    fn serve_target(
        target: &str,
        releases: &[Published],
        api: IpAddr,
        files: IpAddr,
    ) -> FakeGitHub {
        let (fake, files_url) = Self::listen(api, files);
        let mut listing = Vec::new();
        for r in releases {
            let dir = fake.files.path().join(&r.version);
            std::fs::create_dir_all(&dir).unwrap();
            let archive = archive(&r.binary, target, &dir);
            let asset = archive.file_name().unwrap().to_string_lossy().into_owned();
            let sums = sums_line(&archive);
            let mut assets = Vec::new();
            // The sidecar first: self_update's default matcher would pick it (its name
            // holds the target too).
            for (name, bytes) in [
                (format!("{asset}.sha256"), sums.clone().into_bytes()),
                (asset.clone(), std::fs::read(&archive).unwrap()),
                ("sha256.sum".to_string(), sums.into_bytes()),
            ] {
                let path = format!("/dl/v{}/{name}", r.version);
                assets.push(serde_json::json!({
                    "name": name,
                    "url": format!("{files_url}{path}"),
                    "digest": format!("sha256:{}", sha256_of(&bytes)),
                }));
                fake.set(&path, bytes);
            }
            let release = serde_json::json!({
                "tag_name": format!("v{}", r.version),
                "name": format!("v{}", r.version),
                "created_at": "2026-12-01T00:00:00Z",
                "assets": assets,
            });
            fake.set(
                &format!("/repos/{}/releases/tags/v{}", repo_path(), r.version),
                release.to_string().into_bytes(),
            );
            listing.insert(0, release);
        }
        if let Some(latest) = listing.first() {
            fake.set(
                &format!("/repos/{}/releases/latest", repo_path()),
                latest.to_string().into_bytes(),
            );
        }
        fake.set(
            &format!("/repos/{}/releases?per_page=100", repo_path()),
            serde_json::Value::Array(listing).to_string().into_bytes(),
        );

        fake
    }

    /// An empty fake answering on `api`, whose file URLs name `files`, and that URL.
    fn listen(api: IpAddr, files: IpAddr) -> (FakeGitHub, String) {
        let any = if api.is_loopback() && files.is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        let listener = TcpListener::bind((any, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = FakeGitHub {
            url: format!("http://{api}:{port}"),
            routes: Arc::default(),
            requests: Arc::default(),
            files: tempfile::tempdir().unwrap(),
        };
        let (routes, requests) = (fake.routes.clone(), fake.requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                requests.lock().unwrap().push(path.clone());
                let body = routes.lock().unwrap().get(&path).cloned();
                let (status, body) = match body {
                    Some(body) => ("200 OK", body),
                    None => ("404 Not Found", br#"{"message":"Not Found"}"#.to_vec()),
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        (fake, format!("http://{files}:{port}"))
    }

    pub fn set(&self, path: &str, body: Vec<u8>) {
        self.routes.lock().unwrap().insert(path.to_string(), body);
    }

    /// Replaces a published file's bytes (the JSON's digest stays the original's).
    pub fn tamper(&self, path: &str, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut routes = self.routes.lock().unwrap();
        edit(routes.get_mut(path).expect("published path"));
    }

    /// The size of a published file.
    pub fn size(&self, path: &str) -> usize {
        self.routes.lock().unwrap().get(path).map_or(0, Vec::len)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn downloads(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|p| p.starts_with("/dl/"))
            .collect()
    }
}

pub fn sha256_of(bytes: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    release::digest("sha256sum", file.path())
}

impl FakeGitHub {
    /// Publishes every file of a `dist build` output directory as release v`version`, at
    /// GitHub's API paths and at github.com's release URLs (`download/vX/`, `latest/download/`),
    /// the way a real release serves them.
    pub fn serve_dist(version: &str, dist: &Path) -> FakeGitHub {
        let (fake, files_url) =
            Self::listen(Ipv4Addr::LOCALHOST.into(), Ipv4Addr::LOCALHOST.into());
        let mut assets = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(dist)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| !n.ends_with("dist-manifest.json"))
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(dist.join(&name)).unwrap();
            let download = format!("/{}/releases/download/v{version}/{name}", repo_path());
            assets.push(serde_json::json!({
                "name": name,
                "url": format!("{files_url}{download}"),
                "digest": format!("sha256:{}", sha256_of(&bytes)),
            }));
            fake.set(
                &format!("/{}/releases/latest/download/{name}", repo_path()),
                bytes.clone(),
            );
            fake.set(&download, bytes);
        }
        let release = serde_json::json!({
            "tag_name": format!("v{version}"),
            "name": format!("v{version}"),
            "created_at": "2026-12-01T00:00:00Z",
            "assets": assets,
        });
        fake.set(
            &format!("/repos/{}/releases?per_page=100", repo_path()),
            serde_json::json!([release]).to_string().into_bytes(),
        );
        for path in [format!("tags/v{version}"), "latest".into()] {
            fake.set(
                &format!("/repos/{}/releases/{path}", repo_path()),
                release.to_string().into_bytes(),
            );
        }
        fake
    }
}
