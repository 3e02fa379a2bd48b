#!/usr/bin/env bash
# Compare HTTP/1.1 keepalive throughput and latency of
#   direct:    wrk -> backend
#   nginx:     wrk -> nginx proxy_pass (upstream keepalive) -> backend
#   portproxy: wrk -> portproxy -> backend
# in one interleaved run. See bench/README.md.
#
# Env knobs (defaults in brackets):
#   CONNS [32]          wrk connections (-c)
#   WRK_THREADS [2]     wrk threads (-t)
#   DURATION [10s]      wrk duration per measured run (-d)
#   ROUNDS [3]          interleaved rounds; medians are taken across rounds
#   WARMUP [2s]         one unmeasured wrk run per target and path first ("0" skips)
#   WORKERS [2]         nginx proxy worker_processes and portproxy --threads
#   BACKEND_WORKERS [2] worker_processes of the backend nginx
#   PATHS [/]           space-separated request paths: "/" (12-byte body),
#                       "/16k" (16 KiB body), e.g. PATHS="/ /16k"
#   TARGETS [direct nginx floor portproxy]  subset/order of targets; `floor` is the
#                       smallest Pingora proxy (examples/floor.rs), what portproxy
#                       costs beyond Pingora itself
#   PORTPROXY_BIN [target/release/portproxy]  binary to benchmark
#   BUILD [0]           1 = always run `cargo build --release` first
#   KEEP_TMP [0]        1 = keep the temp dir (configs, logs, raw wrk output)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-2}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
WORKERS=${WORKERS:-2}
BACKEND_WORKERS=${BACKEND_WORKERS:-2}
PATHS=${PATHS:-/}
TARGETS=${TARGETS:-direct nginx floor portproxy}
PORTPROXY_BIN=${PORTPROXY_BIN:-$ROOT/target/release/portproxy}
FLOOR_BIN=$ROOT/target/release/examples/floor
BUILD=${BUILD:-0}
KEEP_TMP=${KEEP_TMP:-0}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools ----
missing=()
for tool in wrk nginx curl python3 awk; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    printf '[bench] missing tools: %s\n' "${missing[*]}" >&2
    printf '[bench] on Debian/Ubuntu: apt-get install -y wrk nginx curl python3 gawk\n' >&2
    exit 1
fi
NGINX=$(command -v nginx)

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer (got '$WORKERS')"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive integer (got '$CONNS')"

want_portproxy=0
for t in $TARGETS; do
    case $t in
        direct | nginx) ;;
        portproxy | floor) want_portproxy=1 ;;
        *) die "unknown target '$t' in TARGETS (use direct, nginx, floor, portproxy)" ;;
    esac
done
for p in $PATHS; do
    case $p in
        / | /16k) ;;
        *) die "unknown path '$p' in PATHS (use / or /16k)" ;;
    esac
done

if ((want_portproxy)); then
    if [[ $BUILD == 1 || ! -x $PORTPROXY_BIN || ! -x $FLOOR_BIN ]]; then
        log "building portproxy: (cd $ROOT && cargo build --release --bin portproxy --example floor)"
        if ! (cd "$ROOT" && cargo build --release --bin portproxy --example floor); then
            die "cargo build --release failed; fix the build or run with TARGETS=\"direct nginx\""
        fi
    fi
    [[ -x $PORTPROXY_BIN ]] || die "$PORTPROXY_BIN not found after build"
    if [[ $PORTPROXY_BIN == "$ROOT/target/release/portproxy" &&
        -n $(find "$ROOT/src" "$ROOT/Cargo.toml" -newer "$PORTPROXY_BIN" -print -quit 2>/dev/null) ]]; then
        log "warning: sources are newer than $PORTPROXY_BIN (run with BUILD=1 to rebuild)"
    fi
fi

# ------------------------------------------------------------- temp/trap ----
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portproxy-bench.XXXXXX")
# nginx workers may run as an unprivileged user; they must reach www/ files.
chmod 755 "$TMP"
PIDS=()

cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if ((rc != 0 && rc != 130 && rc != 143)); then
        local f
        for f in "$TMP"/*.log; do
            [[ -s $f ]] || continue
            printf '[bench] --- tail of %s ---\n' "$f" >&2
            tail -n 20 "$f" >&2
        done
    fi
    if [[ $KEEP_TMP == 1 ]] || ((rc != 0 && rc != 130 && rc != 143)); then
        log "temp dir kept: $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- ports ----
# Pick distinct free loopback ports; the backend port is also checked on ::1.
read -r BACKEND_PORT NGINX_PORT PP_PORT PP_ADMIN_PORT FLOOR_PORT < <(python3 - <<'EOF'
import socket
held, ports = [], []
while len(ports) < 5:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    held.append(s)
    if not ports:  # backend: must also be free on [::1] when IPv6 exists
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s6.bind(("::1", port))
            held.append(s6)
        except OSError as e:
            if getattr(e, "errno", None) == 98:  # EADDRINUSE: try another
                continue
    ports.append(port)
print(*ports)
for s in held:
    s.close()
EOF
)
[[ -n ${PP_ADMIN_PORT:-} ]] || die "could not pick free ports"

HAVE_V6=0
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
    HAVE_V6=1
fi

HOST_HEADER="$BACKEND_PORT.localhost"

# -------------------------------------------------------------- configs ----
mkdir -p "$TMP/www" "$TMP/backend" "$TMP/proxy"
printf 'hello world\n' >"$TMP/www/index.txt"
python3 -c 'import sys; sys.stdout.write(("0123456789abcde\n" * 1024))' >"$TMP/www/16k"

# Common http-level settings: no access log, temp paths inside $TMP, and
# effectively unlimited keepalive requests so connections are never recycled
# mid-run (nginx 1.22 closes a keepalive connection after 1000 requests).
nginx_common() {
    local dir=$1
    cat <<EOF
    access_log off;
    default_type text/plain;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;
EOF
}

v6_listen=""
if ((HAVE_V6)); then
    v6_listen="listen [::1]:$BACKEND_PORT;"
fi

cat >"$TMP/backend/nginx.conf" <<EOF
daemon off;
worker_processes $BACKEND_WORKERS;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend-error.log warn;
events { worker_connections 4096; }
http {
$(nginx_common "$TMP/backend")
    server {
        listen 127.0.0.1:$BACKEND_PORT;
        $v6_listen
        server_name _;
        location = / { return 200 "hello world\n"; }
        location = /16k {
            root $TMP/www;
            open_file_cache max=16 inactive=600s;
            open_file_cache_valid 600s;
        }
    }
}
EOF

cat >"$TMP/proxy/nginx.conf" <<EOF
daemon off;
worker_processes $WORKERS;
pid $TMP/proxy/nginx.pid;
error_log $TMP/nginx-proxy-error.log warn;
events { worker_connections 4096; }
http {
$(nginx_common "$TMP/proxy")
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        server_name _;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF

# ---------------------------------------------------------------- start ----
# wait_ready NAME PID URL [curl args...]
wait_ready() {
    local name=$1 pid=$2 url=$3 i
    shift 3
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during startup"
        if curl -fsS -o /dev/null --max-time 1 "$@" "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$name not ready after 10s ($url)"
}

# check_body NAME URL EXPECTED_BYTES: one request through a target must
# return 200 with the backend's body, so we never benchmark error pages.
check_body() {
    local name=$1 url=$2 want=$3 got
    got=$(curl -fsS --max-time 5 -H "Host: $HOST_HEADER" -o /dev/null -w '%{http_code} %{size_download}' "$url") ||
        die "$name: request to $url failed"
    [[ $got == "200 $want" ]] || die "$name: $url returned '$got', expected '200 $want'"
}

log "backend nginx on 127.0.0.1:$BACKEND_PORT$( ((HAVE_V6)) && printf ' and [::1]:%s' "$BACKEND_PORT")"
"$NGINX" -p "$TMP/backend" -e "$TMP/backend-error.log" -c "$TMP/backend/nginx.conf" \
    >"$TMP/backend-stdout.log" 2>&1 &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_ready backend "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/"

NGINX_PID=""
PP_PID=""
for t in $TARGETS; do
    case $t in
        nginx)
            log "nginx proxy on 127.0.0.1:$NGINX_PORT (worker_processes $WORKERS)"
            "$NGINX" -p "$TMP/proxy" -e "$TMP/nginx-proxy-error.log" -c "$TMP/proxy/nginx.conf" \
                >"$TMP/nginx-proxy-stdout.log" 2>&1 &
            NGINX_PID=$!
            PIDS+=("$NGINX_PID")
            wait_ready "nginx proxy" "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/"
            ;;
        portproxy)
            log "portproxy on 127.0.0.1:$PP_PORT, admin 127.0.0.1:$PP_ADMIN_PORT (--threads $WORKERS)"
            RUST_LOG=${RUST_LOG:-warn} "$PORTPROXY_BIN" serve \
                --listen "127.0.0.1:$PP_PORT" \
                --admin "127.0.0.1:$PP_ADMIN_PORT" \
                --threads "$WORKERS" \
                >"$TMP/portproxy.log" 2>&1 &
            PP_PID=$!
            PIDS+=("$PP_PID")
            wait_ready portproxy "$PP_PID" "http://127.0.0.1:$PP_ADMIN_PORT/healthz"
            ;;
        floor)
            log "floor (bare Pingora, fixed upstream) on 127.0.0.1:$FLOOR_PORT (--threads $WORKERS)"
            "$FLOOR_BIN" "127.0.0.1:$FLOOR_PORT" "127.0.0.1:$BACKEND_PORT" "$WORKERS" \
                >"$TMP/floor.log" 2>&1 &
            FLOOR_PID=$!
            PIDS+=("$FLOOR_PID")
            wait_ready floor "$FLOOR_PID" "http://127.0.0.1:$FLOOR_PORT/"
            ;;
    esac
done

url_for() {
    case $1 in
        direct) printf 'http://127.0.0.1:%s' "$BACKEND_PORT" ;;
        nginx) printf 'http://127.0.0.1:%s' "$NGINX_PORT" ;;
        portproxy) printf 'http://127.0.0.1:%s' "$PP_PORT" ;;
        floor) printf 'http://127.0.0.1:%s' "$FLOOR_PORT" ;;
    esac
}

body_size() {
    case $1 in
        /) printf '12' ;;
        /16k) printf '16384' ;;
    esac
}

for p in $PATHS; do
    for t in $TARGETS; do
        check_body "$t" "$(url_for "$t")$p" "$(body_size "$p")"
    done
done

# ------------------------------------------------------------------ wrk ----
# parse_wrk FILE -> "req_per_sec p99_ms errors"
parse_wrk() {
    awk '
        function to_ms(v,   n, u) {
            n = v + 0
            u = v; sub(/^[0-9.]+/, "", u)
            if (u == "us") return n / 1000
            if (u == "ms") return n
            if (u == "s")  return n * 1000
            if (u == "m")  return n * 60000
            if (u == "h")  return n * 3600000
            return -1
        }
        /^Requests\/sec:/ { rps = $2 }
        /^[ \t]+99%/ { p99 = to_ms($2) }
        /Socket errors:/ {
            # Socket errors: connect 0, read 0, write 0, timeout 0
            for (i = 3; i <= NF; i += 2) { v = $(i + 1); sub(/,/, "", v); err += v }
        }
        /Non-2xx or 3xx responses:/ { err += $NF }
        END {
            if (rps == "" || p99 == "") exit 1
            printf "%s %.3f %d\n", rps, p99, err
        }
    ' "$1"
}

run_wrk() { # run_wrk TARGET PATH DURATION OUTFILE
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"$3" --latency \
        -H "Host: $HOST_HEADER" "$(url_for "$1")$2" >"$4" 2>&1
}

declare -A RPS P99 ERRS
total_runs=0
for p in $PATHS; do
    for t in $TARGETS; do total_runs=$((total_runs + ROUNDS)); done
done
log "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency, $ROUNDS round(s), targets: $TARGETS, paths: $PATHS ($total_runs measured runs)"

for p in $PATHS; do
    if [[ $WARMUP != 0 ]]; then
        for t in $TARGETS; do
            log "warmup $t $p ($WARMUP)"
            run_wrk "$t" "$p" "$WARMUP" "$TMP/warmup-$t.txt" ||
                die "wrk warmup failed for $t: $(tail -n 3 "$TMP/warmup-$t.txt")"
        done
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in $TARGETS; do
            out="$TMP/wrk-${p//\//_}-$t-$r.txt"
            run_wrk "$t" "$p" "$DURATION" "$out" || die "wrk failed for $t: $(tail -n 3 "$out")"
            res=$(parse_wrk "$out") || die "could not parse wrk output: $out"
            read -r rps p99 err <<<"$res"
            RPS[$p,$t]+="$rps "
            P99[$p,$t]+="$p99 "
            ERRS[$p,$t]=$((${ERRS[$p,$t]:-0} + err))
            printf '[bench] round %d/%d  %-9s %-5s %12.2f req/s  p99 %8.3f ms  errors %d\n' \
                "$r" "$ROUNDS" "$t" "$p" "$rps" "$p99" "$err" >&2
        done
    done
done

# --------------------------------------------------------------- report ----
median() { # median of whitespace-separated numbers
    tr -s ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.4f\n", m }'
}

ratio() { # ratio A B -> A/B with 3 decimals, "-" if unavailable
    awk -v a="${1:--}" -v b="${2:--}" 'BEGIN {
        if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.3f\n", a / b }'
}

rss_line() { # rss_line NAME PID...: VmRSS / VmHWM summed over the given pids
    local name=$1 pid rss=0 hwm=0 v
    shift
    for pid in "$@"; do
        [[ -r /proc/$pid/status ]] || continue
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
        rss=$((rss + ${v:-0}))
        v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
        hwm=$((hwm + ${v:-0}))
    done
    printf '%-24s VmRSS %8.1f MiB   VmHWM %8.1f MiB\n' "$name" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
}

children() { # direct children of a pid (nginx workers)
    local f
    for f in /proc/"$1"/task/*/children; do
        [[ -r $f ]] && cat "$f"
    done
}

