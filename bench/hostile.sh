#!/usr/bin/env bash
# Times yml2sh (release build) on each generated hostile input of tests/hostile.rs, at the size
# limit by default, in every format: wall seconds and peak memory per run, and the worst of
# each against the targets (2 s, 256 MB); CPU seconds too (user + system: what a busy shared
# machine does not inflate). Usage: bench/hostile.sh [SIZE_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-$((1024 * 1024))}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release -q
YML2SH_HOSTILE_OUT="$dir" YML2SH_HOSTILE_WRITE_ONLY=1 YML2SH_HOSTILE_SIZE="$size" \
  cargo test -q --test main -- hostile::generated >/dev/null
worst_s=0 worst_cpu=0 worst_kb=0
printf '%-20s %-12s %8s %8s %9s %4s\n' input run seconds cpu_s peak_MB exit
for f in "$dir"/*.yml; do
  name=$(basename "$f" .yml)
  for run in "-f ir" "-f bash" "-f make" "-f github" "check --message-format human" "check --message-format json"; do
    code=0
    # shellcheck disable=SC2086 # $run is words on purpose
    /usr/bin/time -o "$dir/time" -f '%e %M %U %S' target/release/yml2sh $run "$f" >/dev/null 2>&1 || code=$?
    read -r s kb user sys < <(tail -1 "$dir/time")
    cpu=$(awk "BEGIN{print $user + $sys}")
    printf '%-20s %-12s %8s %8s %9s %4s\n' "$name" "${run#check --message-format }" "$s" "$cpu" "$((kb / 1024))" "$code"
    if awk "BEGIN{exit !($s > $worst_s)}"; then worst_s=$s; fi
    if awk "BEGIN{exit !($cpu > $worst_cpu)}"; then worst_cpu=$cpu; fi
    if [ "$kb" -gt "$worst_kb" ]; then worst_kb=$kb; fi
  done
done
echo "size: $size bytes; worst: ${worst_s} s (target 2; CPU ${worst_cpu} s), $((worst_kb / 1024)) MB (target 256)"
