#!/usr/bin/env bash
# Phone-width screenshots of every theme, light and dark: a tool for humans reviewing themes and
# the renderer on a phone-sized page. No test needs it.
#
# Usage: scripts/screenshots.sh [OUT_DIR]          (default /tmp/wxpub-screenshots)
#
#   WXPUB=path      the wxpub binary (default target/release/wxpub; build it first, this script never
#                   runs cargo)
#   CHROMIUM=path   headless browser (default: chromium, chromium-browser or google-chrome)
#   THEMES="a b"    themes to shoot (default: every layouts/themes/*.toml of the project)
#   ITEMS="k1 k2"   item keys (<kind>/<folder>) to shoot (default: the bronze-exhibition article,
#                   the phone-stress fixture and the year-in-review topic page)
#   PROJECT=dir     project whose content/, layouts/ and publish.toml are copied (default: this
#                   repository)
#   WIDTH=414       window width in CSS pixels
#   KEEP=1          keep the temporary projects (their path is printed)
#
# What it does, per theme: copy the project to a temporary folder, add
# tests/fixtures/phone-stress/ as content/articles/2027-03-01-phone-stress/, set `[site] theme` in
# the copy's publish.toml, run `wxpub build` there, then take full-page screenshots:
#
# - light: `wxpub build` writes dist/<kind>/<slug>/content.html (the exact HTML sent to WeChat)
#   and dist/<kind>/<slug>/index.html (the same, wrapped as a browser page: body max-width 677px,
#   padding 16px). The script shoots index.html; if a binary writes only the fragment, the script
#   wraps content.html in a minimal page with the same 16px side padding.
# - dark: `wxpub build` has no dark output. `wxpub preview` serves /<kind>/<slug>/?mode=dark: the
#   item passed through src/render/darkmode.rs (WeChat's own conversion, wechatjs/mp-darkmode) in
#   a frame drawn like WeChat's dark article page (#191919, with title and author line). The
#   script starts the preview on a free port, saves that page, widens the preview's fixed 375px
#   frame to the window, drops the preview's toolbar, issue list and reload script, and points a
#   <base> at the preview server for images. Chromium's --force-dark-mode is NOT used: it is a
#   different algorithm from the one WeChat applies to inline styles.
#   The preview index also reports, per item, text runs below 4.5:1 after the dark conversion;
#   those lines are collected in OUT_DIR/dark-mode.txt.
# - full page: Chromium's --screenshot captures the window, so each page is first loaded with
#   --dump-dom and a small script that records the page height, then shot at WIDTHxHEIGHT.
#
# Output: OUT_DIR/<theme>-<light|dark>-<item>.png, OUT_DIR/<theme>-build.log, OUT_DIR/dark-mode.txt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-/tmp/wxpub-screenshots}
wxpub=${WXPUB:-$root/target/release/wxpub}
project=${PROJECT:-$root/examples/museum}
width=${WIDTH:-414}
stress=$root/tests/fixtures/phone-stress
items=${ITEMS:-articles/2026-12-01-bronze-exhibition articles/2027-03-01-phone-stress topics/2026-12-31-year-in-review}
max_height=16000 # Chromium's limit for one screenshot is about 16,384 px

die() { echo "screenshots: $*" >&2; exit 1; }

case $wxpub in /*) ;; *) wxpub=$PWD/$wxpub ;; esac
[[ -x $wxpub ]] || die "no wxpub binary at $wxpub (build it, or set WXPUB=path)"
chromium=${CHROMIUM:-}
if [[ -z $chromium ]]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null; then chromium=$candidate; break; fi
    done
fi
[[ -n $chromium ]] || die "no Chromium found (apt-get install chromium fonts-wqy-microhei, or set CHROMIUM=path)"
command -v curl >/dev/null || die "curl is needed for the dark-mode pages"
[[ -f $stress/index.md ]] || die "missing $stress/index.md"
[[ -f $project/publish.toml ]] || die "no publish.toml in $project"

if [[ -n ${THEMES:-} ]]; then
    read -r -a themes <<<"$THEMES"
else
    themes=()
    for file in "$project"/layouts/themes/*.toml; do
        name=${file##*/}
        themes+=("${name%.toml}")
    done
fi
read -r -a item_keys <<<"$items"

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/wxpub-screenshots.XXXXXX")
preview_pid=""
preview_url=""

