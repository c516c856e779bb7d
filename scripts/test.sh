#!/usr/bin/env bash
# Runs ato's tests: installs what they need (Debian packages, the reference target), then the
# whole workspace's tests, including the agreement test against OpenSCAP.
#
#   scripts/test.sh            (as root on Debian 12 or a similar Debian/Ubuntu)
#
# ATO_REFERENCE_TARGET names where the reference target is built (default
# /var/tmp/ato-target; a complete one is reused). Needs ../shared beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openscap-scanner openscap-utils openscap-common ssg-base ssg-debian ssg-debderived
          ssg-nondebian libxml2-utils debootstrap systemd time ansible python3-venv
          libreoffice-calc-nogui)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export ATO_REFERENCE_TARGET=${ATO_REFERENCE_TARGET:-/var/tmp/ato-target}
sh ../shared/fixtures/build-target.sh "$ATO_REFERENCE_TARGET"

# The MITRE SAF CLI reads our checklists as a peer would (crates/ato/tests/artifacts*).
saf_dir=${ATO_SAF_DIR:-/var/tmp/ato-saf}
if [ ! -x "$saf_dir/node_modules/.bin/saf" ]; then
    mkdir -p "$saf_dir"
    npm install --prefix "$saf_dir" --no-audit --no-fund --no-save @mitre/saf@1.5.3 >/dev/null
fi
export ATO_SAF=$saf_dir/node_modules/.bin/saf

# compliance-trestle validates the OSCAL ato writes (crates/ato-artifacts/tests/oscal.rs,
# crates/ato/tests/evidence.rs).
trestle_dir=${ATO_TRESTLE_DIR:-/var/tmp/ato-trestle}
if [ ! -x "$trestle_dir/bin/trestle" ]; then
    python3 -m venv "$trestle_dir"
    "$trestle_dir/bin/pip" install -q compliance-trestle==5.2.0
fi
export ATO_TRESTLE=$trestle_dir/bin/trestle

cargo fmt --all -- --check
cargo test --workspace --release --no-fail-fast
