//! Where a release is downloaded, checked and run before it replaces anything.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{explain, sums_entry, UpdateError, GITHUB_API, SUMS_ASSET};

/// A directory beside the installed binary where a release is downloaded, checked and run
/// before it replaces anything. Not the system temp dir: hardened servers mount that noexec,
/// and a binary that runs beside the install dir runs once installed. Removed when dropped.
pub(crate) struct Stage {
    pub(super) dir: PathBuf,
}

impl Stage {
    pub(crate) fn beside(exe: &Path) -> Result<Stage, UpdateError> {
        let parent = exe.parent().unwrap_or(Path::new("."));
        let dir = parent.join(format!(".portproxy-update-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => UpdateError::NotWritable {
                path: exe.to_path_buf(),
            },
            _ => UpdateError::Failed(format!("cannot create {}: {e}", dir.display())),
        })?;
        Ok(Stage { dir })
    }

    /// Downloads `archive` (checked against `sums` and GitHub's digest), unpacks the binary
    /// and runs it: it must say `expected` on its first line.
    pub(crate) fn fetch_and_check(
        &self,
        archive: &self_update::update::ReleaseAsset,
        sums: Option<&self_update::update::ReleaseAsset>,
        expected: &str,
    ) -> Result<(PathBuf, String), UpdateError> {
        let sums = sums.ok_or_else(|| UpdateError::Checksum {
            detail: format!("the release has no {SUMS_ASSET}"),
        })?;
        let sums_path = self.dir.join(SUMS_ASSET);
        download(sums.download_url(), &sums_path, false)?;
        let sums_text = std::fs::read_to_string(&sums_path).map_err(|e| UpdateError::Checksum {
            detail: format!("{SUMS_ASSET} is unreadable: {e}"),
        })?;
        let want = sums_entry(&sums_text, archive.name()).ok_or_else(|| UpdateError::Checksum {
            detail: format!("{SUMS_ASSET} has no entry for {}", archive.name()),
        })?;
        let archive_path = self.dir.join(archive.name());
        download(archive.download_url(), &archive_path, true)?;
        if std::io::stderr().is_terminal() {
            // The progress bar leaves the cursor at the end of its line.
            eprintln!();
        }
        let got = sha256_of(&archive_path)?;
        let published = archive
            .digest()
            .and_then(|d| d.strip_prefix("sha256:"))
            .map(str::to_ascii_lowercase);
        for expected in std::iter::once(want).chain(published) {
            if expected != got {
                return Err(UpdateError::Checksum {
                    detail: format!("expected sha256 {expected}, got {got}"),
                });
            }
        }
        // Zips (Windows) are flat; tarballs hold `portproxy-<target>/portproxy`.
        let inside = if cfg!(windows) {
            "portproxy.exe".to_string()
        } else {
            format!("portproxy-{}/portproxy", self_update::get_target())
        };
        let new = self
            .unpack(&archive_path, &inside)
            .map_err(|e| UpdateError::Rejected {
                reason: format!("{} holds no {inside}: {e}", archive.name()),
            })?;
        let said = reports_version(&new, expected, &self.dir)?;
        Ok((new, said))
    }

    /// Unpacks `inside` from `archive` (a zip on Windows, a gzipped tarball elsewhere) into
    /// the stage, runnable.
    pub(super) fn unpack(
        &self,
        archive: &Path,
        inside: &str,
    ) -> Result<PathBuf, self_update::Error> {
        #[cfg(windows)]
        let kind = self_update::ArchiveKind::Zip;
        #[cfg(not(windows))]
        let kind = self_update::ArchiveKind::Tar(Some(self_update::Compression::Gz));
        self_update::Extract::from_source(archive)
            .archive(kind)
            .extract_file(&self.dir, inside)?;
        let new = self.dir.join(inside);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755));
        }
        Ok(new)
    }

    /// Puts `new` in place of `exe`: a rename in the same directory, so a running portproxy
    /// keeps its own file (on Windows self_replace moves the running one aside).
    pub(crate) fn swap(&self, new: &Path, exe: &Path) -> Result<(), UpdateError> {
        let result = if cfg!(windows) {
            self_replace::self_replace(new)
        } else {
            std::fs::rename(new, exe)
        };
        result.map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => UpdateError::NotWritable {
                path: exe.to_path_buf(),
            },
            _ => UpdateError::Failed(format!("cannot replace {}: {e}", exe.display())),
        })
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Downloads `url` into `to` (GitHub's API serves an asset's bytes for this Accept).
pub(super) fn download(url: &str, to: &Path, progress: bool) -> Result<(), UpdateError> {
    let file = std::fs::File::create(to)
        .map_err(|e| UpdateError::Failed(format!("cannot write {}: {e}", to.display())))?;
    let mut request = self_update::Download::from_url(url);
    request
        .show_download_progress(progress && std::io::stderr().is_terminal())
        .timeout(Duration::from_secs(60))
        .request_header("accept", "application/octet-stream");
    if url.starts_with(GITHUB_API) {
        if let Some(token) = ["GH_TOKEN", "GITHUB_TOKEN"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()))
        {
            request.request_header("authorization", format!("Bearer {token}"));
        }
    }
    request
        .download_to(std::io::BufWriter::new(file))
        .map_err(|e| explain(e, url))
}

fn sha256_of(path: &Path) -> Result<String, UpdateError> {
    hex_digest::<sha2::Sha256>(path)
}

pub(super) fn sha512_of(path: &Path) -> Result<String, UpdateError> {
    hex_digest::<sha2::Sha512>(path)
}

fn hex_digest<D: sha2::Digest>(path: &Path) -> Result<String, UpdateError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| UpdateError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = D::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)
            .map_err(|e| UpdateError::Failed(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The unpacked binary must run here and say it is the version being installed (on the first
/// line of `--version`; the next ones name its build).
pub(super) fn reports_version(
    binary: &Path,
    expected: &str,
    dir: &Path,
) -> Result<String, UpdateError> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => UpdateError::CannotRun {
                dir: dir.parent().unwrap_or(dir).to_path_buf(),
                detail: e.to_string(),
            },
            _ => UpdateError::Rejected {
                reason: format!("it does not run: {e}"),
            },
        })?;
    let said = String::from_utf8_lossy(&out.stdout);
    let first = said.lines().next().unwrap_or_default().trim();
    if out.status.success() && first == expected {
        Ok(said.to_string())
    } else {
        Err(UpdateError::Rejected {
            reason: format!("`--version` said {first:?}, expected {expected:?}"),
        })
    }
}
