"""A completed follow-up searched so that the words it brings itself weigh more than what it took from the
earlier question: «А с какими организациями?» after a question about the states Kazakhstan has diplomatic
relations with is completed to «С какими организациями у Казахстана дипломатические отношения?», whose
carried-over «дипломатические отношения» alone found the 186-states sentence again.

The passages are ranked by the completed question's vector plus the vector of the follow-up's own words with the
names it keeps (`Resolved.focus`), and by those words alone (BM25): the names say which article, the own words
what in it. The key quote is chosen with the completed question's vector plus that of the own words alone
(`Resolved.own`), and by their words: the passage is already about the names, the sentence must hold what the
follow-up asks. Whether it answers at all is judged on the sentences so scored, but with the share of unknown
words of the whole completed question («город» of «А в каком городе?» is in no article, Tokyo is). A question
that was not completed, or brings only a question word («А когда?»), is searched as it is.

`rag-bench followups --xquad` (53 pairs): right 48 -> 52, first passage holds the answer 50 -> 53; over the seed
article alone (40 pairs): right 37 -> 39.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rag.index.filters import Filter
from rag.search.candidates import Query
from rag.search.followup import Resolved
from rag.search.retriever import Retriever

OWN_WEIGHT = 1.0
"""The follow-up's own words' vector against the completed question's (both unit vectors): as much (0.5 and 2
each lost one of the 53 pairs)."""


@dataclass(frozen=True)
class Queries:
    """What a question's passages are ranked with (`ranked`) and its key quote is chosen with (`quoted`)."""

    ranked: Query
    quoted: Query


def queries(retriever: Retriever, resolved: Resolved, where: Filter | None = None) -> Queries:
    """The queries of a question as resolved (`rag.search.followup.resolve`) among the articles `where` admits."""
    completed = retriever.query(resolved.text, where=where)
    if resolved.own is None or resolved.focus is None:
        return Queries(completed, completed)
    focus, own = retriever.embedder.encode_queries([resolved.focus, resolved.own])
    return Queries(_leaning(retriever, completed, resolved.focus, focus),
                   _leaning(retriever, completed, resolved.own, own))


def _leaning(retriever: Retriever, completed: Query, text: str, vector: np.ndarray) -> Query:
    """`completed` leaning towards `text`: its vector the normalised sum with `text`'s, its words `text`'s."""
    summed = completed.vector + OWN_WEIGHT * vector
    return replace(completed, terms=retriever.words.terms(text),
                   vector=(summed / np.linalg.norm(summed)).astype(completed.vector.dtype))
