"""`imvideoedit data check`: validate a dataset and optionally write a cleaned metadata file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imvideoedit.data.metadata import cleaned_path, read_pair_table, write_pair_table
from imvideoedit.data.validation import MAX_PROMPT_TOKENS, ValidationReport, validate_pairs
from imvideoedit.errors import UserError


@dataclass
class CheckResult:
    report: ValidationReport
    cleaned_path: Path | None  # where --fix wrote the good rows, or None


def check_dataset(
    dataset: str | Path, base: str | None = None, fix: bool = False, max_tokens: int | None = None
) -> CheckResult:
    """Validate every row; with `fix`, write the good rows beside the original metadata file.

    The cleaned file keeps each good row's fields as they were, except `task`, which is written
    as its canonical slug. Its image paths stay valid because it sits in the same folder.
    """
    table = read_pair_table(dataset)
    if not table.rows:
        raise UserError(f"{table.metadata_path} lists no pairs")
    tokenizer = None
    if base is not None:
        from imvideoedit.data.encoders import load_tokenizer
        from imvideoedit.text_encoding import text_length

        tokenizer = load_tokenizer(base)
        max_tokens = text_length(tokenizer, max_tokens)  # the base's own limit unless one is given
    report = validate_pairs(table, tokenizer=tokenizer, max_tokens=max_tokens or MAX_PROMPT_TOKENS)
    written = None
    if fix:
        if not report.good:
            raise UserError(f"every row of {table.metadata_path} is bad: no cleaned file written")
        rows = []
        for pair in report.good:
            if pair.task is not None and "task" in pair.row.fields:
                pair.row.fields["task"] = pair.task
            rows.append(pair.row)
        written = cleaned_path(table.metadata_path)
        write_pair_table(table, rows, written)
    return CheckResult(report, written)
