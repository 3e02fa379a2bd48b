#!/bin/sh
# Runs inside a fresh network namespace (`unshare --net`), made by tests/boundary.rs: this
# machine is 127.0.0.1 and the internet is 192.0.2.1 (TEST-NET-1) on the same `lo`, so a
# client bound to 192.0.2.1 is a remote client to portproxy and Caddy. Nothing leaves it.
#
# Usage: scenario.sh PORTPROXY_BINARY MODE [CADDY]
#   MODE serve: `portproxy serve --listen 0.0.0.0:24306` (no Caddy)
#   MODE run:   `portproxy run` with Caddy on 8443 for localhost + dev.test (its internal CA)
# Prints one `name status` line per request; the test reads them.
set -u
binary=$1
mode=$2
caddy=${3:-caddy}
ip link set lo up
ip addr add 192.0.2.1/32 dev lo
dir=$(mktemp -d)
trap 'kill "$app" "$proxy" 2>/dev/null; wait; rm -rf "$dir"' EXIT
python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
app=$!
token="remote-test-token-0123456789"
if [ "$mode" = serve ]; then
	XDG_CONFIG_HOME=$dir XDG_DATA_HOME=$dir "$binary" serve --listen 0.0.0.0:24306 \
		--admin 127.0.0.1:24307 --domain localhost --domain dev.test \
		--auth-token "$token" 2>"$dir/log" &
	proxy=$!
	ready="  dashboard  http://localhost:24306/"
else
	XDG_CONFIG_HOME=$dir XDG_DATA_HOME=$dir "$binary" run --listen 127.0.0.1:24306 \
		--admin 127.0.0.1:24307 --domain localhost --domain dev.test --tls internal \
		--auth-token "$token" --access-log --http-port 8080 --https-port 8443 --caddy "$caddy" 2>"$dir/log" &
	proxy=$!
	ready="  dashboard  https://localhost:8443/"
fi
i=0
until grep -q "$ready" "$dir/log" && python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8000), 1)' 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ]; then
		echo "not ready:"
		cat "$dir/log"
		exit 1
	fi
	sleep 0.1
done
# name, then curl's arguments; the status is 000 when TLS or the connection failed.
probe() {
	name=$1
	shift
	printf '%s %s\n' "$name" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@")"
}
bearer="Authorization: Bearer $token"
if [ "$mode" = serve ]; then
	remote="--interface 192.0.2.1"
	# shellcheck disable=SC2086 # one word per option
	{
		probe local-name-from-this-machine -H "Host: 8000.localhost" http://127.0.0.1:24306/
		probe local-name-from-remote $remote -H "Host: 8000.localhost" http://192.0.2.1:24306/
		probe local-name-from-remote-signed-in $remote -H "Host: 8000.localhost" -H "$bearer" http://192.0.2.1:24306/
		probe local-dashboard-from-remote $remote -H "Host: localhost" http://192.0.2.1:24306/api/ports
		probe remote-claiming-loopback $remote -H "Host: 8000.localhost" -H "X-Forwarded-For: 127.0.0.1" http://192.0.2.1:24306/
		probe public-name-from-remote-unsigned $remote -H "Host: 8000.dev.test" http://192.0.2.1:24306/
		probe public-name-from-remote-signed-in $remote -H "Host: 8000.dev.test" -H "$bearer" http://192.0.2.1:24306/
	}
else
	ca="--cacert $dir/portproxy/caddy/pki/authorities/local/root.crt"
	remote="--interface 192.0.2.1"
	# shellcheck disable=SC2086 # one word per option
	{
		probe local-name-from-this-machine $ca --resolve 8000.localhost:8443:127.0.0.1 https://8000.localhost:8443/
		probe local-name-from-remote $ca $remote --resolve 8000.localhost:8443:192.0.2.1 https://8000.localhost:8443/
		probe local-dashboard-from-remote $ca $remote --resolve localhost:8443:192.0.2.1 https://localhost:8443/api/ports
		probe public-name-from-remote-signed-in $ca $remote --resolve 8000.dev.test:8443:192.0.2.1 -H "$bearer" https://8000.dev.test:8443/
		probe public-name-from-this-machine-signed-in $ca --resolve 8000.dev.test:8443:127.0.0.1 -H "$bearer" https://8000.dev.test:8443/
		probe public-name-from-remote-unsigned $ca $remote --resolve 8000.dev.test:8443:192.0.2.1 https://8000.dev.test:8443/
		probe host-unlike-the-tls-name $ca $remote --resolve 8000.dev.test:8443:192.0.2.1 -H "Host: 8000.localhost:8443" https://8000.dev.test:8443/
		probe certificate-for-a-closed-local-port $ca $remote --resolve 61234.localhost:8443:192.0.2.1 https://61234.localhost:8443/
		probe certificate-for-an-alias $ca $remote --resolve 127-0-0-1--8000.dev.test:8443:192.0.2.1 -H "$bearer" https://127-0-0-1--8000.dev.test:8443/
		# Caddy reaches the proxy over a Unix socket, so no peer address: the login limit must
		# still count the remote client as itself, not as Caddy, and not as everyone.
		wrong="token=wrong-token-0123456789&next=%2F"
		login_remote="$ca $remote --resolve dev.test:8443:192.0.2.1 --data $wrong https://dev.test:8443/login"
		i=0
		while [ $i -lt 10 ]; do
			probe "login-from-remote-$i" $login_remote >/dev/null
			i=$((i + 1))
		done
		probe login-from-remote-after-10-failures $login_remote
		probe login-from-this-machine-meanwhile $ca --resolve dev.test:8443:127.0.0.1 --data "$wrong" https://dev.test:8443/login
	}
fi
# What reached the proxy from the remote client, for the test to check Caddy stopped it.
sleep 0.3
grep -c "GET 8000.localhost:8443" "$dir/log" | sed 's/^/proxied-local-name-requests /'
