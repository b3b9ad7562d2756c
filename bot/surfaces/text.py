"""Text from a paper as a page shows it: LaTeX markup turned into the words it marks.

Abstracts and titles from arXiv are written in LaTeX: `\\textit{Relational Memory Core}`,
`Bal\\'azs`, `\\%`. Markup and accents become Unicode (pylatexenc); math between `$` signs
is kept as written, for the page's own LaTeX rendering to set. What is shown is then escaped
as Markdown by the caller: this never makes text into markup.
"""

from __future__ import annotations

from bot.ingest.readers.arxiv_fields import decode_tex


def as_written(text: str) -> str:
    """`\\textit{Relational Memory Core} in D\\k{a}browski's $O(n)$` ->
    `Relational Memory Core in Dąbrowski's $O(n)$`."""
    return decode_tex(text)
