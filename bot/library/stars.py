"""The papers a user starred, kept in the library folder as `stars.json`.

    {"stars": [{"id": "2403.05530", "starred": "2025-03-01"}, …]}   (oldest star first)

The file is the user's, not a build's: written only when a star changes (through
`LibraryStore.update_user_file`, atomically, under its own lock), never by a rebuild or an
add, so stars outlive both. A star whose paper is no longer in the library stays in the
file (the paper may come back with the next ingest) and is simply not shown.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, ValidationError

from bot.errors import LibraryError
from bot.library.store import STARS, LibraryStore

MAX_STARS = 100_000
MAX_BYTES = 16 << 20  # a file of MAX_STARS stars fits several times over


class Star(BaseModel):
    id: str = Field(min_length=1, max_length=1000, description="The starred paper's id.")
    starred: dt.date = Field(description="The day it was starred.")


class Stars(BaseModel):
    stars: list[Star] = Field(default_factory=list, max_length=MAX_STARS)

    @property
    def ids(self) -> list[str]:
        return [star.id for star in self.stars]


def read_stars(store: LibraryStore) -> Stars:
    """The folder's stars (none when it has no stars file); LibraryError for a damaged
    one, which is never overwritten."""
    return _parsed(store, store.read_user_file(STARS, MAX_BYTES))


def change_stars(store: LibraryStore, paper_id: str, starred: bool) -> None:
    """Star (or unstar) one paper in the folder's file. Starring twice keeps the first
    star; unstarring a paper that has none changes nothing."""
    def changed(data: bytes | None) -> bytes:
        stars = _parsed(store, data)
        kept = [star for star in stars.stars if star.id != paper_id]
        if starred:
            kept = stars.stars if len(kept) < len(stars.stars) else [
                *kept, Star(id=paper_id, starred=dt.date.today())]
        if len(kept) > MAX_STARS:
            raise LibraryError(f"a library keeps at most {MAX_STARS:,} stars: unstar some "
                               "papers first")
        return Stars(stars=kept).model_dump_json(indent=1).encode()

    store.update_user_file(STARS, MAX_BYTES, changed)


def _parsed(store: LibraryStore, data: bytes | None) -> Stars:
    if data is None:
        return Stars()
    try:
        return Stars.model_validate_json(data)
    except (ValidationError, ValueError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise LibraryError(f"{store.root / STARS} is damaged ({first[:200]}); mend it or "
                           "move it away (stars start anew without it)") from None
