"""One report written twice, as Markdown and as HTML, from the same calls: headings, paragraphs, tables,
figures with numbered captions that say how to reproduce them."""

from __future__ import annotations

import html

from sbnn.report import tables as tb


class Page:
    CSS = ("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}"
           "table{border-collapse:collapse;font-size:13px;margin:.8em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
           "th{background:#f3f3f3}.l{text-align:left}.r{text-align:right;font-variant-numeric:tabular-nums}"
           "figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:13px;"
           "color:#444;max-width:900px}code{background:#f5f5f5;padding:0 3px}.note{color:#a00}.ok{color:#060}"
           ".bad{color:#a00;font-weight:bold}.bar{display:inline-block;width:120px;height:9px;background:#eee;"
           "margin-right:6px;vertical-align:middle}.bar span{display:block;height:9px;background:#3b78b5}"
           ".stamp{font-size:11px;color:#777}")

    def __init__(self, title: str):
        self.md: list[str] = [f"# {title}", ""]
        self.htm: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        self.figures = 0

    def section(self, title: str, level: int = 2) -> None:
        self.md += [f"{'#' * level} {title}", ""]
        self.htm.append(f"<h{level}>{html.escape(title)}</h{level}>")

    def para(self, text: str, cls: str | None = None) -> None:
        self.md += [text, ""]
        self.htm.append(f"<p{f' class={cls!r}' if cls else ''}>{html.escape(text)}</p>")

    def note(self, text: str) -> None:
        self.para(text, "note")

    def table(self, header: list[str], body: list[list[str]], left: int = 1,
              bars: tuple[int, list[float | None]] | None = None) -> None:
        """A table; ``bars`` = (column, percentages) draws a utilisation bar before that column's cells in HTML."""
        self.md.append(tb.markdown(header, body, left))
        if bars is None:
            self.htm.append(tb.html_table(header, body, left))
            return
        col, pcts = bars
        rows = []
        for row, p in zip(body, pcts):
            cells = [html.escape(c) for c in row]
            if p is not None:
                width = max(0.0, min(100.0, p))
                cells[col] = f"<span class='bar'><span style='width:{width:.1f}%'></span></span>{cells[col]}"
            rows.append(cells)
        self.htm.append(tb.html_table(header, rows, left, raw=set(range(len(header)))))

    def figure(self, src: str, caption: str, command: str) -> None:
        self.figures += 1
        n = self.figures
        self.md += [f"![Figure {n}]({src})", "", f"*Figure {n}: {caption} Reproduce: `{command}`*", ""]
        self.htm.append(f"<figure><img src='{html.escape(src)}' alt='Figure {n}: {html.escape(caption)}'>"
                        f"<figcaption><b>Figure {n}.</b> {html.escape(caption)} Reproduce: "
                        f"<code>{html.escape(command)}</code></figcaption></figure>")

    def markdown(self) -> str:
        return "\n".join(self.md).rstrip() + "\n"

    def html(self) -> str:
        return "\n".join(self.htm)
