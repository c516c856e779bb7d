#!/usr/bin/env bash
# Times ato against OpenSCAP 1.3.7 on the reference target, in one run so that the ratios hold
# on a noisy machine, and prints one table.
#
#   sudo bench/compare.sh            (from the repository, after cargo build --release -p ato)
#
# Case A: the Ubuntu 20.04 STIG profile of ssg-ubuntu2004-ds.xml on a copy of the reference
# target, N runs of each scanner, interleaved. OpenSCAP scans the tree from outside
# (oscap-chroot TREE ...), the way it works best on a tree; it is also timed from inside
# (chroot TREE oscap ..., /proc mounted in the copy for the duration), where it collects nothing
# for the whole-file-system rules.
# Case B: the three rules that walk the whole file system, one at a time, on a tree of more than
# 500,000 files (a copy of the target plus generated small files, some world-writable, some owned
# by no user, two world-writable directories without the sticky bit). OpenSCAP scans it from
# outside only: from inside it would pass these rules without walking. Both scanners' results
# for each rule are printed and compared.
#
# Each measurement is /usr/bin/time -f '%e %U %S %M': wall seconds, user+sys CPU seconds and
# peak RSS; the table shows the median of N runs and the ratio oscap/ato. Needs root, OpenSCAP
# (openscap-scanner, openscap-utils), python3 and Debian's `time` (installed if missing).
#
# Environment:
#   ATO       ato binary (default: target/release/ato of this repository)
#   TARGET    reference target, never modified (default /var/tmp/ato-target)
#   TREE      copy of it for case A (default /var/tmp/ato-bench-tree; reused)
#   BIG       the large tree for case B (default /var/tmp/ato-bench-big; reused)
#   BIG_FILES files to generate in BIG (default 500000)
#   N         runs per scanner in case A (default 5); N_BIG in case B (default 3)
#   WALK_RULES the case B rules, short names (default: the three above)
#   CASES     which cases to run (default "A B"); INSIDE=0 skips oscap from inside
#   KEEP      directory for the results files and raw samples (default: a temporary one)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
ato=${ATO:-$repo/target/release/ato}
target=${TARGET:-/var/tmp/ato-target}
tree=${TREE:-/var/tmp/ato-bench-tree}
big=${BIG:-/var/tmp/ato-bench-big}
big_files=${BIG_FILES:-500000}
n=${N:-5}
n_big=${N_BIG:-3}
cases=${CASES:-A B}
inside=${INSIDE:-1}

ds_name=ssg-ubuntu2004-ds.xml
stig=xccdf_org.ssgproject.content_profile_stig
# The whole-file-system rules are all in CIS level 1; the STIG selects only the sticky-bit one.
walk_profile=xccdf_org.ssgproject.content_profile_cis_level1_server
read -r -a walk_rules <<<"${WALK_RULES:-no_files_unowned_by_user \
    file_permissions_unauthorized_world_writable dir_perms_world_writable_sticky_bits}"
rule_prefix=xccdf_org.ssgproject.content_rule_

