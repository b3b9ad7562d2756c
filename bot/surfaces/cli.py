"""`paperchat` on the command line: each command calls PaperBot and prints what it returns.

Exit codes: 0 success; 1 an error (one line on stderr, no traceback); 2 bad arguments;
3 `ingest` built the library but refused some files (each named on stdout, first).
Reading commands open the library as it was built, never rebuilding it from its corpus
files; a line on stderr says when those changed or vanished since.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from pydantic import SecretStr, TypeAdapter, ValidationError

from bot.errors import PaperchatError, QueryError, SettingsError
from bot.ingest import readers
from bot.paperbot import ASPECTS, PaperBot
from bot.records import Answer, Filters, Hit, Layout, Paper, Turn
from bot.reporting import Reporter
from bot.settings import Engine, Settings, get_settings, parse_credentials
from bot.surfaces.evaluate import Task
from bot.surfaces.export import EXPORTS
from bot.surfaces.inputs import filters_of
from bot.surfaces.process import collector_paused

REFUSED = 3  # exit code: the library was built, but some corpus files were refused


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # A process entry point may set these: the model is read from its folder, never fetched,
    # and transformers' advice to developers is no concern of the command's user.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # bibtexparser logs each malformed entry it meets; the ingest report names each one
    # already, with its file and line.
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    args = parser.parse_args(argv)
    try:
        filters = _filters(args)
    except QueryError as exc:  # an impossible range: a usage mistake
        parser.error(str(exc))
    try:
        args.settings = _settings(args)
    except ValidationError as exc:
        section = "llm." if exc.title == "LLMSettings" else ""  # the flags' section
        parser.error("; ".join(
            f"setting {section}{'.'.join(map(str, e['loc']))}: "
            + e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    if getattr(args, "address", None) and args.settings.embedding.engine != "ray":
        parser.error("--address needs --engine ray")
    if args.command == "similar" and not args.refs and not args.bib:
        parser.error("similar: give REF or --bib FILE")
    if getattr(args, "format", None) and args.json:
        parser.error("--format and --json: choose one")
    if getattr(args, "dry_run", None) is False and args.json:
        parser.error("ingest --json goes with --dry-run (a built library's papers: "
                     "paperchat papers --json)")
    try:
        return args.run(args, filters)
    except PaperchatError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print("paperchat: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the last resort: what no layer above turned into a message
        _debug_traceback()
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a user sees one line, never a traceback
        _debug_traceback()
        return _error(f"unexpected {type(exc).__name__}: {_first_line(exc)} "
                      "(set PAPERCHAT_DEBUG=1 for the traceback)")


def _error(message: str) -> int:
    print(f"paperchat: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def _debug_traceback() -> None:
    if os.environ.get("PAPERCHAT_DEBUG") == "1":
        traceback.print_exc()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 0 to 65535, not {port}")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperchat",
        description="Ask a corpus of research papers a question; get an answer that cites them.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (_serve_command, _ingest_command, _search_command, _ask_command,
                        _chat_command, _similar_command, _new_command, _star_commands,
                        _papers_command, _eval_command, _mcp_command):
        add_command(commands)
    return parser


Commands = argparse._SubParsersAction  # what add_subparsers returns: the commands to add to


def _command(commands: Commands, name: str, run, help: str) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=help, description=help)
    sub.set_defaults(run=run)
    sub.add_argument("--index", metavar="DIR",
                     help="library folder: new, empty, or holding a library (default: "
                          "$PAPERCHAT_INDEX_DIR or the user data folder)")
    return sub


def _with_corpus(sub: argparse.ArgumentParser, required: bool) -> None:
    sub.add_argument("paths", nargs="+" if required else "*", metavar="PATHS",
                     help="listing or JSONL files, or folders of them"
                          + ("" if required else " (default: the library as built; the "
                             "bundled seed corpus if the default library has none)"))
    sub.add_argument("--layout", choices=readers.layout_choices(),
                     help="read every file in this layout instead of detecting it")


def _with_output(sub: argparse.ArgumentParser, k: int | None) -> None:
    if k is not None:
        sub.add_argument("-k", type=int, default=k, help=f"how many papers (default {k})")
    sub.add_argument("--json", action="store_true", help="print the result as JSON")
    group = sub.add_argument_group("filters")
    group.add_argument("--year-from", type=int, metavar="YEAR")
    group.add_argument("--year-to", type=int, metavar="YEAR")
    group.add_argument("--author", help="substring of an author name")
    group.add_argument("--category", help="e.g. cs.LG or LG")
    group.add_argument("--has-code", action=argparse.BooleanOptionalAction, default=None)


def _with_llm(sub: argparse.ArgumentParser) -> None:
    group = sub.add_argument_group(
        "language model", "have an OpenAI-compatible chat server write the answer from the "
                          "papers that answer the question (default: quotes only)")
    group.add_argument("--llm-url", metavar="URL",
                       help="base URL up to /v1, e.g. http://127.0.0.1:11434/v1")
    group.add_argument("--llm-model", metavar="NAME", help="model name on that server")
    group.add_argument("--llm-api-key", metavar="KEY", help="sent as a bearer token")
    group.add_argument("--llm-timeout", type=float, metavar="SECONDS",
                       help="longest wait for the server (default 60)")
    group.add_argument("--llm-temperature", type=float, metavar="T",
                       help="sampling temperature (default 0)")


def _serve_command(commands: Commands) -> None:
    sub = _command(commands, "serve", _serve, "serve the web chat")
    _with_corpus(sub, required=False)
    sub.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    sub.add_argument("--port", type=_port, help="port (default 7860; 0 picks a free one)")
    _with_llm(sub)
    sub.add_argument("--auth-file", metavar="FILE",
                     help="require a login: one 'user:password' a line (default: "
                          "$PAPERCHAT_SERVER__AUTH, else no login)")
    sub.add_argument("--mcp", action="store_true",
                     help="also serve the MCP tools (see `paperchat mcp`) over streamable HTTP "
                          "at /mcp, behind the same login")


def _ingest_command(commands: Commands) -> None:
    sub = _command(commands, "ingest", _ingest, "build or update a library from listing files")
    _with_corpus(sub, required=True)
    sub.add_argument("--add", action="store_true",
                     help="add the files to the library's corpus instead of replacing it")
    sub.add_argument("--dry-run", action="store_true",
                     help="read, detect and merge the files and print the report; embed and "
                          "write nothing")
    sub.add_argument("--json", action="store_true",
                     help="with --dry-run: the report and the papers as JSON (shape in the "
                          "README)")
    sub.add_argument("--engine", choices=get_args(Engine),
                     help="where texts are embedded: this process (default: "
                          "$PAPERCHAT_EMBEDDING__ENGINE, else local), or Ray workers "
                          "(pip install 'paperchat[ray]')")
    sub.add_argument("--address", metavar="ADDRESS",
                     help="the Ray cluster to use with --engine ray, e.g. ray://head:10001 "
                          "(default: $RAY_ADDRESS, else a local Ray)")


def _search_command(commands: Commands) -> None:
    sub = _command(commands, "search", _search, "the papers that best match a query")
    sub.add_argument("query")
    _with_output(sub, k=10)


def _ask_command(commands: Commands) -> None:
    sub = _command(commands, "ask", _ask, "answer a question, citing the papers that answer it")
    sub.add_argument("question")
    _with_output(sub, k=5)
    _with_llm(sub)


def _chat_command(commands: Commands) -> None:
    sub = _command(commands, "chat", _chat,
                   "a conversation in the terminal: one question a line, follow-ups welcome")
    _with_output(sub, k=5)
    _with_llm(sub)


def _similar_command(commands: Commands) -> None:
    sub = _command(commands, "similar", _similar,
                   "papers similar to a paper (id, arXiv id or title) or to pasted text; "
                   "several papers (or --bib) are a set: papers like all of them")
    sub.add_argument("refs", nargs="*", metavar="REF",
                     help="a paper or a text; two or more papers are a set")
    sub.add_argument("--bib", metavar="FILE",
                     help="the papers of this bibliography (BibTeX, RIS, CSL-JSON, any format "
                          "ingest reads) are the set, with any REFs")
    sub.add_argument("--aspect", choices=list(ASPECTS),
                     help="alike in one respect: their background, method or results "
                          "(sentences of that role compared; default: the whole texts)")
    _with_output(sub, k=5)


def _new_command(commands: Commands) -> None:
    sub = _command(commands, "new", _new,
                   "what's new: papers added (or dated) since a day, ranked by closeness to "
                   "--like papers, else to the starred ones, else newest first")
    sub.add_argument("--since", required=True, metavar="DATE", help="YYYY-MM-DD")
    sub.add_argument("--like", nargs="+", metavar="REF",
                     help="rank by closeness to these papers (a set)")
    _with_output(sub, k=20)


def _star_commands(commands: Commands) -> None:
    for name, run, help in (("star", _star, "star papers: kept in the library folder"),
                            ("unstar", _unstar, "take papers' stars away")):
        sub = _command(commands, name, run, help)
        sub.add_argument("refs", nargs="+", metavar="REF",
                         help="a paper's id, arXiv id, DOI, cite key or title")
    sub = _command(commands, "stars", _stars, "list the starred papers, or export them")
    sub.add_argument("--export", choices=[*EXPORTS, "ids"],
                     help="print them for a reference manager (BibTeX, CSL-JSON, CSV) or as "
                          "their ids, one a line")
    sub.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def _papers_command(commands: Commands) -> None:
    sub = _command(commands, "papers", _papers, "list the papers in the library")
    _with_output(sub, k=None)
    sub.add_argument("--format", choices=list(EXPORTS),
                     help="print them for a reference manager instead: BibTeX, CSL-JSON (what "
                          "Zotero imports) or CSV")


def _eval_command(commands: Commands) -> None:
    sub = _command(commands, "eval", _eval, "measure retrieval on a dataset in the BEIR layout")
    sub.add_argument("dataset", metavar="DATASET_DIR",
                     help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    sub.add_argument("--split", default="train", help="qrels split (default: train)")
    sub.add_argument("--task", choices=get_args(Task), default="search",
                     help="search: queries.jsonl against the corpus; similar: each query id "
                          "is a paper, ranked against the others")
    sub.add_argument("--json", action="store_true", help="print the result as JSON")


def _mcp_command(commands: Commands) -> None:
    _command(commands, "mcp", _mcp,
             "serve the library to an assistant over MCP on stdin and stdout (what Claude "
             "Desktop and other MCP clients launch)")


def _filters(args: argparse.Namespace) -> Filters | None:
    if not hasattr(args, "year_from"):
        return None
    return filters_of(year_from=args.year_from, year_to=args.year_to, author=args.author,
                      category=args.category, has_code=args.has_code)


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the command's language-model and engine flags on
    top."""
    flags = {field: getattr(args, f"llm_{field}", None)
             for field in ("url", "model", "api_key", "timeout", "temperature")}
    engine = {"engine": getattr(args, "engine", None),
              "ray_address": getattr(args, "address", None)}
    return get_settings(llm=flags, embedding=engine)


