"""One story, many outlets: near-duplicate articles found by MinHash LSH over word shingles.

An article's text becomes the set of its word `SHINGLE`-grams, summarised by a MinHash signature of
`NUM_PERM` values (`datasketch`); the signature is cut into `BANDS` bands of `ROWS` values, and each band
hashed to one 64-bit key. Two articles sharing a key are the same story: the chance of that is
1 - (1 - J^ROWS)^BANDS for texts of Jaccard similarity J, an S-curve around `THRESHOLD` (fitted on
republications of XQuAD-ru articles against other articles of the same topic: `bench.stories`,
docs/stories.md). An article's keys are kept in its article-table row and, per table file, as a sorted
sidecar (`<file>.bands.npy`), so that finding an added article's story is a binary search per table file:
its cost does not grow with the archive.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import xxhash

from rag.errors import IndexDamaged
from rag.index import checksums, files
from rag.text import _WORD

SHINGLE = 2
"""Words per shingle."""
THRESHOLD = 0.40
"""The Jaccard similarity of shingle sets from which two articles are one story (fitted: docs/stories.md)."""
NUM_PERM = 128
BANDS, ROWS = 32, 4
"""LSH bands and rows per band for `THRESHOLD` and `NUM_PERM`: datasketch's `_optimal_param` (equal weights for
false positives and false negatives), computed once by `bench.stories` (it integrates numerically)."""
SEED = 1


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The article's word `size`-grams (lower case, ё as е): what two copies of one story share."""
    words = _WORD.findall(text.lower().replace("ё", "е"))
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def signature(text: str, size: int = SHINGLE) -> np.ndarray:
    """The MinHash signature (`NUM_PERM` values) of the article's shingles."""
    from datasketch import MinHash  # imported when an article is added, not by every question

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([s.encode() for s in shingles(text, size)])
    return minhash.hashvalues


def band_keys(values: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> np.ndarray:
    """One 64-bit key per band of a signature: articles sharing any key are candidates of one story."""
    values = np.ascontiguousarray(values, dtype=np.uint32)
    return np.array([xxhash.xxh3_64_intdigest(values[b * rows:(b + 1) * rows].tobytes(), seed=b)
                     for b in range(bands)], dtype=np.uint64)


def keys_of(text: str) -> np.ndarray:
    """The band keys of an article's text."""
    return band_keys(signature(text))


def encode(keys: np.ndarray) -> str:
    """Band keys as the article table stores them (hex)."""
    return np.asarray(keys, dtype="<u8").tobytes().hex()


def decode(stored: str | None) -> np.ndarray:
    """Band keys from their table form; none for an article indexed before stories were kept."""
    return np.frombuffer(bytes.fromhex(stored), dtype="<u8") if stored else np.zeros(0, dtype=np.uint64)


def groups(sources: list[str], keys: list[np.ndarray]) -> dict[str, tuple[str, ...]]:
    """The stories of articles (`sources`, with their band `keys`) that share a band key, directly or through
    other copies: each article of a story told more than once, to all its articles (sorted). It follows from
    the live articles alone, so an archive answers the same whatever the order its copies were added in."""
    flat = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
    return _linked(sources, flat, np.cumsum([len(k) for k in keys]))


def stored_groups(sources: list[str], stored: list[str | None]) -> dict[str, tuple[str, ...]]:
    """`groups` of articles given with their keys as the article table stores them (`encode`), decoded at once."""
    flat = decode("".join(k or "" for k in stored))
    return _linked(sources, flat, np.cumsum([len(k or "") // 16 for k in stored]))


def _linked(sources: list[str], flat: np.ndarray, ends: np.ndarray) -> dict[str, tuple[str, ...]]:
    """`groups` over all articles' keys in one array (`flat`), article i's ending at `ends[i]`. Only the keys held
    more than once are looked at beyond one sort (1M passages: 208k articles, 6.7M keys, 1.76 s -> 0.6 s): a
    story is rare, so are they."""
    ordered = np.sort(flat)
    shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(shared):
        return {}
    at = np.minimum(np.searchsorted(shared, flat), len(shared) - 1)
    held = np.flatnonzero(shared[at] == flat)  # positions in `flat` of a key held more than once
    owners = np.searchsorted(ends, held, side="right")
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[int, int] = {}  # each shared key's first owner, whom the others join
    for key, owner in zip(at[held].tolist(), owners.tolist()):
        parent[root(owner)] = root(first.setdefault(key, owner))
    members: dict[int, list[str]] = {}
    for i in parent:
        members.setdefault(root(i), []).append(sources[i])
    return {source: group for group in (tuple(sorted(m)) for m in members.values() if len(m) > 1)
            for source in group}


def write_sidecar(path: Path, keys_per_row: list[str | None]) -> str:
    """Write a table file's band keys sorted, with the row each comes from (`(2, n)` uint64), flushed to disk;
    returns its checksum."""
    decoded = [decode(k) for k in keys_per_row]
    keys = np.concatenate(decoded) if decoded else np.zeros(0, dtype=np.uint64)
    rows = np.repeat(np.arange(len(decoded), dtype=np.uint64), [len(k) for k in decoded])
    order = np.argsort(keys, kind="stable")
    table = np.stack([keys[order], rows[order]])
    buffer = io.BytesIO()
    np.save(buffer, table)
    data = buffer.getvalue()
    files.write_bytes(path, data)
    return checksums.of_bytes(data)


def read_sidecar(path: Path, checksum: str) -> np.ndarray:
    """A table file's sorted band keys and their rows, checked and memory-mapped."""
    checksums.verify(path, checksum)
    try:
        table = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexDamaged(f"{path} cannot be read ({exc}); run: rag index --rebuild") from exc
    if table.ndim != 2 or table.shape[0] != 2:
        raise IndexDamaged(f"{path} does not hold band keys; run: rag index --rebuild")
    return table


def rows_sharing(sidecar: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The rows of a table file sharing a band key with `keys` (a row once per key shared)."""
    found, rows = sidecar[0], sidecar[1]
    left = np.searchsorted(found, keys, side="left")
    right = np.searchsorted(found, keys, side="right")
    shared = np.flatnonzero(right > left)  # mostly none: a new story
    return np.concatenate([np.asarray(rows[left[i]:right[i]]) for i in shared] or [np.zeros(0, np.uint64)])
