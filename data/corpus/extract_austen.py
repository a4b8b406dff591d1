#!/usr/bin/env python3
"""Extract Jane Austen's six novels from Debian's r-cran-janeaustenr package
as plain UTF-8 text, without needing R installed.

The package stores the texts as an R lazy-load database (Rdata.rdx index +
Rdata.rdb blobs, each blob = 4-byte big-endian length + zlib(XDR-serialized R
object)). This file implements just enough of R's serialization format to
read character vectors, so regeneration needs only python3 and dpkg-deb.

Usage:
  apt-get download r-cran-janeaustenr
  dpkg-deb -x r-cran-janeaustenr_1.0.0-1_all.deb pkg
  python3 data/corpus/extract_austen.py pkg/usr/lib/R/site-library/janeaustenr/data \
      > data/corpus/austen.txt

Cleaning (see clean_novel): the package's lines are the Project Gutenberg
hard-wrapped lines (~70 columns) with PG's boilerplate already removed. For a
language model the wrap points are noise, so each blank-line-separated
paragraph is unwrapped onto one line, indentation and double spaces after
full stops are collapsed to single spaces, and PG's _underscore_ emphasis
markers are dropped. Paragraphs are separated by one blank line. Nothing else
is changed: spelling and punctuation are kept as printed.
"""
import gzip
import os
import re
import struct
import sys
import zlib

# Three of the six novels keep the corpus under 2 MB of text, so its
# byte-level shards (2 bytes per token) stay small enough to ship in the app.
# The full set is: sensesensibility prideprejudice mansfieldpark emma
# northangerabbey persuasion.
NOVELS = ["sensesensibility", "prideprejudice", "persuasion"]


class RReader:
    """Minimal reader of R's XDR serialization (format version 2 or 3)."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0
        self.refs = []

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError("truncated R serialization")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def read(self):
        if self.take(2) != b"X\n":
            raise ValueError("not an XDR R serialization")
        version = self.int()
        self.int()  # writer R version
        self.int()  # minimal reader R version
        if version == 3:
            self.take(self.int())  # native encoding name
        elif version != 2:
            raise ValueError(f"unsupported serialization version {version}")
        return self.item()

    def length(self):
        n = self.int()
        if n == -1:  # long vector: two ints follow
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def attrs_then(self, flags, value):
        if flags & (1 << 9):
            value = {"value": value, "attr": self.item()}
        return value

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        if t in (254, 242, 241, 253, 252, 251, 247):  # NIL and special envs
            return None
        if t == 255:  # REFSXP: index packed in flags or in the next int
            idx = flags >> 8
            if idx == 0:
                idx = self.int()
            return self.refs[idx - 1]
        if t == 1:  # SYMSXP
            sym = ("sym", self.item())
            self.refs.append(sym)
            return sym
        if t in (2, 6):  # LISTSXP / LANGSXP pairlist
            attr = self.item() if flags & (1 << 9) else None
            tag = self.item() if flags & (1 << 10) else None
            car = self.item()
            cdr = self.item()
            cell = {"tag": tag, "car": car, "cdr": cdr}
            if attr is not None:
                cell["attr"] = attr
            return cell
        if t == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.take(n).decode("utf-8")
        if t in (10, 13):  # LGLSXP, INTSXP
            n = self.length()
            vals = list(struct.unpack(f">{n}i", self.take(4 * n)))
            return self.attrs_then(flags, vals)
        if t == 14:  # REALSXP
            n = self.length()
            vals = list(struct.unpack(f">{n}d", self.take(8 * n)))
            return self.attrs_then(flags, vals)
        if t in (16, 19, 20):  # STRSXP, VECSXP, EXPRSXP
            n = self.length()
            vals = [self.item() for _ in range(n)]
            return self.attrs_then(flags, vals)
        raise ValueError(f"unsupported R SEXP type {t}")


def pairlist_to_dict(cell):
    out = {}
    while cell is not None:
        out[cell["tag"][1]] = cell["car"]
        cell = cell["cdr"]
    return out


def named_list(obj):
    attrs = pairlist_to_dict(obj["attr"])
    return dict(zip(attrs["names"], obj["value"]))


def load_index(data_dir):
    with gzip.open(os.path.join(data_dir, "Rdata.rdx")) as f:
        index = named_list(RReader(f.read()).read())
    return named_list(index["variables"])


def load_var(data_dir, offsets):
    offset, length = offsets
    with open(os.path.join(data_dir, "Rdata.rdb"), "rb") as f:
        f.seek(offset)
        blob = f.read(length)
    expected = struct.unpack(">i", blob[:4])[0]
    raw = zlib.decompress(blob[4:])
    if len(raw) != expected:
        raise ValueError("decompressed length mismatch")
    value = RReader(raw).read()
    return value["value"] if isinstance(value, dict) else value


def clean_novel(lines):
    paragraphs, current = [], []
    for line in lines + [""]:
        words = line.strip()
        if words:
            current.append(words)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    cleaned = (re.sub(r" {2,}", " ", p.replace("_", "")) for p in paragraphs)
    return "\n\n".join(cleaned)


def main():
    data_dir = sys.argv[1]
    novels = sys.argv[2:] or NOVELS
    variables = load_index(data_dir)
    texts = []
    for var in novels:
        lines = load_var(data_dir, variables[var])
        if not all(isinstance(l, str) for l in lines):
            raise ValueError(f"{var}: expected a character vector")
        texts.append(clean_novel(lines))
    sys.stdout.buffer.write(("\n\n".join(texts) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
