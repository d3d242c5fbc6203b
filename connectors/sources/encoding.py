"""The text encoding of a county's export file, and how a line that does not decode is named.

County exports come as UTF-8, GB18030/GBK or (rarely) Big5, with or without a byte order
mark, and a file may be mixed. Kept apart because the CSV and JSON readers and the table
reader all detect the same way and must name an undecodable line the same way.
"""

from __future__ import annotations

import codecs

__all__ = [
    "decode_error",
    "detect_encoding",
]


_CANDIDATES = ("utf_8", "gb18030", "big5", "utf_16")


def detect_encoding(data: bytes, expected: str | None = None) -> str:
    """The encoding of one file's bytes: a BOM, else the first of UTF-8 and GB18030 (which
    covers GBK and GB2312) that decodes it all, else what charset-normalizer finds among the
    encodings Chinese exports use, else the one of those that decodes the most lines.

    Never guessed silently: the lines the chosen encoding cannot decode are rejected
    one by one by the readers, naming the file and the line.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "gb18030"):
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_CANDIDATES)).best()
    if best is not None and best.encoding in ("utf_8", "gb18030", "big5"):
        return {"utf_8": "utf-8", "gb18030": "gb18030", "big5": "big5"}[best.encoding]
    lines = data.split(b"\n")

    def failures(enc: str) -> int:
        bad = 0
        for line in lines:
            try:
                line.decode(enc)
            except UnicodeDecodeError:
                bad += 1
        return bad

    order = [e for e in (expected, "utf-8", "gb18030") if e]
    return min(dict.fromkeys(order), key=failures)


def encoding_family(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {"utf-8-sig": "utf-8", "gbk": "gb18030", "gb2312": "gb18030"}.get(name, name)


def decode_error(exc: UnicodeDecodeError, encoding: str, rel: str, line: int) -> str:
    return f"{rel} 第 {line} 行不是有效的 {encoding} 文本（第 {exc.start + 1} 字节起无法解码）"
