#!/bin/sh
# shellcheck shell=sh
# Installs portproxy (and Caddy, for HTTPS) into ~/.local/bin:
#   curl -fsSL https://github.com/OWNER/portproxy/releases/latest/download/install.sh | sh
# Everything is inside main(), called on the last line: a truncated download runs nothing.

main() {
	set -eu
	repository="https://github.com/OWNER/portproxy"
	# The Caddy it installs, and the oldest it accepts on PATH (Cargo.toml's
	# [package.metadata.portproxy]; a test holds every copy to it).
	caddy_pinned="2.11.7"
	caddy_minimum="2.6.2"

	yes="${PORTPROXY_YES:-}"
	version="${PORTPROXY_VERSION:-}"
	no_caddy="${PORTPROXY_NO_CADDY:-}"
	no_modify_path="${PORTPROXY_NO_MODIFY_PATH:-}"
	bin_dir="${PORTPROXY_INSTALL_DIR:-$HOME/.local/bin}"
	skip_checksum=""
	uninstall=""
	while [ $# -gt 0 ]; do
		case "$1" in
		-y | --yes) yes=1 ;;
		--version)
			[ $# -ge 2 ] || fail "--version needs a value, e.g. --version 0.2.0"
			version="$2"
			shift
			;;
		--install-dir)
			[ $# -ge 2 ] || fail "--install-dir needs a value, e.g. --install-dir ~/bin"
			bin_dir="$2"
			shift
			;;
		--no-caddy) no_caddy=1 ;;
		--no-modify-path) no_modify_path=1 ;;
		--insecure-skip-checksum) skip_checksum=1 ;;
		--uninstall) uninstall=1 ;;
		-h | --help)
			usage
			return 0
			;;
		*) fail "unknown option: $1 (see --help)" ;;
		esac
		shift
	done
	version="${version#v}"

	# A relative directory on PATH would follow the user around.
	case "$bin_dir" in
	/*) ;;
	*) bin_dir="$(pwd)/$bin_dir" ;;
	esac
	config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
	config_dir="$config_home/portproxy"
	data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
	# Names the Caddy this script installed, so a re-run upgrades that one and no other.
	caddy_receipt="$config_dir/caddy-installed-by-install-sh"
	path_line="export PATH=\"$bin_dir:\$PATH\" # added by portproxy install.sh"
	fish_line="fish_add_path \"$bin_dir\""
	fish_file="$config_home/fish/conf.d/portproxy.fish"
	if [ -n "$uninstall" ]; then
		uninstall
		return 0
	fi

	triple="$(detect_triple)"
	# dist's own installers read the same variable: where GitHub is (a mirror, or a test's).
	releases="${PORTPROXY_INSTALLER_GITHUB_BASE_URL:-https://github.com}/${repository#https://github.com/}/releases"
	if [ -n "$version" ]; then
		base="${PORTPROXY_DOWNLOAD_URL:-$releases/download/v$version}"
	else
		base="${PORTPROXY_DOWNLOAD_URL:-$releases/latest/download}"
	fi
	# Mirrors serve the checksums beside the files: plain http only to this machine.
	check_source PORTPROXY_DOWNLOAD_URL "${PORTPROXY_DOWNLOAD_URL:-}"
	check_source PORTPROXY_INSTALLER_GITHUB_BASE_URL "${PORTPROXY_INSTALLER_GITHUB_BASE_URL:-}"
	if [ -z "$no_caddy" ]; then
		check_source PORTPROXY_CADDY_DOWNLOAD_URL "${PORTPROXY_CADDY_DOWNLOAD_URL:-}"
	fi
	say "installing portproxy ($triple) into $bin_dir"
	confirm

	# Staged beside the install dir, not in the system temp dir: hardened servers mount /tmp
	# noexec, and what runs here runs once installed.
	mkdir -p "$bin_dir" || fail "cannot create $bin_dir"
	tmp="$(mktemp -d "$bin_dir/.portproxy-install.XXXXXX")" || fail "cannot write to $bin_dir (choose another with --install-dir)"
	trap 'rm -rf "$tmp"' EXIT INT TERM
	printf '#!/bin/sh\nexit 0\n' >"$tmp/probe"
	chmod 755 "$tmp/probe"
	"$tmp/probe" 2>/dev/null ||
		fail "programs in $bin_dir may not run (is its filesystem mounted noexec?); nothing was installed; choose another directory with --install-dir"
	# gzip rather than xz: minimal images have no xz.
	archive="portproxy-$triple.tar.gz"
	download "$base/$archive" "$tmp/$archive"
	download "$base/$archive.sha256" "$tmp/$archive.sha256"
	verify sha256 "$tmp" "$archive" "$tmp/$archive.sha256"
	tar -xzf "$tmp/$archive" -C "$tmp"
	[ -f "$tmp/portproxy-$triple/portproxy" ] || fail "$archive holds no portproxy-$triple/portproxy"
	chmod 755 "$tmp/portproxy-$triple/portproxy"
	# Run it before it replaces anything: a build this system cannot run stops here.
	said="$("$tmp/portproxy-$triple/portproxy" --version 2>&1)" ||
		fail "the downloaded portproxy ($triple) does not run here: $said; nothing was installed"
	# The first line is `portproxy X.Y.Z`; the next ones name the build.
	new_version="$(printf '%s\n' "$said" | head -n 1)"
	place "$tmp/portproxy-$triple/portproxy" portproxy
	say "installed $new_version"
	install_docs "$tmp/portproxy-$triple"

	if [ -n "$no_caddy" ]; then
		say "skipping Caddy (--no-caddy): portproxy will serve plain HTTP on 127.0.0.1:24306"
	elif [ "$(cat "$caddy_receipt" 2>/dev/null || true)" = "$bin_dir/caddy" ] && [ -x "$bin_dir/caddy" ]; then
		# Ours from an earlier run (even once it is on PATH): keep it at the pinned version.
		install_caddy
		low_ports
	elif caddy_ok; then
		say "using the Caddy already on PATH ($(caddy version | cut -d' ' -f1))"
	else
		install_caddy
		low_ports
	fi

	case ":$PATH:" in
	*":$bin_dir:"*) ;;
	*)
		if [ -n "$no_modify_path" ]; then
			say "$bin_dir is not on your PATH; add it:"
			case "${SHELL:-}" in
			*/fish) say "  fish_add_path \"$bin_dir\"" ;;
			*) say "  echo 'export PATH=\"$bin_dir:\$PATH\"' >> ~/.profile && . ~/.profile" ;;
			esac
		else
			add_to_path
		fi
		;;
	esac
	# Later steps of a GitHub Actions job find it through this file.
	if [ -n "${GITHUB_PATH:-}" ] && [ -z "$no_modify_path" ]; then
		printf '%s\n' "$bin_dir" >>"$GITHUB_PATH"
		say "added $bin_dir to GITHUB_PATH for the next steps"
	fi
	say "next: run \`portproxy\`, then open https://PORT.localhost/ (or \`portproxy serve\` for http://PORT.localhost:24306/)"
}

