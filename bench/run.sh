#!/usr/bin/env bash
# Compare HTTP/1.1 keepalive throughput, latency and CPU per request of
#   direct:       wrk -> backend
#   nginx:        wrk -> nginx proxy_pass (upstream keepalive) -> backend
#   floor:        wrk -> bare Pingora (examples/floor.rs), Pingora's default server -> backend
#   floor-st:     wrk -> bare Pingora, portproxy's layout (one 1-thread service per thread)
#   portproxy:    wrk -> portproxy serve -> backend
#   caddy:        wrk -> Caddy reverse_proxy -> backend                      (plain HTTP)
#   caddy-pp:     wrk -> Caddy -> portproxy (as `portproxy run` reaches it) -> backend
#   caddy-pp-tcp: the same over loopback TCP, to weigh the Unix sockets
#   caddy-tls:    wrk -> Caddy (TLS, local CA) -> backend
#   caddy-pp-tls: wrk -> `portproxy run` (its own Caddy, TLS) -> portproxy -> backend
# in one interleaved run. See bench/README.md.
#
# Env knobs (defaults in brackets):
#   CONNS [32]          wrk connections (-c)
#   WRK_THREADS [2]     wrk threads (-t)
#   DURATION [10s]      wrk duration per measured run (-d)
#   ROUNDS [3]          interleaved rounds; medians are taken across rounds
#   WARMUP [2s]         one unmeasured wrk run per target and path first ("0" skips)
#   WORKERS [2]         nginx proxy worker_processes and portproxy/floor threads
#   BACKEND_WORKERS [2] worker_processes of the backend nginx
#   PATHS [/]           space-separated request paths: "/" (12-byte body),
#                       "/16k" (16 KiB body), e.g. PATHS="/ /16k"
#   TARGETS [all of the above]  subset/order of targets
#   PORTPROXY_BIN [target/release/portproxy]  binary to benchmark
#   CADDY [target/caddy-2.11.7/caddy, else caddy on PATH]  Caddy for the caddy* targets
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
TARGETS=${TARGETS:-direct nginx floor floor-st portproxy caddy caddy-pp caddy-pp-tcp caddy-tls caddy-pp-tls}
PORTPROXY_BIN=${PORTPROXY_BIN:-$ROOT/target/release/portproxy}
FLOOR_BIN=$ROOT/target/release/examples/floor
if [[ -z ${CADDY:-} ]]; then
	if [[ -x $ROOT/target/caddy-2.11.7/caddy ]]; then
		CADDY=$ROOT/target/caddy-2.11.7/caddy
	else
		CADDY=$(command -v caddy || true)
	fi
fi
BUILD=${BUILD:-0}

BENCH=bench
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

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

want_build=0 want_caddy=0
for t in $TARGETS; do
	case $t in
	direct | nginx) ;;
	floor | floor-st) want_build=1 ;;
	portproxy) want_build=1 ;;
	caddy | caddy-tls) want_caddy=1 ;;
	caddy-pp | caddy-pp-tcp | caddy-pp-tls) want_build=1 want_caddy=1 ;;
	*) die "unknown target '$t' in TARGETS (use direct nginx floor floor-st portproxy caddy caddy-pp caddy-pp-tcp caddy-tls caddy-pp-tls)" ;;
	esac
done
for p in $PATHS; do
	case $p in
	/ | /16k) ;;
	*) die "unknown path '$p' in PATHS (use / or /16k)" ;;
	esac
done
if ((want_caddy)); then
	[[ -n $CADDY && -x $CADDY ]] ||
		die "no Caddy for the caddy targets: set CADDY=/path/to/caddy, apt-get install -y caddy, or leave them out of TARGETS"
fi

