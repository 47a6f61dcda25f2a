"""Stage 4, filter: the judge model scores every image pair on the paper's three criteria.

    instruction_faithfulness   the edit does what the instruction says, fully
    visual_quality             the edited image is clean: no artifacts, distortions, broken text
    unedited_consistency       everything the instruction does not touch is unchanged

Each is an integer from 0 to 10. A pair passes when all three reach `filter.threshold` (6, the
acceptance criterion of the paper's appendix A). The scores are stored, not the verdict, so that
a new threshold applies at export without asking the model again. A pair the model never scores
validly is recorded as failed, and is exported only if a reviewer accepts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imvideoedit.data_construction.backends import build_chat_backend, retry_policy
from imvideoedit.data_construction.config import BuildConfig
from imvideoedit.data_construction.item_runner import StageSummary, run_items
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.records import (
    FAILED,
    OK,
    SCORED,
    RecordLog,
    last_answer,
    latest_by_id,
    needs_work,
    read_records,
    read_stage,
)
from imvideoedit.errors import UserError
from imvideoedit.vlm import AnswerInvalid, ChatBackend, ImagePart, Message, structured_call

PROMPT_VERSION = "pair-judge-v1"
CRITERIA = ("instruction_faithfulness", "visual_quality", "unedited_consistency")

SYSTEM_PROMPT = (
    "You are a strict quality inspector for an image-editing dataset. You compare a source image with "
    "its edited version and score the edit. Answer only with the JSON object asked for."
)

USER_PROMPT = """Instruction given to the editor: "{instruction}"
Source image prompt: "{source_prompt}"
Intended edited image: "{edited_prompt}"

Score the edit from 0 (worst) to 10 (best) on:
- instruction_faithfulness: the edited image does what the instruction asks, completely, and matches the intended edited image.
- visual_quality: the edited image is clean and natural: no artifacts, distortions, blur, broken anatomy or garbled text.
- unedited_consistency: every part the instruction does not mention is unchanged from the source (layout, identity, colors, lighting).

Answer with only this JSON object:
{{"instruction_faithfulness": 0-10, "visual_quality": 0-10, "unedited_consistency": 0-10, "reason": "one or two sentences"}}"""


@dataclass(frozen=True)
class PairScores:
    instruction_faithfulness: int
    visual_quality: int
    unedited_consistency: int
    reason: str

    def as_dict(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in CRITERIA}


def parse_scores(answer: Any) -> PairScores:
    """The judge's JSON object as scores, or AnswerInvalid saying what is wrong."""
    if not isinstance(answer, dict):
        raise AnswerInvalid("the answer must be a JSON object")
    missing = [key for key in (*CRITERIA, "reason") if key not in answer]
    if missing:
        raise AnswerInvalid(f"missing key(s): {', '.join(missing)}")
    scores = {}
    for key in CRITERIA:
        value = answer[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnswerInvalid(f"{key} must be an integer from 0 to 10, got {value!r}")
        if not 0 <= value <= 10:
            raise AnswerInvalid(f"{key} must be within 0..10, got {value}")
        scores[key] = value
    reason = answer["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise AnswerInvalid("reason must be a non-empty string")
    return PairScores(reason=" ".join(reason.split()), **scores)


def judge_accepts(record: Mapping[str, Any] | None, threshold: int) -> bool | None:
    """The judge's verdict for a filter record: True/False, or None when it has no scores."""
    if record is None or record.get("status") != SCORED:
        return None
    scores = record.get("scores")
    if not isinstance(scores, Mapping) or not all(
        isinstance(scores.get(key), (int, float)) and not isinstance(scores.get(key), bool)
        for key in CRITERIA
    ):  # only a hand-edited file gets here: the filter writes validated scores
        raise UserError(
            f"filter record {record.get('id')!r} has malformed scores {scores!r}: fix or delete its line"
        )
    return all(scores[key] >= threshold for key in CRITERIA)


def judge_messages(source: Image.Image, target: Image.Image, texts: Mapping[str, Any]) -> list[Message]:
    text = USER_PROMPT.format(
        instruction=texts["instruction"],
        source_prompt=texts["source_prompt"],
        edited_prompt=texts["edited_prompt"],
    )
    return [
        Message.system(SYSTEM_PROMPT),
        Message.user("Source image:", ImagePart(source), "Edited image:", ImagePart(target), text),
    ]


def run_filter(
    config: BuildConfig, backend: ChatBackend | None = None, retry_failed: bool = False
) -> StageSummary:
    """Score every finished pair that has no filter record yet."""
    layout = BuildLayout(config.output_dir)
    prompts = latest_by_id(read_records(layout.prompts))
    pairs = [
        record
        for record in read_stage(layout.all_images()).values()
        if record.get("status") == OK and record["id"] in prompts
    ]
    summary = StageSummary("filter", planned=len(pairs))
    present = [
        p for p in pairs if (layout.root / p["source"]).is_file() and (layout.root / p["target"]).is_file()
    ]
    if len(present) < len(pairs):
        summary.notes.append(
            f"{len(pairs) - len(present)} pair(s) skipped: image files missing (re-run the images stage)"
        )
    with RecordLog(layout.filter) as record_log:
        existing = record_log.read()
        todo = [pair for pair in present if needs_work(existing.get(pair["id"]), retry_failed)]
        summary.already_done = len(present) - len(todo)
        if not todo:
            return _with_acceptance(summary, record_log.read(), config.filter.threshold)
        backend = backend or build_chat_backend(config.judge, "judge")
        policy = retry_policy(config.judge)
        identity = backend.identity()

        def score(pair: dict[str, Any]) -> dict[str, Any]:
            texts = prompts[pair["id"]]
            with Image.open(layout.root / pair["source"]) as s, Image.open(layout.root / pair["target"]) as t:
                source, target = s.convert("RGB"), t.convert("RGB")
            result = structured_call(
                backend,
                judge_messages(source, target, texts),
                parse_scores,
                max_repairs=config.judge.max_repairs,
                retry=policy,
            )
            record: dict[str, Any] = {
                "id": pair["id"],
                "task": texts["task"],
                "judge": identity,
                "prompt_version": PROMPT_VERSION,
                "model_calls": result.model_calls,
                "repairs": result.repairs,
            }
            if result.value is None:
                record.update(status=FAILED, failure=result.failure, last_answer=last_answer(result.answers))
            else:
                record.update(status=SCORED, scores=result.value.as_dict(), reason=result.value.reason)
            return record

        run_items(summary, todo, score, record_log, workers=config.judge.workers)
        return _with_acceptance(summary, record_log.read(), config.filter.threshold)


def _with_acceptance(
    summary: StageSummary, records: dict[str, dict[str, Any]], threshold: int
) -> StageSummary:
    verdicts = [judge_accepts(record, threshold) for record in records.values()]
    scored = sum(v is not None for v in verdicts)
    passed = sum(v is True for v in verdicts)
    if scored:
        summary.notes.append(
            f"{passed}/{scored} scored pair(s) pass threshold {threshold} ({100 * passed / scored:.1f}%)"
        )
    return summary
