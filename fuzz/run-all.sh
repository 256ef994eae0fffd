#!/usr/bin/env bash
# Fuzzes every target (or the ones named) for MINUTES each (0.5 is 30 s),
# one after the other, one libFuzzer job at a time:
#
#   fuzz/run-all.sh MINUTES [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Each target reads fuzz/corpus/<target>/ (committed) and writes what it finds
# to fuzz/work/<target>/ (ignored by git), its log to fuzz/work/<target>.log,
# and a crashing input to fuzz/artifacts/<target>/. MERGE=1 then adds to
# fuzz/corpus/<target>/ only the inputs that reach new edges (the first runs'
# finds were merged so for dto_cbor and json from inputs under 256 bytes, to
# keep the committed corpus small).
# SANITIZER=address (or any `cargo fuzz -s` value) instead of the default
# `none`: the crates under test forbid `unsafe`, so the default spends the
# time on executions instead; debug assertions and overflow checks stay on.
#
# At the end it prints each target's executions (libFuzzer's own count) and
# exits non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."

minutes=${1:?usage: fuzz/run-all.sh MINUTES [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
sanitizer=${SANITIZER:-none}
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); if (s < 1) exit 1; print s }') || {
  echo "MINUTES must be a positive number" >&2
  exit 2
}

failed=()
summary=()
for target in "${targets[@]}"; do
  work=fuzz/work/$target
  mkdir -p "$work"
  printf '\n== %s: %s min\n' "$target" "$minutes"
  cargo +nightly fuzz run -s "$sanitizer" "$target" "$work" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 >"$work.log" 2>&1
  status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs|SUMMARY|panicked|^==[0-9]+== ERROR' "$work.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log" | tail -1)
  summary+=("$(printf '%-12s %12s executions  %s' "$target" "${runs:-?}" "$([ $status -eq 0 ] && echo ok || echo FAILED)")")
  if [ $status -ne 0 ]; then
    failed+=("$target")
    echo "$target failed: see $work.log and fuzz/artifacts/$target/" >&2
  elif [ "${MERGE:-0}" = 1 ]; then
    cargo +nightly fuzz run -s "$sanitizer" "$target" "fuzz/corpus/$target" "$work" -- -merge=1 -use_counters=0 -max_len=4096 \
      >>"$work.log" 2>&1
  fi
done

printf '\n== summary (%s min each)\n' "$minutes"
printf '%s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ]
