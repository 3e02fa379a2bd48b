#!/bin/sh
# Every benchmark in one run, one after another (they must not share the two cores):
# throughput, CPU and latency (run.sh), memory per idle connection (memory.sh), the
# dashboard with 200 ports (dashboard.py) and a 1,000-module Vite page load (pageload.sh).
# Each script's knobs (environment variables) pass through; see bench/README.md.
set -eu
cd "$(dirname "$0")/.."
[ -x target/release/portproxy ] || cargo build --release
for step in run.sh memory.sh dashboard.py pageload.sh; do
	echo "== bench/$step" >&2
	case "$step" in
	*.py) python3 "bench/$step" ;;
	*) "bench/$step" ;;
	esac
done
