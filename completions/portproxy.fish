# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_portproxy_global_optspecs
    string join \n h/help V/version
end

function __fish_portproxy_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_portproxy_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_portproxy_using_subcommand
    set -l cmd (__fish_portproxy_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c portproxy -n "__fish_portproxy_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portproxy -n "__fish_portproxy_needs_command" -s V -l version -d 'Print version'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "run" -d 'The proxy with Caddy in front for HTTPS (the default command). Without Caddy on PATH it serves the proxy alone and says how to add HTTPS'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "serve" -d 'Run the proxy alone, without Caddy in front'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "caddyfile" -d 'Print the Caddyfile that `run` would use'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "doctor" -d 'Check Caddy, ports, DNS, the config and the local CA; say how to fix what is wrong'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "trust" -d 'Trust Caddy\'s local CA (system store, browsers\' databases), so browsers accept https://*.localhost; --uninstall takes it out of every store again'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "env" -d 'Print the exports that make Node and Python trust the local CA (`eval "$(portproxy env)"`)'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "clean" -d 'Undo what portproxy did to this machine: trust, the login service, its state. Keeps the settings and the token unless --all'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "hosts" -d 'The hosts file\'s portproxy block, so curl, Node, Python and Safari resolve the names of the ports and projects listening now: printed, written (--sync, needs root; a running portproxy then keeps it) or taken out (--remove). macOS: --resolver, every name'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "ls" -d 'The dashboard\'s table in the terminal, from the running portproxy: ports, projects, processes, URLs'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "url" -d 'Print the URL of PORT or NAME as the running portproxy serves it (for scripts; exit 4 when none runs)'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "open" -d 'Open the URL of PORT or NAME in the browser (prints it where there is no browser)'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "token" -d 'Print the access token for public domains; --rotate makes a new one'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "sessions" -d 'List the signed-in sessions of public domains; --revoke KEY ends one (`all`: every one)'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "share" -d 'Share PORT through a link of its own that expires (and a QR code for phones); the link opens that port and nothing else. `--list` shows live shares, `--revoke ID|all` ends them'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "unshare" -d 'End every share of PORT (or NAME\'s port) and make it private again'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "service" -d 'Start `portproxy run` at login and restart it on failure (systemd user unit, launchd agent, Scheduled Task)'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "self-update" -d 'Replace this binary with the newest release (or --version X), checksum-verified'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, powershell, elvish), e.g. `portproxy completions bash > ~/.local/share/bash-completion/completions/portproxy`'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "man" -d 'Print the man page (roff): `portproxy man | man -l -`'
complete -c portproxy -n "__fish_portproxy_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l config -d 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists' -r -F
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l listen -d 'Address the proxy listens on [default: 127.0.0.1:24306]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l admin -d 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l domain -d 'Base domain whose subdomains name ports; repeatable [default: localhost]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l allow-host -d 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l deny-port -d 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l preserve-host-port -d 'Pass the Host through unchanged for this port only; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l threads -d 'Worker threads [default: the number of CPUs]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l auth-token -d 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l public-port -d 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host\'s port only as an exact HOST:PORT; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l trusted-proxy -d 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else\'s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l label -d 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l names -d 'Give each port its project\'s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l name -d 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l http-port -d 'Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l https-port -d 'Port Caddy serves HTTPS on [default: 443]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l caddy -d 'The Caddy binary [default: `caddy` on PATH]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l tls -d 'Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask), `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or `internal` (Caddy\'s local CA, for LAN and tailnet names) [default: on-demand]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l preserve-host -d 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l no-auth -d 'Serve public domains without authentication (logged as a warning at every start)'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l access-log -d 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l no-caddy -d 'Don\'t start Caddy: serve the proxy alone, like `serve`'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -s y -l yes -d 'Ask nothing: where the local CA is not trusted yet, print the command that trusts it'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -l no-trust -d 'Don\'t offer to trust the local CA (print the command instead)'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -s v -l verbose -d 'Show access lines and Pingora\'s and Caddy\'s own logs; -vv adds debug detail (RUST_LOG, when set, decides instead)'
complete -c portproxy -n "__fish_portproxy_using_subcommand run" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l config -d 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists' -r -F
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l listen -d 'Address the proxy listens on [default: 127.0.0.1:24306]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l admin -d 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l domain -d 'Base domain whose subdomains name ports; repeatable [default: localhost]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l allow-host -d 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l deny-port -d 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l preserve-host-port -d 'Pass the Host through unchanged for this port only; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l threads -d 'Worker threads [default: the number of CPUs]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l auth-token -d 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l public-port -d 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host\'s port only as an exact HOST:PORT; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l trusted-proxy -d 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else\'s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l label -d 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l names -d 'Give each port its project\'s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l name -d 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l preserve-host -d 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port'
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l no-auth -d 'Serve public domains without authentication (logged as a warning at every start)'
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -l access-log -d 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too'
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -s v -l verbose -d 'Show access lines and Pingora\'s and Caddy\'s own logs; -vv adds debug detail (RUST_LOG, when set, decides instead)'
complete -c portproxy -n "__fish_portproxy_using_subcommand serve" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l config -d 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists' -r -F
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l listen -d 'Address the proxy listens on [default: 127.0.0.1:24306]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l admin -d 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l domain -d 'Base domain whose subdomains name ports; repeatable [default: localhost]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l allow-host -d 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l deny-port -d 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l preserve-host-port -d 'Pass the Host through unchanged for this port only; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l threads -d 'Worker threads [default: the number of CPUs]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l auth-token -d 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l public-port -d 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host\'s port only as an exact HOST:PORT; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l trusted-proxy -d 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else\'s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l label -d 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l names -d 'Give each port its project\'s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l name -d 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l http-port -d 'Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l https-port -d 'Port Caddy serves HTTPS on [default: 443]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l caddy -d 'The Caddy binary [default: `caddy` on PATH]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l tls -d 'Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask), `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or `internal` (Caddy\'s local CA, for LAN and tailnet names) [default: on-demand]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l preserve-host -d 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port'
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l no-auth -d 'Serve public domains without authentication (logged as a warning at every start)'
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l access-log -d 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too'
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -l no-caddy -d 'Don\'t start Caddy: serve the proxy alone, like `serve`'
complete -c portproxy -n "__fish_portproxy_using_subcommand caddyfile" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l config -d 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists' -r -F
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l listen -d 'Address the proxy listens on [default: 127.0.0.1:24306]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l admin -d 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l domain -d 'Base domain whose subdomains name ports; repeatable [default: localhost]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l allow-host -d 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l deny-port -d 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l preserve-host-port -d 'Pass the Host through unchanged for this port only; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l threads -d 'Worker threads [default: the number of CPUs]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l auth-token -d 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l public-port -d 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host\'s port only as an exact HOST:PORT; repeatable' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l trusted-proxy -d 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else\'s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l label -d 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l names -d 'Give each port its project\'s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l name -d 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l http-port -d 'Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l https-port -d 'Port Caddy serves HTTPS on [default: 443]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l caddy -d 'The Caddy binary [default: `caddy` on PATH]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l tls -d 'Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask), `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or `internal` (Caddy\'s local CA, for LAN and tailnet names) [default: on-demand]' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l json -d 'One JSON object on stdout (`problems`, and `checks` with `status` ok/warn/fail, `check`, `fix`), for scripts; the exit status is the same'
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l preserve-host -d 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port'
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l no-auth -d 'Serve public domains without authentication (logged as a warning at every start)'
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l access-log -d 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too'
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -l no-caddy -d 'Don\'t start Caddy: serve the proxy alone, like `serve`'
complete -c portproxy -n "__fish_portproxy_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand trust" -l uninstall -d 'Take the CA out of every store `trust` put it in'
complete -c portproxy -n "__fish_portproxy_using_subcommand trust" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand env" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand clean" -l all -d 'Remove the settings and the access token too'
complete -c portproxy -n "__fish_portproxy_using_subcommand clean" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand hosts" -l config -d 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists' -r -F
complete -c portproxy -n "__fish_portproxy_using_subcommand hosts" -l sync -d 'Write the block into the hosts file (needs root or an Administrator prompt)'
complete -c portproxy -n "__fish_portproxy_using_subcommand hosts" -l remove -d 'Take the block out of the hosts file (and, on macOS, the resolver file)'
complete -c portproxy -n "__fish_portproxy_using_subcommand hosts" -l resolver -d 'macOS: write /etc/resolver/localhost (needs root), so every program asks the running portproxy for every *.localhost name'
complete -c portproxy -n "__fish_portproxy_using_subcommand hosts" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand ls" -l json -d 'One JSON object, as the dashboard\'s `/api/ports` has it'
complete -c portproxy -n "__fish_portproxy_using_subcommand ls" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand url" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand open" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand token" -l config -d 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists' -r -F
complete -c portproxy -n "__fish_portproxy_using_subcommand token" -l rotate -d 'Replace the generated token with a new one and end every session; a running portproxy takes the new token when it reloads (SIGHUP) or restarts'
complete -c portproxy -n "__fish_portproxy_using_subcommand token" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand sessions" -l revoke -d 'End the session whose key starts with KEY (as listed), or `all` of them; a running portproxy refuses it within a second' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand sessions" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -l for -d 'How long the link works: 30m, 2h, 1h30m, 1d (at most 30d)' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -l via -d 'Publish the link through a tunnel tool you have: cloudflared (a quick tunnel, no account), tailscale (`serve`: your tailnet; with --public, `funnel`: the internet) or ngrok' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -l revoke -d 'End one share (its ID from --list), or `all`' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -l lan -d 'Listen on this machine\'s LAN addresses (plain HTTP), for a phone on the same network'
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -l public -d 'Without --via: make the port public on public domains (no sign-in) for --for; with --via tailscale: `tailscale funnel` rather than `serve`'
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -l list -d 'Show the live shares: target, who can use each, time left, uses'
complete -c portproxy -n "__fish_portproxy_using_subcommand share" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand unshare" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Register `portproxy run` to start at login (and start it now where possible)'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Stop it and remove the registration'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Say whether it is installed and where its logs go'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "install" -d 'Register `portproxy run` to start at login (and start it now where possible)'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Stop it and remove the registration'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "status" -d 'Say whether it is installed and where its logs go'
complete -c portproxy -n "__fish_portproxy_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portproxy -n "__fish_portproxy_using_subcommand self-update" -l version -d 'Install this release (e.g. 0.2.0), even if it is older than this one' -r
complete -c portproxy -n "__fish_portproxy_using_subcommand self-update" -l check -d 'Only say whether a newer release exists; change nothing'
complete -c portproxy -n "__fish_portproxy_using_subcommand self-update" -s y -l yes -d 'Don\'t ask before replacing the binary'
complete -c portproxy -n "__fish_portproxy_using_subcommand self-update" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand completions" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand man" -s h -l help -d 'Print help'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "run" -d 'The proxy with Caddy in front for HTTPS (the default command). Without Caddy on PATH it serves the proxy alone and says how to add HTTPS'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "serve" -d 'Run the proxy alone, without Caddy in front'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "caddyfile" -d 'Print the Caddyfile that `run` would use'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "doctor" -d 'Check Caddy, ports, DNS, the config and the local CA; say how to fix what is wrong'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "trust" -d 'Trust Caddy\'s local CA (system store, browsers\' databases), so browsers accept https://*.localhost; --uninstall takes it out of every store again'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "env" -d 'Print the exports that make Node and Python trust the local CA (`eval "$(portproxy env)"`)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "clean" -d 'Undo what portproxy did to this machine: trust, the login service, its state. Keeps the settings and the token unless --all'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "hosts" -d 'The hosts file\'s portproxy block, so curl, Node, Python and Safari resolve the names of the ports and projects listening now: printed, written (--sync, needs root; a running portproxy then keeps it) or taken out (--remove). macOS: --resolver, every name'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "ls" -d 'The dashboard\'s table in the terminal, from the running portproxy: ports, projects, processes, URLs'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "url" -d 'Print the URL of PORT or NAME as the running portproxy serves it (for scripts; exit 4 when none runs)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "open" -d 'Open the URL of PORT or NAME in the browser (prints it where there is no browser)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "token" -d 'Print the access token for public domains; --rotate makes a new one'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "sessions" -d 'List the signed-in sessions of public domains; --revoke KEY ends one (`all`: every one)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "share" -d 'Share PORT through a link of its own that expires (and a QR code for phones); the link opens that port and nothing else. `--list` shows live shares, `--revoke ID|all` ends them'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "unshare" -d 'End every share of PORT (or NAME\'s port) and make it private again'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "service" -d 'Start `portproxy run` at login and restart it on failure (systemd user unit, launchd agent, Scheduled Task)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "self-update" -d 'Replace this binary with the newest release (or --version X), checksum-verified'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "completions" -d 'Print the shell completion script for SHELL (bash, zsh, fish, powershell, elvish), e.g. `portproxy completions bash > ~/.local/share/bash-completion/completions/portproxy`'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "man" -d 'Print the man page (roff): `portproxy man | man -l -`'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and not __fish_seen_subcommand_from run serve caddyfile doctor trust env clean hosts ls url open token sessions share unshare service self-update completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "install" -d 'Register `portproxy run` to start at login (and start it now where possible)'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "uninstall" -d 'Stop it and remove the registration'
complete -c portproxy -n "__fish_portproxy_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "status" -d 'Say whether it is installed and where its logs go'
