"""Keyed file signatures, chunk maps and signed manifests.

>>> from strongroom.verifier import KeyRing, generate_key
>>> ring = KeyRing()
>>> ring.add_signing_key("2026-11", generate_key())
>>> signature = ring.sign(b"report contents")
>>> signature.startswith("sr1:hmac-sha256:2026-11:")
True
>>> ring.verify(b"report contents", signature)

Signatures interoperate with any HMAC-SHA256: the MAC part is the standard HMAC of the bytes.
File work (paths) runs with the GIL released, in constant memory.
"""

from ._native import (
    ChunkMap,
    KeyRing,
    Manifest,
    generate_key,
    load_key_file,
    parse_signature_parts,
)
from ._native import ChangedWhileReadingError, FormatError, KeyError, MismatchError, StrongroomError

__all__ = [
    "ChangedWhileReadingError",
    "ChunkMap",
    "FormatError",
    "KeyError",
    "KeyRing",
    "Manifest",
    "MismatchError",
    "StrongroomError",
    "generate_key",
    "load_key_file",
    "parse_signature_parts",
]
