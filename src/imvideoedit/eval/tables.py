"""A small table type rendered two ways: Markdown for reading, CSV for further analysis.

Cells are strings, numbers or None. Markdown shows numbers with the column's number of decimals
and None as an em dash; CSV keeps numbers at full precision and None as an empty field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

Cell = str | float | int | None


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    decimals: dict[str, int] = field(default_factory=dict)  # column -> decimals in Markdown
    notes: list[str] = field(default_factory=list)  # printed under the Markdown table

    def add(self, row: list[Cell]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(
                f"row has {len(row)} cells, table {self.title!r} has {len(self.columns)} columns"
            )
        self.rows.append(row)

    def _markdown_cell(self, column: str, value: Cell) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.{self.decimals.get(column, 2)}f}"
        return str(value).replace("|", "\\|")

    def to_markdown(self) -> str:
        lines = [
            f"### {self.title}",
            "",
            "| " + " | ".join(self.columns) + " |",
            "|" + "|".join("---" for _ in self.columns) + "|",
        ]
        for row in self.rows:
            lines.append(
                "| "
                + " | ".join(self._markdown_cell(c, v) for c, v in zip(self.columns, row, strict=True))
                + " |"
            )
        for note in self.notes:  # each note its own paragraph
            lines += ["", note]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(
                [
                    "" if value is None else (repr(value) if isinstance(value, float) else value)
                    for value in row
                ]
            )
        return buffer.getvalue()
