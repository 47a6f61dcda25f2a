"""Agreement between two judges on the same items (the paper's appendix A).

The paper compares VLM judges on the data-filtering scores (0-10): Pearson correlation on the
raw scores, and MAE and variance on scores binarised at the acceptance threshold (default 6:
a score >= 6 accepts the pair), because the threshold decision is what filtering uses.

Definitions used here (the paper does not spell out its variance):
- pearson: Pearson's r of the raw scores;
- mae: mean of |accept_a - accept_b| over items (the share of items the judges decide
  differently);
- variance: population variance of |accept_a - accept_b|, i.e. mae * (1 - mae);
- agreement: 1 - mae.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from imvideoedit.errors import UserError
from imvideoedit.eval.jsonl import read_jsonl


@dataclass(frozen=True)
class Agreement:
    items: int
    threshold: float
    pearson: float | None  # None when either judge's scores are constant
    mae: float
    variance: float
    agreement: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def judge_agreement(first: Sequence[float], second: Sequence[float], threshold: float = 6.0) -> Agreement:
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise UserError(f"judge agreement needs two equally long score lists, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise UserError(f"judge agreement needs at least 2 shared items, got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise UserError("judge scores must be finite numbers")
    pearson = None
    if a.std() > 0 and b.std() > 0:
        pearson = float(np.corrcoef(a, b)[0, 1])
    disagreement = np.abs((a >= threshold).astype(np.float64) - (b >= threshold).astype(np.float64))
    mae = float(disagreement.mean())
    return Agreement(int(a.size), float(threshold), pearson, mae, float(disagreement.var()), 1.0 - mae)


def load_item_scores(path: str | Path, field: str = "score") -> dict[str, float]:
    """{id: score} from a JSONL with an `id` (or `case_id`) and a numeric `field` per line."""
    path = Path(path)
    scores: dict[str, float] = {}
    for number, row in enumerate(read_jsonl(path), start=1):
        item = row.get("id", row.get("case_id"))
        value = row.get(field)
        if item is None:
            raise UserError(f"{path}: line {number} has no 'id' (or 'case_id')")
        if value is None:
            continue  # an unscored item (a judge that gave no valid answer) is left out
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"{path}: line {number}: {field!r} must be a number, got {value!r}")
        if str(item) in scores:
            raise UserError(f"{path}: item {item!r} appears more than once")
        scores[str(item)] = float(value)
    return scores


def agreement_between_files(
    first: str | Path, second: str | Path, *, field: str = "score", threshold: float = 6.0
) -> tuple[Agreement, int, int]:
    """Agreement on the items both files score; also returns how many each file had."""
    a = load_item_scores(first, field)
    b = load_item_scores(second, field)
    shared = sorted(set(a) & set(b))
    if len(shared) < 2:
        raise UserError(f"the two files share {len(shared)} scored items; at least 2 are needed")
    return judge_agreement([a[i] for i in shared], [b[i] for i in shared], threshold), len(a), len(b)
