"""Whether the best passage answers a question: a small logistic rule over what the answer already measured.

The passage's score and its closest sentence's similarity alone cannot tell a question the article answers
in other words from one about the same subject that it does not answer. How well the passage's best sentence
of the asked answer type (`answer_type`: a number, a date) scores, and how far under the best sentence it
is, tell more ("when did X join the WTO" against a passage that names the WTO but gives no date near it).
The share of the question's words the passage holds does not: paraphrased questions that the article does
answer share almost none (measured on the tuning halves: it declined answerable paraphrases). `rag-bench tune`
fits the weights per model on the tuning questions (`Fitted.no_answer_rule`, for questions in the articles'
language); a model without them keeps only its thresholds.
"""

from __future__ import annotations

import numpy as np


def features(passage_score: float, closest: float, scores: np.ndarray, typed: np.ndarray) -> np.ndarray:
    """The rule's inputs for one question and its best passage (`rag.fitted.NO_ANSWER_FEATURES`): the passage's
    score, its closest sentence's cosine, and, of the sentences' quote scores (`scores`), the best among those
    that give the asked answer type (`typed`; all for a question that asks for no type) and its gap to the
    best."""
    best_typed = float(scores[typed].max()) if typed.any() else 0.0
    return np.array([passage_score, closest, best_typed, float(scores.max()) - best_typed])


def declines(rule: tuple[float, ...], x: np.ndarray) -> bool:
    """Whether the rule (bias, then one weight per feature) says the passage does not answer; never without one."""
    return bool(rule) and rule[0] + float(np.dot(rule[1:], x)) > 0.0
