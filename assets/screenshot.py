#!/usr/bin/env python3
"""Renders a terminal capture with colours (`tmux capture-pane -e -p`) to a PNG, for the README.

    tmux capture-pane -e -p -t demo > /tmp/jobs.ansi
    python3 assets/screenshot.py /tmp/jobs.ansi assets/console-jobs.png

Needs Pillow (`pip install pillow`) and the DejaVu Sans Mono font (`fonts-dejavu-core`).
"""

import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BG = (30, 31, 41)
FG = (220, 220, 220)
# The 16 ANSI colours (a dark theme's palette).
PALETTE = [
    (40, 42, 54), (255, 85, 85), (80, 250, 123), (241, 250, 140),
    (98, 114, 164), (255, 121, 198), (139, 233, 253), (220, 220, 220),
    (98, 114, 164), (255, 110, 110), (105, 255, 148), (255, 255, 165),
    (125, 145, 200), (255, 146, 223), (164, 255, 255), (255, 255, 255),
]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        return tuple(0 if c == 0 else 55 + c * 40 for c in (n // 36, n // 6 % 6, n % 6))
    v = 8 + (n - 232) * 10
    return (v, v, v)


def cells(line):
    """Yields (char, fg, bg, bold) for one line of ANSI text."""
    fg, bg, bold, reverse, dim = None, None, False, False, False
    pos = 0
    for m in list(SGR.finditer(line)) + [None]:
        end = m.start() if m else len(line)
        for ch in line[pos:end]:
            f, b = fg or FG, bg or BG
            if dim:
                f = tuple(c * 6 // 10 + b_ * 4 // 10 for c, b_ in zip(f, b))
            if reverse:
                f, b = b, f
            yield ch, f, b, bold
        if not m:
            break
        pos = m.end()
        codes = [int(c) if c else 0 for c in m.group(1).split(";")]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                fg, bg, bold, reverse, dim = None, None, False, False, False
            elif c == 1:
                bold = True
            elif c == 2:
                dim = True
            elif c == 7:
                reverse = True
            elif c == 22:
                bold = dim = False
            elif c == 27:
                reverse = False
            elif 30 <= c <= 37:
                fg = PALETTE[c - 30]
            elif 90 <= c <= 97:
                fg = PALETTE[c - 90 + 8]
            elif 40 <= c <= 47:
                bg = PALETTE[c - 40]
            elif 100 <= c <= 107:
                bg = PALETTE[c - 100 + 8]
            elif c == 39:
                fg = None
            elif c == 49:
                bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour, i = xterm256(codes[i + 2]), i + 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour, i = tuple(codes[i + 2:i + 5]), i + 4
                else:
                    colour = None
                if c == 38:
                    fg = colour
                else:
                    bg = colour
            i += 1


def main(src, out):
    lines = open(src, encoding="utf-8").read().rstrip("\n").split("\n")
    font, bold_font = ImageFont.truetype(FONT, SIZE), ImageFont.truetype(BOLD, SIZE)
    w, h = font.getbbox("M")[2], int(SIZE * 1.3)
    cols = max(sum(1 for _ in cells(l)) for l in lines)
    pad = 10
    img = Image.new("RGB", (cols * w + 2 * pad, len(lines) * h + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    for y, line in enumerate(lines):
        for x, (ch, f, b, bold) in enumerate(cells(line)):
            x0, y0 = pad + x * w, pad + y * h
            if b != BG:
                draw.rectangle([x0, y0, x0 + w - 1, y0 + h - 1], fill=b)
            if ch != " ":
                draw.text((x0, y0 + 2), ch, font=bold_font if bold else font, fill=f)
    img.save(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
