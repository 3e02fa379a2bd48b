#!/usr/bin/env bash
# What a developer waits for: a Vite dev server page with MODULES ES modules, loaded in headless
# Chromium with a fresh profile each time, timed to the `load` event. Three ways in:
#   direct     http://localhost:VITE_PORT
#   portproxy  http://VITE_PORT.localhost:LISTEN        (portproxy serve, HTTP/1.1)
#   caddy      https://VITE_PORT.localhost:HTTPS_PORT   (portproxy run: Caddy's TLS, HTTP/2)
# Median of RUNS loads per way, interleaved. See bench/README.md.
#
# Env knobs (defaults in brackets):
#   MODULES [1000]   ES modules in the app (a 10-ary import tree under src/main.js)
#   RUNS [5]         measured loads per way (after one unmeasured warm-up load each)
#   WAYS [direct portproxy caddy]
#   WORKERS [2]      portproxy threads
#   PORTPROXY_BIN [target/release/portproxy]
#   CADDY [target/caddy-2.11.7/caddy, else caddy on PATH]
#   CHROMIUM [chromium on PATH]
#   APP_DIR [target/pageload-app]  where Vite is installed (npm install, once) and the app is written
#   KEEP_TMP [0]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODULES=${MODULES:-1000}
RUNS=${RUNS:-5}
WAYS=${WAYS:-direct portproxy caddy}
WORKERS=${WORKERS:-2}
PORTPROXY_BIN=${PORTPROXY_BIN:-$ROOT/target/release/portproxy}
if [[ -z ${CADDY:-} ]]; then
	if [[ -x $ROOT/target/caddy-2.11.7/caddy ]]; then
		CADDY=$ROOT/target/caddy-2.11.7/caddy
	else
		CADDY=$(command -v caddy || true)
	fi
fi
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
APP_DIR=${APP_DIR:-$ROOT/target/pageload-app}
VITE_VERSION=6.4.6

BENCH=pageload
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

for tool in node npm curl python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (apt-get install -y nodejs npm curl python3)"
done
[[ -n $CHROMIUM ]] || die "chromium is needed (apt-get install -y chromium)"
[[ $RUNS =~ ^[1-9][0-9]*$ && $MODULES =~ ^[1-9][0-9]*$ ]] || die "RUNS and MODULES must be positive integers"
for w in $WAYS; do
	case $w in
	direct | portproxy) ;;
	caddy) [[ -n $CADDY && -x $CADDY ]] || die "the caddy way needs Caddy (set CADDY=...)" ;;
	*) die "unknown way '$w' (use direct portproxy caddy)" ;;
	esac
done
if [[ ! -x $PORTPROXY_BIN ]]; then
	(cd "$ROOT" && cargo build --release --bin portproxy) || die "build failed"
fi

# ------------------------------------------------------------------ app ----
mkdir -p "$APP_DIR"
if [[ ! -x $APP_DIR/node_modules/.bin/vite ]]; then
	log "installing vite@$VITE_VERSION in $APP_DIR"
	printf '{"private": true, "type": "module"}\n' >"$APP_DIR/package.json"
	(cd "$APP_DIR" && npm install --no-audit --no-fund "vite@$VITE_VERSION" >npm.log 2>&1) ||
		die "npm install vite failed: $(tail -n 5 "$APP_DIR/npm.log")"
fi
# Module k imports modules 10k+1 .. 10k+10: a tree four levels deep for 1000 modules, so the
# browser discovers imports in waves, as in a real app.
python3 - "$APP_DIR" "$MODULES" <<'EOF'
import os, shutil, sys
app, n = sys.argv[1], int(sys.argv[2])
src = os.path.join(app, "src")
shutil.rmtree(src, ignore_errors=True)
os.makedirs(src)
for k in range(n):
    kids = [c for c in range(10 * k + 1, 10 * k + 11) if c < n]
    lines = [f"import m{c} from './m{c}.js';" for c in kids]
    total = " + ".join([f"m{c}" for c in kids] + ["1"])
    body = "// " + "padding of a realistic module size " * 20 + "\n"
    lines.append(f"export default {total};\n{body}")
    with open(os.path.join(src, f"m{k}.js"), "w") as f:
        f.write("\n".join(lines))
with open(os.path.join(src, "main.js"), "w") as f:
    f.write("import m0 from './m0.js';\ndocument.body.dataset.modules = String(m0);\n")
with open(os.path.join(app, "index.html"), "w") as f:
    f.write("""<!doctype html>
<html><head><meta charset="utf-8"><title>pageload</title>
<script>addEventListener('load', () => { document.body.dataset.load = performance.now().toFixed(1); });</script>
<script type="module" src="/src/main.js"></script></head>
<body></body></html>
""")
EOF