def _reporter() -> Reporter:
    """Bars and timed steps when a person watches stderr; nothing in a log or a pipe."""
    return Reporter.terminal() if sys.stderr.isatty() else Reporter.silent()


def _open(args: argparse.Namespace) -> PaperBot:
    """The library as it was built, with a line on stderr if its corpus files changed."""
    bot = _library(args)
    changed, gone = bot.corpus_changes()
    if changed or gone:
        counts = " and ".join(f"{len(found)} {what}" for found, what in
                              ((changed, "changed"), (gone, "gone")) if found)
        root = bot.store.root if bot.store else args.index
        print(f"paperchat: note: of the {len(bot.library.manifest.corpus)} corpus file(s) of "
              f"this library, {counts} since it was built (first: {(changed + gone)[0]}); it "
              f"answers as built: refresh it with `paperchat ingest FILES --index {root}`",
              file=sys.stderr)
    return bot


def _library(args: argparse.Namespace) -> PaperBot:
    with collector_paused():  # a library's many small objects, loaded at once: see there
        return PaperBot.open_or_build(args.index, settings=args.settings, reporter=_reporter())


def _serve(args: argparse.Namespace, _: Filters | None) -> int:
    from bot.surfaces.web import launch  # gradio loads only for this command

    layout = Layout(args.layout) if args.layout else None
    if args.paths:
        with collector_paused():
            bot = PaperBot.from_corpus(args.paths, args.index, layout=layout,
                                       settings=args.settings, reporter=_reporter())
    else:
        bot = _open(args)
    server = args.settings.server
    launch(bot, host=args.host or server.host,
           port=args.port if args.port is not None else server.port,
           auth=_logins(args.auth_file, server.auth), mcp=args.mcp)
    return 0


