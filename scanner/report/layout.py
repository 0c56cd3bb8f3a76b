"""Console tables that never cut or break an identifier (an ARN, an account id, a domain, a
DNS record): a table is printed only when every identifier column fits whole in the
terminal; otherwise optional columns are dropped, and if it still does not fit each record
is printed as a block of `name: value` lines, values whole (the terminal may wrap a long
line visually, but copying it gives the identifier intact).

Cells are console text already escaped by the caller (scanner.report.escape.console)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Column:
    name: str
    identifier: bool = True  # never wrapped nor cut; False: text that may wrap between words
    optional: bool = False  # dropped first when the terminal is narrow
    justify: str = "left"


def _plain(cell: str) -> str:
    return Text.from_markup(cell).plain


def _needed(column: Column, cells: list[str]) -> int:
    """The narrowest a column can be without cutting anything: an identifier's whole width,
    else its longest word (text wraps between words)."""
    texts = [_plain(cell) for cell in cells] + [column.name]
    if column.identifier:  # a cell may hold several identifiers, one per line
        return max(cell_len(line) for text in texts for line in text.split("\n"))
    return max((cell_len(word) for text in texts for word in text.split()), default=1)


def _table(title: str | None, columns: list[Column], rows: list[list[str]], keep: list[int],
           widths: list[int]) -> Table:
    table = Table(title=title, show_edge=False, title_justify="left")
    for i in keep:
        col = columns[i]
        table.add_column(col.name, justify=col.justify, no_wrap=col.identifier, min_width=widths[i],
                         overflow="ignore" if col.identifier else "fold")
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def _fits(console: Console, keep: list[int], widths: list[int]) -> bool:
    # a table without outer edges: one space of padding each side of a cell, one rule between
    return sum(widths[i] + 2 for i in keep) + len(keep) - 1 <= console.width


def print_records(console: Console, title: str | None, columns: list[Column], rows: list[list[str]],
                  footer: str | None = None) -> str:
    """Prints the rows; returns the layout used: "table", "table-reduced" or "blocks"."""
    keep = list(range(len(columns)))
    widths = [_needed(col, [row[i] for row in rows]) for i, col in enumerate(columns)]
    optional = [i for i in reversed(range(len(columns))) if columns[i].optional]
    layout = "table"
    while not _fits(console, keep, widths) and optional:
        keep.remove(optional.pop(0))
        layout = "table-reduced"
    if _fits(console, keep, widths):
        console.print(_table(title, columns, rows, keep, widths))
        if layout == "table-reduced":
            dropped = ", ".join(col.name for i, col in enumerate(columns) if i not in keep)
            console.print(f"[dim](narrow terminal: {dropped} not shown; --json or a wider terminal shows every column)[/dim]")
    else:
        layout = "blocks"
        if title:
            console.print(f"[bold]{title}[/bold]")
        for row in rows:
            console.print(Text("─" * min(console.width, 40), style="dim"))
            for col, cell in zip(columns, row):
                if "\n" in cell:  # several values: one per line under the name
                    console.print(f"{col.name}:")
                    for line in cell.split("\n"):
                        console.print(f"  {line}", soft_wrap=True)
                elif cell != "":
                    console.print(f"{col.name}: {cell}", soft_wrap=True)
    if footer:
        console.print(footer, soft_wrap=True)
    return layout
