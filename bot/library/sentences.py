"""Abstract -> sentence spans. Quotes are slices of the abstract, so always verbatim."""

from __future__ import annotations

import re

# A sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket;
# or, in scraped text that lost the space, at a full stop glued to a capitalised word.
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"'”’)]?\s+(?=[A-Z0-9\"'“‘(\[$\\])"  # ". The", ".) (2"
    r"|(?<=[a-z]{3}\.)(?=[A-Z][a-z]+\s)"  # "systems.Deep learning"
)
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "cf.", "Fig.", "Figs.", "Eq.", "Eqs.",
                  "Sec.", "No.", "approx.", "resp.", "Dr.", "Prof.", "St.", "etc.", "al.")
MIN_SENTENCE_CHARS = 25  # shorter pieces ("2.", "(ii)") join their neighbour


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the sentences of `text`, whitespace trimmed."""
    cuts = [0]
    for match in _BOUNDARY.finditer(text):
        head = text[: match.start()].rstrip("\"'”’)")
        if head.endswith(_ABBREVIATIONS) or re.search(r"\b[A-Z]\.$", head):
            continue  # "et al. Smith", "J. Smith": not an end
        cuts.append(match.end() if match.end() > match.start() else match.start())
    cuts.append(len(text))
    spans = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        start, end = _trim(text, start, end)
        if end <= start:
            continue
        if spans and (end - start < MIN_SENTENCE_CHARS
                      or spans[-1][1] - spans[-1][0] < MIN_SENTENCE_CHARS):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
