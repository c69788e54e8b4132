#!/usr/bin/env python3
"""Rewrites every DER INTEGER equal to OLD into NEW, re-encoding the lengths around it.

usage: der_set_integer.py IN OUT OLD NEW

Used by tests to craft files whose parameters no tool would write cheaply (a PKCS#12 file
with 2^31-1 iterations takes hours to make honestly): make the file with a marker count
(openssl pkcs12 -export -iter 2049), then set the marker to the value under test. OCTET
STRINGs whose content is itself DER (a PKCS#7 data ContentInfo holding SafeContents) are
rewritten inside too. Exits 1 when no INTEGER had the value OLD.
"""
import sys


def read_tlv(data, pos):
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tags are not used in these files")
    length = data[pos]
    pos += 1
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("indefinite or huge length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, data[pos:pos + length], pos + length


def encode_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode_integer(v):
    body = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return b"\x02" + encode_length(len(body)) + body


def parse_all(data):
    items, pos = [], 0
    while pos < len(data):
        tag, value, pos = read_tlv(data, pos)
        items.append((tag, value))
    return items


def rewrite(data, old, new, count):
    out = b""
    for tag, value in parse_all(data):
        if tag == 0x02 and int.from_bytes(value, "big", signed=True) == old:
            out += encode_integer(new)
            count[0] += 1
            continue
        if tag & 0x20:  # constructed: rewrite the children
            value = rewrite(value, old, new, count)
        elif tag == 0x04 and len(value) > 2 and value[0] == 0x30:
            try:  # an OCTET STRING that holds DER (and re-encodes to the same bytes)
                if rewrite(value, old, old, [0]) == value:
                    value = rewrite(value, old, new, count)
            except (ValueError, IndexError):
                pass
        out += bytes([tag]) + encode_length(len(value)) + value
    return out


def main():
    src, dst, old, new = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    count = [0]
    result = rewrite(open(src, "rb").read(), old, new, count)
    if count[0] == 0:
        sys.exit(f"no INTEGER {old} in {src}")
    open(dst, "wb").write(result)
    print(f"{count[0]} INTEGER(s) {old} -> {new}")


if __name__ == "__main__":
    main()
