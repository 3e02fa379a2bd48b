#!/bin/sh
# Runs inside a fresh network namespace (`unshare --net`), made by tests/share.rs: this
# namespace is the dev box, and a second one ("the phone") is joined to it by a veth pair,
# box 192.0.2.1/24, phone 192.0.2.2/24 (TEST-NET-1). Nothing leaves the two namespaces.
#
# Usage: lan.sh PORTPROXY_BINARY
# Prints one `name status body-marker` line per request from the phone; the test reads them.
set -u
binary=$1
phone="pp-phone-$$"
ip link set lo up
ip netns add "$phone" || exit 1
dir=$(mktemp -d)
trap 'kill "$shared" "$other" "$proxy" 2>/dev/null; wait; ip netns del "$phone"; rm -rf "$dir"' EXIT
ip link add box0 type veth peer name phone0
ip link set phone0 netns "$phone"
ip addr add 192.0.2.1/24 dev box0
ip link set box0 up
ip netns exec "$phone" ip addr add 192.0.2.2/24 dev phone0
ip netns exec "$phone" ip link set phone0 up
ip netns exec "$phone" ip link set lo up

# The shared app says SHARED, another app on this box says OTHER.
mkdir -p "$dir/shared" "$dir/other"
echo SHARED >"$dir/shared/index.html"
echo OTHER >"$dir/other/index.html"
python3 -m http.server 8000 --bind 127.0.0.1 --directory "$dir/shared" >/dev/null 2>&1 &
shared=$!
python3 -m http.server 8001 --bind 127.0.0.1 --directory "$dir/other" >/dev/null 2>&1 &
other=$!
export XDG_CONFIG_HOME="$dir" XDG_DATA_HOME="$dir"
"$binary" serve --listen 127.0.0.1:24306 --admin 127.0.0.1:24307 2>"$dir/log" &
proxy=$!
i=0
until grep -q "serving http" "$dir/log" && [ -e "$dir/portproxy/instance.json" ] &&
	python3 -c 'import socket; [socket.create_connection(("127.0.0.1", p), 1) for p in (8000, 8001)]' 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ]; then
		echo "not ready:"
		cat "$dir/log"
		exit 1
	fi
	sleep 0.1
done

link=$("$binary" share 8000 --lan --for 1h 2>"$dir/share.err")
case $link in
http://192.0.2.1:*/\?portproxy-share=*) ;;
*)
	echo "no link: $link"
	cat "$dir/share.err" "$dir/log"
	exit 1
	;;
esac
base=${link%%/\?*}
jar="$dir/jar"

# name, then curl's arguments (from the phone): status and SHARED/OTHER/- from the body.
probe() {
	name=$1
	shift
	body="$dir/body"
	status=$(ip netns exec "$phone" curl -s -o "$body" -w '%{http_code}' --max-time 10 -b "$jar" -c "$jar" "$@")
	marker=-
	grep -q SHARED "$body" 2>/dev/null && marker=SHARED
	grep -q OTHER "$body" 2>/dev/null && marker=OTHER
	grep -q '"ports"' "$body" 2>/dev/null && marker=DASHBOARD
	printf '%s %s %s\n' "$name" "$status" "$marker"
	rm -f "$body"
}
probe without-the-link "$base/"
probe the-link-redirects "$link"
probe the-link-opens-the-app -L "$link"
probe again-with-the-cookie "$base/"
# curl sends the jar's cookies for the URL's host, not for a Host header given with -H.
cookie="Cookie: $(awk '$0 !~ /^# / && NF >= 7 {print $6 "=" $7}' "$jar" | grep portproxy-share | head -n 1)"
probe host-names-another-port -H "$cookie" -H "Host: 8001.localhost" "$base/"
probe host-names-host--port -H "$cookie" -H "Host: 127-0-0-1--8001.localhost" "$base/"
probe host-names-the-dashboard -H "$cookie" -H "Host: localhost" "$base/api/ports"
probe absolute-form-another-port -H "$cookie" -H "Host: 127.0.0.1:8001" --request-target "http://127.0.0.1:8001/" "$base/"
probe absolute-form-unlike-host --request-target "http://127.0.0.1:8001/" "$base/"
probe absolute-form-dashboard -H "$cookie" -H "Host: localhost:24306" --request-target "http://localhost:24306/api/ports" "$base/api/ports"
probe forwarded-for-loopback -H "$cookie" -H "X-Forwarded-For: 127.0.0.1" -H "Host: 8001.localhost" "$base/"
probe main-listener-on-the-lan "http://192.0.2.1:24306/"
probe admin-on-the-lan "http://192.0.2.1:24307/control/shares"
probe other-port-on-the-lan "http://192.0.2.1:8001/"
short=$("$binary" share 8000 --lan --for 3s 2>/dev/null)
short_base=${short%%/\?*}
probe short-link-opens -L "$short"
sleep 3
probe short-link-after-expiry "$short_base/"
"$binary" share --revoke all 2>/dev/null
probe after-revoke "$base/"
probe the-link-after-revoke "$link"
if grep -q "${link##*=}" "$dir/log"; then
	echo "secret-in-log yes -"
fi
grep -q "share .* opened: port 8000" "$dir/log" && echo "log-opened yes -"
grep -q "first use from 192.0.2.2" "$dir/log" && echo "log-first-use yes -"
grep -q "share .* revoked" "$dir/log" && echo "log-revoked yes -"
grep -q "share .* expired" "$dir/log" && echo "log-expired yes -"