usage() {
	cat <<'EOF'
install.sh: install portproxy and Caddy into ~/.local/bin

Unless that directory is on PATH already, it is added for new shells: one marked line in
~/.profile, and in ~/.bashrc, ~/.bash_profile and ~/.zshrc where they exist (a zsh user
without a ~/.zshrc gets one); fish gets ~/.config/fish/conf.d/portproxy.fish. In GitHub
Actions it is appended to $GITHUB_PATH too. Shell completions (bash, zsh, fish) and the man
page go under ${XDG_DATA_HOME:-~/.local/share}. The download is unpacked and tried in a
hidden folder inside the install directory, not in /tmp (which may be mounted noexec).

Options:
  -y, --yes                  don't ask
  --version X.Y.Z            install this version (default: the latest)
  --install-dir DIR          install here (default ~/.local/bin)
  --no-modify-path           don't edit shell startup files; print what to add instead
  --no-caddy                 don't install Caddy (portproxy then serves plain HTTP)
  --insecure-skip-checksum   install even without a SHA-256 tool (not recommended)
  --uninstall                remove what install.sh and `portproxy service install` added:
                             the login service, portproxy, the Caddy it installed, the
                             completions, the man page and the PATH lines (settings, the
                             token and certificates stay; it says where)
  -h, --help                 this text

Environment:
  PORTPROXY_INSTALL_DIR          as --install-dir
  PORTPROXY_DOWNLOAD_URL         where portproxy's release files are (a mirror)
  PORTPROXY_INSTALLER_GITHUB_BASE_URL   GitHub's address (a mirror of its release URLs)
  PORTPROXY_CADDY_DOWNLOAD_URL   where Caddy's release files are (a mirror)
  PORTPROXY_CADDY_VERSION        which Caddy to install
  PORTPROXY_ALLOW_HTTP_MIRROR    non-empty: accept a mirror over plain http to another
                                 machine (https, file:// and http to 127.0.0.1, [::1] or
                                 localhost need nothing)
  PORTPROXY_NO_MODIFY_PATH       non-empty: as --no-modify-path
  PORTPROXY_VERSION, PORTPROXY_NO_CADDY, PORTPROXY_YES   as their options
EOF
}

