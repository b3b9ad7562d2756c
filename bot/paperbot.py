"""PaperBot: the one API that the CLI, the web app and Python users all call."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from bot.answer import AnswerContext, answerer_for
from bot.answer.evidence import FRAMING_WORDS
from bot.answer.templates import Templates
from bot.errors import LibraryError, QueryError
from bot.ingest import Corpus, expand_paths, ingest
from bot.library.contents import Library
from bot.library.embedding import encoder_for, engine_for
from bot.library.roles import ROLES, Role
from bot.library.sentences import split_sentences
from bot.library.stars import change_stars, read_stars
from bot.library.store import LibraryStore
from bot.library.update import LibraryBuild, LibraryChanged, build_errors
from bot.records import Answer, Filters, Hit, IngestReport, Layout, Paper, References, Turn
from bot.reporting import SILENT, Reporter
from bot.retrieve.aspects import AspectQuery
from bot.retrieve.followup import resolve
from bot.retrieve.query import clean_query
from bot.retrieve.ranking import Retriever
from bot.retrieve.reference import record_name, row_of_record, row_of_reference, row_of_text
from bot.retrieve.sets import MAX_SET, PaperSet, newest_first, rows_since
from bot.retrieve.spelling import Speller
from bot.settings import Engine, Settings, get_settings
from embeddings import (
    Encoder,
)

SEED_DIR = Path(__file__).parent / "seed"
ASPECTS = tuple(role.value for role in ROLES)  # what `similar(aspect=...)` takes
CLOSE_TITLE_CHARS = 500  # a set's reference longer than this is a pasted text, not a title
ADD_ATTEMPTS = 3  # an add that finds the library rebuilt under it starts over
log = logging.getLogger(__name__)


class PaperBot:
    """Search, answer and find similar papers in one library.

    Build or refresh a library from listing files with `from_corpus` (None = the bundled
    seed corpus), or open an existing library folder with `open`.
    """

    def __init__(self, library: Library, *, embedder: Encoder | None = None,
                 settings: Settings | None = None, store: LibraryStore | None = None):
        self.settings = settings or get_settings()
        self.library = library
        self.embedder = embedder or encoder_for(self.settings)
        self.store = store
        self.templates = Templates()
        self.retriever = Retriever(library, self.settings.retrieval)
        self.answerer = answerer_for(self.settings)
        self.last_embedded = 0  # texts embedded by the build that produced this bot

    # -- building and opening -------------------------------------------------------------

    @classmethod
    def from_corpus(
        cls,
        paths: Sequence[str | Path] | None = None,
        index_dir: str | Path | None = None,
        *,
        layout: Layout | None = None,
        settings: Settings | None = None,
        embedder: Encoder | None = None,
        engine: Engine | None = None,
        ray_address: str | None = None,
        reporter: Reporter = SILENT,
        expected_generation: str | None = None,
        loaded: Library | None = None,
    ) -> PaperBot:
        """The library of these files, loaded if already built, else (re)built and saved.

        A rebuild embeds only papers and sentences whose text the previous build lacks.
        With `expected_generation`, a rebuild happens only if the folder still holds that
        build; if another process wrote it meanwhile, LibraryChanged is raised.
        `settings.embedding.engine` "ray" embeds them on Ray workers (`pip install
        'paperchat[ray]'`): a local Ray, or the cluster at its `ray_address`; the library is
        the same either way. `engine` and `ray_address`, when given, override those two.
        `loaded`: this folder's library, already in memory; read again unless it is still
        the folder's current build. `reporter` shows the build's steps as they run.
        """
        settings = settings or get_settings()
        embedder = embedder or encoder_for(settings)
        store = LibraryStore(Path(index_dir) if index_dir else settings.library_dir)
        build = LibraryBuild.of(store, paths or [SEED_DIR], layout, embedder, reporter, loaded)
        if (current := build.current_if_unchanged()) is not None:
            store.tidy(current.manifest)  # a build killed after its commit left files behind
            return cls(current, embedder=embedder, settings=settings, store=store)
        # Before the long parse, so that an engine that cannot run fails at once.
        embedding_engine = engine_for(settings.embedding, embedder, engine=engine,
                                   ray_address=ray_address)
        with build_errors(store):
            library, embedded = build.run(embedding_engine, expected_generation)
        bot = cls(library, embedder=embedder, settings=settings, store=store)
        bot.last_embedded = embedded
        return bot

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Encoder | None = None,
    ) -> PaperBot:
        """An existing library, exactly as built: nothing is read from the corpus files."""
        settings = settings or get_settings()
        embedder = embedder or encoder_for(settings)
        store = LibraryStore(Path(index_dir) if index_dir else settings.library_dir)
        # The model loads while the library does: every question needs both.
        warming = threading.Thread(target=embedder.warm_up, name="warm-up", daemon=True)
        warming.start()
        try:
            library = store.load()
        finally:  # an interpreter that exits while the model loads in a thread aborts
            warming.join()
        if library.embedder_identity != embedder.identity:
            raise LibraryError(
                f"{store.root} was built with another model or encoder "
                f"({library.manifest.model_name}, weights {library.manifest.model_sha256[:12]}, "
                f"{library.manifest.encoder}); re-run `paperchat ingest`")
        return cls(library, embedder=embedder, settings=settings, store=store)

    @staticmethod
    def preview(paths: Sequence[str | Path], *, layout: Layout | None = None,
                reporter: Reporter = SILENT) -> Corpus:
        """What `from_corpus` would make of these files, the papers merged and the report of
        every file, with nothing embedded and nothing written (`paperchat ingest --dry-run`).
        IngestError when no paper can be read from them."""
        return ingest(paths, layout, reporter=reporter)

    @classmethod
    def open_or_build(
        cls,
        index_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Encoder | None = None,
        reporter: Reporter = SILENT,
    ) -> PaperBot:
        """The library in `index_dir` as it is (never rebuilt from its corpus files: see
        `corpus_changes`). Only the default library, when none exists yet, is built, from
        the bundled corpus; a named folder without a library is a LibraryError."""
        settings = settings or get_settings()
        store = LibraryStore(Path(index_dir) if index_dir else settings.library_dir)
        if store.exists():
            return cls.open(store.root, settings=settings, embedder=embedder)
        if index_dir is None and settings.index_dir is None:
            return cls.from_corpus(None, store.root, settings=settings, embedder=embedder,
                                   reporter=reporter)
        raise LibraryError(f"no library in {store.root}: build one with "
                           f"`paperchat ingest FILES --index {store.root}`")

    def corpus_changes(self) -> tuple[list[Path], list[Path]]:
        """The corpus files that changed, and those gone, since this library was built from
        them: its answers come from them as they were."""
        if self.store is None:
            return [], []
        return self.store.corpus_changes(self.library.manifest)

    def add(self, paths: Sequence[str | Path], *, layout: Layout | None = None,
            reporter: Reporter = SILENT) -> PaperBot:
        """A bot over this library's corpus plus these files (merged, embedded if new).

        The corpus is the one on disk when the build starts: files another process added
        meanwhile are kept (a stale list would drop their papers)."""
        if self.store is None:
            raise LibraryError("this library was never saved, so it cannot be extended")
        for attempt in range(ADD_ATTEMPTS):
            manifest = (self.store.read_manifest() if self.store.exists()
                        else self.library.manifest)
            if layout is not None and layout != manifest.layout:
                raise LibraryError("added files must share the library's layout setting")
            known = self.store.corpus_files(manifest)
            gone = [p for p in known if not p.is_file()]
            if gone:  # rebuilding without them would drop their papers from the library
                raise LibraryError(
                    f"{len(gone)} file(s) this library was built from are gone (first: "
                    f"{gone[0]}); put them back, or ingest the whole corpus anew")
            new = [p for p in expand_paths(paths) if p.resolve() not in set(known)]
            try:
                return PaperBot.from_corpus(
                    known + new, self.store.root, layout=layout, settings=self.settings,
                    embedder=self.embedder, reporter=reporter,
                    expected_generation=manifest.generation, loaded=self.library)
            except LibraryChanged:
                if attempt == ADD_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # -- what the library holds -----------------------------------------------------------

    @property
    def papers(self) -> list[Paper]:
        return self.library.papers

    @property
    def report(self) -> IngestReport:
        return self.library.report

    def get(self, ref: str) -> Paper | None:
        """A paper by id, arXiv id (`arXiv:2403.05530v2` too), DOI, cite key or exact title."""
        row = row_of_reference(self.library, ref.strip())
        return self.papers[row] if row is not None else None

    # -- questions --------------------------------------------------------------------------

    @functools.cached_property
    def speller(self) -> Speller:
        """Corrects misspelt words of a question to the library's own (bot.retrieve.spelling)."""
        lexical = self.library.lexical
        return Speller(lexical.words, self.embedder.known_words(), lexical.holds_term)

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """The k papers that best match the query, best first, filters applied before the cut."""
        query = clean_query(query, max_chars=self.settings.retrieval.max_query_chars)
        query = self.speller.correct(query)
        _check_k(k)
        return self.retriever.rank_for_question(self.embedder.embed_query(query), k, filters,
                                                lexical=self.library.lexical.scores(query))

    def ask(self, question: str, k: int = 5, filters: Filters | None = None,
            history: Sequence[Turn] = ()) -> Answer:
        """An answer citing up to k papers, or an abstention naming the nearest ones.

        `history`: the conversation's earlier turns, oldest first (`Turn.of(answer)`); a
        follow-up that refers back ("which of those …", "the second one", "and in 2023?") is
        answered about their papers and topic (bot.retrieve.followup), and the answer's
        `context` says how it was read. With a language model configured
        (`Settings.llm.url`), it writes the answer from the papers that answer the question;
        see `ask_stream`."""
        for update in self.ask_stream(question, k, filters, history):
            answer = update
        return answer

    def ask_stream(self, question: str, k: int = 5, filters: Filters | None = None,
                   history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        """`ask`, as it happens: while a language model writes, the text so far (not yet
        verified, so shown as a draft), then always the final Answer, last."""
        question = clean_query(question, max_chars=self.settings.retrieval.max_query_chars)
        _check_k(k)
        resolved = resolve(question, history, filters)
        query = self.speller.correct(resolved.query)
        query_vector = self.embedder.embed_query(query)
        among = ([self.library.row_of[i] for i in resolved.among if i in self.library.row_of]
                 if resolved.among is not None else None)
        hits = self.retriever.rank_for_question(query_vector, k, resolved.filters,
                                                lexical=self.library.lexical.scores(query),
                                                citable_only=True, among=among)
        hits = self._with_coverage(hits, query)
        context = AnswerContext(
            templates=self.templates, retrieval=self.settings.retrieval,
            top_sentences=functools.partial(self.retriever.top_sentences, query_vector),
            as_list=True if resolved.among is not None else None)
        for update in self.answerer.answer_stream(question, hits, context):
            yield (update.model_copy(update={"context": resolved.context})
                   if isinstance(update, Answer) else update)

    def _with_coverage(self, hits: list[Hit], query: str) -> list[Hit]:
        """The hits, each with how much of the question's terms its text holds: part of the
        evidence that decides what an answer cites (bot.answer.evidence)."""
        rows = np.array([self.library.row_of[hit.paper.id] for hit in hits], dtype=np.int64)
        covered = self.library.lexical.coverage(query, rows, FRAMING_WORDS)
        return [hit.model_copy(update={"coverage": round(float(share), 4)})
                for hit, share in zip(hits, covered, strict=True)]

    def similar(self, ref: str | Sequence[str], k: int = 5, filters: Filters | None = None,
                aspect: Role | str | None = None, *,
                among: Sequence[str] | None = None) -> list[Hit]:
        """Papers like `ref`: a paper id, an arXiv id, a title (exact or close) or free text
        such as a pasted abstract. The paper itself is never among them.

        A list (or tuple) of references is a set, a reading list: papers like all of them
        (ranked as one paper made of its members, bot.retrieve.sets), none of its members.
        Each must name a paper of the library (`references_in` reads them from a
        bibliography file); at most MAX_SET.

        `aspect` "background", "method" or "result": papers like it in that respect, their
        sentences of that role compared with its own (bot.retrieve.aspects); each hit's
        evidence is its sentence that matched best. None: the whole texts compared.
        `among`: only these papers (ids) are ranked, e.g. a pool to re-rank."""
        if not isinstance(ref, str):
            _check_k(k)
            role = _role_of(aspect)
            return PaperSet.of(self._rows_of_set(ref)).ranked(
                self.retriever, k, filters, role, self._rows_among(among))
        ref = clean_query(ref, max_chars=self.settings.retrieval.max_reference_chars,
                          what="reference")
        _check_k(k)
        role = _role_of(aspect)
        row = row_of_reference(self.library, ref)
        if row is None:
            vector = self.embedder.embed_documents([ref])[0]
            row = row_of_text(self.library, ref, vector)
        lexical_index = self.library.lexical
        if row is None:
            exclude = frozenset()
            lexical, terms = lexical_index.similarity(ref)
        else:  # a paper of the library: rank by its own stored vector and terms
            vector = self.library.doc_index.vectors(np.array([row]))[0]
            exclude = frozenset({row})
            lexical, terms = lexical_index.similarity_of_paper(row)
        query = None
        if role is not None:
            query = (self._aspect_of_text(ref, role) if row is None
                     else AspectQuery.of_paper(self.retriever.roles, row, role))
        return self.retriever.rank_similar(vector, k, filters, lexical=lexical,
                                           term_cosines=terms, exclude_rows=exclude,
                                           aspect=query, among=self._rows_among(among))

    def _rows_among(self, among: Sequence[str] | None) -> list[int] | None:
        if among is None:
            return None
        return [self.library.row_of[i] for i in among if i in self.library.row_of]

    def _rows_of_set(self, refs: Sequence[str]) -> list[int]:
        """The rows of the papers a set names; QueryError naming a reference that names
        none (a close title counts, a pasted text does not)."""
        if isinstance(refs, (bytes, dict)) or not isinstance(refs, Sequence):
            raise QueryError("a set of papers is a list of references (ids, arXiv ids, DOIs, "
                             "cite keys or titles)")
        if not refs:
            raise QueryError("the set of papers is empty: name at least one paper")
        if len(refs) > MAX_SET:
            raise QueryError(f"a set holds at most {MAX_SET} papers, not {len(refs):,}: "
                             "split the reading list")
        limit = self.settings.retrieval.max_reference_chars
        cleaned = [clean_query(ref, max_chars=limit, what="reference") for ref in refs]
        rows = {ref: row_of_reference(self.library, ref) for ref in cleaned}
        unnamed = [ref for ref, row in rows.items() if row is None]
        if unnamed:  # close titles: embedded together, once
            for ref, vector in zip(unnamed, self.embedder.embed_documents(unnamed),
                                   strict=True):
                rows[ref] = _close_title_row(self.library, ref, vector)
        missing = [ref for ref, row in rows.items() if row is None]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise QueryError(f"no paper {missing[0][:200]!r} in the library{more}: name each "
                             "paper of a set by its id, arXiv id, DOI, cite key or title")
        return [rows[ref] for ref in cleaned]

    def references_in(self, path: str | Path, *, layout: Layout | None = None) -> References:
        """The library papers that a bibliography file (BibTeX, RIS, CSL-JSON, any format
        `ingest` reads) names, matched by arXiv id, DOI, cite key, then title: a list of
        ids, with `.missing`, the entries that name none. IngestError for a file that
        cannot be read, QueryError when no entry names a paper of the library."""
        corpus = self.preview([path], layout=layout)
        ids, missing = [], []
        for record in corpus.papers:
            row = row_of_record(self.library, record)
            if row is None:
                missing.append(record_name(record))
            elif self.papers[row].id not in ids:
                ids.append(self.papers[row].id)
        if not ids:
            raise QueryError(f"none of the {len(corpus.papers)} entries of {path} is a paper "
                             "of this library (matched by arXiv id, DOI, cite key or title)")
        return References(ids, missing)

    # -- stars and what's new ---------------------------------------------------------------

    @property
    def starred(self) -> list[Paper]:
        """The papers the user starred, oldest star first (kept in the library folder, read
        anew each time: another process may star too); a star whose paper is no longer in
        the library is kept in the file but not returned."""
        if self.store is None:
            return []
        row_of = self.library.row_of
        return [self.papers[row_of[i]] for i in read_stars(self.store).ids if i in row_of]

    def star(self, ref: str) -> Paper:
        """Star a paper (by id, arXiv id, DOI, cite key or title): kept in the library
        folder, through rebuilds and adds. Starring it again changes nothing."""
        return self._change_star(ref, starred=True)

    def unstar(self, ref: str) -> Paper:
        """Take a paper's star away (a paper without one: nothing changes)."""
        return self._change_star(ref, starred=False)

    def _change_star(self, ref: str, *, starred: bool) -> Paper:
        ref = clean_query(ref, max_chars=self.settings.retrieval.max_reference_chars,
                          what="reference")
        paper = self.get(ref)
        if paper is None:
            raise QueryError(f"no paper {ref[:200]!r} in the library (give its id, arXiv id, "
                             "DOI, cite key or title)")
        if self.store is None:
            raise LibraryError("this library was never saved, so it cannot keep stars")
        change_stars(self.store, paper.id, starred)
        return paper

    def added(self, paper_id: str) -> dt.date | None:
        """The day the paper (by id, arXiv id, DOI, cite key or title) first entered this
        library; None for a paper not in it."""
        row = row_of_reference(self.library, paper_id.strip()) if isinstance(
            paper_id, str) else None
        return self.library.added_on(row) if row is not None else None

    def new(self, since: dt.date | str, k: int = 20, like: Sequence[str] | None = None,
            filters: Filters | None = None) -> list[Hit]:
        """What's new: the papers added to the library on or after `since` (a date or
        "YYYY-MM-DD"), or dated on or after it, ranked by closeness to the set `like` (as
        `similar` ranks a set), else to the starred papers, else newest first (the latest
        added, then the latest dated). The references are never among them. Each hit's
        `added` is its day of entry; its relevance, the closeness (0 newest first)."""
        day = _date_of(since)
        _check_k(k)
        # The most recent stars, when there are more than a set holds.
        refs = list(like) if like else [p.id for p in self.starred][-MAX_SET:]
        members = self._rows_of_set(refs) if refs else None
        rows = rows_since(self.library, day)
        if len(rows) == 0:
            return []
        if members is not None:
            hits = PaperSet.of(members).ranked(self.retriever, k, filters, None, rows)
        else:
            allowed = self.library.allowed_rows(filters)
            kept = rows if allowed is None else np.intersect1d(rows, allowed)
            hits = newest_first(self.library, kept, k)
        row_of = self.library.row_of
        return [hit.model_copy(update={"added": self.library.added_on(row_of[hit.paper.id])})
                for hit in hits]

    def _aspect_of_text(self, text: str, role: Role) -> AspectQuery:
        """Pasted text as an aspect query: its sentences, embedded now, and their roles."""
        sentences = [text[start:end] for start, end in split_sentences(text)]
        return AspectQuery.of_sentences(role, sentences, self.embedder.embed_documents(sentences))

def _role_of(aspect: Role | str | None) -> Role | None:
    """The role an aspect names; QueryError for a name that is none of them."""
    if aspect is None or isinstance(aspect, Role):
        return aspect
    try:
        return Role(str(aspect).strip().lower())
    except ValueError:
        raise QueryError(f"aspect must be one of {', '.join(ASPECTS)}, not {aspect!r}") from None


def _date_of(since: dt.date | str) -> dt.date:
    """A date, or one written YYYY-MM-DD; QueryError otherwise."""
    if isinstance(since, dt.datetime):
        return since.date()
    if isinstance(since, dt.date):
        return since
    if isinstance(since, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", since.strip()):
        try:
            return dt.date.fromisoformat(since.strip())
        except ValueError:
            pass
    shown = since[:40] if isinstance(since, str) else type(since).__name__
    raise QueryError(f"since must be a date written YYYY-MM-DD, such as 2025-03-01, not "
                     f"{shown!r}")


def _close_title_row(library: Library, ref: str, vector: np.ndarray) -> int | None:
    """A close title's paper: pasted text names no paper of a set."""
    row = row_of_text(library, ref, vector)
    if row is None or len(ref) > CLOSE_TITLE_CHARS:
        return None
    return row


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise QueryError(f"k must be a whole number from 1 to 1000, not {k!r}")


