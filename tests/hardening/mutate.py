"""Mutations of lesson files for fuzzing: what a typo, a bad paste or a broken disk does to a lesson."""

from __future__ import annotations

import random
import re

VALUES = ["-1", "0", "4294967296", "99999999999", "1e308", "-7.5", "nan", "true", '"x"', "[]", "{}",
          '"all"', '"0-99999999"', '"5-1"', '"1-2/0"', "[1, 2]", '{ min = 3 }', '"\u00e9\u00e9"', "'''", '"v9"']
KEYS = ["bogus", "do", "vma", "pages", "cpus", "count", "expect", "kernel", "prot", "hold", "child"]
OPS = ["reed", "write", "fork", "exit", "coredump", "mmap", "gup", "say", "madvise", "move_pages"]


def mutate(text: str, rng: random.Random) -> bytes:
    kind = rng.randrange(9)
    lines = text.split("\n")
    if kind == 0:  # flip bytes
        b = bytearray(text.encode())
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 1:  # drop, duplicate or swap lines
        for _ in range(rng.randint(1, 4)):
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            op = rng.randrange(3)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(i, lines[j])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            if not lines:
                lines = [""]
    elif kind == 2:  # a value of the wrong type, or huge, or negative
        idx = [i for i, line in enumerate(lines) if re.match(r"\s*[\w\"*.-]+\s*=\s*\S", line)]
        for i in rng.sample(idx, min(len(idx), rng.randint(1, 3))):
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {rng.choice(VALUES)}"
    elif kind == 3:  # unknown or misspelt ops
        idx = [i for i, line in enumerate(lines) if line.strip().startswith("do")]
        for i in idx[: rng.randint(1, 3)]:
            lines[i] = f'do = "{rng.choice(OPS)}"'
    elif kind == 4:  # unknown keys
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randrange(len(lines) + 1), f"{rng.choice(KEYS)} = {rng.choice(VALUES)}")
    elif kind == 5:  # truncation
        return text.encode()[: rng.randrange(len(text.encode()) + 1)]
    elif kind == 6:  # invalid UTF-8 somewhere
        b = bytearray(text.encode())
        b[rng.randrange(len(b)):rng.randrange(len(b))] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])
        return bytes(b)
    elif kind == 7:  # table headers broken or repeated
        idx = [i for i, line in enumerate(lines) if line.startswith("[")]
        for i in rng.sample(idx, min(len(idx), 2)):
            lines[i] = rng.choice(["[step]", "[[steps]]", "[[vma]", "[scenario]", "[[step.expect]]", "[[process]]"])
    else:  # sizes pushed to the limits: refused up front, or small enough to run
        idx = [i for i, line in enumerate(lines) if re.match(r"\s*(pages|count|cpus|cpu|sockets)\s*=\s*\d", line)]
        for i in rng.sample(idx, min(len(idx), 2)):
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {rng.choice(['2000001', '16777217', '4097', '257', '0', '-3', '3000000000'])}"
    return "\n".join(lines).encode("utf-8", "surrogatepass")