say() {
	printf 'portproxy-install: %s\n' "$*" >&2
}

confirm() {
	if [ -z "$yes" ] && [ -t 0 ]; then
		printf 'Continue? [Y/n] '
		read -r answer
		case "$answer" in n* | N*) fail "cancelled" ;; esac
	fi
}

fail() {
	printf 'portproxy-install: error: %s\n' "$*" >&2
	exit 1
}

detect_triple() {
	os="$(uname -s)"
	arch="$(uname -m)"
	case "$os" in
	Linux) os=unknown-linux ;;
	Darwin)
		os=apple-darwin
		# Under Rosetta uname says x86_64 on an arm64 Mac; the native build is better.
		if [ "$(sysctl -n hw.optional.arm64 2>/dev/null || true)" = 1 ]; then arch=arm64; fi
		;;
	MINGW* | MSYS* | CYGWIN*) fail "on Windows use install.ps1: irm $repository/releases/latest/download/install.ps1 | iex" ;;
	*) fail "no portproxy build for $os" ;;
	esac
	case "$arch" in
	x86_64 | amd64) arch=x86_64 ;;
	aarch64 | arm64) arch=aarch64 ;;
	*) fail "no portproxy build for $arch" ;;
	esac
	if [ "$os" = unknown-linux ]; then
		if ldd --version 2>&1 | grep -qi musl || ls /lib/ld-musl-* >/dev/null 2>&1 || ! glibc_new_enough; then
			printf '%s-%s-musl\n' "$arch" "$os"
		else
			printf '%s-%s-gnu\n' "$arch" "$os"
		fi
	else
		printf '%s-%s\n' "$arch" "$os"
	fi
}

# The gnu builds are made on Ubuntu 22.04 and need glibc 2.35; an older (or unknown) glibc
# gets the static musl build, which runs anywhere.
glibc_new_enough() {
	at_least 2.35 "$({ getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version 2>&1; } | head -n 1 | sed -n 's/.*[^0-9.]\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')"
}

# at_least MINIMUM VERSION: VERSION (`2.36`, `v2.6.2`, `2.11.7 h1:…`) is MINIMUM (`2.35`,
# `2.6.2`) or newer; an empty or unreadable VERSION is not. A missing part counts as 0.
at_least() {
	want="$1."
	have="${2#v}"
	have="${have%% *}."
	while [ -n "$want" ]; do
		w="${want%%.*}"
		h="${have%%.*}"
		want="${want#*.}"
		have="${have#*.}"
		[ -n "$h" ] || h=0
		[ "$h" -eq "$h" ] 2>/dev/null || return 1
		[ "$h" -gt "$w" ] && return 0
		[ "$h" -lt "$w" ] && return 1
	done
	return 0
}

