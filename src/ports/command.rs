//! A command line for display, its secrets masked.

/// A command line for display, its secrets as `…`: the value of a secret-named flag
/// (`--token=X`, `--password X`, `--authorization "Bearer X"`; Jupyter prints its token in its
/// arguments), of a secret-named variable (`GITHUB_TOKEN=X`) or header (`Authorization: X`),
/// and the password in a URL (`postgres://app:X@db`). What it misses is shown to this
/// machine only (the dashboard leaves command lines out for everyone else).
pub(super) fn redact(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if std::mem::take(&mut hide_next) && !arg.starts_with('-') {
            out.push("…".to_string());
            continue;
        }
        let flag = arg.starts_with('-');
        if let Some((name, _)) = arg.split_once('=').filter(|(n, _)| is_name(n)) {
            out.push(if secret_name(name) {
                format!("{name}=…")
            } else {
                hide_url_password(arg)
            });
        } else if let Some((name, _)) = arg.split_once(": ").filter(|(n, _)| secret_name(n)) {
            out.push(format!("{name}: …"));
        } else {
            hide_next = flag && secret_name(arg);
            out.push(hide_url_password(arg));
        }
    }
    out.join(" ")
}

/// `--flag`, `-f` or `NAME` (of `NAME=VALUE`): letters, digits, `-`, `_`, `.`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A flag, variable or header whose value is a secret: one of its words (split at `-`, `_`
/// and `.`) is or ends in one of these (`apikey`, `GITHUB_TOKEN`, `--db-password`).
fn secret_name(name: &str) -> bool {
    const SECRETS: &[&str] = &[
        "token",
        "pass",
        "password",
        "passwd",
        "pwd",
        "secret",
        "key",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "cookie",
        "session",
    ];
    name.trim_start_matches('-')
        .to_ascii_lowercase()
        .split(['-', '_', '.'])
        .any(|word| SECRETS.iter().any(|s| word.ends_with(s)))
}

/// `scheme://user:PASSWORD@host…` with the password as `…`, wherever in `arg` it is.
fn hide_url_password(arg: &str) -> String {
    let Some(start) = arg.find("://").map(|i| i + 3) else {
        return arg.to_string();
    };
    let authority_end = arg[start..]
        .find(['/', '?', '#', ' '])
        .map_or(arg.len(), |i| start + i);
    let authority = &arg[start..authority_end];
    match authority.rfind('@').and_then(|at| {
        let colon = authority[..at].find(':')?;
        Some((start + colon + 1, start + at))
    }) {
        Some((from, to)) => format!("{}…{}", &arg[..from], &arg[to..]),
        None => arg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_hide_secrets() {
        let args = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        let rows = [
            (
                "node /app/node_modules/.bin/vite --port 5173",
                "node /app/node_modules/.bin/vite --port 5173",
            ),
            (
                "jupyter-lab --ServerApp.token=abc123 --no-browser",
                "jupyter-lab --ServerApp.token=… --no-browser",
            ),
            (
                "server --password hunter2 --verbose",
                "server --password … --verbose",
            ),
            (
                "app --api-key=k1 --db_secret s --auth_token=t",
                "app --api-key=… --db_secret … --auth_token=…",
            ),
            ("python manage.py runserver", "python manage.py runserver"),
            // Finding 8 (issue 23): real command lines whose secrets were shown.
            (
                "psql postgres://app:s3cr3t@db.internal:5432/app",
                "psql postgres://app:…@db.internal:5432/app",
            ),
            (
                "node server.js --database-url=postgresql://u:p%40ss@localhost/db",
                "node server.js --database-url=postgresql://u:…@localhost/db",
            ),
            (
                "env GITHUB_TOKEN=ghp_abc OPENAI_API_KEY=sk-x PORT=3000 node app.js",
                "env GITHUB_TOKEN=… OPENAI_API_KEY=… PORT=3000 node app.js",
            ),
            (
                "gcloud run --credentials /home/me/sa.json --port 8080",
                "gcloud run --credentials … --port 8080",
            ),
            (
                "uvicorn app:app --session-secret=xyz --reload",
                "uvicorn app:app --session-secret=… --reload",
            ),
            (
                "app --db-pwd hunter2 --no-auth --port 80",
                "app --db-pwd … --no-auth --port 80",
            ),
            (
                "redis-server --requirepass x --masterauth y",
                "redis-server --requirepass … --masterauth …",
            ),
            (
                "git clone https://user@github.com/o/r https://github.com/o/r",
                "git clone https://user@github.com/o/r https://github.com/o/r",
            ),
        ];
        for (from, to) in rows {
            assert_eq!(redact(&args(from)), to, "{from}");
        }
        // Arguments with spaces, as /proc gives them.
        let spaced = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rows: [(&[&str], &str); 3] = [
            (
                &["curl", "--authorization", "Bearer abc.def", "http://x"],
                "curl --authorization … http://x",
            ),
            (
                &[
                    "curl",
                    "-H",
                    "Authorization: Bearer abc",
                    "-H",
                    "Accept: */*",
                ],
                "curl -H Authorization: … -H Accept: */*",
            ),
            (
                &["curl", "-H", "X-Api-Key: k", "https://a:b@h/"],
                "curl -H X-Api-Key: … https://a:…@h/",
            ),
        ];
        for (from, to) in rows {
            assert_eq!(redact(&spaced(from)), to, "{from:?}");
        }
    }
}