if ((want_build)); then
	if [[ $BUILD == 1 || ! -x $PORTPROXY_BIN || ! -x $FLOOR_BIN ]]; then
		log "building: (cd $ROOT && cargo build --release --bin portproxy --example floor)"
		if ! (cd "$ROOT" && cargo build --release --bin portproxy --example floor); then
			die "cargo build --release failed; fix the build or run with TARGETS=\"direct nginx\""
		fi
	fi
	[[ -x $PORTPROXY_BIN ]] || die "$PORTPROXY_BIN not found after build"
	if [[ $PORTPROXY_BIN == "$ROOT/target/release/portproxy" &&
		-n $(find "$ROOT/src" "$ROOT/examples" "$ROOT/Cargo.toml" -newer "$PORTPROXY_BIN" -print -quit 2>/dev/null) ]]; then
		log "warning: sources are newer than $PORTPROXY_BIN (run with BUILD=1 to rebuild)"
	fi
fi

# ------------------------------------------------------------- temp/trap ----
start_tmp
# nginx workers may run as an unprivileged user; they must reach www/ files.
chmod 755 "$TMP"

# ---------------------------------------------------------------- ports ----
# Distinct free loopback ports; the backend port is also checked on ::1.
read -r BACKEND_PORT NGINX_PORT PP_PORT PP_ADMIN_PORT FLOOR_PORT FLOOR_ST_PORT \
	CADDY_HTTP_PORT CADDY_TLS_PORT CADDY_REDIR_PORT CADDY_PP_PORT CADDY_PP_TCP_PORT \
	RUN_PORT RUN_ADMIN_PORT RUN_HTTPS_PORT RUN_HTTP_PORT < <(
		python3 - <<'EOF'
import socket
held, ports = [], []
while len(ports) < 15:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    held.append(s)
    try:  # free on [::1] too: the backend and Caddy listen there
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
[[ -n ${RUN_HTTP_PORT:-} ]] || die "could not pick free ports"

HAVE_V6=0
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
	HAVE_V6=1
fi

HOST_HEADER="$BACKEND_PORT.localhost"

# -------------------------------------------------------------- configs ----
mkdir -p "$TMP/www" "$TMP/backend" "$TMP/proxy" "$TMP/caddy"
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

# `portproxy run`'s arguments and environment; `portproxy caddyfile` with the same ones
# prints the Caddyfile that run writes.
RUN_ARGS=(--listen "127.0.0.1:$RUN_PORT" --admin "127.0.0.1:$RUN_ADMIN_PORT"
	--https-port "$RUN_HTTPS_PORT" --http-port "$RUN_HTTP_PORT" --threads "$WORKERS" --caddy "$CADDY")
run_env() {
	env XDG_DATA_HOME="$TMP/run/data" XDG_CONFIG_HOME="$TMP/run/config" "$@"
}

# One bench Caddy serves the Caddy-alone sites and the plain-HTTP front of portproxy.
# Its TLS site is run's own Caddyfile with the upstream swapped for the backend, so
# caddy-tls and caddy-pp-tls differ only by portproxy.
if ((want_caddy)); then
	mkdir -p "$TMP/run/data" "$TMP/run/config"
	run_caddyfile=$(run_env "$PORTPROXY_BIN" caddyfile "${RUN_ARGS[@]}") ||
		die "portproxy caddyfile failed"
	printf '%s\n' "$run_caddyfile" >"$TMP/run/Caddyfile.rendered"
	# Where run's Caddy reaches portproxy: 127.0.0.1:PORT, or its Unix sockets (unix//path ...).
	PP_UPSTREAM=$(awk '$1 == "reverse_proxy" { sub(/^[ \t]*reverse_proxy /, ""); sub(/ \{$/, ""); print; exit }' <<<"$run_caddyfile")
	[[ -n $PP_UPSTREAM ]] || die "no reverse_proxy line in portproxy's Caddyfile"
	{
		awk -v storage="$TMP/caddy/storage" -v backend="127.0.0.1:$BACKEND_PORT" \
			-v http_port="$CADDY_REDIR_PORT" -v https_port="$CADDY_TLS_PORT" '
			$1 == "admin" { print "\tadmin off"; next }
			$1 == "storage" { print "\tstorage file_system " storage; next }
			$1 == "http_port" { print "\thttp_port " http_port; next }
			$1 == "https_port" { print "\thttps_port " https_port; next }
			$1 == "redir" { sub(/:[0-9]+\{uri\}/, ":" https_port "{uri}") }
			$1 == "reverse_proxy" { sub(/reverse_proxy .* \{$/, "reverse_proxy " backend " {") }
			{ print }' <<<"$run_caddyfile"
		for site in "$CADDY_HTTP_PORT 127.0.0.1:$BACKEND_PORT" "$CADDY_PP_PORT $PP_UPSTREAM" \
			"$CADDY_PP_TCP_PORT 127.0.0.1:$RUN_PORT"; do
			read -r port upstream <<<"$site"
			printf '\nhttp://:%s {\n\treverse_proxy %s {\n\t\ttransport http {\n\t\t\tcompression off\n\t\t}\n\t}\n}\n' \
				"$port" "$upstream"
		done
	} >"$TMP/caddy/Caddyfile"
fi

# ---------------------------------------------------------------- start ----
# wait_ready NAME PID URL [curl args...]
wait_ready() {
	local name=$1 pid=$2 url=$3 i
	shift 3
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || die "$name exited during startup"
		if curl -kfsS -o /dev/null --max-time 1 "$@" "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "$name not ready after 15s ($url)"
}

# check_body NAME URL EXPECTED_BYTES: one request through a target must
# return 200 with the backend's body, so we never benchmark error pages.
check_body() {
	local name=$1 url=$2 want=$3 got
	got=$(curl -ksS --max-time 5 -H "Host: $HOST_HEADER" -o /dev/null -w '%{http_code} %{size_download}' "$url") ||
		die "$name: request to $url failed"
	[[ $got == "200 $want" ]] || die "$name: $url returned '$got', expected '200 $want'"
}

children() { # direct children of a pid (nginx workers, run's Caddy)
	local f
	for f in /proc/"$1"/task/*/children; do
		[[ -r $f ]] && cat "$f"
	done
}

# The processes each target's requests pass through, by name; CPU and memory are
# reported per name.
declare -A PROC_PIDS CHAIN

log "backend nginx on 127.0.0.1:$BACKEND_PORT$( ((HAVE_V6)) && printf ' and [::1]:%s' "$BACKEND_PORT")"
"$NGINX" -p "$TMP/backend" -e "$TMP/backend-error.log" -c "$TMP/backend/nginx.conf" \
	>"$TMP/backend-stdout.log" 2>&1 &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_ready backend "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/"
PROC_PIDS[backend]="$BACKEND_PID $(children "$BACKEND_PID" | xargs)"

start_caddy_bench() {
	[[ -z ${PROC_PIDS[caddy]:-} ]] || return 0
	log "bench Caddy ($("$CADDY" version | awk '{ print $1 }')): http :$CADDY_HTTP_PORT and https :$CADDY_TLS_PORT -> backend, http :$CADDY_PP_PORT -> portproxy ($PP_UPSTREAM), http :$CADDY_PP_TCP_PORT -> portproxy (127.0.0.1:$RUN_PORT)"
	XDG_DATA_HOME="$TMP/caddy/data" XDG_CONFIG_HOME="$TMP/caddy/config" \
		"$CADDY" run --config "$TMP/caddy/Caddyfile" --adapter caddyfile >"$TMP/caddy.log" 2>&1 &
	PROC_PIDS[caddy]=$!
	PIDS+=("$!")
	wait_ready "bench Caddy" "$!" "http://127.0.0.1:$CADDY_HTTP_PORT/"
}

start_run() {
	[[ -z ${PROC_PIDS["portproxy-run"]:-} ]] || return 0
	log "portproxy run: proxy 127.0.0.1:$RUN_PORT, its Caddy https :$RUN_HTTPS_PORT (--threads $WORKERS)"
	# Not through run_env: a backgrounded function is a subshell, and $! must be portproxy.
	RUST_LOG=${RUST_LOG:-warn} XDG_DATA_HOME="$TMP/run/data" XDG_CONFIG_HOME="$TMP/run/config" \
		"$PORTPROXY_BIN" run "${RUN_ARGS[@]}" >"$TMP/portproxy-run.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	wait_ready "portproxy run" "$pid" "https://localhost:$RUN_HTTPS_PORT/" -H "Host: $HOST_HEADER"
	PROC_PIDS["portproxy-run"]=$pid
	PROC_PIDS["caddy-run"]=$(children "$pid" | xargs)
	[[ -n ${PROC_PIDS["caddy-run"]} ]] || die "portproxy run has no Caddy child"
}

for t in $TARGETS; do
	case $t in
	direct)
		CHAIN[$t]="backend"
		;;
	nginx)
		log "nginx proxy on 127.0.0.1:$NGINX_PORT (worker_processes $WORKERS)"
		"$NGINX" -p "$TMP/proxy" -e "$TMP/nginx-proxy-error.log" -c "$TMP/proxy/nginx.conf" \
			>"$TMP/nginx-proxy-stdout.log" 2>&1 &
		NGINX_PID=$!
		PIDS+=("$NGINX_PID")
		wait_ready "nginx proxy" "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/"
		PROC_PIDS[nginx]="$NGINX_PID $(children "$NGINX_PID" | xargs)"
		CHAIN[$t]="nginx backend"
		;;
	portproxy)
		log "portproxy serve on 127.0.0.1:$PP_PORT, admin 127.0.0.1:$PP_ADMIN_PORT (--threads $WORKERS)"
		RUST_LOG=${RUST_LOG:-warn} "$PORTPROXY_BIN" serve \
			--listen "127.0.0.1:$PP_PORT" \
			--admin "127.0.0.1:$PP_ADMIN_PORT" \
			--threads "$WORKERS" \
			>"$TMP/portproxy.log" 2>&1 &
		PROC_PIDS[portproxy]=$!
		PIDS+=("$!")
		wait_ready portproxy "$!" "http://127.0.0.1:$PP_ADMIN_PORT/healthz"
		CHAIN[$t]="portproxy backend"
		;;
	floor | floor-st)
		if [[ $t == floor ]]; then
			port=$FLOOR_PORT layout=default
		else
			port=$FLOOR_ST_PORT layout=per-thread-nosteal
		fi
		log "$t (bare Pingora, $layout layout) on 127.0.0.1:$port ($WORKERS threads)"
		"$FLOOR_BIN" "127.0.0.1:$port" "127.0.0.1:$BACKEND_PORT" "$WORKERS" "$layout" \
			>"$TMP/$t.log" 2>&1 &
		PROC_PIDS[$t]=$!
		PIDS+=("$!")
		wait_ready "$t" "$!" "http://127.0.0.1:$port/"
		CHAIN[$t]="$t backend"
		;;
	caddy | caddy-tls)
		start_caddy_bench
		CHAIN[$t]="caddy backend"
		;;
	caddy-pp | caddy-pp-tcp)
		start_run
		start_caddy_bench
		CHAIN[$t]="caddy portproxy-run backend"
		;;
	caddy-pp-tls)
		start_run
		CHAIN[$t]="caddy-run portproxy-run backend"
		;;
	esac
done

url_for() {
	case $1 in
	direct) printf 'http://127.0.0.1:%s' "$BACKEND_PORT" ;;
	nginx) printf 'http://127.0.0.1:%s' "$NGINX_PORT" ;;
	portproxy) printf 'http://127.0.0.1:%s' "$PP_PORT" ;;
	floor) printf 'http://127.0.0.1:%s' "$FLOOR_PORT" ;;
	floor-st) printf 'http://127.0.0.1:%s' "$FLOOR_ST_PORT" ;;
	caddy) printf 'http://127.0.0.1:%s' "$CADDY_HTTP_PORT" ;;
	caddy-pp) printf 'http://127.0.0.1:%s' "$CADDY_PP_PORT" ;;
	caddy-pp-tcp) printf 'http://127.0.0.1:%s' "$CADDY_PP_TCP_PORT" ;;
	# SNI `localhost` (wrk sends the URL's host); Caddy routes by the Host header.
	caddy-tls) printf 'https://localhost:%s' "$CADDY_TLS_PORT" ;;
	caddy-pp-tls) printf 'https://localhost:%s' "$RUN_HTTPS_PORT" ;;
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
# parse_wrk FILE -> "req_per_sec p50_ms p99_ms errors requests"
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
		/^[ \t]+50%/ { p50 = to_ms($2) }
		/^[ \t]+99%/ { p99 = to_ms($2) }
		/ requests in / { reqs = $1 }
		/Socket errors:/ {
			# Socket errors: connect 0, read 0, write 0, timeout 0
			for (i = 3; i <= NF; i += 2) { v = $(i + 1); sub(/,/, "", v); err += v }
		}
		/Non-2xx or 3xx responses:/ { err += $NF }
		END {
			if (rps == "" || p99 == "" || p50 == "" || reqs == "") exit 1
			printf "%s %.3f %.3f %d %d\n", rps, p50, p99, err, reqs
		}
	' "$1"
}

run_wrk() { # run_wrk TARGET PATH DURATION OUTFILE
	wrk -t"$WRK_THREADS" -c"$CONNS" -d"$3" --latency \
		-H "Host: $HOST_HEADER" "$(url_for "$1")$2" >"$4" 2>&1
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # cpu_ticks PID...: utime + stime summed over the pids
	local pid total=0 v
	for pid in "$@"; do
		# Fields after the ")" that closes the command name: utime is the 12th, stime the 13th.
		v=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || v=0
		total=$((total + ${v:-0}))
	done
	printf '%s\n' "$total"
}

declare -A RPS P50 P99 ERRS CPU
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
			declare -A before=()
			for name in ${CHAIN[$t]}; do
				# shellcheck disable=SC2086  # a list of pids
				before[$name]=$(cpu_ticks ${PROC_PIDS[$name]})
			done
			run_wrk "$t" "$p" "$DURATION" "$out" || die "wrk failed for $t: $(tail -n 3 "$out")"
			res=$(parse_wrk "$out") || die "could not parse wrk output: $out"
			read -r rps p50 p99 err reqs <<<"$res"
			cpu_line=""
			for name in ${CHAIN[$t]}; do
				# shellcheck disable=SC2086
				us=$(awk -v a="${before[$name]}" -v b="$(cpu_ticks ${PROC_PIDS[$name]})" \
					-v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / (n ? n : 1) }')
				CPU[$p, $t, $name]+="$us "
				cpu_line+=" $name $us"
			done
			unset before
			RPS[$p, $t]+="$rps "
			P50[$p, $t]+="$p50 "
			P99[$p, $t]+="$p99 "
			ERRS[$p, $t]=$((${ERRS[$p, $t]:-0} + err))
			printf '[bench] round %d/%d  %-12s %-5s %10.0f req/s  p50 %7.3f  p99 %7.3f ms  errors %d  cpu-us/req%s\n' \
				"$r" "$ROUNDS" "$t" "$p" "$rps" "$p50" "$p99" "$err" "$cpu_line" >&2
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
	printf '  %-16s VmRSS %8.1f MiB   VmHWM %8.1f MiB\n' "$name" \
		"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
}

echo
echo "portproxy benchmark: wrk -t$WRK_THREADS -c$CONNS -d$DURATION, median of $ROUNDS interleaved round(s)"
echo "proxy workers/threads: $WORKERS   backend workers: $BACKEND_WORKERS   cores: $(nproc)"
if ((want_caddy)); then
	echo "caddy: $CADDY ($("$CADDY" version | awk '{ print $1 }')); portproxy run reaches its proxy at $PP_UPSTREAM"
fi
for p in $PATHS; do
	declare -A MR=() MP=()
	echo
	echo "path $p ($(body_size "$p")-byte body)"
	printf '  %-13s %10s %8s %8s %7s   %s\n' target req/s "p50 ms" "p99 ms" errors "CPU µs per request, per process"
	for t in $TARGETS; do
		MR[$t]=$(median "${RPS[$p, $t]}")
		MP[$t]=$(median "${P99[$p, $t]}")
		cpu=""
		for name in ${CHAIN[$t]}; do
			cpu+=$(printf ' %s %.1f' "$name" "$(median "${CPU[$p, $t, $name]}")")
		done
		printf '  %-13s %10.0f %8.3f %8.3f %7d  %s\n' "$t" "${MR[$t]}" "$(median "${P50[$p, $t]}")" \
			"${MP[$t]}" "${ERRS[$p, $t]}" "$cpu"
	done
	# Goals are set against the better of the two Pingora layouts.
	best_floor=""
	for f in floor floor-st; do
		if [[ -n ${MR[$f]:-} ]] && { [[ -z $best_floor ]] || awk -v a="${MR[$f]}" -v b="${MR[$best_floor]}" 'BEGIN { exit !(a > b) }'; }; then
			best_floor=$f
		fi
	done
	echo "  ratios (req/s unless p99):"
	row() { [[ $2 == - ]] || printf '    %-34s %s\n' "$1" "$2"; }
	row "portproxy/nginx" "$(ratio "${MR[portproxy]:-}" "${MR[nginx]:-}")"
	row "portproxy/nginx p99" "$(ratio "${MP[portproxy]:-}" "${MP[nginx]:-}")"
	if [[ -n $best_floor ]]; then
		row "portproxy/$best_floor (best floor)" "$(ratio "${MR[portproxy]:-}" "${MR[$best_floor]}")"
		row "portproxy/$best_floor p99" "$(ratio "${MP[portproxy]:-}" "${MP[$best_floor]}")"
		row "$best_floor/nginx" "$(ratio "${MR[$best_floor]}" "${MR[nginx]:-}")"
	fi
	row "floor-st/floor" "$(ratio "${MR["floor-st"]:-}" "${MR[floor]:-}")"
	row "caddy-pp/caddy" "$(ratio "${MR["caddy-pp"]:-}" "${MR[caddy]:-}")"
	row "caddy-pp/caddy-pp-tcp" "$(ratio "${MR["caddy-pp"]:-}" "${MR["caddy-pp-tcp"]:-}")"
	row "caddy-pp-tls/caddy-tls" "$(ratio "${MR["caddy-pp-tls"]:-}" "${MR["caddy-tls"]:-}")"
	row "caddy/nginx" "$(ratio "${MR[caddy]:-}" "${MR[nginx]:-}")"
	row "portproxy/direct" "$(ratio "${MR[portproxy]:-}" "${MR[direct]:-}")"
	row "nginx/direct" "$(ratio "${MR[nginx]:-}" "${MR[direct]:-}")"
	unset MR MP
done

echo
echo "memory after the run (summed over each program's processes):"
for name in backend nginx floor floor-st portproxy caddy portproxy-run caddy-run; do
	[[ -n ${PROC_PIDS[$name]:-} ]] || continue
	# shellcheck disable=SC2086  # a list of pids
	rss_line "$name" ${PROC_PIDS[$name]}
done

for f in portproxy portproxy-run; do
	if [[ -f $TMP/$f.log ]] && grep -qiE 'error|panic' "$TMP/$f.log"; then
		echo
		echo "note: $f logged errors/panics; last lines:"
		grep -iE 'error|panic' "$TMP/$f.log" | tail -n 5
	fi
done