# ------------------------------------------------------------- processes ----
start_tmp

read -r VITE_PORT PP_PORT PP_ADMIN RUN_PORT RUN_ADMIN RUN_HTTPS RUN_HTTP < <(
	python3 -c '
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])'
)

wait_url() { # wait_url PID URL [curl args]
	local pid=$1 url=$2 i
	shift 2
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || die "process $pid exited during startup"
		curl -kfsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null && return 0
		sleep 0.1
	done
	die "$url not ready after 30s"
}

(cd "$APP_DIR" && exec node_modules/.bin/vite --port "$VITE_PORT" --strictPort --host localhost) \
	>"$TMP/vite.log" 2>&1 &
PIDS+=("$!")
wait_url "$!" "http://localhost:$VITE_PORT/"
log "vite $VITE_VERSION on localhost:$VITE_PORT, $MODULES modules"

for w in $WAYS; do
	case $w in
	portproxy)
		RUST_LOG=warn "$PORTPROXY_BIN" serve --listen "127.0.0.1:$PP_PORT" --admin "127.0.0.1:$PP_ADMIN" \
			--threads "$WORKERS" >"$TMP/portproxy.log" 2>&1 &
		PIDS+=("$!")
		wait_url "$!" "http://127.0.0.1:$PP_PORT/" -H "Host: $VITE_PORT.localhost"
		;;
	caddy)
		RUST_LOG=warn XDG_DATA_HOME="$TMP/run-data" XDG_CONFIG_HOME="$TMP/run-config" \
			"$PORTPROXY_BIN" run --listen "127.0.0.1:$RUN_PORT" --admin "127.0.0.1:$RUN_ADMIN" \
			--https-port "$RUN_HTTPS" --http-port "$RUN_HTTP" --threads "$WORKERS" --caddy "$CADDY" \
			>"$TMP/portproxy-run.log" 2>&1 &
		PIDS+=("$!")
		wait_url "$!" "https://localhost:$RUN_HTTPS/" -H "Host: $VITE_PORT.localhost"
		;;
	esac
done

url_for() {
	case $1 in
	direct) printf 'http://localhost:%s/' "$VITE_PORT" ;;
	portproxy) printf 'http://%s.localhost:%s/' "$VITE_PORT" "$PP_PORT" ;;
	caddy) printf 'https://%s.localhost:%s/' "$VITE_PORT" "$RUN_HTTPS" ;;
	esac
}

# load WAY N -> milliseconds from navigation start to the load event, with a fresh profile.
# The page must have run every module (data-modules = MODULES), so an error page never counts.
load() {
	local profile="$TMP/profile-$1-$2" dom ms mods
	dom=$(timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$profile" --ignore-certificate-errors --disable-extensions \
		--dump-dom "$(url_for "$1")" 2>"$TMP/chromium.log") || die "chromium failed on $1"
	rm -rf "$profile"
	ms=$(sed -n 's/.*data-load="\([0-9.]*\)".*/\1/p' <<<"$dom")
	mods=$(sed -n 's/.*data-modules="\([0-9]*\)".*/\1/p' <<<"$dom")
	[[ -n $ms && $mods == "$MODULES" ]] || die "$1: the page did not load all $MODULES modules (got '${mods:-none}')"
	printf '%s\n' "$ms"
}

declare -A MS
for w in $WAYS; do
	log "warm-up load: $w (Vite's transform cache, Caddy's certificate)"
	load "$w" 0 >/dev/null
done
for ((r = 1; r <= RUNS; r++)); do
	for w in $WAYS; do
		ms=$(load "$w" "$r")
		MS[$w]+="$ms "
		log "run $r/$RUNS  $w  $ms ms"
	done
done

median() {
	tr -s ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END {
		if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.0f\n", m }'
}

echo
echo "page load: Vite $VITE_VERSION, $MODULES ES modules, headless $("$CHROMIUM" --version 2>/dev/null | awk '{ print $1, $2 }'), fresh profile per load"
echo "median of $RUNS loads, navigation start -> load event; $(nproc) cores, loopback"
printf '  %-10s %-48s %8s %8s\n' way url "ms" "x direct"
direct=""
[[ $WAYS == *direct* ]] && direct=$(median "${MS[direct]}")
for w in $WAYS; do
	m=$(median "${MS[$w]}")
	x=$(awk -v a="$m" -v b="${direct:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf '  %-10s %-48s %8s %8s   (%s)\n' "$w" "$(url_for "$w")" "$m" "$x" "${MS[$w]% }"
done
