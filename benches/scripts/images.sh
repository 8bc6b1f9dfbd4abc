#!/usr/bin/env bash
# Image benchmark: wxpub's processing against vipsthumbnail (libvips) and ImageMagick `convert`,
# each asked for the same job: 1080 px wide, JPEG quality 85, metadata stripped.
#
#   bash benches/scripts/images.sh            # prepares the corpus (once), builds wxpub --release, runs all three
#   BENCH_DIR=/tmp/wxpub-bench N=200 bash benches/scripts/images.sh
#
# Corpus: ≥ 9 MP wallpapers and photographs from Debian packages (plasma-workspace-wallpapers,
# gnome-backgrounds, mate-backgrounds), fetched with apt-get download, never committed. There are
# fewer than 200 distinct ≥ 9 MP images in them, so the script tops the corpus up to N with
# distinct variants of the same photographs (mirrored, cropped to 90 %, re-encoded), each
# written as a JPEG at quality 92 like a camera or editor export.
# Reports wall time, CPU time and peak RSS for each tool, and wxpub's ratio to vipsthumbnail.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
EXAMPLE="$ROOT/examples/museum"
BENCH_DIR="${BENCH_DIR:-/tmp/wxpub-bench}"
N="${N:-200}"
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

need() { command -v "$1" >/dev/null || { echo "installing $2"; apt-get install -y -qq "$2" >/dev/null; }; }
need vipsthumbnail libvips-tools
# Some machines put a stand-in `convert` first on PATH: use ImageMagick's own binary.
[ -x /usr/bin/convert ] && /usr/bin/convert -version 2>/dev/null | grep -q ImageMagick || apt-get install -y -qq imagemagick >/dev/null
MAGICK=/usr/bin/convert
need vipsheader libvips-tools
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

# 1. Fetch and unpack the wallpaper packages.
if [ ! -d debs/extracted ]; then
  mkdir -p debs && (cd debs && apt-get download plasma-workspace-wallpapers gnome-backgrounds mate-backgrounds >/dev/null)
  for deb in debs/*.deb; do dpkg-deb -x "$deb" debs/extracted; done
fi

# 2. Distinct sources of at least 9 megapixels, as JPEG.
if [ ! -f corpus/.done ]; then
  rm -rf corpus sources && mkdir -p corpus sources
  i=0
  while IFS= read -r -d '' file; do
    read -r w h < <(vipsheader -f width "$file" | tr '\n' ' '; vipsheader -f height "$file")
    if [ $((w * h)) -ge 9000000 ]; then
      i=$((i + 1))
      vips copy "$file" "sources/src-$(printf %03d $i).jpg[Q=92,strip]"
    fi
  done < <(find -L debs/extracted -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' \) -print0 | sort -z)
  distinct=$i
  echo "distinct ≥ 9 MP sources: $distinct"
  # 3. Top up to N with distinct variants of those photographs.
  n=0
  round=0
  while [ $n -lt "$N" ]; do
    for src in sources/*.jpg; do
      [ $n -ge "$N" ] && break
      n=$((n + 1))
      out="corpus/img-$(printf %04d $n).jpg"
      case $round in
        0) cp "$src" "$out" ;;
        1) vips flip "$src" "$out[Q=92]" horizontal ;;
        2) vips crop "$src" "$out[Q=92]" 0 0 "$(( $(vipsheader -f width "$src") * 9 / 10 ))" "$(( $(vipsheader -f height "$src") * 9 / 10 ))" ;;
        3) vips flip "$src" "$out[Q=92]" vertical ;;
        *) vips copy "$src" "$out[Q=$((88 - round))]" ;;
      esac
    done
    round=$((round + 1))
  done
  echo "$distinct" > corpus/.done
fi
count=$(ls corpus/*.jpg | wc -l)
megapixels=$(for f in corpus/*.jpg; do echo $(( $(vipsheader -f width "$f") * $(vipsheader -f height "$f") )); done | awk '{s+=$1} END {printf "%.1f", s/NR/1e6}')
echo "corpus: $count JPEGs, mean $megapixels MP ($(du -sh corpus | cut -f1)), from $(cat corpus/.done) distinct sources"

# 4. A wxpub project whose articles use every corpus image.
rm -rf project && mkdir -p project/content/articles && cp -r "$EXAMPLE/layouts" project/
sed -e 's/^max_width = .*/max_width = 1080/' "$EXAMPLE/publish.toml" > project/publish.toml
printf '\n' >> project/publish.toml
# Same job as the other tools: quality 85 (the search only goes lower when a file is over 1 MB).
sed -i 's/^size_margin = .*/size_margin = 0.05\njpeg_quality_max = 85/' project/publish.toml
per=10
for start in $(seq 1 $per "$count"); do
  dir="project/content/articles/bench-$(printf %04d "$start")"
  mkdir -p "$dir"
  printf -- '---\ntitle: 基准 %s\naccount: service\n---\n\n' "$start" > "$dir/index.md"
  for k in $(seq "$start" $((start + per - 1))); do
    [ "$k" -le "$count" ] || break
    name="img-$(printf %04d "$k").jpg"
    cp -f "$BENCH_DIR/corpus/$name" "$dir/$name"
    printf '![%s](%s)\n\n' "$name" "$name" >> "$dir/index.md"
  done
done

(cd "$ROOT" && cargo build --release --quiet)
WXPUB="$ROOT/target/release/wxpub"

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "time-$label.txt" "$@" >/dev/null 2>"err-$label.txt" || { cat "err-$label.txt"; exit 1; }
  read -r wall user sys rss < "time-$label.txt"
  printf '%-16s wall %7.2f s   cpu %7.2f s   peak RSS %6.0f MiB\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)"
  echo "$wall" > "wall-$label.txt"
}

echo "machine: $(nproc) cores; job: 1080 px wide, JPEG q85, metadata stripped"
rm -rf project/.wxpub project/dist out-vips out-magick && mkdir -p out-vips out-magick
measure wxpub "$WXPUB" -C project build --quiet
measure vipsthumbnail sh -c 'vipsthumbnail -s 1080x100000 -o "'"$BENCH_DIR"'/out-vips/%s.jpg[Q=85,strip]" corpus/*.jpg'
measure convert sh -c 'ls corpus/*.jpg | xargs -P "$(nproc)" -I{} sh -c '"'"'"'"$MAGICK"'" "$1" -auto-orient -resize 1080x -strip -quality 85 "'"$BENCH_DIR"'/out-magick/$(basename "$1")"'"'"' _ {}'
echo "wxpub / vipsthumbnail time: $(echo "scale=2; $(cat wall-wxpub.txt) / $(cat wall-vipsthumbnail.txt)" | bc)×"
echo "wxpub / convert time:       $(echo "scale=2; $(cat wall-wxpub.txt) / $(cat wall-convert.txt)" | bc)×"
echo "output sizes: wxpub $(du -sh project/.wxpub/cache/images | cut -f1), vips $(du -sh out-vips | cut -f1), convert $(du -sh out-magick | cut -f1)"
