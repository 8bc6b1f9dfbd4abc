#!/bin/sh
# Installs the newest wxpub release for this machine (Linux or macOS, x86_64 or arm64):
#   curl -fsSL https://github.com/OWNER/wxpub/releases/latest/download/install.sh | sh
# Environment: WXPUB_REPO (OWNER/wxpub; default the repository this script was released from),
# WXPUB_VERSION (e.g. 1.2.3; default the newest), WXPUB_INSTALL_DIR (default ~/.local/bin).
# The archive's SHA-256 is checked against the release's before anything is installed.
set -eu
repo="${WXPUB_REPO:-@REPO@}"
dir="${WXPUB_INSTALL_DIR:-$HOME/.local/bin}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
  Darwin-x86_64) target=x86_64-apple-darwin ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  *) echo "wxpub: no release binary for $(uname -s) $(uname -m); install from source: cargo install --locked --git https://github.com/$repo" >&2; exit 1 ;;
esac
if [ -n "${WXPUB_VERSION:-}" ]; then
  base="https://github.com/$repo/releases/download/v$WXPUB_VERSION"
else
  base="https://github.com/$repo/releases/latest/download"
fi
archive="wxpub-$target.tar.gz"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "$base/$archive" -o "$tmp/$archive"
curl -fsSL "$base/$archive.sha256" -o "$tmp/$archive.sha256"
expected="$(cut -d' ' -f1 "$tmp/$archive.sha256")"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$tmp/$archive" | cut -d' ' -f1)"
else
  actual="$(shasum -a 256 "$tmp/$archive" | cut -d' ' -f1)"
fi
if [ "$expected" != "$actual" ]; then
  echo "wxpub: $archive does not match its published SHA-256; nothing installed" >&2
  exit 1
fi
tar -xzf "$tmp/$archive" -C "$tmp" wxpub
mkdir -p "$dir"
mv "$tmp/wxpub" "$dir/wxpub"
chmod 755 "$dir/wxpub"
echo "installed $("$dir/wxpub" --version) in $dir"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "add $dir to your PATH, e.g.: echo 'export PATH=\"$dir:\$PATH\"' >> ~/.profile" ;;
esac
