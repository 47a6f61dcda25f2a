"""Validate every row of a pair dataset before anything is encoded or trained.

`validate_pairs` opens and fully decodes every image once, so that a bad file is found here,
with its row and reason, and never crashes a run mid-epoch. `data check` prints the report;
the trainer calls `accept_pairs`, which refuses a dataset with bad rows (listing them) or, when
asked, skips them.

Row problems (the row is bad and is dropped by `--fix` / `--skip-bad`):
    malformed_row     a JSONL line that is not an object, a CSV line with the wrong column count
    missing_field     no source or no target path
    missing_file      a path that does not exist
    unreadable_image  not an image (or an unsupported format), or corrupt
    truncated_image   an image cut short
    size_mismatch     source and target of different aspect ratios (the pair cannot be aligned)
    empty_prompt      neither `prompt` nor `instruction` has text
    prompt_too_long   more than 512 tokens for the text encoder (counted with its tokenizer)
    duplicate_id      an `id` already used by an earlier row
    unknown_task      a `task` that is not one of the ten categories

Warnings (the row is kept):
    prompt_may_be_too_long  without a tokenizer, the estimate `estimate_tokens` exceeds 512
    instruction_only        the prompt is a bare instruction, not the edited scene described in full

Normalised, not rejected: the kinds of `imvideoedit.data.images.NORMALISED_KINDS`, and
`rescaled` for a target of the source's aspect ratio at another resolution.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from imvideoedit.data.images import NORMALISED_KINDS, ImageProblem, load_rgb
from imvideoedit.data.metadata import PairRow, PairTable
from imvideoedit.data.tasks import canonical_task
from imvideoedit.errors import UserError

MAX_PROMPT_TOKENS = 512  # Wan2.1's UMT5 context length
ASPECT_TOLERANCE = 0.01  # relative difference of width/height under which two images "match"

PROBLEM_LABELS: dict[str, str] = {
    "malformed_row": "malformed metadata rows",
    "missing_field": "rows without a source or target",
    "missing_file": "missing files",
    "unreadable_image": "unreadable images",
    "truncated_image": "truncated images",
    "size_mismatch": "source/target size mismatch",
    "empty_prompt": "empty prompts",
    "prompt_too_long": f"prompts over {MAX_PROMPT_TOKENS} tokens",
    "duplicate_id": "duplicate ids",
    "unknown_task": "unknown task names",
}
WARNING_LABELS: dict[str, str] = {
    "prompt_may_be_too_long": f"prompts that may exceed {MAX_PROMPT_TOKENS} tokens (estimate)",
    "instruction_only": "rows with an instruction but no full prompt",
}
NORMALISED_LABELS: dict[str, str] = {
    "exif_rotated": "EXIF-rotated images (rotated upright)",
    "grayscale": "grayscale images (expanded to RGB)",
    "alpha": "images with alpha (composited over white)",
    "16bit": "16-bit images (reduced to 8 bits)",
    "cmyk": "CMYK images (converted to RGB)",
    "palette": "palette images (expanded)",
    "video_frame": "video files (first frame used)",
    "rescaled": "targets at another resolution (resized)",
}
assert set(NORMALISED_LABELS) == set(NORMALISED_KINDS) | {"rescaled"}


def estimate_tokens(prompt: str) -> int:
    """An over-estimate of UMT5's token count without loading its tokenizer.

    One token per 3 UTF-8 bytes, plus the end-of-sequence token. English averages about 4 to 5
    bytes per UMT5 token and CJK text about 3 bytes (one character) per token, so this counts
    high: a prompt under the limit by this estimate is under it for real, and one over it is
    reported as a warning to recheck with the real tokenizer (`data check --base`).
    """
    return math.ceil(len(prompt.encode("utf-8")) / 3) + 1


@dataclass
class Problem:
    line: int
    id: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.id}): {self.message}"


@dataclass
class CheckedPair:
    """A row that passed validation, with what preprocessing needs."""

    row: PairRow
    source_path: Path
    target_path: Path
    source_size: tuple[int, int]  # (width, height) as displayed
    task: str | None  # canonical slug


@dataclass
class ValidationReport:
    table: PairTable
    good: list[CheckedPair] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    normalised: Counter = field(default_factory=Counter)  # kind -> number of images
    token_counting: str = "estimate"  # "tokenizer" or "estimate"

    @property
    def bad_lines(self) -> set[int]:
        return {problem.line for problem in self.problems}

    @property
    def ok(self) -> bool:
        return not self.problems

    def format_summary(self) -> str:
        """The table `data check` prints: every kind, with its count, zero or not."""
        problem_counts = Counter(problem.kind for problem in self.problems)
        warning_counts = Counter(warning.kind for warning in self.warnings)
        lines = [
            f"dataset  {self.table.metadata_path}  ({self.table.layout} layout)",
            f"rows     {len(self.table.rows)} read, {len(self.good)} good, {len(self.bad_lines)} bad",
            "",
            f"{'check':<58}{'count':>7}",
            "-" * 65,
        ]
        for kind, label in PROBLEM_LABELS.items():
            lines.append(f"{label:<58}{problem_counts.get(kind, 0):>7}")
        for kind, label in WARNING_LABELS.items():
            lines.append(f"{'warning: ' + label:<58}{warning_counts.get(kind, 0):>7}")
        for kind, label in NORMALISED_LABELS.items():
            lines.append(f"{'normalised: ' + label:<58}{self.normalised.get(kind, 0):>7}")
        lines.append("-" * 65)
        lines.append(
            "prompt lengths counted with the base's tokenizer"
            if self.token_counting == "tokenizer"
            else "prompt lengths estimated (1 token per 3 UTF-8 bytes); pass --base for exact counts"
        )
        return "\n".join(lines)

    def format_problems(self, limit: int | None = 50) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [f"  {problem}" for problem in shown]
        if limit is not None and len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join(lines)


def validate_pairs(
    table: PairTable,
    tokenizer=None,
    max_tokens: int = MAX_PROMPT_TOKENS,
    workers: int | None = None,
) -> ValidationReport:
    """Check every row of `table`; images are decoded in a thread pool (PIL releases the GIL)."""
    report = ValidationReport(table, token_counting="tokenizer" if tokenizer is not None else "estimate")
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        image_results = list(pool.map(lambda row: _check_images(table.root, row), table.rows))

    seen_ids: dict[str, int] = {}
    for row, (images, image_problems, normalised) in zip(table.rows, image_results, strict=True):
        problems: list[Problem] = []

        def add(kind: str, message: str, row: PairRow = row, problems: list[Problem] = problems) -> None:
            problems.append(Problem(row.line, row.id, kind, message))

        if row.parse_error:
            add("malformed_row", f"malformed row: {row.parse_error}")
            report.problems += problems
            continue
        for kind, message in image_problems:
            add(kind, message)
        report.normalised.update(normalised)

        if not row.prompt:
            add("empty_prompt", "empty prompt (neither `prompt` nor `instruction` has text)")
        else:
            _check_prompt_length(row, tokenizer, max_tokens, add, report)
            if row.prompt_field == "instruction":
                report.warnings.append(
                    Problem(
                        row.line, row.id, "instruction_only", "only an instruction, no full edited prompt"
                    )
                )

        task = None
        if row.task is not None:
            task = canonical_task(row.task)
            if task is None:
                add("unknown_task", f"unknown task {row.task!r} (see imvideoedit.data.tasks.TASK_SLUGS)")

        if row.id in seen_ids:
            add("duplicate_id", f"duplicate id {row.id!r} (first used on line {seen_ids[row.id]})")
        else:
            seen_ids[row.id] = row.line

        report.problems += problems
        if not problems and images is not None:
            source_path, target_path, source_size = images
            report.good.append(CheckedPair(row, source_path, target_path, source_size, task))
    return report


def _check_images(root: Path, row: PairRow):
    """-> ((source_path, target_path, source_size) or None, [(kind, message)], [normalised kinds])."""
    if row.parse_error:
        return None, [], []
    missing = [name for name, value in (("source", row.source), ("target", row.target)) if not value]
    if missing:
        return None, [("missing_field", f"no {' or '.join(missing)} path")], []
    problems: list[tuple[str, str]] = []
    normalised: list[str] = []
    sizes: dict[str, tuple[int, int]] = {}
    paths = {"source": root / row.source, "target": root / row.target}
    for name, path in paths.items():
        try:
            loaded = load_rgb(path)
        except ImageProblem as problem:
            kind = {"missing": "missing_file", "truncated": "truncated_image"}.get(
                problem.kind, "unreadable_image"
            )
            problems.append((kind, f"{name}: {problem}"))
            continue
        sizes[name] = loaded.size
        normalised += sorted(loaded.normalised)
    if problems:
        return None, problems, normalised
    (sw, sh), (tw, th) = sizes["source"], sizes["target"]
    if (sw, sh) != (tw, th):
        if abs((sw / sh) / (tw / th) - 1.0) > ASPECT_TOLERANCE:
            problems.append(
                ("size_mismatch", f"source is {sw}x{sh} but target is {tw}x{th} (different aspect)")
            )
            return None, problems, normalised
        normalised.append("rescaled")
    return (paths["source"], paths["target"], (sw, sh)), problems, normalised


def _check_prompt_length(row: PairRow, tokenizer, max_tokens: int, add, report: ValidationReport) -> None:
    if tokenizer is not None:
        from imvideoedit.text_encoding import count_tokens

        tokens = count_tokens(tokenizer, row.prompt)
        if tokens > max_tokens:
            add("prompt_too_long", f"prompt has {tokens} tokens, over the text encoder's {max_tokens}")
        return
    estimate = estimate_tokens(row.prompt)
    if estimate > max_tokens:
        report.warnings.append(
            Problem(
                row.line,
                row.id,
                "prompt_may_be_too_long",
                f"prompt may exceed {max_tokens} tokens (estimated {estimate}); recheck with --base",
            )
        )


def accept_pairs(report: ValidationReport, skip_bad: bool) -> list[CheckedPair]:
    """The rows to train on: all of them, or a `UserError` listing the bad ones unless skipped."""
    if report.problems and not skip_bad:
        listed = "; ".join(str(problem) for problem in report.problems[:10])
        more = len(report.problems) - 10
        raise UserError(
            f"{len(report.bad_lines)} bad row(s) in {report.table.metadata_path} (fix them with "
            f"`imvideoedit data check --fix` or pass --skip-bad): {listed}"
            + (f"; ... and {more} more problem(s)" if more > 0 else "")
        )
    if not report.good:
        raise UserError(f"no usable pairs in {report.table.metadata_path}")
    return report.good
