
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'portproxy' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'portproxy'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'portproxy' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'The proxy with Caddy in front for HTTPS (the default command). Without Caddy on PATH it serves the proxy alone and says how to add HTTPS')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the proxy alone, without Caddy in front')
            [CompletionResult]::new('caddyfile', 'caddyfile', [CompletionResultType]::ParameterValue, 'Print the Caddyfile that `run` would use')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check Caddy, ports, DNS, the config and the local CA; say how to fix what is wrong')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Trust Caddy''s local CA (system store, browsers'' databases), so browsers accept https://*.localhost; --uninstall takes it out of every store again')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the exports that make Node and Python trust the local CA (`eval "$(portproxy env)"`)')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Undo what portproxy did to this machine: trust, the login service, its state. Keeps the settings and the token unless --all')
            [CompletionResult]::new('hosts', 'hosts', [CompletionResultType]::ParameterValue, 'The hosts file''s portproxy block, so curl, Node, Python and Safari resolve the names of the ports and projects listening now: printed, written (--sync, needs root; a running portproxy then keeps it) or taken out (--remove). macOS: --resolver, every name')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'The dashboard''s table in the terminal, from the running portproxy: ports, projects, processes, URLs')
            [CompletionResult]::new('url', 'url', [CompletionResultType]::ParameterValue, 'Print the URL of PORT or NAME as the running portproxy serves it (for scripts; exit 4 when none runs)')
            [CompletionResult]::new('open', 'open', [CompletionResultType]::ParameterValue, 'Open the URL of PORT or NAME in the browser (prints it where there is no browser)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print the access token for public domains; --rotate makes a new one')
            [CompletionResult]::new('sessions', 'sessions', [CompletionResultType]::ParameterValue, 'List the signed-in sessions of public domains; --revoke KEY ends one (`all`: every one)')
            [CompletionResult]::new('share', 'share', [CompletionResultType]::ParameterValue, 'Share PORT through a link of its own that expires (and a QR code for phones); the link opens that port and nothing else. `--list` shows live shares, `--revoke ID|all` ends them')
            [CompletionResult]::new('unshare', 'unshare', [CompletionResultType]::ParameterValue, 'End every share of PORT (or NAME''s port) and make it private again')
            [CompletionResult]::new('service', 'service', [CompletionResultType]::ParameterValue, 'Start `portproxy run` at login and restart it on failure (systemd user unit, launchd agent, Scheduled Task)')
            [CompletionResult]::new('self-update', 'self-update', [CompletionResultType]::ParameterValue, 'Replace this binary with the newest release (or --version X), checksum-verified')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for SHELL (bash, zsh, fish, powershell, elvish), e.g. `portproxy completions bash > ~/.local/share/bash-completion/completions/portproxy`')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff): `portproxy man | man -l -`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'portproxy;run' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the proxy listens on [default: 127.0.0.1:24306]')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'Base domain whose subdomains name ports; repeatable [default: localhost]')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable')
            [CompletionResult]::new('--deny-port', '--deny-port', [CompletionResultType]::ParameterName, 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]')
            [CompletionResult]::new('--preserve-host-port', '--preserve-host-port', [CompletionResultType]::ParameterName, 'Pass the Host through unchanged for this port only; repeatable')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads [default: the number of CPUs]')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]')
            [CompletionResult]::new('--public-port', '--public-port', [CompletionResultType]::ParameterName, 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host''s port only as an exact HOST:PORT; repeatable')
            [CompletionResult]::new('--trusted-proxy', '--trusted-proxy', [CompletionResultType]::ParameterName, 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else''s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)')
            [CompletionResult]::new('--names', '--names', [CompletionResultType]::ParameterName, 'Give each port its project''s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)')
            [CompletionResult]::new('--http-port', '--http-port', [CompletionResultType]::ParameterName, 'Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80]')
            [CompletionResult]::new('--https-port', '--https-port', [CompletionResultType]::ParameterName, 'Port Caddy serves HTTPS on [default: 443]')
            [CompletionResult]::new('--caddy', '--caddy', [CompletionResultType]::ParameterName, 'The Caddy binary [default: `caddy` on PATH]')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask), `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or `internal` (Caddy''s local CA, for LAN and tailnet names) [default: on-demand]')
            [CompletionResult]::new('--preserve-host', '--preserve-host', [CompletionResultType]::ParameterName, 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Serve public domains without authentication (logged as a warning at every start)')
            [CompletionResult]::new('--access-log', '--access-log', [CompletionResultType]::ParameterName, 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too')
            [CompletionResult]::new('--no-caddy', '--no-caddy', [CompletionResultType]::ParameterName, 'Don''t start Caddy: serve the proxy alone, like `serve`')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Ask nothing: where the local CA is not trusted yet, print the command that trusts it')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Ask nothing: where the local CA is not trusted yet, print the command that trusts it')
            [CompletionResult]::new('--no-trust', '--no-trust', [CompletionResultType]::ParameterName, 'Don''t offer to trust the local CA (print the command instead)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show access lines and Pingora''s and Caddy''s own logs; -vv adds debug detail (RUST_LOG, when set, decides instead)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show access lines and Pingora''s and Caddy''s own logs; -vv adds debug detail (RUST_LOG, when set, decides instead)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;serve' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the proxy listens on [default: 127.0.0.1:24306]')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'Base domain whose subdomains name ports; repeatable [default: localhost]')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable')
            [CompletionResult]::new('--deny-port', '--deny-port', [CompletionResultType]::ParameterName, 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]')
            [CompletionResult]::new('--preserve-host-port', '--preserve-host-port', [CompletionResultType]::ParameterName, 'Pass the Host through unchanged for this port only; repeatable')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads [default: the number of CPUs]')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]')
            [CompletionResult]::new('--public-port', '--public-port', [CompletionResultType]::ParameterName, 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host''s port only as an exact HOST:PORT; repeatable')
            [CompletionResult]::new('--trusted-proxy', '--trusted-proxy', [CompletionResultType]::ParameterName, 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else''s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)')
            [CompletionResult]::new('--names', '--names', [CompletionResultType]::ParameterName, 'Give each port its project''s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)')
            [CompletionResult]::new('--preserve-host', '--preserve-host', [CompletionResultType]::ParameterName, 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Serve public domains without authentication (logged as a warning at every start)')
            [CompletionResult]::new('--access-log', '--access-log', [CompletionResultType]::ParameterName, 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show access lines and Pingora''s and Caddy''s own logs; -vv adds debug detail (RUST_LOG, when set, decides instead)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show access lines and Pingora''s and Caddy''s own logs; -vv adds debug detail (RUST_LOG, when set, decides instead)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;caddyfile' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the proxy listens on [default: 127.0.0.1:24306]')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'Base domain whose subdomains name ports; repeatable [default: localhost]')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable')
            [CompletionResult]::new('--deny-port', '--deny-port', [CompletionResultType]::ParameterName, 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]')
            [CompletionResult]::new('--preserve-host-port', '--preserve-host-port', [CompletionResultType]::ParameterName, 'Pass the Host through unchanged for this port only; repeatable')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads [default: the number of CPUs]')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]')
            [CompletionResult]::new('--public-port', '--public-port', [CompletionResultType]::ParameterName, 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host''s port only as an exact HOST:PORT; repeatable')
            [CompletionResult]::new('--trusted-proxy', '--trusted-proxy', [CompletionResultType]::ParameterName, 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else''s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)')
            [CompletionResult]::new('--names', '--names', [CompletionResultType]::ParameterName, 'Give each port its project''s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)')
            [CompletionResult]::new('--http-port', '--http-port', [CompletionResultType]::ParameterName, 'Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80]')
            [CompletionResult]::new('--https-port', '--https-port', [CompletionResultType]::ParameterName, 'Port Caddy serves HTTPS on [default: 443]')
            [CompletionResult]::new('--caddy', '--caddy', [CompletionResultType]::ParameterName, 'The Caddy binary [default: `caddy` on PATH]')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask), `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or `internal` (Caddy''s local CA, for LAN and tailnet names) [default: on-demand]')
            [CompletionResult]::new('--preserve-host', '--preserve-host', [CompletionResultType]::ParameterName, 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Serve public domains without authentication (logged as a warning at every start)')
            [CompletionResult]::new('--access-log', '--access-log', [CompletionResultType]::ParameterName, 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too')
            [CompletionResult]::new('--no-caddy', '--no-caddy', [CompletionResultType]::ParameterName, 'Don''t start Caddy: serve the proxy alone, like `serve`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;doctor' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the proxy listens on [default: 127.0.0.1:24306]')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Loopback address of the admin listener (/healthz, /metrics, /caddy/ask) [default: 127.0.0.1:24307]')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'Base domain whose subdomains name ports; repeatable [default: localhost]')
            [CompletionResult]::new('--allow-host', '--allow-host', [CompletionResultType]::ParameterName, 'Allow a non-loopback target: a name, *.suffix, an IP or a CIDR; repeatable')
            [CompletionResult]::new('--deny-port', '--deny-port', [CompletionResultType]::ParameterName, 'Refuse a port or range (e.g. 9000-9100); repeatable; replaces the default list; `none` clears it [default: 22, 2019, 2375-2376, 9222, 9229-9230]')
            [CompletionResult]::new('--preserve-host-port', '--preserve-host-port', [CompletionResultType]::ParameterName, 'Pass the Host through unchanged for this port only; repeatable')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads [default: the number of CPUs]')
            [CompletionResult]::new('--auth-token', '--auth-token', [CompletionResultType]::ParameterName, 'The access token for public domains (at least 16 characters); on the command line it shows in `ps` to every local user, so prefer the generated token file or the config file [default: generated on first run and stored in the config directory]')
            [CompletionResult]::new('--public-port', '--public-port', [CompletionResultType]::ParameterName, 'A port of this machine anyone may reach on public domains, without signing in (webhooks, demos); another host''s port only as an exact HOST:PORT; repeatable')
            [CompletionResult]::new('--trusted-proxy', '--trusted-proxy', [CompletionResultType]::ParameterName, 'A proxy of your own in front of portproxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: an IP or a CIDR; repeatable. Anyone else''s are not, so no local process speaks for the internet (Caddy under `run` needs no entry)')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A name for a port on the dashboard, e.g. 5173=web; repeatable (in the config file: a `[labels]` table, `5173 = "web"`)')
            [CompletionResult]::new('--names', '--names', [CompletionResultType]::ParameterName, 'Give each port its project''s name (`shop-web.localhost`, learned from its manifest, git work tree or directory); `false` leaves only labels as names [default: true]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Pin a directory (and everything under it) to a name, for a project whose manifest says something else, e.g. ~/src/shop=shop; repeatable (in the config file: a `[names]` table of `"~/src/shop" = "shop"`)')
            [CompletionResult]::new('--http-port', '--http-port', [CompletionResultType]::ParameterName, 'Port Caddy serves plain HTTP on (it redirects to HTTPS) [default: 80]')
            [CompletionResult]::new('--https-port', '--https-port', [CompletionResultType]::ParameterName, 'Port Caddy serves HTTPS on [default: 443]')
            [CompletionResult]::new('--caddy', '--caddy', [CompletionResultType]::ParameterName, 'The Caddy binary [default: `caddy` on PATH]')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Certificates for public domains: `on-demand` (one per name, gated by /caddy/ask), `dns:PROVIDER` (one wildcard via the DNS challenge; token in PORTPROXY_DNS_TOKEN) or `internal` (Caddy''s local CA, for LAN and tailnet names) [default: on-demand]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object on stdout (`problems`, and `checks` with `status` ok/warn/fail, `check`, `fix`), for scripts; the exit status is the same')
            [CompletionResult]::new('--preserve-host', '--preserve-host', [CompletionResultType]::ParameterName, 'Pass Host, Origin, Referer, Location and cookies through unchanged, for every port')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Serve public domains without authentication (logged as a warning at every start)')
            [CompletionResult]::new('--access-log', '--access-log', [CompletionResultType]::ParameterName, 'Log a line per request and per refusal (method, host, path, target, status, bytes, time); -v shows them too')
            [CompletionResult]::new('--no-caddy', '--no-caddy', [CompletionResultType]::ParameterName, 'Don''t start Caddy: serve the proxy alone, like `serve`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;trust' {
            [CompletionResult]::new('--uninstall', '--uninstall', [CompletionResultType]::ParameterName, 'Take the CA out of every store `trust` put it in')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;env' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;clean' {
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Remove the settings and the access token too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;hosts' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'Write the block into the hosts file (needs root or an Administrator prompt)')
            [CompletionResult]::new('--remove', '--remove', [CompletionResultType]::ParameterName, 'Take the block out of the hosts file (and, on macOS, the resolver file)')
            [CompletionResult]::new('--resolver', '--resolver', [CompletionResultType]::ParameterName, 'macOS: write /etc/resolver/localhost (needs root), so every program asks the running portproxy for every *.localhost name')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;ls' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object, as the dashboard''s `/api/ports` has it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;url' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;open' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;token' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (TOML). Default: $XDG_CONFIG_HOME/portproxy/config.toml when it exists')
            [CompletionResult]::new('--rotate', '--rotate', [CompletionResultType]::ParameterName, 'Replace the generated token with a new one and end every session; a running portproxy takes the new token when it reloads (SIGHUP) or restarts')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;sessions' {
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'End the session whose key starts with KEY (as listed), or `all` of them; a running portproxy refuses it within a second')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;share' {
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'How long the link works: 30m, 2h, 1h30m, 1d (at most 30d)')
            [CompletionResult]::new('--via', '--via', [CompletionResultType]::ParameterName, 'Publish the link through a tunnel tool you have: cloudflared (a quick tunnel, no account), tailscale (`serve`: your tailnet; with --public, `funnel`: the internet) or ngrok')
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'End one share (its ID from --list), or `all`')
            [CompletionResult]::new('--lan', '--lan', [CompletionResultType]::ParameterName, 'Listen on this machine''s LAN addresses (plain HTTP), for a phone on the same network')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Without --via: make the port public on public domains (no sign-in) for --for; with --via tailscale: `tailscale funnel` rather than `serve`')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'Show the live shares: target, who can use each, time left, uses')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;unshare' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;service' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Register `portproxy run` to start at login (and start it now where possible)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Stop it and remove the registration')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether it is installed and where its logs go')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'portproxy;service;install' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;service;uninstall' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;service;status' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;service;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Register `portproxy run` to start at login (and start it now where possible)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Stop it and remove the registration')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether it is installed and where its logs go')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'portproxy;service;help;install' {
            break
        }
        'portproxy;service;help;uninstall' {
            break
        }
        'portproxy;service;help;status' {
            break
        }
        'portproxy;service;help;help' {
            break
        }
        'portproxy;self-update' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Install this release (e.g. 0.2.0), even if it is older than this one')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Only say whether a newer release exists; change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Don''t ask before replacing the binary')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Don''t ask before replacing the binary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;man' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'portproxy;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'The proxy with Caddy in front for HTTPS (the default command). Without Caddy on PATH it serves the proxy alone and says how to add HTTPS')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the proxy alone, without Caddy in front')
            [CompletionResult]::new('caddyfile', 'caddyfile', [CompletionResultType]::ParameterValue, 'Print the Caddyfile that `run` would use')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check Caddy, ports, DNS, the config and the local CA; say how to fix what is wrong')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Trust Caddy''s local CA (system store, browsers'' databases), so browsers accept https://*.localhost; --uninstall takes it out of every store again')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the exports that make Node and Python trust the local CA (`eval "$(portproxy env)"`)')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Undo what portproxy did to this machine: trust, the login service, its state. Keeps the settings and the token unless --all')
            [CompletionResult]::new('hosts', 'hosts', [CompletionResultType]::ParameterValue, 'The hosts file''s portproxy block, so curl, Node, Python and Safari resolve the names of the ports and projects listening now: printed, written (--sync, needs root; a running portproxy then keeps it) or taken out (--remove). macOS: --resolver, every name')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'The dashboard''s table in the terminal, from the running portproxy: ports, projects, processes, URLs')
            [CompletionResult]::new('url', 'url', [CompletionResultType]::ParameterValue, 'Print the URL of PORT or NAME as the running portproxy serves it (for scripts; exit 4 when none runs)')
            [CompletionResult]::new('open', 'open', [CompletionResultType]::ParameterValue, 'Open the URL of PORT or NAME in the browser (prints it where there is no browser)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print the access token for public domains; --rotate makes a new one')
            [CompletionResult]::new('sessions', 'sessions', [CompletionResultType]::ParameterValue, 'List the signed-in sessions of public domains; --revoke KEY ends one (`all`: every one)')
            [CompletionResult]::new('share', 'share', [CompletionResultType]::ParameterValue, 'Share PORT through a link of its own that expires (and a QR code for phones); the link opens that port and nothing else. `--list` shows live shares, `--revoke ID|all` ends them')
            [CompletionResult]::new('unshare', 'unshare', [CompletionResultType]::ParameterValue, 'End every share of PORT (or NAME''s port) and make it private again')
            [CompletionResult]::new('service', 'service', [CompletionResultType]::ParameterValue, 'Start `portproxy run` at login and restart it on failure (systemd user unit, launchd agent, Scheduled Task)')
            [CompletionResult]::new('self-update', 'self-update', [CompletionResultType]::ParameterValue, 'Replace this binary with the newest release (or --version X), checksum-verified')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for SHELL (bash, zsh, fish, powershell, elvish), e.g. `portproxy completions bash > ~/.local/share/bash-completion/completions/portproxy`')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff): `portproxy man | man -l -`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'portproxy;help;run' {
            break
        }
        'portproxy;help;serve' {
            break
        }
        'portproxy;help;caddyfile' {
            break
        }
        'portproxy;help;doctor' {
            break
        }
        'portproxy;help;trust' {
            break
        }
        'portproxy;help;env' {
            break
        }
        'portproxy;help;clean' {
            break
        }
        'portproxy;help;hosts' {
            break
        }
        'portproxy;help;ls' {
            break
        }
        'portproxy;help;url' {
            break
        }
        'portproxy;help;open' {
            break
        }
        'portproxy;help;token' {
            break
        }
        'portproxy;help;sessions' {
            break
        }
        'portproxy;help;share' {
            break
        }
        'portproxy;help;unshare' {
            break
        }
        'portproxy;help;service' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Register `portproxy run` to start at login (and start it now where possible)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Stop it and remove the registration')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Say whether it is installed and where its logs go')
            break
        }
        'portproxy;help;service;install' {
            break
        }
        'portproxy;help;service;uninstall' {
            break
        }
        'portproxy;help;service;status' {
            break
        }
        'portproxy;help;self-update' {
            break
        }
        'portproxy;help;completions' {
            break
        }
        'portproxy;help;man' {
            break
        }
        'portproxy;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
