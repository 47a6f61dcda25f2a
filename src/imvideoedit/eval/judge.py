"""The VLM judge of the paper's appendix C, run over a benchmark for one or more methods.

For each (method, case) the judge model sees the source video, the method's edited video and
the instruction (`judge_prompt.py`) and must answer with reasoning and four integer scores
(`rubric.py`). `structured_call` validates the answer, asks for repairs a bounded number of
times and backs off on rate limits and timeouts. An item that never yields a valid answer is
recorded as missing with the reason; it is excluded from means and counted in the coverage.
Nothing is ever filled in.

Every record carries the prompt version, the backend's settings and both videos' hashes.
Finished items are cached by those (`result_cache.py`), so an interrupted run resumes and an
unchanged re-run costs nothing; missing items are not cached and are tried again next time.
Items run concurrently on `concurrency` threads (model calls are I/O bound).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imvideoedit.atomic_write import atomic_write_text
from imvideoedit.errors import UserError
from imvideoedit.eval.jsonl import write_jsonl
from imvideoedit.eval.judge_prompt import JudgePrompt
from imvideoedit.eval.result_cache import FileDigests, ResultCache, cache_key
from imvideoedit.eval.rubric import JudgeVerdict, parse_judge_answer
from imvideoedit.eval.spec import BenchmarkCase, MethodOutputs
from imvideoedit.vlm.backend import ChatBackend
from imvideoedit.vlm.messages import VideoPart
from imvideoedit.vlm.retry import RetryPolicy
from imvideoedit.vlm.structured import structured_call

log = logging.getLogger(__name__)

SCORED = "scored"
MISSING = "missing"


@dataclass(frozen=True)
class JudgeRunConfig:
    max_repairs: int = 2  # repair requests after an invalid answer, per item
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4  # items judged at once

    def __post_init__(self) -> None:
        if self.max_repairs < 0:
            raise UserError("--max-repairs must be 0 or more")
        if self.concurrency < 1:
            raise UserError("--concurrency must be at least 1")


@dataclass
class JudgeRecord:
    case_id: str
    method: str
    task: str
    status: str  # SCORED or MISSING
    scores: dict[str, int] | None  # {"IA": .., "TC": .., "VF": .., "AA": ..}
    total: int | None
    reasoning: str | None
    failure: str | None  # why the item is missing
    prompt_version: str
    judge: dict[str, Any]  # the backend's identity (no secrets)
    source_sha256: str | None
    edited_sha256: str | None
    model_calls: int = 0
    repairs: int = 0
    cached: bool = False
    instruction: str | None = None  # the case's instruction when judged: a report notices a changed spec

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def judge_case(
    backend: ChatBackend,
    prompt: JudgePrompt,
    case: BenchmarkCase,
    method: MethodOutputs,
    config: JudgeRunConfig,
    cache: ResultCache | None,
    digests: FileDigests,
    read_video: Callable[[Path], VideoPart],
) -> JudgeRecord:
    """Judge one method's output for one case; never raises for a bad item, only records why."""
    record = JudgeRecord(
        case_id=case.id,
        method=method.name,
        task=case.task,
        status=MISSING,
        scores=None,
        total=None,
        reasoning=None,
        failure=None,
        prompt_version=prompt.version,
        judge=backend.identity(),
        source_sha256=None,
        edited_sha256=None,
        instruction=case.instruction,
    )
    edited_path = method.edited_video(case.id)
    if edited_path is None:
        record.failure = f"no edited video for this case in {method.directory}"
        return record
    try:
        record.source_sha256 = digests(case.source)
        record.edited_sha256 = digests(edited_path)
    except OSError as error:
        record.failure = f"cannot read video file: {error}"
        return record
    key = cache_key(
        {
            "judge": record.judge,
            "prompt_version": prompt.version,
            "source_sha256": record.source_sha256,
            "edited_sha256": record.edited_sha256,
            "instruction": case.instruction,
        }
    )
    if cache is not None and (hit := cache.get(key)) is not None:
        record.status, record.cached = SCORED, True
        record.scores, record.reasoning = hit["scores"], hit["reasoning"]
        record.total = sum(record.scores.values())
        return record
    try:
        source = read_video(case.source)
        edited = read_video(edited_path)
    except UserError as error:
        record.failure = f"unreadable video: {error}"
        return record
    messages = prompt.messages(case.instruction, source, edited)
    result = structured_call(
        backend, messages, parse_judge_answer, max_repairs=config.max_repairs, retry=config.retry
    )
    record.model_calls, record.repairs = result.model_calls, result.repairs
    if result.value is None:
        record.failure = result.failure
        return record
    verdict: JudgeVerdict = result.value
    record.status, record.scores, record.total = SCORED, verdict.scores, verdict.total
    record.reasoning = verdict.reasoning
    if cache is not None:
        cache.put(
            key, {"scores": verdict.scores, "reasoning": verdict.reasoning, "prompt_version": prompt.version}
        )
    return record


