# shellcheck shell=bash
# What the bench scripts share, sourced with BENCH set to the script's name: `log` and `die`,
# and a temp dir (`start_tmp`) whose processes, listed in PIDS, are stopped when the script
# ends, also on Ctrl-C or failure; after a failure the temp dir is kept and the tails of its
# logs printed. KEEP_TMP=1 keeps it always.
KEEP_TMP=${KEEP_TMP:-0}

log() { printf '[%s] %s\n' "$BENCH" "$*" >&2; }
die() {
	printf '[%s] error: %s\n' "$BENCH" "$*" >&2
	exit 1
}

start_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/portproxy-$BENCH.XXXXXX")
	PIDS=()
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

cleanup() {
	local rc=$? pid i f failed=0
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	((rc != 0 && rc != 130 && rc != 143)) && failed=1
	if ((failed)); then
		for f in "$TMP"/*.log; do
			[[ -s $f ]] || continue
			printf '[%s] --- tail of %s ---\n' "$BENCH" "$f" >&2
			tail -n 20 "$f" >&2
		done
	fi
	if [[ $KEEP_TMP == 1 ]] || ((failed)); then
		log "temp dir kept: $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