def _logins(auth_file: str | None, setting: SecretStr | None) -> list[tuple[str, str]] | None:
    """The logins `serve` requires: from --auth-file, else $PAPERCHAT_SERVER__AUTH, else none."""
    if auth_file:
        try:
            text = Path(auth_file).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{auth_file}: cannot be read ({exc})") from None
        return parse_credentials(text, auth_file, separator="\n")
    if setting is not None:
        return parse_credentials(setting.get_secret_value(), "PAPERCHAT_SERVER__AUTH")
    return None


def _ingest(args: argparse.Namespace, _: Filters | None) -> int:
    layout = Layout(args.layout) if args.layout else None
    if args.dry_run:
        return _dry_run(args.paths, layout, as_json=args.json)
    with collector_paused():
        if args.add:
            bot = _library(args).add(args.paths, layout=layout, reporter=_reporter())
        else:
            bot = PaperBot.from_corpus(args.paths, args.index, layout=layout,
                                       settings=args.settings, reporter=_reporter())
    print(bot.report.render())  # the refused files first: what is not in the library
    print(f"library: {bot.store.root if bot.store else '(not saved)'} "
          f"({len(bot.papers)} papers, {bot.last_embedded} texts embedded)")
    if bot.last_recomputed:
        print(f"vectors recomputed: {bot.last_recomputed}")
    return REFUSED if bot.report.refused else 0


