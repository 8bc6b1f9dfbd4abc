#!/usr/bin/env bash
# Word import benchmark (#40): time and peak memory of `wxpub import docx` on a 50-page
# manuscript (about 27,000 Chinese characters, headings, lists, tables) with 40 photos of
# 1600×1200 (about 540 KB each), written by python-docx (pip install python-docx==1.2.0 Pillow).
# The import includes checking the new item, as the command does. Nothing here is committed:
# the manuscript is generated into $BENCH_DIR.
#
#   bash benches/scripts/import.sh              # builds wxpub --release, generates, measures 5 runs
#   WXPUB=target/debug/wxpub bash benches/scripts/import.sh
#
# Goal: under 2 s and under 300 MB (307,200 KB) peak RSS.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/wxpub-import}"
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
if [ -z "${WXPUB:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  WXPUB="$ROOT/target/release/wxpub"
fi
rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR"
python3 "$ROOT/tests/fixtures/docx/make_fixtures.py" --big "$BENCH_DIR" >/dev/null
ls -l "$BENCH_DIR/big.docx" | awk '{printf "manuscript: %.1f MB\n", $5 / 1e6}'

printf '%-4s %8s %10s\n' "run" "seconds" "peak KB"
for run in 1 2 3 4 5; do
  project="$BENCH_DIR/project-$run"
  cp -r "$ROOT/examples/museum" "$project"
  rm -rf "$project/dist" "$project/.wxpub"
  start=$(date +%s.%N)
  /usr/bin/time -f %M -o "$BENCH_DIR/rss" "$WXPUB" -C "$project" import docx "$BENCH_DIR/big.docx" \
    --date 2026-12-21 --now "2026-11-20 09:00" >"$BENCH_DIR/out" 2>&1
  end=$(date +%s.%N)
  printf '%-4s %8.2f %10s\n' "$run" "$(echo "$end - $start" | bc)" "$(tail -1 "$BENCH_DIR/rss")"
done
grep -m1 "imported" "$BENCH_DIR/out"
grep -m1 "checked the new item" "$BENCH_DIR/out"
