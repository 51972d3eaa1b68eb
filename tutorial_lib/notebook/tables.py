"""A small table of rows for the notebooks: shown as HTML in JupyterLab and as aligned text in a terminal or a
stored output, without pandas (whose import costs the kernel about 45 MB, the largest part of it)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


class Table:
    """Rows with the same columns, in order. `table["col"]` is a column's values, `table[["a", "b"]]` a table
    of those columns; iterating gives each row as a dict; `to_pandas()` gives a DataFrame for analysis."""

    def __init__(self, rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
        self.rows = [dict(row) for row in rows]
        if columns is None:
            columns = list(dict.fromkeys(name for row in self.rows for name in row))
        self.columns = list(columns)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, key: str | Sequence[str]) -> Any:
        if isinstance(key, str):
            self._require([key])
            return [row.get(key) for row in self.rows]
        self._require(key)
        return Table(({name: row.get(name) for name in key} for row in self.rows), key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and (self.columns, self.rows) == (other.columns, other.rows)

    def _require(self, names: Sequence[str]) -> None:
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise KeyError(f"No column {', '.join(map(repr, missing))}; the columns are {self.columns}")

    def _cells(self) -> list[list[str]]:
        return [[_text(row.get(name)) for name in self.columns] for row in self.rows]

    def __repr__(self) -> str:
        if not self.columns:
            return "(no rows)"
        cells = self._cells()
        widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(self.columns)]
        lines = ["  ".join(name.ljust(width) for name, width in zip(self.columns, widths, strict=True))]
        lines += [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells
        ]
        if not self.rows:
            lines.append("(no rows)")
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(name)}</th>" for name in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self._cells()
        )
        # pandas' class: JupyterLab and GitHub give it the same look as a DataFrame.
        return f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def to_pandas(self) -> Any:
        """The same rows as a pandas DataFrame (imports pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
