#!/usr/bin/env bash
# Resident memory per idle connection: RSS of the proxy with WS_COUNT idle WebSocket tunnels,
# then with KEEPALIVE_COUNT idle keep-alive client connections (each after one request).
# See bench/README.md.
#
# Env knobs (defaults in brackets):
#   WS_COUNT [1000]          WebSocket tunnels held open at once
#   KEEPALIVE_COUNT [10000]  idle keep-alive client connections held open at once
#   TARGETS [portproxy floor]  portproxy (`portproxy serve`) and/or floor (bare Pingora,
#                            examples/floor.rs, portproxy's per-thread layout)
#   WORKERS [2]              proxy threads
#   PORTPROXY_BIN [target/release/portproxy]
#   KEEP_TMP [0]             1 = keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WS_COUNT=${WS_COUNT:-1000}
KEEPALIVE_COUNT=${KEEPALIVE_COUNT:-10000}
TARGETS=${TARGETS:-portproxy floor}
WORKERS=${WORKERS:-2}
PORTPROXY_BIN=${PORTPROXY_BIN:-$ROOT/target/release/portproxy}
FLOOR_BIN=$ROOT/target/release/examples/floor

BENCH=memory
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"

command -v python3 >/dev/null 2>&1 || die "python3 is needed"
for n in "$WS_COUNT" "$KEEPALIVE_COUNT" "$WORKERS"; do
	[[ $n =~ ^[0-9]+$ ]] || die "counts must be numbers (got '$n')"
done
for t in $TARGETS; do
	case $t in
	portproxy | floor) ;;
	*) die "unknown target '$t' (use portproxy, floor)" ;;
	esac
done
if [[ ! -x $PORTPROXY_BIN || ! -x $FLOOR_BIN ]]; then
	log "building: cargo build --release --bin portproxy --example floor"
	(cd "$ROOT" && cargo build --release --bin portproxy --example floor) || die "build failed"
fi

# Descriptors per process: the proxy holds two per tunnel (client and upstream) and one per
# keep-alive client.
need=$((2 * WS_COUNT > KEEPALIVE_COUNT ? 2 * WS_COUNT : KEEPALIVE_COUNT))
need=$((need + 1024))
if (($(ulimit -n) < need)); then
	ulimit -n "$need" 2>/dev/null || die "ulimit -n $need refused (raise the hard limit, or run as root)"
fi

start_tmp

read -r BACKEND_PORT PP_PORT PP_ADMIN_PORT FLOOR_PORT < <(
	python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])'
)
HOST="$BACKEND_PORT.localhost"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

wait_http() { # wait_http PID URL
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || die "process $1 exited during startup"
		curl -fsS -o /dev/null --max-time 1 -H "Host: $HOST" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	die "$2 not ready after 10s"
}

python3 "$ROOT/bench/idle.py" backend "$BACKEND_PORT" >"$TMP/backend.log" 2>&1 &
PIDS+=("$!")
wait_http "$!" "http://127.0.0.1:$BACKEND_PORT/"

# hold KIND ADDR COUNT PID: opens COUNT idle connections of KIND through ADDR, prints the
# proxy's RSS growth per connection, then closes them.
hold() {
	local kind=$1 addr=$2 count=$3 pid=$4 before after client i
	before=$(rss_kib "$pid")
	rm -f "$TMP/ready"
	python3 "$ROOT/bench/idle.py" "$kind" "$addr" "$HOST" "$count" "$TMP/ready" >"$TMP/client.log" 2>&1 &
	client=$!
	for ((i = 0; i < 1200; i++)); do
		[[ -s $TMP/ready ]] && break
		kill -0 "$client" 2>/dev/null || die "$kind client failed: $(tail -n 3 "$TMP/client.log")"
		sleep 0.1
	done
	[[ -s $TMP/ready ]] || die "$kind client: $count connections not open after 120s"
	sleep 1 # let the proxy settle (pooled upstreams, freed request buffers)
	after=$(rss_kib "$pid")
	kill -TERM "$client"
	wait "$client" 2>/dev/null || true
	printf '  %-10s %6d idle %-10s  RSS %7.1f -> %7.1f MiB   %6.1f KiB per connection\n' \
		"$TARGET" "$count" "$kind" "$(awk -v k="$before" 'BEGIN { print k / 1024 }')" \
		"$(awk -v k="$after" 'BEGIN { print k / 1024 }')" \
		"$(awk -v a="$before" -v b="$after" -v n="$count" 'BEGIN { print (b - a) / n }')"
}

start_proxy() { # start_proxy TARGET: sets PROXY_PID and PROXY_ADDR
	case $1 in
	portproxy)
		RUST_LOG=warn "$PORTPROXY_BIN" serve --listen "127.0.0.1:$PP_PORT" \
			--admin "127.0.0.1:$PP_ADMIN_PORT" --threads "$WORKERS" >"$TMP/portproxy.log" 2>&1 &
		PROXY_ADDR=127.0.0.1:$PP_PORT
		;;
	floor)
		"$FLOOR_BIN" "127.0.0.1:$FLOOR_PORT" "127.0.0.1:$BACKEND_PORT" "$WORKERS" per-thread-nosteal \
			>"$TMP/floor.log" 2>&1 &
		PROXY_ADDR=127.0.0.1:$FLOOR_PORT
		;;
	esac
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	wait_http "$PROXY_PID" "http://$PROXY_ADDR/"
}

stop_proxy() {
	# No graceful shutdown: Pingora's default one waits minutes for open connections.
	kill -KILL "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null || true
}

echo "idle connections, proxy threads: $WORKERS, $(nproc) cores"
# A fresh proxy for each measurement: memory freed by one phase would otherwise hide the next
# phase's growth.
for TARGET in $TARGETS; do
	for phase in "ws $WS_COUNT" "keepalive $KEEPALIVE_COUNT"; do
		read -r kind count <<<"$phase"
		((count > 0)) || continue
		log "$TARGET: $count idle $kind connections"
		start_proxy "$TARGET"
		hold "$kind" "$PROXY_ADDR" "$count" "$PROXY_PID"
		stop_proxy
	done
done