echo
echo "portproxy benchmark: wrk -t$WRK_THREADS -c$CONNS -d$DURATION, median of $ROUNDS interleaved round(s)"
echo "proxy workers/threads: $WORKERS   backend workers: $BACKEND_WORKERS   cores: $(nproc)"
for p in $PATHS; do
    declare -A MR=() MP=()
    echo
    echo "path $p ($(body_size "$p")-byte body)"
    printf '  %-10s %12s %10s %8s\n' target req/s "p99 ms" errors
    for t in $TARGETS; do
        MR[$t]=$(median "${RPS[$p,$t]}")
        MP[$t]=$(median "${P99[$p,$t]}")
        printf '  %-10s %12.2f %10.3f %8d\n' "$t" "${MR[$t]}" "${MP[$t]}" "${ERRS[$p,$t]}"
    done
    echo "  ratios:"
    printf '    %-28s %s\n' \
        "portproxy/nginx req/s" "$(ratio "${MR[portproxy]:-}" "${MR[nginx]:-}")" \
        "portproxy/floor req/s" "$(ratio "${MR[portproxy]:-}" "${MR[floor]:-}")" \
        "floor/nginx req/s" "$(ratio "${MR[floor]:-}" "${MR[nginx]:-}")" \
        "portproxy/floor p99" "$(ratio "${MP[portproxy]:-}" "${MP[floor]:-}")" \
        "portproxy/direct req/s" "$(ratio "${MR[portproxy]:-}" "${MR[direct]:-}")" \
        "nginx/direct req/s" "$(ratio "${MR[nginx]:-}" "${MR[direct]:-}")" \
        "portproxy/nginx p99" "$(ratio "${MP[portproxy]:-}" "${MP[nginx]:-}")"
    unset MR MP
done

echo
echo "memory after the run:"
if [[ -n $PP_PID ]]; then
    rss_line "portproxy" "$PP_PID"
fi
if [[ -n $NGINX_PID ]]; then
    # shellcheck disable=SC2046  # word splitting of the pid list is intended
    rss_line "nginx proxy (all procs)" "$NGINX_PID" $(children "$NGINX_PID")
fi
# shellcheck disable=SC2046
rss_line "backend (all procs)" "$BACKEND_PID" $(children "$BACKEND_PID")

if [[ -n $PP_PID ]] && grep -qiE 'error|panic' "$TMP/portproxy.log" 2>/dev/null; then
    echo
    echo "note: portproxy logged errors/panics; last lines:"
    grep -iE 'error|panic' "$TMP/portproxy.log" | tail -n 5
fi