# place FILE NAME: FILE becomes bin_dir/NAME as a new file renamed over the old one, so a
# running portproxy or Caddy keeps its own inode.
place() {
	mkdir -p "$bin_dir"
	cp "$1" "$bin_dir/.$2.new"
	chmod 755 "$bin_dir/.$2.new"
	mv -f "$bin_dir/.$2.new" "$bin_dir/$2"
}

# check_source VARIABLE URL: https, a local file:// folder, or plain http to this machine
# (127.0.0.0/8, [::1], localhost). Plain http elsewhere carries the files and their checksums
# alike past whoever is on the way: only with PORTPROXY_ALLOW_HTTP_MIRROR, and said.
check_source() {
	case "$2" in
	"" | https://* | file://*) return 0 ;;
	http://*) ;;
	*) fail "$1 \`$2\` is not an https:// (or file://) URL" ;;
	esac
	hostport="${2#http://}"
	hostport="${hostport%%[/?#]*}"
	hostport="${hostport##*@}"
	case "$hostport" in
	\[::1\] | \[::1\]:*) return 0 ;;
	\[*) host="" ;;
	*) host="${hostport%%:*}" ;;
	esac
	case "$host" in
	localhost) return 0 ;;
	127.*.*.*)
		case "$host" in
		*[!0-9.]* | *..* | *.) ;;
		*) return 0 ;;
		esac
		;;
	esac
	if [ -n "${PORTPROXY_ALLOW_HTTP_MIRROR:-}" ]; then
		say "WARNING: $1 is plain http to another machine ($2); accepted because PORTPROXY_ALLOW_HTTP_MIRROR is set: the files and their checksums are not protected on the way"
		return 0
	fi
	fail "$1 is plain http to another machine ($2): the checksums come the same way, so anyone on the network path could replace both; use https (plain http is accepted only for 127.0.0.1, [::1] and localhost), or set PORTPROXY_ALLOW_HTTP_MIRROR=1 to accept that risk"
}

# install_docs DIR: the shell completions and man page from the archive, where bash, fish and
# man look for a user's own (zsh needs its fpath extended; said once).
install_docs() {
	[ -d "$1/completions" ] || return 0
	copy_doc "$1/completions/portproxy.bash" "$data_home/$bash_completion"
	copy_doc "$1/completions/portproxy.fish" "$data_home/$fish_completion"
	copy_doc "$1/completions/_portproxy" "$data_home/$zsh_completion"
	copy_doc "$1/man/portproxy.1" "$data_home/$man_page"
	say "installed shell completions (bash, zsh, fish) and the man page under $data_home"
	case "${SHELL:-}" in
	*/zsh) say "zsh: add 'fpath+=($data_home/zsh/site-functions)' before compinit in ~/.zshrc for completions" ;;
	esac
}

# Where bash, fish, zsh and man look for a user's own files, under XDG_DATA_HOME.
bash_completion="bash-completion/completions/portproxy"
fish_completion="fish/vendor_completions.d/portproxy.fish"
zsh_completion="zsh/site-functions/_portproxy"
man_page="man/man1/portproxy.1"

