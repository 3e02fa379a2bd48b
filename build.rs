//! What `portproxy --version` says beyond its version: the target and commit it was built
//! from, and the Caddy the installers pin (Cargo.toml's [package.metadata.portproxy]).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=PORTPROXY_TARGET={target}");
    // A crates.io package or a source tarball has no .git: "unknown".
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PORTPROXY_COMMIT={commit}");
    let manifest = std::fs::read_to_string("Cargo.toml").expect("Cargo.toml");
    for (key, var) in [
        ("caddy", "PORTPROXY_CADDY_PIN"),
        ("caddy-minimum", "PORTPROXY_CADDY_MINIMUM"),
    ] {
        let value = metadata(&manifest, key)
            .unwrap_or_else(|| panic!("Cargo.toml's [package.metadata.portproxy] has no {key}"));
        println!("cargo:rustc-env={var}={value}");
    }
}

/// `key = "value"` in Cargo.toml's `[package.metadata.portproxy]` table.
fn metadata(manifest: &str, key: &str) -> Option<String> {
    let table = manifest.split("[package.metadata.portproxy]").nth(1)?;
    table
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
}
