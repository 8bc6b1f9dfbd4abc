#!/usr/bin/env bash
# Fills in the Homebrew formula and the Scoop manifest for a release:
#   packaging/render.sh VERSION OWNER/REPO DIST
# DIST holds the release archives and their .sha256 files (as the release workflow makes them);
# DIST/wxpub.rb, DIST/wxpub.json and the install scripts (with the repository filled in) are
# written. A target whose sum is missing is an error: a
# manifest must never point at an archive that was not built.
set -euo pipefail
version="$1" repo="$2" dist="$3"
here="$(cd "$(dirname "$0")" && pwd)"
targets=(x86_64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
args=(-e "s|@VERSION@|$version|g" -e "s|@REPO@|$repo|g")
for target in "${targets[@]}"; do
  sums=("$dist"/wxpub-"$target".*.sha256)
  if [ ! -f "${sums[0]}" ]; then
    echo "render.sh: no archive sum for $target in $dist" >&2
    exit 1
  fi
  sum="$(cut -d' ' -f1 "${sums[0]}")"
  args+=(-e "s|@SHA256_${target}@|$sum|g")
done
sed "${args[@]}" "$here/wxpub.rb.in" > "$dist/wxpub.rb"
sed "${args[@]}" "$here/wxpub.json.in" > "$dist/wxpub.json"
sed "${args[@]}" "$here/install.sh" > "$dist/install.sh"
sed "${args[@]}" "$here/install.ps1" > "$dist/install.ps1"
if grep -h '@[A-Za-z0-9_-]*@' "$dist/wxpub.rb" "$dist/wxpub.json" "$dist/install.sh" "$dist/install.ps1"; then
  echo "render.sh: a placeholder was left unfilled (above)" >&2
  exit 1
fi