# Removes what an install and `portproxy service install` added, and nothing of the user's:
# a Caddy this script did not install stays, and so do the settings, the token and Caddy's
# certificates (said where).
uninstall() {
	say "uninstalling portproxy from $bin_dir"
	confirm
	# The login service runs this binary: it goes first, while the binary can remove it.
	if [ -x "$bin_dir/portproxy" ]; then
		"$bin_dir/portproxy" service uninstall ||
			say "could not remove the login service; see \`portproxy service status\`"
	fi
	removed=""
	remove "$bin_dir/portproxy"
	if [ "$(cat "$caddy_receipt" 2>/dev/null || true)" = "$bin_dir/caddy" ]; then
		remove "$bin_dir/caddy"
		rm -f "$caddy_receipt"
	elif [ -e "$bin_dir/caddy" ]; then
		say "left $bin_dir/caddy in place: install.sh did not install it"
	fi
	for doc in "$bash_completion" "$fish_completion" "$zsh_completion" "$man_page"; do
		remove "$data_home/$doc"
	done
	for rc in .profile .bashrc .bash_profile .zshrc; do
		if [ -f "$HOME/$rc" ] && grep -qxF "$path_line" "$HOME/$rc"; then
			# Rewritten in place (not replaced), so its owner, mode and links stay. grep -v
			# exits 1 when no line is left: still a success.
			if grep -vxF "$path_line" "$HOME/$rc" >"$HOME/$rc.portproxy-uninstall" || [ $? -eq 1 ]; then
				cat "$HOME/$rc.portproxy-uninstall" >"$HOME/$rc"
				removed="$removed ~/$rc (the PATH line)"
			fi
			rm -f "$HOME/$rc.portproxy-uninstall"
		fi
	done
	if [ "$(cat "$fish_file" 2>/dev/null || true)" = "$fish_line" ]; then
		remove "$fish_file"
	fi
	rmdir "$config_dir" 2>/dev/null || true
	if [ -n "$removed" ]; then
		say "removed:$removed"
	else
		say "nothing of portproxy's was found to remove"
	fi
	if [ -d "$config_dir" ] || [ -d "$data_home/portproxy" ] || [ -d "$HOME/Library/Application Support/portproxy" ]; then
		say "kept your settings and access token ($config_dir) and Caddy's certificates ($data_home/portproxy; macOS: ~/Library/Application Support/portproxy): delete those folders to remove them too"
		say "if you ran \`portproxy trust\`, remove \"Caddy Local Authority\" from the system trust store"
	fi
}

# remove FILE: deletes it, if it is there, and lists it in $removed.
remove() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		rm -f "$1"
		removed="$removed $1"
	fi
}

copy_doc() {
	if [ -f "$1" ]; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2"
	fi
}

download() {
	case "$1" in
	https://*) secure="--proto =https --proto-redir =https --tlsv1.2" ;;
	*) secure="" ;;
	esac
	if command -v curl >/dev/null 2>&1; then
		# shellcheck disable=SC2086 # the flags or none
		curl $secure --retry 3 --retry-delay 1 -fsSL "$1" -o "$2" || fail "could not download $1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q --tries=3 --waitretry=1 "$1" -O "$2" || fail "could not download $1"
	else
		fail "neither curl nor wget is installed"
	fi
}

# verify ALGO DIR FILE SUMS: FILE (in DIR) must match its line in SUMS.
verify() {
	want="$(grep -E "[ *]$3\$" "$4" | head -n 1 | cut -d' ' -f1)"
	[ -n "$want" ] || fail "no checksum for $3 in $(basename "$4")"
	if command -v "${1}sum" >/dev/null 2>&1; then
		got="$("${1}sum" "$2/$3" | cut -d' ' -f1)"
	elif command -v shasum >/dev/null 2>&1; then
		got="$(shasum -a "${1#sha}" "$2/$3" | cut -d' ' -f1)"
	elif [ -n "$skip_checksum" ]; then
		say "WARNING: no ${1}sum or shasum: $3 is NOT verified (--insecure-skip-checksum)"
		return 0
	else
		fail "no ${1}sum or shasum to verify $3 (install coreutils, or pass --insecure-skip-checksum)"
	fi
	[ "$got" = "$want" ] || fail "checksum mismatch for $3: expected $want, got $got; nothing was installed"
}

# A Caddy on PATH that portproxy runs with.
caddy_ok() {
	command -v caddy >/dev/null 2>&1 && at_least "$caddy_minimum" "$(caddy version 2>/dev/null | cut -d' ' -f1)"
}

# Puts bin_dir on PATH for future shells, once per startup file, so re-runs add nothing.
add_to_path() {
	rcs=".profile"
	# bash reads .bashrc (interactive) or .bash_profile (login) instead of .profile when they
	# exist; zsh never reads .profile.
	for rc in .bashrc .bash_profile .zshrc; do
		if [ -f "$HOME/$rc" ]; then rcs="$rcs $rc"; fi
	done
	case "${SHELL:-}" in
	*/zsh) [ -f "$HOME/.zshrc" ] || rcs="$rcs .zshrc" ;;
	esac
	changed=""
	for rc in $rcs; do
		if [ -f "$HOME/$rc" ] && grep -qxF "$path_line" "$HOME/$rc"; then continue; fi
		# A last line without its newline would swallow ours.
		if [ -s "$HOME/$rc" ] && [ -n "$(tail -c 1 "$HOME/$rc")" ]; then echo >>"$HOME/$rc"; fi
		printf '%s\n' "$path_line" >>"$HOME/$rc"
		changed="$changed ~/$rc"
	done
	if [ -d "$config_home/fish" ]; then
		if [ "$(cat "$fish_file" 2>/dev/null || true)" != "$fish_line" ]; then
			mkdir -p "$config_home/fish/conf.d"
			printf '%s\n' "$fish_line" >"$fish_file"
			changed="$changed $fish_file"
		fi
	fi
	if [ -n "$changed" ]; then
		say "added $bin_dir to PATH for new shells in:$changed (--no-modify-path to skip)"
	else
		say "$bin_dir is on PATH for new shells already"
	fi
	case "${SHELL:-}" in
	*/fish) say "to use it in this shell: fish_add_path \"$bin_dir\" (or open a new terminal)" ;;
	*) say "to use it in this shell: . ~/.profile" ;;
	esac
}