cleanup() {
    if [[ -n $preview_pid ]]; then
        kill "$preview_pid" 2>/dev/null || true
        wait "$preview_pid" 2>/dev/null || true
    fi
    if [[ ${KEEP:-} == 1 ]]; then
        echo "kept the temporary projects in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# The short name of an item in file names: its folder without the date.
short_name() {
    local folder=${1##*/}
    echo "${folder#[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-}"
}

# Sets `theme = "NAME"` in the [site] table of a publish.toml (adding the key if it is absent).
set_theme() {
    local file=$1 name=$2
    awk -v name="$name" '
        function put() { print "theme = \"" name "\"  # set by scripts/screenshots.sh"; done = 1 }
        /^[[:space:]]*\[/ {
            if (in_site && !done) put()
            in_site = ($0 ~ /^[[:space:]]*\[site\][[:space:]]*(#.*)?$/)
        }
        in_site && /^[[:space:]]*theme[[:space:]]*=/ { if (!done) put(); next }
        { print }
        END { if (in_site && !done) put() }
    ' "$file" >"$file.new"
    mv "$file.new" "$file"
    grep -q "^theme = \"$name\"" "$file" || die "could not set the theme in $file (no [site] table?)"
}

# shoot PAGE.html OUT.png: a full-page screenshot WIDTH px wide. PAGE must be a local file (its
# images resolve relative to it, or to its <base>).
shoot() {
    local page=$1 png=$2 measure height
    measure=${page%.html}.measure.html
    # The height once everything (images included) has loaded. Headless Chromium lays a page out
    # at least 500 px wide before it takes a narrower screenshot (and --dump-dom keeps that
    # width), so the measuring copy pins the root element to the screenshot's width.
    sed "s#</body>#<style>html { width: ${width}px; }</style><script>addEventListener('load', function () { document.body.setAttribute('data-page-height', Math.ceil(document.documentElement.scrollHeight)); });</script></body>#" \
        "$page" >"$measure"
    height=$(timeout 120 "$chromium" --headless --no-sandbox --hide-scrollbars --disable-gpu \
        --force-device-scale-factor=1 --window-size="$width,800" --dump-dom "file://$measure" 2>>"$work/chromium.log" |
        grep -o 'data-page-height="[0-9]*"' | grep -o '[0-9][0-9]*' | head -n 1) || true
    rm -f "$measure"
    if [[ -z $height ]]; then
        echo "  (could not measure $page; using 4000 px)" >&2
        height=4000
    elif ((height > max_height)); then
        echo "  ($png: page is ${height} px, cut at $max_height px)" >&2
        height=$max_height
    fi
    timeout 120 "$chromium" --headless --no-sandbox --hide-scrollbars --disable-gpu \
        --force-device-scale-factor=1 --window-size="$width,$height" --screenshot="$png" \
        "file://$page" >>"$work/chromium.log" 2>&1 || die "Chromium failed on $page (see $work/chromium.log; KEEP=1 keeps it)"
    echo "  $png (${width}x${height})"
}

# The preview's dark page of one item, made into a standalone page of the window's width.
dark_page() {
    local url=$1 key=$2 dest=$3
    curl -fsS "${url}${key}/?mode=dark" |
        sed -e "s#<head>#<head>\\n<base href=\"${url}${key}/\">#" \
            -e '/^<div class="wx-bar">/d' \
            -e '/^<p class="wx-issues">/d' \
            -e '/<script>/,/<\/script>/d' \
            -e 's/width: 375px; max-width: 100%;/width: 100%;/' >"$dest"
    grep -q 'class="wx-phone wx-dark"' "$dest" || die "unexpected preview page for $key (see $dest)"
}

# Starts `wxpub preview` on a free port; sets preview_pid and preview_url.
start_preview() {
    local dir=$1 log=$2 tries=0
    "$wxpub" -C "$dir" preview --port 0 >"$log" 2>&1 &
    preview_pid=$!
    while ! grep -qs 'http://127\.0\.0\.1:[0-9]*/' "$log"; do
        kill -0 "$preview_pid" 2>/dev/null || die "wxpub preview stopped: $(cat "$log")"
        ((++tries > 600)) && die "wxpub preview did not start within 60 s"
        sleep 0.1
    done
    preview_url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$log" | head -n 1)
}

stop_preview() {
    kill "$preview_pid" 2>/dev/null || true
    wait "$preview_pid" 2>/dev/null || true
    preview_pid=""
}

: >"$out/dark-mode.txt"
failed=()
for theme in "${themes[@]}"; do
    echo "theme $theme"
    dir=$work/$theme
    mkdir -p "$dir"
    cp -R "$project/content" "$project/layouts" "$project/publish.toml" "$dir/"
    mkdir -p "$dir/content/articles/2027-03-01-phone-stress"
    cp -R "$stress/." "$dir/content/articles/2027-03-01-phone-stress/"
    set_theme "$dir/publish.toml" "$theme"

    if ! "$wxpub" -C "$dir" build --out "$dir/dist" >"$out/$theme-build.log" 2>&1; then
        echo "  wxpub build failed (see $out/$theme-build.log):" >&2
        tail -n 5 "$out/$theme-build.log" >&2
        failed+=("$theme")
        continue
    fi

    for key in "${item_keys[@]}"; do
        name=$(short_name "$key")
        page=$dir/dist/$key/index.html
        if [[ ! -f $page ]]; then
            [[ -f $dir/dist/$key/content.html ]] || die "no output for $key in $dir/dist"
            page=$dir/dist/$key/page.html
            {
                printf '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
                printf '<body style="margin:0;padding:0 16px">'
                cat "$dir/dist/$key/content.html"
                printf '</body>\n'
            } >"$page"
        fi
        shoot "$page" "$out/$theme-light-$name.png"
    done

    start_preview "$dir" "$work/$theme-preview.log"
    url=$preview_url
    index=$(curl -fsS "$url")
    for key in "${item_keys[@]}"; do
        name=$(short_name "$key")
        dark_page "$url" "$key" "$work/$theme-dark-$name.html"
        shoot "$work/$theme-dark-$name.html" "$out/$theme-dark-$name.png"
        verdict=$(grep -A 1 "href=\"/$key/\"" <<<"$index" | grep -o 'dark mode: [^<]*' | head -n 1) || true
        echo "$theme $key: ${verdict:-dark mode: (not reported)}" >>"$out/dark-mode.txt"
    done
    stop_preview
done

echo "screenshots in $out"
cat "$out/dark-mode.txt"
if ((${#failed[@]})); then
    die "build failed for: ${failed[*]}"
fi
