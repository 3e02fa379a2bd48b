#!/usr/bin/env python3
"""portproxy's compatibility suite: real dev servers, a real browser, every URL form.

Installs the current releases of each framework from npm and PyPI into a cache outside the
repository, starts each dev server the way its docs say (default host, default settings),
puts portproxy in front of it and drives Debian's headless Chromium (through playwright-core)
through the paths that break behind proxies: HMR WebSockets, Server Actions, CSRF and origin
checks, sign-in on a public domain. scripts/compat is the entry point; docs/compatibility.md
says what it proves.

Environment:
  PORTPROXY_BIN               the binary (default target/release/portproxy, built if missing)
  PORTPROXY_COMPAT_CACHE      the install cache (default ~/.cache/portproxy-compat)
  PORTPROXY_COMPAT_RESULTS    where the result table goes (default target/compat/results.md)
  PORTPROXY_COMPAT_ALLOW_SKIP=1   a framework that can't be installed doesn't fail the run
  PORTPROXY_COMPAT_IDLE_SECS  the idle wait before the second Vite HMR edit (default 70)
  PORTPROXY_COMPAT_OFFLINE=1  use what the cache holds, ask no registry
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPAT = REPO / "compat"
CACHE = Path(
    os.environ.get("PORTPROXY_COMPAT_CACHE")
    or Path.home() / ".cache" / "portproxy-compat"
)
CHROMIUM = "/usr/bin/chromium"
TOKEN = "compat-token-0123456789abcdef"  # --auth-token: 16 characters at least
OFFLINE = os.environ.get("PORTPROXY_COMPAT_OFFLINE") == "1"

# What each framework must do, per URL form; browser.mjs implements the checks by these names.
FRAMEWORKS = {
    "vite": {
        "title": "Vite (vanilla)",
        "npm": ["vite"],
        "module": True,
        "checks": ["page", "HMR over WebSocket", "HMR after idle"],
        "phone": True,
    },
    "next": {
        "title": "Next.js",
        "npm": ["next", "react", "react-dom"],
        "module": False,
        "checks": ["page", "Fast Refresh", "Server Action", "Route Handler POST", "form POST"],
        "phone": True,
    },
    "sveltekit": {
        "title": "SvelteKit",
        "npm": ["@sveltejs/kit", "svelte", "@sveltejs/vite-plugin-svelte", "vite"],
        "module": True,
        "checks": ["page", "HMR", "form action POST"],
    },
    "webpack": {
        "title": "webpack-dev-server",
        "npm": ["webpack", "webpack-cli", "webpack-dev-server"],
        "module": False,
        "checks": ["page (no Invalid Host header)", "HMR over WebSocket"],
    },
    "django": {
        "title": "Django runserver",
        "pypi": ["django"],
        "checks": ["CSRF form POST", "admin login"],
    },
    "jupyter": {
        "title": "JupyterLab",
        "pypi": ["jupyterlab", "jupyter_server", "ipykernel"],
        "checks": ["open notebook", "run a cell"],
    },
    "fastapi": {
        "title": "FastAPI (uvicorn)",
        "pypi": ["fastapi", "uvicorn", "websockets"],
        "checks": ["page", "WebSocket echo"],
    },
}
PYPI_REQUIREMENTS = ["django", "jupyterlab", "ipykernel", "fastapi", "uvicorn[standard]"]

KNOWN_FAILURES = COMPAT / "known-failures"
OPEN_FAILURES = COMPAT / "open-failures"

FORMS = [
    ("http://PORT.localhost", "serve"),
    ("https://PORT.localhost", "run (Caddy)"),
    ("http://PORT.dev.test", "serve, signed in"),
    ("https://PORT.dev.test", "run --tls internal, signed in"),
    ("https://NAME.localhost", "run (Caddy), by the name portproxy learnt for the port"),
    ("share link", "serve, `portproxy share PORT --for 1h`: the link's first visit, then its cookie"),
    ("LAN share link, second machine",
     "the dev server and `serve` in a network namespace of their own, `portproxy share PORT --lan`; "
     "Chromium in a second namespace joined by a veth pair opens the link (frameworks marked "
     "`phone`)"),
]


def say(*args):
    print("compat:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family) as s:
                s.settimeout(0.5)
                s.connect((host, port))
                return True
        except OSError:
            pass
    return False


def run(cmd, **kw):
    say("$", " ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------------------------------
# Installing


def node_env():
    env = dict(os.environ)
    env["COMPAT_TOOLS"] = str(CACHE / "tools")
    env["NEXT_TELEMETRY_DISABLED"] = "1"  # nothing leaves this machine
    env["npm_config_update_notifier"] = "false"
    return env


def npm_install(folder, deps, module):
    """Install exactly `deps` into `folder` unless it already holds them."""
    want = json.dumps(deps, sort_keys=True)
    stamp = folder / ".compat-installed"
    if stamp.exists() and stamp.read_text() == want and (folder / "node_modules").is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "compat-" + folder.name, "private": True, "dependencies": deps}
    if module:
        manifest["type"] = "module"
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if stamp.exists():
        stamp.unlink()
    run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        env=node_env(),
        stdout=sys.stderr,
    )
    stamp.write_text(want)


def install_tools():
    tools = CACHE / "tools"
    if OFFLINE and (tools / "node_modules" / "playwright-core").is_dir():
        return
    latest = {}
    for name in ("playwright-core", "semver"):
        out = subprocess.run(
            ["npm", "view", name + "@latest", "version"],
            check=True, capture_output=True, text=True, env=node_env(),
        )
        latest[name] = out.stdout.strip()
    npm_install(tools, latest, False)


def install_npm_app(name, spec):
    folder = CACHE / "apps" / name
    stamp = folder / ".compat-installed"
    if OFFLINE and stamp.exists():
        return
    try:
        out = subprocess.run(
            ["node", str(COMPAT / "resolve.mjs"), *spec["npm"]],
            check=True, stdout=subprocess.PIPE, text=True, env=node_env(),
        )
    except subprocess.CalledProcessError:
        if not stamp.exists():
            raise
        say(f"WARNING: could not ask npm for {name}'s current releases; using the cached ones")
        return
    npm_install(folder, json.loads(out.stdout), spec["module"])


def install_pypi():
    venv = CACHE / "py"
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)], stdout=sys.stderr)
    if OFFLINE:
        return
    run(
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade",
         "--disable-pip-version-check", *PYPI_REQUIREMENTS],
        stdout=sys.stderr,
    )


def npm_versions(name, spec):
    out = {}
    for pkg in spec["npm"]:
        manifest = CACHE / "apps" / name / "node_modules" / pkg / "package.json"
        out[pkg] = json.loads(manifest.read_text())["version"]
    return out


def pypi_versions(spec):
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def version(n):\n"
        "    try:\n"
        "        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({n: version(n) for n in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(CACHE / "py" / "bin" / "python"), "-c", code, *spec["pypi"]],
        check=True, capture_output=True, text=True,
    )
    versions = json.loads(out.stdout)
    missing = [n for n, v in versions.items() if v is None]
    if missing:
        raise ValueError(f"{', '.join(missing)} not in {CACHE / 'py'} (pip install failed?)")
    return versions


# ---------------------------------------------------------------------------------------
# Processes


class Procs:
    """Every process this run starts, each in its own process group, all ended at exit."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def start(self, name, cmd, **kw):
        log = open(self.logdir / f"{name}.log", "ab")
        say("start", name + ":", " ".join(str(c) for c in cmd))
        p = subprocess.Popen(
            [str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, **kw,
        )
        p.compat_name = name
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)

    def log_tail(self, name, lines=30):
        try:
            text = (self.logdir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def announced_port(procs, name, pattern, proc, timeout=120):
    """The port a dev server says it took, from its log."""
    found = []

    def seen():
        m = re.search(pattern, procs.log_tail(name, 200))
        if m:
            found.append(int(m.group(1)))
        return bool(found)

    wait_until(f"{name} announcing its port", seen, timeout, proc)
    return found[0]


def wait_until(what, pred, timeout, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({proc.returncode})")
        time.sleep(0.25)
    raise RuntimeError(f"{what}: not ready after {timeout}s")


def http_ok(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# portproxy


def learnt_name(proxy, port, timeout=10):
    """The name `proxy` gives `port` (its project's, learnt from the dev server's directory),
    as its /api/ports says; None when it has none within `timeout` seconds."""
    request = urllib.request.Request(f"http://127.0.0.1:{proxy.listen}/api/ports",
                                     headers={"Host": f"localhost:{proxy.listen}"})
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                rows = json.load(r)["ports"]
            name = next((row.get("name") for row in rows if row["port"] == port), None)
            if name or time.time() > deadline:
                return name
        except (OSError, ValueError, KeyError):
            if time.time() > deadline:
                return None
        time.sleep(0.25)


def portproxy_binary():
    binary = Path(os.environ.get("PORTPROXY_BIN") or REPO / "target" / "release" / "portproxy")
    if not binary.is_absolute():
        binary = REPO / binary
    if not binary.exists():
        run(["cargo", "build", "--release", "--bin", "portproxy"], cwd=REPO, stdout=sys.stderr)
    return binary


def supports_tls_internal(binary, tmp):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / "probe-config"),
               XDG_DATA_HOME=str(tmp / "probe-data"))
    r = subprocess.run(
        [binary, "caddyfile", "--domain", "dev.test", "--tls", "internal",
         "--auth-token", TOKEN],
        capture_output=True, text=True, env=env,
    )
    return r.returncode == 0


class Portproxy:
    """One isolated portproxy (its own config and data dirs, ports picked free)."""

    def __init__(self, procs, tmp, name, command, args, https=False):
        self.name = name
        self.listen = free_port()
        self.admin = free_port()
        self.http_port = free_port() if https else None
        self.https_port = free_port() if https else None
        self.data = tmp / name / "data"
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / name / "config"),
                   XDG_DATA_HOME=str(self.data), RUST_LOG="info")
        self.env = env
        cmd = [command, "--listen", f"127.0.0.1:{self.listen}",
               "--admin", f"127.0.0.1:{self.admin}", *args]
        if https:
            cmd += ["--http-port", str(self.http_port), "--https-port", str(self.https_port)]
        self.proc = procs.start(name, [binary_path(), *cmd], env=env)
        self.procs = procs

    def wait_ready(self):
        wait_until(f"{self.name} admin", lambda: http_ok(
            f"http://127.0.0.1:{self.admin}/healthz"), 30, self.proc)
        if self.https_port:
            wait_until(f"{self.name} Caddy", lambda: listening(self.https_port), 60, self.proc)
            wait_until(f"{self.name} Caddy's root certificate",
                       lambda: self.root_cert().exists(), 60, self.proc)

    def root_cert(self):
        return self.data / "portproxy" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def url(self, scheme, host, port):
        p = self.https_port if scheme == "https" else self.listen
        return f"{scheme}://{port}.{host}:{p}/"

    def command(self, *args):
        """A command (`share`, `unshare`) that talks to this instance; its stdout."""
        out = subprocess.run([binary_path(), *args], env=self.env, capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"portproxy {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout.strip()


def share_gone(link):
    """After `unshare`, the link (and its origin) must answer 410."""
    try:
        urllib.request.urlopen(link, timeout=10)
        return False, "the link still opens"
    except urllib.error.HTTPError as e:
        return e.code == 410, f"HTTP {e.code}"
    except OSError as e:
        return False, str(e)


_BINARY = None
_BUILD = "portproxy ?"


def binary_path():
    return _BINARY


def trust_store(home, certs):
    """An NSS database under a throwaway HOME that trusts Caddy's local CAs (Chromium on
    Linux reads $HOME/.pki/nssdb); nothing else on the machine is touched."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True, exist_ok=True)
    run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"])
    for i, cert in enumerate(certs):
        run(["certutil", "-A", "-d", f"sql:{db}", "-n", f"portproxy-compat-{i}",
             "-t", "C,,", "-i", str(cert)])


# ---------------------------------------------------------------------------------------
# Dev servers


def copy_fixture(name, dest):
    """Lay the fixture's files over `dest` (the app's folder in the cache), so each run
    starts from them even after the last run's HMR edits."""
    src = COMPAT / "apps" / name
    for path in src.rglob("*"):
        if path.is_file():
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def start_dev_server(procs, name, port, tmp):
    """Start `name` as its docs say; returns (process, app folder, extra for the browser)."""
    cmd, app, env, extra = dev_command(name, port, tmp)
    proc = procs.start(name, cmd, cwd=app, env=env)
    return proc, app, extra


