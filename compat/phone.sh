#!/bin/sh
# The compatibility suite's second machine: runs inside a fresh network namespace (`unshare
# --net`, made by compat.py), which plays the dev box; a second namespace ("the phone") is
# joined to it by a veth pair, box 192.0.2.1/24, phone 192.0.2.2/24 (TEST-NET-1). Nothing
# leaves the two namespaces. The box runs the dev server and `portproxy serve`, shares the
# port with `portproxy share PORT --lan`, and the phone's Chromium opens the link and runs the
# framework's checks (browser.mjs); then `unshare PORT`, and the phone must get 410.
#
# Usage: phone.sh PORTPROXY CONFIG DEVPORT APPDIR LOGDIR -- DEV-SERVER-COMMAND...
# CONFIG is browser.mjs's configuration with @LINK@ and @ORIGIN@ where the link goes.
# Prints browser.mjs's result lines, then `{"gone": CODE}`; diagnostics go to stderr.
set -u
binary=$1 config=$2 devport=$3 app=$4 logs=$5
shift 6
phone="pp-phone-$$"
ip link set lo up
ip netns add "$phone" || exit 1
dir=$(mktemp -d)
dev="" proxy=""
trap 'kill -- ${dev:+-$dev} $proxy 2>/dev/null; wait; ip netns del "$phone"; rm -rf "$dir"' EXIT
ip link add box0 type veth peer name phone0
ip link set phone0 netns "$phone"
ip addr add 192.0.2.1/24 dev box0
ip link set box0 up
ip netns exec "$phone" ip addr add 192.0.2.2/24 dev phone0
ip netns exec "$phone" ip link set phone0 up
ip netns exec "$phone" ip link set lo up

# A dev server's own process group, so the kill at the end takes its children too.
(cd "$app" && exec setsid "$@") >"$logs/phone-dev.log" 2>&1 &
dev=$!
export XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data"
"$binary" serve --listen 127.0.0.1:24306 --admin 127.0.0.1:24307 >"$logs/phone-serve.log" 2>&1 &
proxy=$!
ready() {
	python3 - "$devport" <<'EOF'
import socket, sys, urllib.request
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
urllib.request.urlopen("http://127.0.0.1:24307/healthz", timeout=1)
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=60)
EOF
}
i=0
until ready 2>/dev/null && [ -e "$dir/data/portproxy/instance.json" ]; do
	i=$((i + 1))
	if [ $i -gt 480 ]; then
		echo "the box did not come up (dev server on $devport, portproxy serve)" >&2
		tail -20 "$logs/phone-dev.log" "$logs/phone-serve.log" >&2
		exit 1
	fi
	sleep 0.5
done

link=$("$binary" share "$devport" --lan --for 1h 2>>"$logs/phone-serve.log")
case $link in
http://192.0.2.1:*/\?portproxy-share=*) ;;
*)
	echo "no LAN link: $link" >&2
	exit 1
	;;
esac
origin=${link%%/\?*}
sed -e "s|@LINK@|$link|g" -e "s|@ORIGIN@|$origin|g" "$config" >"$dir/config.json"
ip netns exec "$phone" node "$(dirname "$0")/browser.mjs" "$(cat "$dir/config.json")"

"$binary" unshare "$devport" >/dev/null 2>&1
gone=$(
	ip netns exec "$phone" python3 - "$link" <<'EOF'
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print(0)
EOF
)
echo "{\"gone\": ${gone:-0}}"
