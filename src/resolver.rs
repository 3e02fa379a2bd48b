//! How programs on this machine resolve `*.localhost`: not the browsers' rule (Chrome and
//! Firefox answer every `*.localhost` themselves) but `getaddrinfo`, which curl, Node, Python
//! and Safari use. glibc answers it only through nss-myhostname or systemd-resolved; macOS
//! and Windows not at all. The decisions are pure functions over the files they read.

use std::net::{IpAddr, ToSocketAddrs};

/// A name under `domain` nobody has in a hosts file or a DNS zone: if it resolves, every
/// name under the domain does.
pub(crate) fn probe(domain: &str) -> String {
    format!("portproxy-check.{domain}")
}

/// The addresses `name` resolves to the way programs resolve it (`getaddrinfo`); empty when
/// it doesn't.
pub(crate) fn lookup(name: &str) -> Vec<IpAddr> {
    (name, 80)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

// Linux only (doctor), and tested everywhere: pure text in, text out.
#[cfg(any(target_os = "linux", test))]
/// The `hosts:` line of nsswitch.conf, as its sources (`files`, `myhostname`, `dns`, …),
/// without the `[NOTFOUND=return]` actions and comments.
pub(crate) fn hosts_sources(nsswitch: &str) -> Vec<&str> {
    nsswitch
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .filter_map(|line| line.trim_start().strip_prefix("hosts:"))
        .next_back()
        .map(|sources| {
            let mut words = Vec::new();
            let mut action = false;
            for word in sources.split_whitespace() {
                if word.starts_with('[') {
                    action = true;
                }
                if !action {
                    words.push(word);
                }
                if word.ends_with(']') {
                    action = false;
                }
            }
            words
        })
        .unwrap_or_default()
}

#[cfg(any(target_os = "linux", test))]
/// What a Linux machine has that could answer `*.localhost`, as read from its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nss {
    /// The `hosts:` sources of /etc/nsswitch.conf.
    pub(crate) sources: Vec<String>,
    /// libnss_myhostname.so.2 is installed.
    pub(crate) myhostname: bool,
    /// libnss_resolve.so.2 is installed.
    pub(crate) resolve: bool,
    /// apt-get is there to install a package with.
    pub(crate) apt: bool,
}

#[cfg(any(target_os = "linux", test))]
/// The one step that makes glibc programs resolve `*.localhost` on a machine where they
/// don't (`probe` did not resolve), for `doctor`.
pub(crate) fn linux_fix(nss: &Nss) -> String {
    let listed = |source: &str| nss.sources.iter().any(|s| s == source);
    let install = if nss.apt {
        "`sudo apt-get install libnss-myhostname` (it adds `myhostname` to the `hosts:` line of /etc/nsswitch.conf)"
    } else {
        "install nss-myhostname (part of systemd; e.g. `sudo dnf install systemd-libs`) and add `myhostname` after `files` on the `hosts:` line of /etc/nsswitch.conf"
    };
    let fallback = "or `sudo portproxy hosts --sync` for the ports listening now";
    if listed("resolve") && nss.resolve {
        return format!(
            "nsswitch.conf asks systemd-resolved, which is not answering: `sudo systemctl enable --now systemd-resolved`, {fallback}"
        );
    }
    match (listed("myhostname"), nss.myhostname) {
        (true, true) => format!(
            "nsswitch.conf lists `myhostname`, but a source before it answers first: move it right after `files` on the `hosts:` line, {fallback}"
        ),
        (false, true) => format!(
            "libnss-myhostname is installed but not used: add `myhostname` after `files` on the `hosts:` line of /etc/nsswitch.conf, {fallback}"
        ),
        (true, false) => format!(
            "nsswitch.conf lists `myhostname`, but its library is missing: {install}, {fallback}"
        ),
        (false, false) => format!("{install}, {fallback}"),
    }
}

/// This machine's `Nss`, read from its files.
#[cfg(target_os = "linux")]
pub(crate) fn read_nss() -> Nss {
    let nsswitch = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    // The multiarch directories of Debian and Ubuntu, then Fedora's and Arch's.
    let installed = |file: &str| {
        [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/usr/lib",
            "/lib",
        ]
        .iter()
        .any(|dir| std::path::Path::new(dir).join(file).exists())
    };
    Nss {
        sources: hosts_sources(&nsswitch)
            .into_iter()
            .map(String::from)
            .collect(),
        myhostname: installed("libnss_myhostname.so.2"),
        resolve: installed("libnss_resolve.so.2"),
        apt: std::path::Path::new("/usr/bin/apt-get").exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_line_is_read_as_its_sources() {
        let rows: &[(&str, &[&str])] = &[
            ("hosts: files dns\n", &["files", "dns"]),
            (
                "passwd: files\nhosts:          files mdns4_minimal [NOTFOUND=return] dns myhostname\n",
                &["files", "mdns4_minimal", "dns", "myhostname"],
            ),
            (
                "hosts: files [SUCCESS=merge NOTFOUND=continue] resolve # myhostname\n",
                &["files", "resolve"],
            ),
            ("# hosts: files myhostname\nhosts: files\n", &["files"]),
            ("  hosts:files\thosts\n", &["files", "hosts"]),
            ("passwd: files\n", &[]),
            ("", &[]),
        ];
        for (text, sources) in rows {
            assert_eq!(hosts_sources(text), *sources, "{text:?}");
        }
    }

    #[test]
    fn the_fix_names_what_is_missing() {
        let nss = |sources: &[&str], myhostname, resolve, apt| Nss {
            sources: sources.iter().map(|s| s.to_string()).collect(),
            myhostname,
            resolve,
            apt,
        };
        let rows = [
            (
                nss(&["files", "dns"], false, false, true),
                "`sudo apt-get install libnss-myhostname` (it adds",
            ),
            (
                nss(&["files", "dns"], false, false, false),
                "install nss-myhostname (part of systemd;",
            ),
            (
                nss(&["files", "dns"], true, false, true),
                "libnss-myhostname is installed but not used: add `myhostname` after `files`",
            ),
            (
                nss(&["files", "myhostname"], false, false, true),
                "nsswitch.conf lists `myhostname`, but its library is missing: `sudo apt-get install libnss-myhostname`",
            ),
            (
                nss(&["files", "dns", "myhostname"], true, false, true),
                "a source before it answers first: move it right after `files`",
            ),
            (
                nss(&["files", "resolve", "dns"], true, true, true),
                "`sudo systemctl enable --now systemd-resolved`",
            ),
        ];
        for (nss, expected) in rows {
            let fix = linux_fix(&nss);
            assert!(fix.contains(expected), "{nss:?}: {fix}");
            assert!(
                fix.ends_with("or `sudo portproxy hosts --sync` for the ports listening now"),
                "{fix}"
            );
        }
    }
}
