"""Column values as COPY text: UUIDs, timestamps, money, NULLs (all vectorised).

Numbers stay numbers until a table is copied: `Formatted` columns are turned
into text one chunk at a time, so only a chunk's strings exist at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MINUTE = 60_000_000  # microseconds
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NULL = "\\N"

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGIT_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def random_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as raw bytes, shape (n, 16): 16 bytes each,
    formatted to text only when a block of them is copied."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw


def uuid_text(raw: np.ndarray) -> np.ndarray:
    """Raw UUIDs (n, 16) as canonical text (8-4-4-4-12 lower-case hex)."""
    text = np.full((len(raw), 36), ord("-"), dtype=np.uint8)
    digits = np.empty((len(raw), 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    text[:, _DIGIT_POSITIONS] = digits
    return text.view("S36").ravel().astype(str).astype(object)


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as text."""
    return uuid_text(random_uuids(rng, n))


def timestamps(micros: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch (int64, -1 for NULL) as timestamptz text."""
    text = np.char.add(np.datetime_as_string(micros.astype("datetime64[us]"), unit="us"), "Z").astype(object)
    text[micros < 0] = NULL
    return text


def money(cents: np.ndarray) -> np.ndarray:
    """Cents (int64, may be negative) as numeric text with two decimals."""
    sign = np.where(cents < 0, "-", "")
    absolute = np.abs(cents)
    return np.char.add(
        np.char.add(sign, (absolute // 100).astype(str)),
        np.char.add(".", np.char.zfill((absolute % 100).astype(str), 2)),
    ).astype(object)


def nullable(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Values as text, NULL where `missing`."""
    out = values.astype(str).astype(object)
    out[missing] = NULL
    return out


@dataclass
class Formatted:
    """A numeric column formatted to COPY text chunk by chunk (bounded memory)."""

    values: np.ndarray
    format: Callable[[np.ndarray], np.ndarray]

    def __len__(self) -> int:
        return len(self.values)

    def text(self, begin: int, end: int) -> np.ndarray:
        return self.format(self.values[begin:end])


def ts(micros: np.ndarray) -> Formatted:
    return Formatted(micros, timestamps)


def cash(cents: np.ndarray) -> Formatted:
    return Formatted(cents, money)


def ids(raw: np.ndarray) -> Formatted:
    return Formatted(raw, uuid_text)


#: A table to copy: column name -> values (text, numbers or `Formatted`).
Table = dict[str, "np.ndarray | Formatted"]
