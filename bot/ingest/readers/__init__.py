"""The layouts ingest reads, one reader module each, and the one list of them.

`READERS` is the sniffing order: a layout whose sniff is strict comes before one whose sniff
is loose. Everything that names the layouts to a person (a refusal's "expected ...", the
upload page's words and file types, the command line's `--layout` choices) is derived from
it, so adding a layout is a new module, a line here and a `Layout` member.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ingest.readers import (
    abstract_lines,
    arxiv_listing,
    arxiv_mailing,
    arxiv_page,
    arxiv_xml,
    bibtex,
    csl_json,
    csv_table,
    json_document,
    jsonl,
    listing,
    ris,
)
from bot.ingest.readers.reader import Read, Reader
from bot.records import Layout

READERS: tuple[Reader, ...] = (
    csl_json.READER,
    json_document.READER,
    arxiv_xml.READER,
    ris.READER,
    csv_table.READER,
    jsonl.READER,
    bibtex.READER,
    # Before the looser text sniffs: a mailing's or a page's records hold `arXiv:` lines,
    # which the arXiv listing's sniff would take.
    arxiv_mailing.READER,
    arxiv_page.READER,
    abstract_lines.READER,
    listing.READER,
    arxiv_listing.READER,
)
# Any layout may come gzipped: files are gunzipped by their first bytes, whatever their name.
GZIP_SUFFIX = ".gz"

__all__ = ["GZIP_SUFFIX", "READERS", "Read", "Reader", "accepted", "expected", "format_table",
           "layout_choices", "read_by_layout", "sniff", "upload_suffixes"]


def sniff(sample: Sequence[str]) -> Layout | None:
    """The first layout, in sniffing order, that a file's first non-blank lines look like."""
    return next((reader.layout for reader in READERS if reader.sniff(sample)), None)


def read_by_layout() -> dict[Layout, Read]:
    """Each layout's read, for a caller that names the layout."""
    return {reader.layout: reader.read for reader in READERS}


def _shown() -> list[Reader]:
    """The readers as people see them listed: in the order `Layout` declares them."""
    order = list(Layout)
    return sorted(READERS, key=lambda reader: order.index(reader.layout))


def _in_words(items: Sequence[str], last: str) -> str:
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else "".join(items)


def expected() -> str:
    """The layouts as a refusal names them: "a paper listing, ... or JSON Lines"."""
    return _in_words([reader.named for reader in _shown()], "or")


def accepted() -> str:
    """The layouts for the upload page, each with its file names, and gzip for all of them."""
    kinds = [f"{reader.described} ({', '.join(reader.suffixes)})" for reader in _shown()]
    return f"{_in_words(kinds, 'and')}; each of them gzipped or not ({GZIP_SUFFIX})"


def upload_suffixes() -> list[str]:
    """The file names an upload may have: every reader's suffixes, then gzip's."""
    suffixes = [suffix for reader in _shown() for suffix in reader.suffixes]
    return [*dict.fromkeys(suffixes), GZIP_SUFFIX]


def layout_choices() -> list[str]:
    """The `--layout` values, as the command line lists them."""
    return [reader.layout.value for reader in _shown()]


def format_table() -> str:
    """The README's table of formats, which a test holds the README to (and prints when they
    differ), so the table cannot drift from what is read."""
    rows = ["| `--layout` | files | what | looks like |", "|---|---|---|---|"]
    for reader in _shown():
        files = ", ".join(f"`{suffix}`" for suffix in reader.suffixes)
        rows.append(f"| `{reader.layout.value}` | {files} | {reader.described} | "
                    f"{reader.example} |")
    return "\n".join(rows)
