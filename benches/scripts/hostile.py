"""Generates one project per hostile input for bench/hostile.sh (never committed).

Each project is the example's publish.toml and layouts with one article holding one hostile
image or code block: a GIF whose frame claims 65535x65535, PNGs declaring 99,000,000x1 and
10000x10000 (exactly 100 MP, a legal size) with no pixel data, a BMP claiming 30000x3333, a JPEG
header claiming 65500x65500, and 250 KB code blocks of unbalanced HTML, Python and minified JS.
"""
import os
import shutil
import struct
import sys
import zlib

root, out = sys.argv[1], sys.argv[2]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def gif_bomb():
    return (b"GIF89a" + bytes([1, 0, 1, 0, 0, 0, 0]) + bytes([0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x80])
            + bytes([0, 0, 0, 255, 255, 255]) + bytes([2, 1, 0x2C, 0, 0x3B]))


def bmp(width, height):
    header = b"BM" + struct.pack("<IHHI", 54, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return header + info


def jpeg_header(width, height):
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    return b"\xff\xd8" + sof + b"\xff\xd9"


def project(name, body, files):
    directory = os.path.join(out, name)
    item = os.path.join(directory, "content", "articles", "a")
    os.makedirs(item)
    shutil.copy(os.path.join(root, "publish.toml"), directory)
    shutil.copytree(os.path.join(root, "layouts"), os.path.join(directory, "layouts"))
    with open(os.path.join(item, "index.md"), "w", encoding="utf-8") as f:
        f.write("---\ntitle: hostile\naccount: service\n---\n\n" + body)
    for file_name, data in files.items():
        with open(os.path.join(item, file_name), "wb") as f:
            f.write(data)


for name, data in [("gif-frame-65535x65535.gif", gif_bomb()), ("png-99000000x1.png", png(99_000_000, 1)),
                   ("png-10000x10000-empty.png", png(10_000, 10_000)), ("bmp-30000x3333.bmp", bmp(30_000, 3_333)),
                   ("jpeg-65500x65500.jpg", jpeg_header(65_500, 65_500))]:
    project(name, f"![x]({name})\n", {name: data})

unbalanced_html = "<div><span class=\"a\">" * 12_500
python = "def f(x):\n    return [y for y in x if y % 2 == 0]\n" * 5_000
minified = "var a=function(b){return b.map(function(c){return c*2})};" * 4_300
below_cap = "<div><span class=\"a\">" * 950  # 19 KB: still highlighted
for name, lang, code in [("code-250k-unbalanced-html", "html", unbalanced_html),
                         ("code-19k-unbalanced-html", "html", below_cap),
                         ("code-250k-python", "python", python), ("code-250k-minified-js", "js", minified)]:
    project(name, f"```{lang}\n{code}\n```\n", {})
