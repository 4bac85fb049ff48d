#!/bin/bash
# Installs what `make check` and `make demo` need on a fresh Debian 12 machine, as root: the lab's
# qemu, debootstrap and ext4 tools, a C compiler for the race detector, OpenSSH and the age
# command line (benchmarks compare with them), shellcheck (make lint checks the rc.d script
# with it), mandoc (make lint checks the man pages with it), and Go 1.26. Packages
# already present are left alone; nothing is downloaded that a package registry does not serve.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in qemu-system-x86 qemu-utils debootstrap e2fsprogs zstd gcc libc6-dev make git ca-certificates openssh-server openssh-client zsh tcsh age shellcheck mandoc; do
	have "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages ${need[*]}; run as root or install them: apt-get install ${need[*]}" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Go: the toolchain the module asks for (go.mod's go line). /usr/local/go is where the
# workplace's machines carry it; elsewhere Debian's backported Go bootstraps it, and the Go
# command fetches the exact toolchain from the module proxy (GOTOOLCHAIN=auto).
export PATH=/usr/local/go/bin:$PATH
want=$(awk '/^go /{print $2; exit}' "$(dirname "$0")/../go.mod")
if ! command -v go >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: no Go toolchain; install Go $want or run as root" >&2
		exit 1
	fi
	echo "deps: no Go found; installing Debian's backported Go to fetch go$want"
	echo "deb http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/vault-backports.list
	apt-get update -qq
	apt-get install -y -qq -t bookworm-backports golang-go >/dev/null
fi
echo "deps: $(GOTOOLCHAIN=auto go version)"
