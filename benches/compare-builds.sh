#!/usr/bin/env bash
# Runs one benches binary of two builds side by side on this machine: the working tree's and
# that of an older commit, alternated, so that a change (or a regression) shows as a ratio
# measured under the same load.
#
#   benches/compare-builds.sh REV [--pairs N] [--bin kernels|app-profile] [-- ARGS...]
#
# REV: the older commit (a hash, a tag, `HEAD~3`, ...; `HEAD` itself compares the uncommitted
# changes, or gauges the noise on a clean tree). Its tree is checked out into a worktree
# `gc-lower-build-SHORT` under ${TMPDIR:-/tmp} and built there into its own target directory
# `gc-lower-build-SHORT-target` (the first time: about 6 minutes on 2 cores; later runs reuse
# both, after checking that the worktree is still that commit, unchanged; `git worktree remove`
# and `rm -r` them when done). The working tree is built with `cargo build -p benches --bin BIN
# --locked` into `$CARGO_TARGET_DIR` or `target/` (other ways of moving the target directory
# are not followed). Then, N times (default 2), the old build's BIN and the new one's run with
# ARGS from the repository root (a relative path in ARGS is taken from there), in turns that
# alternate which goes first, the old one first in the first; each run's output is printed
# under a header naming the build and the time. ARGS default to `--runs 7 --only memory` for
# `kernels`; `app-profile` needs its app (`APP.wasm --reify all --call all --repeat 20`).
#
# Examples:
#   benches/compare-builds.sh 8f79c95 -- --runs 7 --only memory
#   benches/compare-builds.sh HEAD --bin app-profile -- /tmp/app.wasm --reify all --call all --repeat 20
set -euo pipefail

usage() {
    echo 'usage: benches/compare-builds.sh REV [--pairs N] [--bin kernels|app-profile] [-- ARGS...]' >&2
    exit 1
}

[ $# -ge 1 ] || usage
rev=$1
shift
pairs=2
bin=kernels
while [ $# -gt 0 ]; do
    case $1 in
        --pairs) pairs=${2:?--pairs takes a number}; shift 2 ;;
        --bin) bin=${2:?--bin takes kernels or app-profile}; shift 2 ;;
        --) shift; break ;;
        *) echo "unknown option \`$1\`" >&2; usage ;;
    esac
done
case $bin in
    kernels|app-profile) ;;
    *) echo "--bin takes kernels or app-profile, not \`$bin\`" >&2; exit 1 ;;
esac
if ! [[ $pairs =~ ^[1-9][0-9]*$ ]]; then
    echo "--pairs takes a positive number, not \`$pairs\`" >&2
    exit 1
fi
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    if [ "$bin" = kernels ]; then
        args=(--runs 7 --only memory)
    else
        echo 'app-profile needs its arguments after `--` (APP.wasm --reify all --call all)' >&2
        exit 1
    fi
fi

cd "$(dirname "$0")/.."
commit=$(git rev-parse --verify --quiet "$rev^{commit}") || {
    echo "\`$rev\` names no commit" >&2
    exit 1
}
short=$(git rev-parse --short "$commit")
tmp=$(cd "${TMPDIR:-/tmp}" && pwd -P)
tree=$tmp/gc-lower-build-$short
target=$tmp/gc-lower-build-$short-target

git worktree prune
if [ ! -d "$tree" ]; then
    git worktree add --detach "$tree" "$commit" >/dev/null
elif [ "$(git -C "$tree" rev-parse HEAD 2>/dev/null)" != "$commit" ] ||
    [ -n "$(git -C "$tree" status --porcelain 2>/dev/null)" ]; then
    echo "\`$tree\` is not an unchanged checkout of $short: remove it (git worktree remove --force)" >&2
    exit 1
fi
echo "--- building $bin at $short (in $tree)" >&2
(cd "$tree" && CARGO_TARGET_DIR=$target cargo build -p benches --bin "$bin" --locked)
echo "--- building $bin of the working tree" >&2
cargo build -p benches --bin "$bin" --locked
new=$(cd "${CARGO_TARGET_DIR:-target}" && pwd -P)/debug/$bin
old=$target/debug/$bin

run() {
    echo "=== $1 ($(date -u +%H:%M:%S) UTC)"
    "$2" "${args[@]}"
}
for ((i = 1; i <= pairs; i++)); do
    if ((i % 2)); then
        run "$short" "$old"
        run "working tree" "$new"
    else
        run "working tree" "$new"
        run "$short" "$old"
    fi
done
