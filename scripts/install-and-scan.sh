#!/usr/bin/env bash
# Sets ato up on this machine and runs its main job: scan this host and write the results.
#
#   sudo scripts/install-and-scan.sh [ato scan options...]
#
# Installs the SCAP Security Guide content from Debian's packages, builds ato (needs a Rust
# toolchain, 1.89 or newer), installs it as /usr/local/bin/ato, then scans this host with the
# content that applies to it (or ato's built-in baseline where none does) and writes XCCDF
# results under ./results/. Exit status is the scan's: 0 all passed, 2 a rule did not pass.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root: a compliance scan reads files only root may read" >&2
    exit 1
fi
if ! command -v cargo >/dev/null; then
    echo "error: no Rust toolchain (cargo) found; install Rust 1.89 or newer first" >&2
    exit 1
fi

missing=()
for p in ssg-base ssg-debian ssg-debderived ssg-nondebian; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked -p ato
install -m 0755 "${CARGO_TARGET_DIR:-target}/release/ato" /usr/local/bin/ato
echo "installed /usr/local/bin/ato"

mkdir -p results
out="results/ato-$(hostname)-$(date -u +%Y%m%dT%H%M%SZ).xml"
rc=0
ato scan --results "$out" "$@" || rc=$?
echo "results: $out"
exit "$rc"
