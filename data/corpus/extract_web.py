#!/usr/bin/env python3
"""Plain text of the World English Bible from Debian's sword-text-web package.

    python3 data/corpus/extract_web.py /tmp/web/usr/share/sword/modules/texts/ztext/engWEB2015eb \
        > /tmp/web.txt

The package ships a SWORD "zText" module (OSIS markup, zlib-compressed
blocks). Per testament (ot, nt) there are three files:

  *.bzs  block index: (offset, compressed size, uncompressed size), uint32 LE each
  *.bzz  the zlib-compressed blocks
  *.bzv  verse index in versification order: (block, offset, size), uint32 uint32 uint16 LE

The text of entry k is bytes [offset, offset+size) of its decompressed block.
This script reads the entries in order and turns the OSIS markup into plain
paragraphs: footnotes (<note>; the space some of them stand in for stays),
table-of-contents milestones and Strong's numbers (attributes of <w>) are
dropped; titles, paragraphs, chapters, poetry line groups and book divisions
become paragraph breaks; poetry lines become line breaks. Paragraphs are separated by exactly one blank line, like
austen.txt. Python 3 standard library only; SWORD itself is not needed.
"""
import html
import re
import struct
import sys
import zlib
from pathlib import Path

PARA = '\x00P'  # placeholders, replaced once the markup is gone
LINE = '\x00L'
GAP = '\x00N'

NOTE = re.compile(r'<note\b[^>]*>.*?</note>', re.S)
MILESTONE = re.compile(r'<milestone\b[^>]*/>')
# The module often puts a footnote where the space between two words belongs
# ("God</w><note>…</note><w>created"): a dropped note leaves a space when a
# word (or an opening quote) follows it directly, and nothing otherwise.
GAP_BEFORE_WORD = re.compile(GAP + r'(?=[\w“‘"\'(])')
# Structure that starts or ends a paragraph: paragraphs and book/intro divs,
# chapters, titles, line groups, lists and their items.
PARA_TAG = re.compile(r'</?(?:div|chapter|title|lg|list|item|speaker)\b[^>]*>')
LINE_TAG = re.compile(r'</?(?:l|lb)\b[^>]*>')
ANY_TAG = re.compile(r'<[^>]*>')
SPACES = re.compile(r'[ \t\r\n\u00a0]+')


def entries(module: Path, testament: str):
    bzs = (module / f'{testament}.bzs').read_bytes()
    bzz = (module / f'{testament}.bzz').read_bytes()
    bzv = (module / f'{testament}.bzv').read_bytes()
    blocks: dict[int, bytes] = {}

    def block(i: int) -> bytes:
        if i not in blocks:
            offset, size, _ = struct.unpack_from('<III', bzs, i * 12)
            blocks.clear()  # entries come block by block: keep one in memory
            blocks[i] = zlib.decompress(bzz[offset:offset + size]) if size else b''
        return blocks[i]

    for k in range(len(bzv) // 10):
        b, offset, size = struct.unpack_from('<IIH', bzv, k * 10)
        if size:
            yield block(b)[offset:offset + size].decode('utf-8')


def paragraphs(osis: str):
    text = NOTE.sub(GAP, osis)
    text = MILESTONE.sub(' ', text)
    text = PARA_TAG.sub(PARA, text)
    text = LINE_TAG.sub(LINE, text)
    text = html.unescape(ANY_TAG.sub('', text))
    text = GAP_BEFORE_WORD.sub(' ', text).replace(GAP, '')
    for para in text.split(PARA):
        lines = [SPACES.sub(' ', line).strip() for line in para.split(LINE)]
        lines = [line for line in lines if line]
        if lines:
            yield '\n'.join(lines)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit('usage: extract_web.py <engWEB2015eb module directory>')
    module = Path(sys.argv[1])
    out = sys.stdout
    first = True
    for testament in ('ot', 'nt'):
        # One testament's markup is ~23 MB; its paragraphs are written as they come.
        osis = ' '.join(entries(module, testament))
        for para in paragraphs(osis):
            out.write(para if first else '\n\n' + para)
            first = False
    out.write('\n')


if __name__ == '__main__':
    main()