# Ports 80 and 443 for the Caddy installed here. Without them a normal Linux user's
# `portproxy` serves HTTPS on 8443; a new file loses the capability, so every upgrade offers
# it again. Asked only on a terminal; piped or --yes, the command is printed.
low_ports() {
	[ "$(uname -s)" = Linux ] || return 0
	[ "$(id -u)" = 0 ] && return 0
	start="$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)"
	[ "$start" -le 80 ] && return 0
	setcap_line="sudo setcap cap_net_bind_service=+ep $bin_dir/caddy"
	if [ -z "$yes" ] && [ -t 0 ] && command -v sudo >/dev/null 2>&1; then
		printf 'Let Caddy use ports 80 and 443, for https://PORT.localhost/ without a port? This runs: %s [y/N] ' "$setcap_line"
		read -r answer
		case "$answer" in
		y* | Y*)
			if sudo setcap cap_net_bind_service=+ep "$bin_dir/caddy"; then
				say "Caddy may bind ports 80 and 443 now (install.sh offers this again on each upgrade: a new file loses it)"
				return 0
			fi
			;;
		esac
	fi
	say "as a normal user portproxy serves HTTPS on port 8443; for https://PORT.localhost/ without a port, run: $setcap_line (again after each upgrade: a new file loses it)"
}

install_caddy() {
	cv="${PORTPROXY_CADDY_VERSION:-$caddy_pinned}"
	cv="${cv#v}"
	case "$triple" in
	*linux*) cos=linux ;;
	*darwin*) cos=mac ;;
	esac
	case "$triple" in
	x86_64*) carch=amd64 ;;
	aarch64*) carch=arm64 ;;
	esac
	cbase="${PORTPROXY_CADDY_DOWNLOAD_URL:-https://github.com/caddyserver/caddy/releases/download/v$cv}"
	casset="caddy_${cv}_${cos}_${carch}.tar.gz"
	if [ -x "$bin_dir/caddy" ] && [ "$("$bin_dir/caddy" version 2>/dev/null | cut -d' ' -f1)" = "v$cv" ]; then
		say "Caddy $cv is installed already"
		return 0
	fi
	say "installing Caddy $cv for HTTPS"
	download "$cbase/$casset" "$tmp/$casset"
	download "$cbase/caddy_${cv}_checksums.txt" "$tmp/caddy_checksums.txt"
	verify sha512 "$tmp" "$casset" "$tmp/caddy_checksums.txt"
	mkdir -p "$tmp/caddy"
	tar -xzf "$tmp/$casset" -C "$tmp/caddy" caddy
	place "$tmp/caddy/caddy" caddy
	mkdir -p "$config_dir"
	printf '%s\n' "$bin_dir/caddy" >"$caddy_receipt"
	say "installed Caddy $cv into $bin_dir"
}

main "$@"
