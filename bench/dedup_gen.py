#!/usr/bin/env python3
"""Deterministic versioned file set for bench/dedup.sh (standard library only).

  dedup_gen.py init DIR FILES FILE_MIB SEED   writes version 1: FILES files of FILE_MIB MiB of
                                              pseudo-random (incompressible) bytes, f00.bin ...
  dedup_gen.py edit DIR VERSION SEED          turns version VERSION-1 into VERSION, in place, by
                                              small edits typical of real use (see below)

Each edit step (its own RNG, seeded by SEED and VERSION, so any version is reproducible from
`init` and the steps before it):
  - overwrites 1-4 regions of 4 KiB, at random (unaligned) offsets, in each of 2-3 files;
  - inserts 100-900 bytes at a random offset in the middle half of one file (shifts the rest of
    the file: fixed-size chunking loses everything after it, content-defined chunking does not);
  - appends 1-64 KiB to one file.
Files are rewritten only when edited (unchanged files keep their mtime, as in real use).
Prints one line on stdout describing the step.
"""

import os
import random
import sys

KIB = 1024
MIB = 1024 * KIB


def name(i):
    return f"f{i:02d}.bin"


def init(d, files, file_mib, seed):
    rng = random.Random(f"dedup-init-{seed}")
    os.makedirs(d, exist_ok=True)
    for i in range(int(files)):
        with open(os.path.join(d, name(i)), "wb") as f:
            for _ in range(int(file_mib)):
                f.write(rng.randbytes(MIB))
    print(f"version 1: {files} files of {file_mib} MiB")


def edit(d, version, seed):
    rng = random.Random(f"dedup-edit-{seed}-{version}")
    names = sorted(n for n in os.listdir(d) if n.endswith(".bin"))
    picked = rng.sample(names, min(len(names), rng.randint(2, 3)))
    what = []
    for n in picked:
        p = os.path.join(d, n)
        size = os.path.getsize(p)
        regions = rng.randint(1, 4)
        with open(p, "r+b") as f:
            for _ in range(regions):
                off = rng.randrange(0, max(1, size - 4 * KIB))
                f.seek(off)
                f.write(rng.randbytes(4 * KIB))
        what.append(f"{n}: {regions}x4KiB overwritten")
    n = rng.choice(names)
    p = os.path.join(d, n)
    with open(p, "rb") as f:
        data = f.read()
    off = rng.randrange(len(data) // 4, 3 * len(data) // 4)
    ins = rng.randint(100, 900)
    tmp = p + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data[:off])
        f.write(rng.randbytes(ins))
        f.write(data[off:])
    os.replace(tmp, p)
    what.append(f"{n}: {ins} B inserted at {off}")
    n = rng.choice(names)
    app = rng.randint(1, 64) * KIB
    with open(os.path.join(d, n), "ab") as f:
        f.write(rng.randbytes(app))
    what.append(f"{n}: {app // KIB} KiB appended")
    print(f"version {version}: " + "; ".join(what))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"init": init, "edit": edit}[cmd](*args)