die() { echo "error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: both scanners must read every file of the tree"
[ -x "$ato" ] || die "no ato binary at \`$ato\`
hint: cargo build --release -p ato, or set ATO"
[ -e "$target/.complete" ] || die "no reference target in \`$target\`
hint: sh ../shared/fixtures/build-target.sh $target"
command -v oscap >/dev/null && command -v oscap-chroot >/dev/null \
    || die "OpenSCAP is missing
hint: apt-get install openscap-scanner openscap-utils"
command -v python3 >/dev/null || die "python3 is missing"
if [ ! -x /usr/bin/time ]; then
    echo "installing Debian's time package (for /usr/bin/time)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

work=${KEEP:-$(mktemp -d /tmp/ato-bench.XXXXXX)}
mkdir -p "$work"
table=$work/table.txt
: >"$table"
proc_mounted=

cleanup() {
    if [ -n "$proc_mounted" ] && mountpoint -q "$tree/proc"; then
        umount "$tree/proc" || echo "warning: could not unmount \`$tree/proc\`" >&2
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# measure LABEL CMD...: runs CMD once under /usr/bin/time and appends "wall cpu rss_kb" to
# $work/LABEL.samples. Exit status 0 and 2 (a rule did not pass) count as a completed scan.
measure() {
    local label=$1; shift
    local t=$work/time.out rc=0
    /usr/bin/time -f '%e %U %S %M' -o "$t" "$@" >"$work/$label.stdout" 2>"$work/$label.stderr" \
        || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
        echo "error: \`$*\` exited with $rc; its stderr ends with:" >&2
        tail -5 "$work/$label.stderr" >&2
        exit 1
    fi
    # /usr/bin/time writes "Command exited with non-zero status 2" before the numbers.
    tail -1 "$t" | awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' >>"$work/$label.samples"
    printf '  %-28s %s\n' "$label" "$(tail -1 "$work/$label.samples")"
}

# median COLUMN LABEL: the median of one column (1 wall, 2 cpu, 3 rss) of LABEL's samples.
median() {
    awk -v c="$1" '{ print $c }' "$work/$2.samples" | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
                                    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# row CASE OSCAP_LABEL ATO_LABEL [OSCAP_NAME ATO_NAME]: the table lines for one comparison.
row() {
    local case=$1 o=$2 a=$3 on=${4:-$2} an=${5:-$3} ow oc orss aw ac arss
    ow=$(median 1 "$o"); oc=$(median 2 "$o"); orss=$(median 3 "$o")
    aw=$(median 1 "$a"); ac=$(median 2 "$a"); arss=$(median 3 "$a")
    awk -v c="$case" -v o="$on" -v a="$an" -v ow="$ow" -v oc="$oc" -v orss="$orss" \
        -v aw="$aw" -v ac="$ac" -v arss="$arss" 'BEGIN {
        r = "%-46s %-13s %9.2f %9.2f %9.1f\n"
        printf r, c, o, ow, oc, orss / 1024
        printf r, "", a, aw, ac, arss / 1024
        printf "%-46s %-13s %8.1fx %8.1fx %8.2fx\n\n", "", "oscap/ato",
            ow / (aw > 0 ? aw : 0.01), oc / (ac > 0 ? ac : 0.01), orss / arss
    }' >>"$table"
}

# results FILE: "rule result" for every evaluated rule of an XCCDF results file.
results() {
    python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

NS = "{http://checklists.nist.gov/xccdf/1.2}"
for rr in ET.parse(sys.argv[1]).getroot().iter(NS + "rule-result"):
    result = rr.findtext(NS + "result")
    if result != "notselected":
        print(rr.get("idref").rsplit("_rule_", 1)[-1], result)
PY
}

# agreement LABEL OSCAP_RESULTS ATO_RESULTS: how many rules got the same result.
agreement() {
    local same total
    results "$2" | sort >"$work/o.res"
    results "$3" | sort >"$work/a.res"
    total=$(wc -l <"$work/o.res")
    same=$(comm -12 "$work/o.res" "$work/a.res" | wc -l)
    echo "  $1: $same of $total rules have the same result"
}

# copy_tree DEST: a copy of the reference target (its own file system only, so a /proc mounted
# there by another job stays behind).
copy_tree() {
    if [ -e "$1/.bench-copy" ]; then
        echo "reusing \`$1\`"
        return
    fi
    echo "copying \`$target\` to \`$1\`"
    rm -rf "$1"
    cp -ax "$target" "$1"
    touch "$1/.bench-copy"
}

mount_proc() {
    [ -d "$tree/proc" ] && [ ! -L "$tree/proc" ] || die "\`$tree/proc\` is not a directory"
    if ! mountpoint -q "$tree/proc"; then
        mount -t proc proc "$tree/proc"
        proc_mounted=yes
    fi
}

umount_proc() {
    if [ -n "$proc_mounted" ]; then
        umount "$tree/proc"
        proc_mounted=
    fi
}

case_a() {
    local ds=$tree/root/content/$ds_name i
    copy_tree "$tree"
    mountpoint -q "$tree/proc" && die "\`$tree/proc\` is mounted; unmount it first"

    echo "case A: $stig, outside; warm-up runs (not counted) write results to compare"
    oscap-chroot "$tree" xccdf eval --profile "$stig" --results "$work/oscap-outside.xml" \
        "$ds" >/dev/null 2>&1 || true
    "$ato" scan --quiet --root "$tree" --profile "$stig" --results "$work/ato-a.xml" "$ds" \
        >/dev/null 2>&1 || true
    agreement "oscap-chroot vs ato" "$work/oscap-outside.xml" "$work/ato-a.xml"
    for ((i = 1; i <= n; i++)); do
        measure oscap-chroot oscap-chroot "$tree" xccdf eval --profile "$stig" \
            --results /dev/null "$ds"
        measure ato "$ato" scan --quiet --root "$tree" --profile "$stig" \
            --results "$work/x.xml" "$ds"
    done
    row "A: u2004 STIG, outside (chroot)" oscap-chroot ato

    [ "$inside" = 1 ] || return 0
    echo "case A: $stig, inside (chroot, /proc mounted in the copy)"
    mount_proc
    chroot "$tree" oscap xccdf eval --profile "$stig" --results /tmp/ato-bench-inside.xml \
        "/root/content/$ds_name" >/dev/null 2>&1 || true
    mv "$tree/tmp/ato-bench-inside.xml" "$work/oscap-inside.xml"
    "$ato" scan --quiet --root "$tree" --profile "$stig" --results "$work/ato-a-proc.xml" "$ds" \
        >/dev/null 2>&1 || true
    agreement "oscap inside vs ato" "$work/oscap-inside.xml" "$work/ato-a-proc.xml"
    for ((i = 1; i <= n; i++)); do
        measure oscap-inside chroot "$tree" oscap xccdf eval --profile "$stig" \
            --results /dev/null "/root/content/$ds_name"
        measure ato-proc "$ato" scan --quiet --root "$tree" --profile "$stig" \
            --results "$work/x.xml" "$ds"
    done
    umount_proc
    row "A: u2004 STIG, inside, /proc" oscap-inside ato-proc
}

# make_big: a copy of the target plus BIG_FILES empty files under srv/bench, 1,000 per
# directory. Every 10,007th file is world-writable and every 10,009th is owned by uid 54321,
# which no account of the tree has; two directories are world-writable without the sticky bit.
make_big() {
    local stamp="files=$big_files v1"
    if [ "$(cat "$big/.bench-big" 2>/dev/null)" = "$stamp" ]; then
        echo "reusing \`$big\` ($(cat "$big/.bench-big"))"
        return
    fi
    copy_tree "$big"
    rm -f "$big/.bench-big"
    echo "generating $big_files files in \`$big/srv/bench\`"
    python3 - "$big/srv/bench" "$big_files" <<'PY'
import os
import sys

base, count = sys.argv[1], int(sys.argv[2])
flags = os.O_CREAT | os.O_WRONLY | os.O_TRUNC
for i in range(count):
    d = os.path.join(base, "d%04d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "f%04d" % (i % 1000))
    os.close(os.open(p, flags, 0o644))
    if i % 10007 == 5:
        os.chmod(p, 0o666)
    if i % 10009 == 7:
        os.chown(p, 54321, 54321)
for name in ("d0001", "d0002"):
    os.chmod(os.path.join(base, name), 0o777)
PY
    echo "$stamp" >"$big/.bench-big"
}

case_b() {
    local ds=$big/root/content/$ds_name rule files
    make_big
    files=$(find "$big" -xdev | wc -l)
    echo "case B: $files entries in \`$big\`, profile $walk_profile, one rule at a time"
    for rule in "${walk_rules[@]}"; do
        "$ato" scan --quiet --root "$big" --profile "$walk_profile" --rule "$rule_prefix$rule" \
            --results "$work/x.xml" "$ds" >/dev/null 2>&1 || true
        for ((i = 1; i <= n_big; i++)); do
            measure "oscap-$rule" oscap-chroot "$big" xccdf eval --profile "$walk_profile" \
                --rule "$rule_prefix$rule" --results "$work/oscap-$rule.xml" "$ds"
            measure "ato-$rule" "$ato" scan --quiet --root "$big" --profile "$walk_profile" \
                --rule "$rule_prefix$rule" --results "$work/ato-$rule.xml" "$ds"
        done
        local o a
        o=$(results "$work/oscap-$rule.xml" | awk '{ print $2 }')
        a=$(results "$work/ato-$rule.xml" | awk '{ print $2 }')
        echo "  $rule: oscap $o, ato $a$([ "$o" = "$a" ] || echo '  DIFFERENT')"
        row "B: $rule" "oscap-$rule" "ato-$rule" oscap-chroot ato
        sed -i '$d' "$table"
        printf '%-46s %s\n\n' "" "result: oscap $o, ato $a$([ "$o" = "$a" ] && echo ' (same)' \
            || echo ' (DIFFERENT)')" >>"$table"
    done
    echo "$files" >"$work/big-files"
}

echo "ato: $ato ($("$ato" --version 2>/dev/null || echo unknown version))"
echo "oscap: $(oscap --version | head -1)"
echo "samples and results: $work$([ -n "${KEEP:-}" ] || echo ' (removed at exit; set KEEP to keep)')"
for c in $cases; do
    case $c in
        A) case_a ;;
        B) case_b ;;
        *) die "unknown case \`$c\` (A or B)" ;;
    esac
done

echo
echo "medians: case A of $n runs, case B of $n_big runs; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %-13s %9s %9s %9s\n' case scanner "wall s" "CPU s" "RSS MB"
cat "$table"