def _dry_run(paths: list[str], layout: Layout | None, *, as_json: bool) -> int:
    corpus = PaperBot.preview(paths, layout=layout, reporter=_reporter())
    report = corpus.report
    if as_json:
        print(json.dumps({"report": report.model_dump(mode="json"),
                          "papers": [_previewed(p) for p in corpus.papers]},
                         ensure_ascii=False, indent=1))
    else:
        print(report.render())
        print("dry run: nothing embedded, nothing written")
    return REFUSED if report.refused else 0


def _previewed(paper: Paper) -> dict[str, object]:
    """A paper as `ingest --dry-run --json` lists it: what tells one paper from another."""
    return {"id": paper.id, "title": paper.title, "authors": paper.authors,
            "date": paper.date.isoformat() if paper.date else None, "doi": paper.doi,
            "arxiv_id": paper.arxiv_id, "venue": paper.venue, "cite_key": paper.cite_key,
            "entry_type": paper.entry_type, "has_abstract": paper.has_abstract,
            "sources": [str(source) for source in paper.sources]}


def _search(args: argparse.Namespace, filters: Filters | None) -> int:
    hits = _open(args).search(args.query, k=args.k, filters=filters)
    _print_hits(hits, args.json)
    return 0


def _similar(args: argparse.Namespace, filters: Filters | None) -> int:
    bot = _open(args)
    refs: str | list[str] = args.refs[0] if len(args.refs) == 1 and not args.bib else args.refs
    if args.bib:
        found = bot.references_in(args.bib)
        if found.missing:
            print(f"paperchat: note: {_entries(len(found.missing))} of {args.bib} name no paper "
                  f"of the library, left out (first: {found.missing[0][:120]})",
                  file=sys.stderr)
        refs = [*args.refs, *found]
    hits = bot.similar(refs, k=args.k, filters=filters, aspect=args.aspect)
    _print_hits(hits, args.json)
    return 0


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


def _new(args: argparse.Namespace, filters: Filters | None) -> int:
    hits = _open(args).new(args.since, k=args.k, like=args.like, filters=filters)
    _print_hits(hits, args.json)
    return 0


def _star(args: argparse.Namespace, _: Filters | None) -> int:
    return _mark(args, star=True)


def _unstar(args: argparse.Namespace, _: Filters | None) -> int:
    return _mark(args, star=False)