def dev_command(name, port, tmp):
    """How `name` starts as its docs say, its project set up: (command, app folder,
    environment, extra for the browser)."""
    py = CACHE / "py" / "bin"
    env = node_env()
    extra = {}
    if name in ("vite", "next", "sveltekit", "webpack"):
        app = CACHE / "apps" / name
        copy_fixture(name, app)
        if name == "next":
            shutil.rmtree(app / ".next", ignore_errors=True)
        if name == "sveltekit":
            shutil.rmtree(app / ".svelte-kit", ignore_errors=True)
        binaries = app / "node_modules" / ".bin"
        cmd = {
            "vite": [binaries / "vite", "--port", port, "--strictPort"],
            "next": [binaries / "next", "dev", "--port", port],
            "sveltekit": [binaries / "vite", "dev", "--port", port, "--strictPort"],
            # No --port: an explicit port is baked into webpack-dev-server's HMR client, which
            # then dials that port on the page's hostname and goes around any proxy (docs/compatibility.md).
            # By default it takes 8080 or the next free port and announces it.
            "webpack": [binaries / "webpack", "serve"],
        }[name]
    elif name == "django":
        app = tmp / "django"
        app.mkdir()
        run([py / "django-admin", "startproject", "compatsite", app], stdout=sys.stderr)
        copy_fixture("django", app)
        urls = app / "compatsite" / "urls.py"
        urls.write_text(urls.read_text() + "\nimport compat_views\n\n"
                        "urlpatterns += compat_views.urlpatterns\n")
        env = dict(os.environ, DJANGO_SUPERUSER_USERNAME="compat",
                   DJANGO_SUPERUSER_PASSWORD="compat-password-1", DJANGO_SUPERUSER_EMAIL="c@example.com")
        run([py / "python", "manage.py", "migrate", "-v", "0"], cwd=app, env=env,
            stdout=sys.stderr)
        run([py / "python", "manage.py", "createsuperuser", "--noinput"], cwd=app, env=env,
            stdout=sys.stderr)
        extra = {"username": "compat", "password": "compat-password-1"}
        cmd = [py / "python", "manage.py", "runserver", port]
    elif name == "jupyter":
        app = tmp / "jupyter"
        app.mkdir()
        copy_fixture("jupyter", app)
        home = tmp / "jupyter-home"
        home.mkdir()
        # A token of our choosing, through the documented variable, so the browser can log in.
        env = dict(os.environ, HOME=str(home), JUPYTER_TOKEN=TOKEN,
                   JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   PATH=f"{py}:{os.environ['PATH']}")
        extra = {"token": TOKEN}
        # --allow-root only because this suite runs as root in CI.
        cmd = [py / "jupyter", "lab", "--no-browser", "--port", port]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
    elif name == "fastapi":
        app = tmp / "fastapi"
        app.mkdir()
        copy_fixture("fastapi", app)
        cmd = [py / "uvicorn", "main:app", "--port", port]
    else:
        raise ValueError(name)
    return cmd, app, env, extra


