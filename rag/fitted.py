"""The free parameters of retrieval, fitted per embedding model, and kept in each index beside its model.

`rag-bench tune` fits them on development data for a model and records them in `fitted.json` (shipped with
the package); `rag index` copies the model's values into the index it builds, so an index answers with
the values its model was fitted with, whatever the defaults are later. A model that was never tuned
gets `Fitted()`: the chunking and weights are generic, and it never declines (no calibrated threshold).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from rag.settings import CHUNK_OVERLAP, CHUNK_SIZE

FILE = Path(__file__).with_name("fitted.json")
NO_ANSWER_FEATURES = ("passage score", "closest sentence", "best typed sentence", "words no article holds",
                      "rare words its article holds", "names its article mentions")
"""What the no-answer rule weighs, in this order (`rag.search.no_answer.features` computes them): a rule
recorded over other signals (`Fitted.no_answer_signals`) was fitted by another version."""


@dataclass(frozen=True)
class Fitted:
    """Retrieval settings for one model. Scores are on a 0-1 scale (cosine, BM25 / the most the question's words can score)."""

    chunk_size: int = CHUNK_SIZE
    """Target passage length in characters."""
    chunk_overlap: int = CHUNK_OVERLAP
    """Characters of whole sentences repeated between neighbouring passages."""
    prefix: int = 5
    """Letters of a Snowball stem kept as a search term (0: whole stems)."""
    dense_weight: float = 0.5
    """Share of the dense score next to BM25 for a question in the articles' language (Russian)."""
    rerank_depth: int = 0
    """How many of the best passages are re-scored by their sentence closest to the question (0: none)."""
    rerank_weight: float = 0.0
    """That sentence's weight in the re-scored passage score, next to the fused score."""
    quote_dense_weight: float = 0.8
    """Share of sentence-embedding similarity (the rest: stem overlap) in choosing the key quote."""
    quote_margin: float = 0.0
    """A sentence next to the key sentence joins the quote when it scores within this of it."""
    quote_window: float = 0.0
    """Share of a two-sentence window's own score (the question's cosine with the pair's summed vectors, and stem
    overlap with their words) in scoring it as the key quote, next to its better sentence's score; 0: the key
    sentence takes a neighbour by `quote_margin` instead."""
    quote_single: float = 0.0
    """With `quote_window`: what a quote of one sentence adds to its score against the windows holding it."""
    answer_types: bool = False
    """Whether a "how many" / "when" question needs a number / date in the key quote (rag.answer_type)."""
    type_margin: float = 1.0
    """With answer types: how far under the best sentence's score the sentence holding the number / date
    may score (1.0: anywhere in the passage)."""
    no_answer_below: float = float("-inf")
    """A best passage score under this means no answer, for a question in the articles' language."""
    no_answer_below_cross: float = float("-inf")
    """The same for a question in another language (scored by meaning alone, so on another scale)."""
    sentence_below: float = float("-inf")
    """No answer either when no sentence of the best passage is this similar to the question (cosine)."""
    sentence_below_cross: float = float("-inf")
    """The same for a question in another language."""
    no_answer_rule: tuple[float, ...] = ()
    """For a question in the articles' language: bias and weights of the logistic no-answer rule
    (`rag.search.no_answer`); empty: none."""
    no_answer_bar: float = 0.5
    """The rule's confidence under which a passage is taken not to answer."""
    no_answer_signals: tuple[str, ...] = ()
    """The signals the rule's weights are for, by name (`NO_ANSWER_FEATURES` when `rag-bench tune` fitted it)."""

    def to_json(self) -> dict:
        """A plain dict for an index manifest (infinities as None: JSON has no infinity)."""
        return {k: (None if v == float("-inf") else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict, current: Fitted | None = None) -> Fitted:
        """The values stored by `to_json`; unknown keys are refused, missing ones take the defaults. A no-answer
        rule over other signals than this version's (`NO_ANSWER_FEATURES`, named in `no_answer_signals`) was
        fitted by another version: it is refused, or, given the values fitted now for the same model
        (`current`: an index built by an earlier version), replaced by their rule, so the index still answers."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fitted settings {sorted(unknown)}")
        rule, signals = data.get("no_answer_rule") or (), tuple(data.get("no_answer_signals") or ())
        if rule and (signals != NO_ANSWER_FEATURES or len(rule) != len(signals) + 1):  # another version's rule
            if current is None:
                raise ValueError(f"a no-answer rule of {len(rule)} numbers over {list(signals)}, where this "
                                 f"version weighs {list(NO_ANSWER_FEATURES)} and a bias")
            data = {**data, **{k: v for k, v in current.to_json().items() if k in _RULE}}
        return replace(cls(), **{k: (float("-inf") if v is None else tuple(v) if isinstance(v, list) else v)
                                 for k, v in data.items()})


_RULE = ("no_answer_rule", "no_answer_bar", "no_answer_signals")
"""The fitted values that make the no-answer rule, replaced together."""


def _table() -> dict[str, dict]:
    try:
        return json.loads(FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def for_model(name: str) -> Fitted:
    """The values fitted for the model `name` (generic defaults for a model never tuned)."""
    entry = _table().get(name)
    return Fitted.from_json(entry) if entry else Fitted()


def is_fitted(name: str) -> bool:
    """Whether `rag-bench tune` has fitted values for the model `name`."""
    return name in _table()


def record(name: str, fitted: Fitted) -> Path:
    """Store `fitted` as the values of model `name` in the package's table; returns the file."""
    table = _table()
    table[name] = fitted.to_json()
    FILE.write_text(json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return FILE
