#!/usr/bin/env bash
# Profiles the harness phase by phase: `perf record` of the whole machine
# (clients, server and database share it), cut into one file per phase at the
# harness's own progress messages, then the largest costs of each.
#
#   bash bench/profile.sh sqlite          # or postgres; needs perf and a release build:
#   cargo build --release -p sealsync-bench
#
# Writes target/profile/BACKEND/{upload,bootstrap,incremental}.data and prints
# the functions with the most time, children included, for each.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
target="${CARGO_TARGET_DIR:-target}"
bench="$target/release/sealsync-bench"
out="$target/profile/$backend"
[ -x "$bench" ] || { echo "build it first: cargo build --release -p sealsync-bench" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out"

perf record -a -F 499 --call-graph dwarf,4096 --switch-output=signal -o "$out/p.data" >/dev/null 2>&1 &
perf_pid=$!
sleep 2
"$bench" --backend "$backend" --records 100000 --runs 1 --large 0 --accounts 0 --incremental-runs 3000 \
  --json "$out/results.json" >"$out/results.txt" 2>"$out/progress.txt" &
bench_pid=$!
# Each message starts a new perf file: the file written at a phase's end holds that phase.
cut_at() {
  while ! grep -q "$1" "$out/progress.txt" 2>/dev/null; do sleep 0.05; done
  kill -USR2 "$perf_pid"
  sleep 0.5
  if [ -n "${2:-}" ]; then mv "$(ls -t "$out"/p.data.* | head -1)" "$out/$2.data"; fi
}
cut_at "uploading"
cut_at "bootstrapping" upload
cut_at "upload .* rec/s, bootstrap" bootstrap
cut_at "incremental at"
cut_at "two devices" incremental
wait "$bench_pid"
kill -INT "$perf_pid"; wait "$perf_pid" || true
rm -f "$out"/p.data.*
grep -E "^(upload|bootstrap|incremental)" "$out/results.txt"
for phase in upload bootstrap incremental; do
  echo; echo "== $phase: functions with the most time, children included"
  perf report -i "$out/$phase.data" --children --sort sym --stdio -g none 2>/dev/null \
    | grep -E "^ +[0-9]" | grep -E "sealsync|sqlx|rusqlite|sqlite3_step|hyper::proto|chacha|argon2" | head -15 \
    || true # head closing the pipe early fails it under pipefail
done
