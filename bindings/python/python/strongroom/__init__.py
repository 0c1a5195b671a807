"""Strongroom: native, pre-parsed file integrity and policy decisions for Python.

Submodules:

- :mod:`strongroom.policy`: a pre-parsed Cedar policy engine with batch decisions, explanations
  of denials and hot reload.
- :mod:`strongroom.verifier`: keyed file signatures (HMAC-SHA256, BLAKE3), chunk maps for
  byte-range verification, signed directory manifests.
"""

from ._native import (
    ChangedWhileReadingError,
    FormatError,
    KeyError,
    MismatchError,
    StrongroomError,
    ValidationError,
)
from . import policy, verifier

__all__ = [
    "ChangedWhileReadingError",
    "FormatError",
    "KeyError",
    "MismatchError",
    "StrongroomError",
    "ValidationError",
    "policy",
    "verifier",
]