def run_judge(
    cases: list[BenchmarkCase],
    methods: list[MethodOutputs],
    backend: ChatBackend,
    prompt: JudgePrompt,
    config: JudgeRunConfig,
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    read_video: Callable[[Path], VideoPart] | None = None,
    on_record: Callable[[JudgeRecord, int, int], None] | None = None,
) -> dict[str, list[JudgeRecord]]:
    """Judge every case for every method; writes `out_dir/judge/<method>.jsonl` and `run.json`.

    Returns the records per method in spec order. `on_record(record, done, total)` is called as
    items finish (from worker threads, one at a time).
    """
    if not methods:
        raise UserError("no methods to judge: give at least one --method NAME=DIR")
    out_dir = Path(out_dir) / "judge"
    cache = ResultCache(cache_dir if cache_dir is not None else out_dir / "cache")
    digests = FileDigests()
    reader = read_video or video_part_from_file
    jobs = [(method, case) for method in methods for case in cases]
    records: dict[tuple[str, str], JudgeRecord] = {}
    lock = threading.Lock()

    def work(method: MethodOutputs, case: BenchmarkCase) -> None:
        record = judge_case(backend, prompt, case, method, config, cache, digests, reader)
        with lock:
            records[(method.name, case.id)] = record
            if on_record is not None:
                on_record(record, len(records), len(jobs))

    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="judge") as pool:
        futures = [pool.submit(work, method, case) for method, case in jobs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:  # a configuration error: nothing else can succeed
                for other in futures:
                    other.cancel()
                raise future.exception()

    by_method = {m.name: [records[(m.name, c.id)] for c in cases] for m in methods}
    for name, rows in by_method.items():
        write_jsonl(out_dir / f"{name}.jsonl", (row.to_json() for row in rows))
    summary = {
        "prompt_version": prompt.version,
        "prompt_origin": prompt.origin,
        "judge": backend.identity(),
        "max_repairs": config.max_repairs,
        "retry": asdict(config.retry),
        "coverage": {name: coverage(rows) for name, rows in by_method.items()},
    }
    atomic_write_text(out_dir / "run.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return by_method


def coverage(records: list[JudgeRecord] | list[dict[str, Any]]) -> dict[str, Any]:
    """How many items have a valid score, out of how many."""
    statuses = [r.status if isinstance(r, JudgeRecord) else r.get("status") for r in records]
    scored = sum(status == SCORED for status in statuses)
    return {
        "items": len(statuses),
        "scored": scored,
        "missing": len(statuses) - scored,
        "coverage": scored / len(statuses) if statuses else 0.0,
    }


def video_part_from_file(path: Path) -> VideoPart:
    """Decode `path` with the project's reader (a `UserError` for a bad file)."""
    from imvideoedit.video.reader import read_video

    video = read_video(path)
    return VideoPart(frames=video.frames, fps=video.fps, path=Path(path))
