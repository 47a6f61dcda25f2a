"""The judge's scoring rubric (paper, appendix C): four dimensions, their maxima, their JSON keys.

    Instruction Adherence   IA  0-30   key Instruction_Adherence
    Temporal Consistency    TC  0-30   key Temporal_Consistency
    Visual Fidelity         VF  0-25   key Visual_Fidelity
    Artifact Absence        AA  0-15   key Artifact_Absence
                                ----
    Total                       0-100  (computed here; the judge is told not to give one)

The answer is `{"Reasoning": "...", "Scores": {<the four keys>: int}}` with the reasoning
written first. `parse_judge_answer` accepts exactly that (key spelling is matched ignoring
case, spaces and underscores; extra keys such as a total are ignored) and rejects everything
else with a reason the model can act on: no default, no clamping, no rounding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imvideoedit.vlm.structured import AnswerInvalid


@dataclass(frozen=True)
class Dimension:
    short: str  # column name in the paper's tables
    key: str  # JSON key in the judge's answer
    title: str
    maximum: int


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("IA", "Instruction_Adherence", "Instruction Adherence", 30),
    Dimension("TC", "Temporal_Consistency", "Temporal Consistency", 30),
    Dimension("VF", "Visual_Fidelity", "Visual Fidelity", 25),
    Dimension("AA", "Artifact_Absence", "Artifact Absence", 15),
)
DIMENSION_SHORTS: tuple[str, ...] = tuple(d.short for d in DIMENSIONS)
TOTAL_MAXIMUM = sum(d.maximum for d in DIMENSIONS)  # 100


@dataclass(frozen=True)
class JudgeVerdict:
    scores: dict[str, int]  # by short name: {"IA": 21, "TC": 25, "VF": 18, "AA": 12}
    reasoning: str

    @property
    def total(self) -> int:
        return sum(self.scores.values())


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _lookup(obj: dict[str, Any], key: str) -> tuple[bool, Any]:
    """(found, value) for `key` in any spelling ("Instruction_Adherence", "instruction adherence");
    two spellings of one key in the same answer are refused as ambiguous, not resolved silently."""
    wanted = _squash(key)
    found = [(name, value) for name, value in obj.items() if _squash(str(name)) == wanted]
    if len(found) > 1:
        raise AnswerInvalid(
            f"{key} is given {len(found)} times ({', '.join(repr(n) for n, _ in found)}); give it once"
        )
    return (True, found[0][1]) if found else (False, None)


def parse_judge_answer(obj: Any) -> JudgeVerdict:
    """The verdict in a judge's JSON answer, or `AnswerInvalid` saying exactly what is wrong."""
    if not isinstance(obj, dict):
        raise AnswerInvalid("the answer must be a JSON object with keys Reasoning and Scores")
    has_reasoning, reasoning = _lookup(obj, "Reasoning")
    has_scores, scores = _lookup(obj, "Scores")
    missing = [
        name for name, present in (("Reasoning", has_reasoning), ("Scores", has_scores)) if not present
    ]
    if missing:
        raise AnswerInvalid(f"missing key{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if not isinstance(reasoning, str) or not reasoning.strip():
        raise AnswerInvalid("Reasoning must be a non-empty string")
    keys = [_squash(str(name)) for name in obj]
    if keys.index("reasoning") > keys.index("scores"):
        raise AnswerInvalid("Reasoning must come before Scores (reason first, then score)")
    if not isinstance(scores, dict):
        raise AnswerInvalid("Scores must be an object with the four dimension scores")
    values: dict[str, int] = {}
    problems: list[str] = []
    for dimension in DIMENSIONS:
        present, value = _lookup(scores, dimension.key)
        if not present:
            problems.append(f"Scores.{dimension.key} is missing")
        elif isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"Scores.{dimension.key} must be an integer, got {value!r}")
        elif not 0 <= value <= dimension.maximum:
            problems.append(f"Scores.{dimension.key} must be between 0 and {dimension.maximum}, got {value}")
        else:
            values[dimension.short] = value
    if problems:
        raise AnswerInvalid("; ".join(problems))
    return JudgeVerdict(scores=values, reasoning=reasoning.strip())
