"""The records every surface speaks: papers, search hits, answers, filters, ingest reports."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Layout(str, Enum):
    """The formats ingest reads ("layouts", as `--layout` names them), in the order people
    see them listed: reference managers' exports first, then arXiv's, then scraped text."""

    BIBTEX = "bibtex"  # BibTeX bibliographies: one @type{key, field = value, ...} an entry
    RIS = "ris"  # tagged references (TY  - ... ER  -), and Web of Science's tagged exports
    CSL_JSON = "csl-json"  # one JSON array of CSL items: Zotero and Better BibTeX exports
    CSV = "csv"  # a table with a header naming title and abstract columns: Zotero's CSV export
    JSON = "json"  # one JSON document of paper records: an array, or an API's answer holding one
    JSONL = "jsonl"  # arXiv metadata or BEIR corpus records, optionally gzipped
    ARXIV_XML = "arxiv-xml"  # arXiv API Atom feeds and OAI-PMH harvests (arXiv, arXivRaw, oai_dc)
    ARXIV_MAILING = "arxiv-mailing"  # arXiv's daily e-mail: \\, arXiv:ID, Title:, Authors: ...
    ARXIV_PAGE = "arxiv-page"  # arXiv /list and search pages as a browser copies them
    ARXIV_LISTING = "arxiv-listing"  # blank-line separated blocks ending in arXiv:ID, Created:
    LISTING = "listing"  # category+date / title+authors (one line or two) / abstract
    ABSTRACT_LINES = "abstract-lines"  # one `Abstract:...` line a paper


class Source(BaseModel):
    """Where one sighting of a paper was read."""

    model_config = ConfigDict(frozen=True)

    file: str = Field(description="The file, as it was given to ingest.")
    line: int = Field(ge=1, description="1-based line where the record starts.")
    layout: Layout

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Paper(BaseModel):
    """One paper, merged from every sighting of it in the corpus."""

    id: str = Field(
        description="arXiv id when known, else the source's own id, else `doi:` and the DOI, "
                    "else a content hash.")
    title: str | None = Field(None, description="None when no source gives one.")
    authors: list[str] = Field(default_factory=list)
    authors_truncated: bool = Field(False, description="The list ended in 'et al.'.")
    organisations: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="arXiv style, e.g. cs.LG.")
    date: dt.date | None = None
    has_code: bool = False
    arxiv_id: str | None = None
    doi: str | None = Field(None, description="Normalised: lower case, no resolver prefix.")
    venue: str | None = Field(None, description="The journal, proceedings or book.")
    url: str | None = None
    cite_key: str | None = Field(None, description="A bibliography's own key for the paper.")
    keywords: list[str] = Field(default_factory=list)
    entry_type: str | None = Field(None, description="What the source calls it: article, "
                                   "inproceedings, book…")
    comment: str | None = None
    abstract: str = Field(description="Empty for an item no source gives an abstract for (a "
                                      "book, a web page): found by its title, never cited.")
    abstract_versions: list[str] = Field(
        default_factory=list, description="Other wordings of the abstract seen in the corpus."
    )
    sources: list[Source] = Field(default_factory=list)

    @property
    def year(self) -> int | None:
        return self.date.year if self.date else None

    @property
    def year_label(self) -> str:
        """The year as a citation shows it: "2021", or "n.d." (no date) when unknown."""
        return str(self.year) if self.year else "n.d."

    @property
    def category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def arxiv_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def display_title(self) -> str:
        """The title, or an honest stand-in when no source names the paper."""
        if self.title:
            return self.title
        if self.arxiv_id:
            return f"arXiv:{self.arxiv_id}"
        words = self.abstract.split()
        opening = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
        return f'Untitled — "{opening}"'

    @property
    def author_line(self) -> str:
        if not self.authors:
            return "Unknown authors"
        shown = self.authors[:6]
        more = len(self.authors) > len(shown) or self.authors_truncated
        return ", ".join(shown) + (" et al." if more else "")

    @property
    def has_abstract(self) -> bool:
        """Whether there is an abstract to quote: only then can the paper be cited."""
        return bool(self.abstract)

    def all_abstracts(self) -> list[str]:
        return [self.abstract, *self.abstract_versions]


class Filters(BaseModel):
    """Scopes a search. Every field is optional; all given fields must hold."""

    model_config = ConfigDict(extra="forbid")

    year_from: int | None = Field(None, description="Earliest year, inclusive.")
    year_to: int | None = Field(None, description="Latest year, inclusive.")
    author: str | None = Field(None, description="Case-insensitive substring of an author name.")
    category: str | None = Field(None, description="Category such as cs.LG, or its code LG.")
    has_code: bool | None = Field(None, description="Only papers with (or without) code.")

    @field_validator("author", "category")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _check_range(self) -> Filters:
        if self.year_from and self.year_to and self.year_from > self.year_to:
            raise ValueError(f"year_from {self.year_from} is after year_to {self.year_to}")
        return self

    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())

    def matches(self, paper: Paper) -> bool:
        if self.year_from is not None and (paper.year is None or paper.year < self.year_from):
            return False
        if self.year_to is not None and (paper.year is None or paper.year > self.year_to):
            return False
        if self.has_code is not None and paper.has_code != self.has_code:
            return False
        if self.author and not any(self.author.lower() in a.lower() for a in paper.authors):
            return False
        if self.category:
            wanted = self.category.lower()
            if not any(c.lower() == wanted or c.lower().endswith("." + wanted)
                       for c in paper.categories):
                return False
        return True


class Hit(BaseModel):
    """A paper found for a query, with the sentence of its abstract that matched best."""

    paper: Paper
    score: float = Field(description="Ranking score: higher is better, comparable within a query.")
    relevance: float = Field(
        description="Semantic closeness (a cosine): comparable across queries; decides whether "
                    "a paper answers a question.")
    evidence: str | None = Field(
        None, description="The abstract sentence that matched best, copied verbatim."
    )
    coverage: float | None = Field(
        None, description="For an answer: the share of the question's terms (weighed by how "
                          "rare they are) that the paper's text holds; None elsewhere.")
    added: dt.date | None = Field(
        None, description="For what's new: the day the paper first entered the library; "
                          "None elsewhere.")


# How strongly a citation answers the question (Citation.strength).
CitationStrength = Literal["direct", "related"]


class Citation(BaseModel):
    """One [n] of an answer."""

    n: int = Field(ge=1)
    paper: Paper
    quote: str = Field(description="A sentence copied verbatim from the paper's abstract.")
    score: float
    strength: CitationStrength = Field(
        "direct", description="How the paper answers: 'direct' (its evidence reaches the "
                              "answer threshold) or 'related' (cited in answer to a \"which "
                              "papers …\" question, with weaker evidence).")
    evidence: float = Field(0.0, description="Relevance plus weighed coverage of the "
                                             "question's terms: what decided the citation.")


# What can write an answer's text, as `Answer.answerer` names it; bot.answer.ANSWERERS holds
# one answerer for each name.
AnswererName = Literal["extractive", "llm"]


class Answer(BaseModel):
    """The reply to a question: Markdown with [n] markers, and what each marker points at."""

    question: str
    text: str = Field(description="Markdown; [n] refers to citations[n-1].")
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = Field(False, description="True when no paper in the corpus answers it.")
    nearest: list[Hit] = Field(
        default_factory=list, description="When abstaining: closest papers, but not answering."
    )
    answerer: AnswererName = Field(
        "extractive", description="What wrote the text: quotes picked from the abstracts, or "
                                  "a language model whose citations were checked.")
    note: str | None = Field(
        None, description="Why the language model's answer was not used, or which of its "
                          "citations were removed; None when there is nothing to tell.")
    context: str | None = Field(
        None, description="How the question was read with the conversation before it (\"a "
                          "follow-up: among the 5 papers of the previous answer\"); None for "
                          "a question read on its own.")


MAX_TURN_CHARS = 10_000
MAX_TURN_CITATIONS = 100


class Turn(BaseModel):
    """An earlier question of a conversation and the papers its answer cited: what a
    follow-up ("which of those …", "the second one") refers back to."""

    # Bounded: a conversation may come from a program (the API), not only from a person.
    question: str = Field(max_length=MAX_TURN_CHARS)
    cited: list[str] = Field(default_factory=list, max_length=MAX_TURN_CITATIONS,
                             description="Ids of the papers its answer cited, in order.")

    @classmethod
    def of(cls, answer: Answer) -> Turn:
        return cls(question=answer.question, cited=[c.paper.id for c in answer.citations])


# What a report keeps of a rejected chunk: enough to find it in the file, never the file.
EXCERPT_CHARS = 120
MAX_REASON_CHARS = 400


class RejectedChunk(BaseModel):
    """Input that did not become a paper, and why. Nothing is dropped silently: each chunk is
    listed, or counted in an entry of the same reason (`count` > 1)."""

    file: str
    line: int
    reason: str
    text: str = Field(description="The start of the rejected input, for the user to find it "
                                  f"(at most {EXCERPT_CHARS} characters).")
    lines: int = Field(1, ge=1, description="How many input lines the chunk spans.")
    count: int = Field(1, ge=1, description="How many chunks this entry stands for: past the "
                                            "listed ones, chunks of the same reason are counted "
                                            "in one entry, whose line is the first of them.")

    @field_validator("text")
    @classmethod
    def _excerpt(cls, text: str) -> str:
        return text[:EXCERPT_CHARS]

    @field_validator("reason")
    @classmethod
    def _short_reason(cls, reason: str) -> str:
        return reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS - 1] + "…"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"

    def render(self, kind: str) -> str:
        more = (f" (and {self.count - 1:,} more like it from this line on)"
                if self.count > 1 else "")
        return f"{kind} {self}: {self.text!r}{more}"


class FileReport(BaseModel):
    file: str
    layout: Layout
    records: int = Field(0, description="Records read from this file.")
    title_only: int = Field(0, description="Of the records, those with a title and no "
                                           "abstract: kept, found by title, never cited.")
    merged: int = Field(0, description="Records folded into a paper first seen elsewhere.")
    rejected: list[RejectedChunk] = Field(default_factory=list)
    warnings: list[RejectedChunk] = Field(
        default_factory=list, description="Records kept, but read with a doubt worth checking.")

    @property
    def rejected_count(self) -> int:
        """Rejected chunks, counted ones included (`len(rejected)` is only those listed)."""
        return sum(r.count for r in self.rejected)

    @property
    def warning_count(self) -> int:
        return sum(w.count for w in self.warnings)


class RefusedFile(BaseModel):
    """A corpus file that gave no paper at all (unreadable, not a regular file, binary, of no
    known layout, empty, every chunk rejected): it is left out of the corpus, and the rest is
    read."""

    file: str
    reason: str = Field(description="In words: what the file looked like or why it could "
                                    "not be read; never its raw bytes.")

    _short_reason = field_validator("reason")(RejectedChunk._short_reason.__func__)

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


class IngestReport(BaseModel):
    files: list[FileReport] = Field(default_factory=list)
    refused: list[RefusedFile] = Field(
        default_factory=list, description="Files left out of the corpus, with the reason.")
    papers: int = Field(0, description="Distinct papers after merging.")
    title_only: int = Field(0, description="Of the papers, those no source gives an abstract "
                                           "for: found by title, never cited.")

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def merged(self) -> int:
        return sum(f.merged for f in self.files)

    @property
    def rejected(self) -> list[RejectedChunk]:
        """The listed entries; `rejected_count` counts every rejected chunk."""
        return [r for f in self.files for r in f.rejected]

    @property
    def rejected_count(self) -> int:
        return sum(f.rejected_count for f in self.files)

    def render(self) -> str:
        """A plain-text table for the CLI and the web app; refused files first."""
        rows = [f"refused  {refused}" for refused in self.refused]
        rows.append(f"{'file':<44} {'layout':<15} {'records':>7} {'merged':>6} {'rejected':>8}")
        for f in self.files:
            name = f.file if len(f.file) <= 44 else "…" + f.file[-43:]
            rows.append(f"{name:<44} {f.layout.value:<15} {f.records:>7} {f.merged:>6} "
                        f"{f.rejected_count:>8}")
        rows.append(f"{'total':<44} {'':<15} {self.records:>7} {self.merged:>6} "
                    f"{self.rejected_count:>8}")
        title_only = (f" ({self.title_only} without an abstract: found by title, never cited)"
                      if self.title_only else "")
        rows.append(f"{self.papers} distinct papers{title_only}"
                    + (f"; {len(self.refused)} file(s) refused" if self.refused else ""))
        for f in self.files:
            rows.extend(chunk.render("rejected") for chunk in f.rejected)
            rows.extend(chunk.render("warning ") for chunk in f.warnings)
        return "\n".join(rows)


class References(list[str]):
    """The library papers a bibliography file names, by id, in the file's order: a list of
    ids (give it to `similar` as a set), with `missing`, the file's entries that name no
    paper of the library (each by its title, else its cite key, DOI or arXiv id)."""

    def __init__(self, ids: list[str], missing: list[str]):
        super().__init__(ids)
        self.missing = missing

    @property
    def ids(self) -> list[str]:
        return list(self)
