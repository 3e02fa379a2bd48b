#!/usr/bin/env python3
"""How fast the dashboard answers with many listening ports, and whether reading them (the
process table) holds up proxied requests. See bench/README.md, "Dashboard".

Opens PORTS listening loopback ports held by PROCS processes (like dev servers), starts
`portproxy serve`, then times N sequential requests each to the dashboard page and to
/api/ports (median and p99, goal < 50 ms), and the p99 of a proxied request to a small
HTTP backend alone and while the dashboard is fetched in a loop beside it.

Environment: PORTS [200], PROCS [20], N [200], PORTPROXY_BIN [target/release/portproxy].
"""

import http.client
import http.server
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = int(os.environ.get("PORTS", "200"))
PROCS = int(os.environ.get("PROCS", "20"))
N = int(os.environ.get("N", "200"))
BIN = os.environ.get("PORTPROXY_BIN", os.path.join(ROOT, "target/release/portproxy"))
GOAL_MS = 50.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hold_ports(count):
    """A child process listening on `count` loopback ports until it is killed."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        held = []
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen()
            held.append(s)
        os.write(write, b"x")
        signal.pause()
        os._exit(0)
    os.close(write)
    os.read(read, 1)
    os.close(read)
    return pid


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self):
        body = b"<!doctype html><title>bench app</title><p>hello</p>\n"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def timed(conn, host, path, accept):
    start = time.perf_counter()
    conn.request("GET", path, headers={"Host": host, "Accept": accept})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        sys.exit(f"{host}{path}: {response.status} {body[:200]!r}")
    return elapsed, body


def summary(name, samples, goal=None):
    samples = sorted(samples)
    median = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    verdict = "" if goal is None else f"   < {goal:.0f} ms: {'yes' if p99 < goal else 'NO'}"
    print(f"{name:<34} median {median:7.2f} ms   p99 {p99:7.2f} ms{verdict}")
    return p99


def main():
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    children = [hold_ports(PORTS // PROCS + (i < PORTS % PROCS)) for i in range(PROCS)]
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    home = tempfile.mkdtemp(prefix="portproxy-dashboard-bench.")
    listen, admin = free_port(), free_port()
    env = dict(os.environ, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home, RUST_LOG="warn")
    proxy = subprocess.Popen(
        [BIN, "serve", "--listen", f"127.0.0.1:{listen}", "--admin", f"127.0.0.1:{admin}"],
        env=env,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", admin), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        dashboard = f"localhost:{listen}"
        app = f"{backend.server_address[1]}.localhost:{listen}"
        conn = http.client.HTTPConnection("127.0.0.1", listen)
        _, body = timed(conn, dashboard, "/api/ports", "application/json")
        listed = body.count(b'"port":')
        print(f"{listed} ports listed ({PORTS} opened by {PROCS} processes), {N} requests each")
        html = [timed(conn, dashboard, "/", "text/html")[0] for _ in range(N)]
        api = [timed(conn, dashboard, "/api/ports", "application/json")[0] for _ in range(N)]
        worst = max(
            summary("dashboard page", html, GOAL_MS), summary("/api/ports", api, GOAL_MS)
        )

        proxied = http.client.HTTPConnection("127.0.0.1", listen)
        alone = [timed(proxied, app, "/", "text/html")[0] for _ in range(N)]
        summary("proxied request", alone)
        busy = threading.Event()

        def fetch_dashboard():
            side = http.client.HTTPConnection("127.0.0.1", listen)
            while not busy.is_set():
                timed(side, dashboard, "/api/ports", "application/json")

        beside = threading.Thread(target=fetch_dashboard)
        beside.start()
        try:
            loaded = [timed(proxied, app, "/", "text/html")[0] for _ in range(N)]
        finally:
            busy.set()
            beside.join()
        summary("proxied, dashboard fetched beside", loaded)
        if worst >= GOAL_MS:
            sys.exit(1)
    finally:
        proxy.terminate()
        proxy.wait()
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
