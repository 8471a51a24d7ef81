"""Few-shot store: (question, plan) pairs from a JSONL data file, retrieved by similarity.

Similarity is cosine over character bigrams of the NFKC/lower-cased question with digits
folded to one symbol (patient numbers and thresholds do not make two questions alike).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nl2query.ir import QueryPlan

DEFAULT_EXAMPLES = "examples.jsonl"
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"[\s、。,.?？!！「」（）()]+")


@dataclass(frozen=True)
class Example:
    question: str
    plan: dict[str, Any]  # compact JSON of a valid QueryPlan (defaults omitted)


def _grams(text: str) -> Counter[str]:
    t = unicodedata.normalize("NFKC", text).lower()
    t = _SPACE.sub("", _DIGITS.sub("0", t))
    return Counter(t[i : i + 2] for i in range(max(len(t) - 1, 1)))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    return dot / (
        math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    )


class FewShotStore:
    """Holds examples; ``nearest(question, k)`` returns the k most similar, best last."""

    def __init__(self, examples: list[Example]) -> None:
        self.examples = examples
        self._grams = [_grams(e.question) for e in examples]

    @classmethod
    def load(cls, path: str | Path | None = None) -> FewShotStore:
        if path is None:
            text = resources.files("nl2query.llm").joinpath(DEFAULT_EXAMPLES).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        rows: list[Example] = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            QueryPlan.model_validate(obj["plan"])  # a bad example is a bug: fail loudly
            if not isinstance(obj.get("question"), str):
                raise ValueError(f"example line {n}: question missing")
            rows.append(Example(obj["question"], obj["plan"]))
        return cls(rows)

    def nearest(self, question: str, k: int) -> list[Example]:
        if k <= 0 or not self.examples:
            return []
        q = _grams(question)
        scored = sorted(
            range(len(self.examples)), key=lambda i: (_cosine(q, self._grams[i]), -i), reverse=True
        )
        picked = [self.examples[i] for i in scored[:k]]
        return list(reversed(picked))  # most similar closest to the question