def _mark(args: argparse.Namespace, *, star: bool) -> int:
    bot = _open(args)
    for ref in args.refs:
        paper = bot.star(ref) if star else bot.unstar(ref)
        print(f"{'starred' if star else 'unstarred':<9} {paper.id:<18} {paper.display_title}")
    return 0


def _stars(args: argparse.Namespace, _: Filters | None) -> int:
    papers = _open(args).starred
    if args.export == "ids":
        text = "".join(f"{p.id}\n" for p in papers)
    elif args.export:
        text = EXPORTS[args.export].write(papers)
    else:
        text = "".join(f"{p.id:<18} {p.year or '':<4} {p.display_title}\n" for p in papers)
        text += f"{len(papers)} starred papers\n"
    if args.output:
        Path(args.output).expanduser().write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _ask(args: argparse.Namespace, filters: Filters | None) -> int:
    _print_answer(_open(args).ask(args.question, k=args.k, filters=filters), args.json)
    return 0


def _chat(args: argparse.Namespace, filters: Filters | None) -> int:
    """Questions from stdin, one a line, each read with the ones before (an empty line or
    "/new" starts a new conversation); answers on stdout. Ends at end of input."""
    bot = _open(args)
    history: list[Turn] = []
    prompt = "> " if sys.stdin.isatty() else ""
    while True:
        try:
            line = input(prompt).strip()
        except EOFError:
            return 0
        if line in ("", "/new"):
            history.clear()
            continue
        try:
            answer = bot.ask(line, k=args.k, filters=filters, history=history)
        except QueryError as exc:  # a bad question costs only itself
            print(f"paperchat: {exc}", file=sys.stderr)
            continue
        if answer.context and not args.json:
            print(f"(read as {answer.context})")
        _print_answer(answer, args.json, one_line=True)
        if not args.json:
            print()
        sys.stdout.flush()
        history.append(Turn.of(answer))


def _print_answer(answer: Answer, as_json: bool, *, one_line: bool = False) -> None:
    """The answer and its sources; with --json, the Answer (on one line: `chat` prints JSON
    Lines, an answer a line)."""
    if as_json:
        print(answer.model_dump_json(indent=None if one_line else 2))
        return
    print(answer.text)
    if answer.citations:
        print()
    for c in answer.citations:
        link = f"  {c.paper.arxiv_url}" if c.paper.arxiv_url else ""
        related = " (related)" if c.strength == "related" else ""
        print(f"[{c.n}] {c.paper.display_title} — {c.paper.author_line} "
              f"({c.paper.year_label}){link}{related}\n    “{c.quote}”")
    if answer.answerer == "llm" and answer.note:
        print(f"paperchat: {answer.note}", file=sys.stderr)


def _papers(args: argparse.Namespace, filters: Filters | None) -> int:
    papers = [p for p in _open(args).papers if filters is None or filters.matches(p)]
    if args.format:
        print(EXPORTS[args.format].write(papers), end="")
        return 0
    if args.json:
        print(TypeAdapter(list[Paper]).dump_json(papers, indent=2).decode())
        return 0
    for p in papers:
        print(f"{p.id:<18} {p.year or '':<4} {p.category or '':<8} {p.display_title}")
    print(f"{len(papers)} papers")
    return 0


def _mcp(args: argparse.Namespace, _: Filters | None) -> int:
    from bot.surfaces.mcp_server import serve_stdio  # the MCP SDK loads only for this command

    serve_stdio(_open(args))
    return 0


def _eval(args: argparse.Namespace, _: Filters | None) -> int:
    from bot.surfaces.evaluate import evaluate

    result = evaluate(args.dataset, split=args.split, task=args.task, index_dir=args.index,
                      reporter=_reporter())
    print(result.model_dump_json(indent=2) if args.json else result.render())
    return 0


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        print(TypeAdapter(list[Hit]).dump_json(hits, indent=2).decode())
        return
    if not hits:
        print("no papers match")
    for i, h in enumerate(hits, start=1):
        added = f"  added {h.added.isoformat()}" if h.added else ""
        print(f"{i:>2}. {h.score:.3f}  {h.paper.display_title} ({h.paper.year_label})  "
              f"[{h.paper.id}]{added}")
        if h.evidence:
            print(f"           “{h.evidence}”")


if __name__ == "__main__":
    raise SystemExit(main())
