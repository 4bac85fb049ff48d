#!/bin/bash
# The planners are pure (DESIGN.md, issue 18): they import nothing that reaches the system.
# Fails, naming the package or file and the import, when one does. Run by `make lint`.
#   - policy: neither it nor anything it depends on imports os/exec or net (fmt brings os and
#     syscall into every package's dependencies, so those are checked as direct imports only).
#   - policy and prune: no direct import of os, os/exec, os/signal, net, net/..., syscall. prune
#     also holds its executor (execute.go), which runs zfs through the zfs package, so its
#     dependencies include os/exec through zfs; only its own imports are checked.
#   - puller is the pull's planner and its executor in one package: only the planner's files
#     (plan.go, plan_index.go) are checked, by their import blocks.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
banned='^(os|os/exec|os/signal|net|net/.*|syscall)$'
# net/netip and net/url are values without I/O.
pure='^net/(netip|url)$'
fail=0
bad() { echo "purity: $1 imports $2; planning stays pure: move the I/O to its caller or executor" >&2; fail=1; }

list=$(go list -deps "$mod/policy")
for imp in $(grep -E '^(os/exec|net|net/.*)$' <<<"$list" | grep -Ev "$pure" || true); do
	bad "policy (through its dependencies)" "$imp"
done
for pkg in policy prune; do
	list=$(go list -f '{{join .Imports "\n"}}' "$mod/$pkg")
	for imp in $(grep -E "$banned" <<<"$list" | grep -Ev "$pure" || true); do
		bad "$pkg" "$imp"
	done
done
# The import block of a gofmt-ed file: import "x", or import ( ... ) with one path per line.
imports() {
	awk '/^import \(/ {blk=1; next} blk && /^\)/ {blk=0} blk || /^import "/ {if (match($0, /"[^"]+"/)) print substr($0, RSTART+1, RLENGTH-2)}' "$1"
}
for f in puller/plan.go puller/plan_index.go; do
	[ -f "$f" ] || { echo "purity: $f is gone; update scripts/purity.sh to the pull planner's files" >&2; fail=1; continue; }
	list=$(imports "$f")
	for imp in $(grep -E "$banned" <<<"$list" | grep -Ev "$pure" || true); do
		bad "$f" "$imp"
	done
done
if [ "$fail" = 0 ]; then echo "purity: policy, prune and the pull planner import no os, os/exec, net or syscall"; fi
exit "$fail"