# ---------------------------------------------------------------------------------------
# The run


def main():
    global _BINARY, _BUILD
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frameworks", nargs="*", help=f"a subset of: {', '.join(FRAMEWORKS)}")
    parser.add_argument("--install-only", action="store_true")
    args = parser.parse_args()
    selected = args.frameworks or list(FRAMEWORKS)
    for name in selected:
        if name not in FRAMEWORKS:
            parser.error(f"unknown framework {name!r}; known: {', '.join(FRAMEWORKS)}")

    started = time.time()
    results_file = Path(os.environ.get("PORTPROXY_COMPAT_RESULTS")
                        or REPO / "target" / "compat" / "results.md")
    CACHE.mkdir(parents=True, exist_ok=True)

    # 1. Install (or reuse) the current releases.
    skipped = {}
    try:
        install_tools()
    except subprocess.CalledProcessError as e:
        say("FATAL: could not install playwright-core from npm:", e)
        return 2
    pip_error = None
    if any("pypi" in FRAMEWORKS[n] for n in selected):
        try:
            install_pypi()
        except subprocess.CalledProcessError as e:
            pip_error = f"pip install failed ({e.returncode})"
            say("WARNING:", pip_error)
    versions = {}
    for name in selected:
        spec = FRAMEWORKS[name]
        try:
            if "npm" in spec:
                install_npm_app(name, spec)
                versions[name] = npm_versions(name, spec)
            else:
                versions[name] = pypi_versions(spec)
        except (subprocess.CalledProcessError, OSError, ValueError, KeyError) as e:
            skipped[name] = f"could not be installed: {e}" + (f"; {pip_error}" if pip_error else "")
            say(f"SKIPPED {name}: {skipped[name]}")
    if args.install_only:
        print(json.dumps(versions, indent=2))
        return 0 if not skipped else 1

    for tool in (CHROMIUM, "caddy", "certutil"):
        if not shutil.which(tool):
            say(f"FATAL: {tool} is missing (Debian: apt-get install chromium caddy libnss3-tools)")
            return 2
    _BINARY = portproxy_binary()

    tmp = Path(tempfile.mkdtemp(prefix="portproxy-compat-"))
    # A copy of the binary, so a rebuild in the shared target/ can't change it mid-run.
    shutil.copy2(_BINARY, tmp / "portproxy")
    _BINARY = tmp / "portproxy"
    _BUILD = portproxy_version()
    procs = Procs(tmp)
    rows = []
    tls_internal = supports_tls_internal(_BINARY, tmp)
    try:
        # 2. Three portproxies for the four URL forms.
        serve = Portproxy(procs, tmp, "serve", "serve",
                          ["--domain", "localhost", "--domain", "dev.test", "--auth-token", TOKEN])
        local = Portproxy(procs, tmp, "run-local", "run", [], https=True)
        public = None
        if tls_internal:
            public = Portproxy(procs, tmp, "run-public", "run",
                               ["--domain", "dev.test", "--tls", "internal",
                                "--auth-token", TOKEN], https=True)
        else:
            say("WARNING: this portproxy has no `--tls internal`: https://PORT.dev.test is not run")
        for p in (serve, local, public):
            if p:
                p.wait_ready()
        home = tmp / "home"
        trust_store(home, [p.root_cert() for p in (local, public) if p])

        # 3. One framework at a time.
        for name in selected:
            spec = FRAMEWORKS[name]
            version = ", ".join(f"{k} {v}" for k, v in versions.get(name, {}).items())
            if name in skipped:
                for form, _ in FORMS:
                    for check in spec["checks"]:
                        rows.append([spec["title"], version or "-", form, check, "SKIPPED",
                                     skipped[name]])
                continue
            rows += run_framework(name, spec, version, procs, tmp, home, serve, local, public)
    finally:
        procs.stop_all()

    # 4. The table.
    elapsed = time.time() - started
    known = known_failures()
    still_open = open_failures()
    for r in rows:
        bug = still_open.get((r[0], r[2], r[3]))
        if bug and r[4] == "FAIL":
            r[4] = "FAIL (open)"
            r[5] = f"{bug} [{r[5]}]"
            continue
        if bug and r[4] == "pass":
            say(f"NOTE: {r[0]} {r[2]} {r[3]} passes now: remove it from {OPEN_FAILURES}")
        reason = known.get((r[0], r[3]))
        if reason and r[4] == "FAIL":
            r[4] = "FAIL (known)"
            r[5] = f"{reason} [{r[5]}]"
        elif reason and r[4] == "pass":
            say(f"NOTE: {r[0]} {r[2]} {r[3]} passes now: remove it from {KNOWN_FAILURES}")
    failed = [r for r in rows if r[4] == "FAIL"]
    known_rows = [r for r in rows if r[4] == "FAIL (known)"]
    open_rows = [r for r in rows if r[4] == "FAIL (open)"]
    skipped_rows = [r for r in rows if r[4] == "SKIPPED"]
    passed = [r for r in rows if r[4] == "pass"]
    table = render_table(rows, versions, elapsed) + "\n\n" + render_summary(rows)
    print(table)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(table + "\n")
    (results_file.with_suffix(".json")).write_text(json.dumps(
        {"versions": versions, "rows": rows, "seconds": round(elapsed)}, indent=2) + "\n")
    if failed or skipped_rows:
        say(f"results in {results_file}; logs and screenshots in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        say(f"results in {results_file}")
    for r in failed:
        say(f"FAILED: {r[0]} {r[2]} {r[3]}: {r[5]}")
    if skipped_rows:
        say("!" * 72)
        say(f"SKIPPED, NOT PASSED ({len(skipped_rows)} cells): "
            + "; ".join(sorted({f'{r[0]}: {r[5]}' for r in skipped_rows})))
        say("!" * 72)
    if known_rows:
        print(f"compat: {len(known_rows)} cells fail as {KNOWN_FAILURES.relative_to(REPO)} "
              "expects (FAIL (known) above), which alone does not fail the run")
    if open_rows:
        say("!" * 72)
        say(f"OPEN BUGS, NOT PASSED ({len(open_rows)} cells, {OPEN_FAILURES.relative_to(REPO)}): "
            + "; ".join(f"{r[0]} {r[2]} {r[3]}" for r in open_rows))
        say("!" * 72)
    print(f"compat: {len(passed)} passed, {len(failed)} failed, {len(open_rows)} open bugs, "
          f"{len(skipped_rows)} skipped")
    if failed:
        return 1
    if skipped_rows and os.environ.get("PORTPROXY_COMPAT_ALLOW_SKIP") != "1":
        say("skipped cells fail the run (PORTPROXY_COMPAT_ALLOW_SKIP=1 lets them through)")
        return 1
    return 0


def run_framework(name, spec, version, procs, tmp, home, serve, local, public):
    rows = []
    port = free_port()
    dev, app, extra = start_dev_server(procs, name, port, tmp)
    try:
        if name == "webpack":
            port = announced_port(procs, name, r"Loopback: http://localhost:(\d+)/", dev)
        warmup = 240 if name == "next" else 120
        wait_until(f"{name} on port {port}", lambda: listening(port), warmup, dev)
        # The first request compiles (Next.js, SvelteKit); make it here, straight to the dev
        # server, so the browser's timeouts measure the proxy, not the compiler.
        path = "/lab" if name == "jupyter" else "/form/" if name == "django" else "/"
        wait_until(f"{name} answering", lambda: http_ok(f"http://localhost:{port}{path}", 120),
                   warmup, dev)
    except RuntimeError as e:
        say(f"{name} did not start: {e}\n{procs.log_tail(name)}")
        procs.stop(dev)
        return [[spec["title"], version, form, check, "FAIL", f"dev server did not start: {e}"]
                for form, _ in FORMS for check in spec["checks"]]

    forms = [
        {"form": FORMS[0][0], "url": serve.url("http", "localhost", port)},
        {"form": FORMS[1][0], "url": local.url("https", "localhost", port)},
        {"form": FORMS[2][0], "url": serve.url("http", "dev.test", port), "token": TOKEN},
    ]
    if public:
        forms.append({"form": FORMS[3][0], "url": public.url("https", "dev.test", port),
                      "token": TOKEN})
    learnt = learnt_name(local, port)
    if learnt:
        forms.append({"form": FORMS[4][0],
                      "url": f"https://{learnt}.localhost:{local.https_port}/"})
    else:
        rows += [[spec["title"], version, FORMS[4][0], check, "FAIL",
                  f"portproxy gave port {port} no name (dev server in {app})"]
                 for check in spec["checks"]]
    # A share link: the browser's first visit carries the secret, the rest its cookie.
    link = None
    try:
        link = serve.command("share", str(port), "--for", "1h")
        forms.append({"form": FORMS[5][0], "url": link.split("?")[0], "link": link})
    except RuntimeError as e:
        say(f"could not share {name}: {e}")
    config = {
        "framework": name,
        "checks": spec["checks"],
        "forms": forms,
        "devPort": port,
        "app": str(app),
        "home": str(home),
        "shots": str(tmp / f"screenshot-{name}"),
        "idleSecs": int(os.environ.get("PORTPROXY_COMPAT_IDLE_SECS", "70")),
        "extra": extra,
        "chromium": CHROMIUM,
    }
    say(f"browsing {spec['title']} ({version})")
    out = subprocess.run(
        ["node", str(COMPAT / "browser.mjs"), json.dumps(config)],
        stdout=subprocess.PIPE, text=True, env=node_env(), timeout=900,
    )
    if link:
        serve.command("unshare", str(port))
        ok, detail = share_gone(link)
        rows.append([spec["title"], version, FORMS[5][0], "link gone after unshare (410)",
                     "pass" if ok else "FAIL", detail])
    procs.stop(dev)
    seen = set()
    for line in out.stdout.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        seen.add((r["form"], r["check"]))
        rows.append([spec["title"], version, r["form"], r["check"],
                     "pass" if r["ok"] else "FAIL", r.get("detail", "")])
    for form, _ in FORMS[:6]:
        for check in spec["checks"]:
            if (form, check) in seen or (form == FORMS[4][0] and not learnt):
                continue
            if form == FORMS[3][0] and not public:
                rows.append([spec["title"], version, form, check, "SKIPPED",
                             "portproxy has no --tls internal yet"])
            else:
                rows.append([spec["title"], version, form, check, "FAIL",
                             f"no result (browser driver exit {out.returncode})"])
    if any(r[4] == "FAIL" for r in rows):
        say(f"{name} log:\n{procs.log_tail(name, 60)}")
    if spec.get("phone"):
        rows += run_phone(name, spec, version, tmp, home)
    return rows


def run_phone(name, spec, version, tmp, home):
    """The LAN form: a second machine opens `share PORT --lan` (compat/phone.sh)."""
    form = FORMS[6][0]
    missing = [tool for tool in ("unshare", "ip") if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        why = f"needs root and {', '.join(missing) or 'network namespaces'} for the second machine"
        return [[spec["title"], version, form, check, "SKIPPED", why] for check in spec["checks"]]
    port = free_port()
    cmd, app, env, extra = dev_command(name, port, tmp)
    config = {
        "framework": name, "checks": spec["checks"],
        "forms": [{"form": form, "url": "@ORIGIN@/", "link": "@LINK@"}],
        "devPort": port, "app": str(app), "home": str(home),
        "shots": str(tmp / f"screenshot-{name}-phone"),
        "idleSecs": int(os.environ.get("PORTPROXY_COMPAT_IDLE_SECS", "70")),
        "extra": extra, "chromium": CHROMIUM,
    }
    config_file = tmp / f"phone-{name}.json"
    config_file.write_text(json.dumps(config))
    say(f"browsing {spec['title']} from a second machine (network namespaces)")
    out = subprocess.run(
        ["unshare", "--net", "sh", str(COMPAT / "phone.sh"), str(binary_path()), str(config_file),
         str(port), str(app), str(tmp), "--", *map(str, cmd)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=1500,
    )
    rows, seen = [], set()
    for line in out.stdout.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "gone" in r:
            rows.append([spec["title"], version, form, "link gone after unshare (410)",
                         "pass" if r["gone"] == 410 else "FAIL", f"HTTP {r['gone']}"])
            continue
        seen.add(r["check"])
        rows.append([spec["title"], version, form, r["check"], "pass" if r["ok"] else "FAIL",
                     r.get("detail", "")])
    why = out.stderr.strip().splitlines()[-3:] if out.stderr.strip() else []
    for check in spec["checks"]:
        if check not in seen:
            rows.append([spec["title"], version, form, check, "FAIL",
                         f"no result (phone.sh exit {out.returncode}): {' / '.join(why)}"])
    if out.returncode != 0 or any(r[4] == "FAIL" for r in rows):
        say(f"{name} from the second machine:\n{out.stderr[-3000:]}")
    return rows


def render_table(rows, versions, elapsed):
    lines = [
        f"portproxy compatibility suite, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{round(elapsed)} s; {_BUILD}; Chromium {chromium_version()}, Caddy {caddy_version()}, "
        f"Node {node_version()}, Python {sys.version.split()[0]}",
        "",
        "| framework | version | URL | check | result | detail |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        detail = r[5].replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {detail} |")
    return "\n".join(lines)


def open_failures():
    """compat/open-failures: `framework title | URL form | check | the bug` per line: cells
    that fail through a bug of portproxy's not fixed yet. They show as "FAIL (open)", are
    listed loudly at the end, and don't fail the run; a fix deletes the line."""
    found = {}
    if OPEN_FAILURES.exists():
        for line in OPEN_FAILURES.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                framework, form, check, bug = (part.strip() for part in line.split("|", 3))
                found[(framework, form, check)] = bug
    return found


def known_failures():
    """compat/known-failures: `framework title | check | why` per line. Such a cell still shows
    as failing in the table, with the reason; it does not fail the run on its own."""
    known = {}
    if KNOWN_FAILURES.exists():
        for line in KNOWN_FAILURES.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                framework, check, why = (part.strip() for part in line.split("|", 2))
                known[(framework, check)] = why
    return known


def render_summary(rows):
    """One line per framework: each URL form's verdict (docs/compatibility.md's table)."""
    forms = [f for f, _ in FORMS]
    lines = ["| framework | version | " + " | ".join(f"`{f}/`" for f in forms) + " |",
             "|---|---|" + "---|" * len(forms)]
    order = []
    for r in rows:
        if (r[0], r[1]) not in order:
            order.append((r[0], r[1]))
    for title, version in order:
        cells = []
        for form in forms:
            mine = [r for r in rows if r[0] == title and r[2] == form]
            bad = [r for r in mine if r[4] != "pass"]
            if not mine:
                cells.append("-")
            elif not bad:
                cells.append("pass")
            elif all(r[4] == "SKIPPED" for r in bad):
                cells.append("SKIPPED")
            else:
                failing = [r for r in bad if r[4] != "SKIPPED"]
                labels = {r[4] for r in failing}
                label = labels.pop() if len(labels) == 1 else "FAIL"
                cells.append(f"{label}: " + ", ".join(r[3] for r in failing))
        lines.append(f"| {title} | {version} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
        return out.split()[1] if cmd[0] == CHROMIUM else out.split()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def portproxy_version():
    """`portproxy X.Y.Z` and, from newer builds, the commit it was built from."""
    try:
        lines = subprocess.run([str(_BINARY), "--version"], capture_output=True, text=True,
                               timeout=20).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return "portproxy ?"
    return ", ".join(line.strip() for line in lines[:2]) or "portproxy ?"


def chromium_version():
    return tool_version([CHROMIUM, "--version"])


def caddy_version():
    return tool_version(["caddy", "version"])


def node_version():
    return tool_version(["node", "--version"])


if __name__ == "__main__":
    sys.exit(main())
