#!/bin/sh
# Runs inside a private mount and network namespace (`unshare --mount --net`), made by
# tests/resolve.rs: /etc/hosts and /etc/nsswitch.conf are bind mounts of temporary files
# (a Debian machine without nss-myhostname), so this machine's own files are never touched.
#
# Usage: hosts.sh PORTPROXY_BINARY
# Prints one `check result` line per check; the test reads them.
set -u
binary=$1
ip link set lo up
dir=$(mktemp -d)
trap 'kill "$app" "$live" "$proxy" 2>/dev/null; wait; rm -rf "$dir"' EXIT
app='' live='' proxy=''
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$dir/hosts"
cp "$dir/hosts" "$dir/hosts.before"
printf 'hosts: files dns\n' >"$dir/nsswitch.conf"
mount --bind "$dir/hosts" /etc/hosts
mount --bind "$dir/nsswitch.conf" /etc/nsswitch.conf
# A dev server in a project called shop-web (its package.json), on port PORT, in the
# background; its pid in $last.
serve_project() {
	mkdir -p "$dir/$1"
	printf '{"name": "%s"}\n' "$1" >"$dir/$1/package.json"
	(cd "$dir/$1" && exec python3 -m http.server "$2" --bind 127.0.0.1) >/dev/null 2>&1 &
	last=$!
	i=0
	until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$2" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "not ready"
			exit 1
		fi
		sleep 0.1
	done
}
serve_project shop-web 8000
app=$last
export XDG_CONFIG_HOME="$dir" XDG_DATA_HOME="$dir"
name=8000.localhost
yes_no() {
	if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi
}
# How programs see a name: glibc's getent, Python and Node (both getaddrinfo).
resolves() {
	echo "$1-getent $(yes_no getent hosts "$2")"
	echo "$1-python $(yes_no python3 -c 'import socket, sys; socket.getaddrinfo(sys.argv[1], 80)' "$2")"
	echo "$1-node $(yes_no node -e 'require("dns").lookup(process.argv[1], (e) => process.exit(e ? 1 : 0))' "$2")"
}
# The port's name and the project's, the page through the name, fetched by Python (curl
# resolves *.localhost by itself), and doctor's verdict.
check() {
	resolves "$1" "$name"
	resolves "$1-project" shop-web.localhost
	echo "$1-fetch $(yes_no python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "http://$name:8000/")"
	echo "$1-doctor $("$binary" doctor --json --no-caddy | python3 -c 'import json, sys; print([c["status"] for c in json.load(sys.stdin)["checks"] if c["id"] == "names"][0])')"
}
# Waits up to 10 s for `getent hosts NAME` to succeed (yes) or fail (no).
becomes() {
	i=0
	while [ "$(yes_no getent hosts "$1")" != "$2" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo no
			return
		fi
		sleep 0.1
	done
	echo yes
}
check before
"$binary" hosts --sync 2>"$dir/sync"
echo "sync-status $?"
echo "sync-says $(yes_no grep -q "/etc/hosts now names $name, shop-web.localhost" "$dir/sync")"
check after
"$binary" hosts --sync 2>"$dir/again"
echo "again-says $(yes_no grep -q "/etc/hosts already names $name" "$dir/again")"
# Live: a running portproxy (root here, so it may write the file) adds a server that starts
# after the sync, by port and by project, and takes it out when it stops.
"$binary" serve >"$dir/serve.log" 2>&1 &
proxy=$!
serve_project api 8001
live=$last
echo "live-added $(becomes api.localhost yes)"
resolves live 8001.localhost
resolves live-project api.localhost
kill "$live"
echo "live-removed $(becomes api.localhost no)"
kill "$proxy"
wait "$proxy" 2>/dev/null
"$binary" hosts --remove 2>/dev/null
echo "remove-status $?"
echo "restored $(yes_no cmp -s /etc/hosts "$dir/hosts.before")"
check removed
