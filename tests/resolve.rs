//! Names resolve outside the browser (issue 20, §3): after `portproxy hosts --sync`, the
//! name of a listening port and its project's name resolve for glibc (`getent`), Python and
//! Node, and not before; a running portproxy then adds a server that starts later and takes
//! it out when it stops; `--remove` gives the hosts file back byte for byte. Runs in a private mount and network
//! namespace with its own /etc/hosts and /etc/nsswitch.conf (tests/resolve/hosts.sh).

use std::process::Command;

#[test]
fn hosts_sync_makes_names_resolve_for_programs_and_remove_undoes_it() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/resolve/hosts.sh");
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "sh",
            script,
            env!("CARGO_BIN_EXE_portproxy"),
        ])
        .output()
        .expect("unshare (util-linux) runs the hosts-file scenario");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("not ready"),
        "the scenario needs `unshare --mount --net` (root or CAP_SYS_ADMIN), ip, python3 and node:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Vec<(&str, &str)> = stdout.lines().filter_map(|l| l.split_once(' ')).collect();
    let mut expected: Vec<(String, &str)> = Vec::new();
    let programs = |expected: &mut Vec<(String, &str)>, stage: &str, resolves| {
        for program in ["getent", "python", "node"] {
            expected.push((format!("{stage}-{program}"), resolves));
        }
    };
    for (stage, resolves, doctor) in [
        ("before", "no", "fail"),
        ("after", "yes", "warn"),
        ("removed", "no", "fail"),
    ] {
        programs(&mut expected, stage, resolves);
        programs(&mut expected, &format!("{stage}-project"), resolves);
        expected.push((format!("{stage}-fetch"), resolves));
        expected.push((format!("{stage}-doctor"), doctor));
        if stage == "before" {
            expected.extend([
                ("sync-status".to_string(), "0"),
                ("sync-says".to_string(), "yes"),
            ]);
        }
        if stage == "after" {
            expected.push(("again-says".to_string(), "yes"));
            expected.push(("live-added".to_string(), "yes"));
            programs(&mut expected, "live", "yes");
            programs(&mut expected, "live-project", "yes");
            expected.extend([
                ("live-removed".to_string(), "yes"),
                ("remove-status".to_string(), "0"),
                ("restored".to_string(), "yes"),
            ]);
        }
    }
    let expected: Vec<(&str, &str)> = expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(seen, expected, "{stdout}");
}
