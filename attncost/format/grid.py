"""Text tables in the two layouts attncost prints: ``simple`` (the terminal's) and ``github``
(markdown), byte for byte as ``tabulate`` (0.9/0.10) prints them with ``disable_numparse=True``.

Written here because importing tabulate costs a whole-process ``attncost compare`` about a tenth of
its time (it loads ``importlib.metadata`` and ``wcwidth``) for forty lines of padding;
``tests/format/test_grid.py`` checks this against tabulate itself on random tables. Cells are
single-line text whose width is its length (attncost's cells are names and numbers; no East Asian
wide characters, no newlines).
"""

from __future__ import annotations

#: tabulate's MIN_PADDING: a column is at least its header's width plus two
HEADER_PADDING = 2


def grid(rows: list[list[str]], headers: list[str], markdown: bool = False, align: list[str] | None = None) -> str:
    """``rows`` under ``headers``; ``align`` is ``"left"`` or ``"right"`` per column (default left)."""
    heads = [str(h) for h in headers]                # headers as given; cells stripped, as tabulate does
    body = [[str(c).strip() for c in row] for row in rows]
    if not heads and not body:
        return ""
    columns = len(heads) if heads else len(body[0])
    align = list(align or []) + ["left"] * (columns - len(align or []))
    if not body:                                     # tabulate aligns the headers of an empty table left
        align = ["left"] * columns
    widths = [max([len(heads[i]) + HEADER_PADDING if heads else 0] + [len(row[i]) for row in body])
              for i in range(columns)]

    def cells(values):
        return [v.rjust(w) if a == "right" else v.ljust(w) for v, w, a in zip(values, widths, align)]

    if markdown:
        def line(values):
            return "|" + "|".join(f" {v} " for v in cells(values)) + "|"
        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    else:
        def line(values):
            return "  ".join(cells(values)).rstrip()
        rule = "  ".join("-" * w for w in widths)
    if not heads:                                    # tabulate frames a headless table with rules
        return "\n".join([rule, *(line(r) for r in body), rule]) if not markdown else \
            "\n".join(line(r) for r in body)
    return "\n".join([line(heads), rule, *(line(r) for r in body)])
