"""Ingest under fuzzing: property tests of each reader, and a sample of the mutation fuzzer
(`bench/fuzz.py` runs 10,000 cases; here a few hundred, in seconds).

The invariant: no exception but IngestError, no hang, and every non-blank input line within a
record's span or a rejected chunk's, every record in exactly one paper.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import fuzz
from bot import IngestError, Layout
from bot.ingest import READERS, detect_layout
from tests.helpers.spans import covered_lines

# Lines as scrapers produce them: seed lines, layout markers, and arbitrary text (control
# characters, surrogate-free unicode, markers glued to junk).
MARKERS = ["LGJun 4, 2018", "CLJul 7, 2025Code", "XXFeb 30, 2020", "Abstract:", "Abstract: x",
           "arXiv:2403.05530", "arXiv: not-an-id", "Created: 2024-03-08", "Created: 2024-13-45",
           "Published at ICLR 2021", "{", "{}", "[]", '{"abstract": "A."}', '{"text": 5}',
           "Peter W. Battaglia, Jessica B. Hamrick et al.", " · org", "", "   "]
SEED_LINES = [line for path in fuzz._seed_files()
              for line in path.read_text(encoding="utf-8").splitlines()]
line_text = st.one_of(st.sampled_from(MARKERS), st.sampled_from(SEED_LINES),
                      st.text(max_size=200).map(lambda s: s.replace("\n", " ").replace("\r", " ")))
listings = st.lists(line_text, max_size=40)
FAST = settings(max_examples=150, deadline=2000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])




@pytest.mark.parametrize("layout", list(Layout))
@FAST
@given(lines=listings)
def test_every_reader_accounts_for_every_line(layout, lines):
    items = list(READERS[layout](lines, "fuzz.txt"))
    nonblank = {n for n, line in enumerate(lines, start=1) if line.strip()}
    assert nonblank <= covered_lines(items)
    for item in items:  # spans stay inside the file
        first = item.line if hasattr(item, "reason") else item.source.line
        assert 1 <= first <= len(lines)


@FAST
@given(lines=listings)
def test_layout_detection_names_a_layout_or_refuses_plainly(lines):
    try:
        assert detect_layout(lines, "fuzz.txt") in Layout
    except IngestError as exc:
        assert "fuzz.txt" in str(exc)


@FAST
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_are_read_or_refused(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bytes")
    outcome = fuzz.run_case(data, ["hypothesis"], False, folder, timeout=10)
    assert outcome.status in ("read", "refused"), outcome.detail


def test_a_sample_of_mutated_seed_files(tmp_path):
    rng = random.Random(20251123)
    outcomes = [fuzz.run_case(*fuzz.make_case(rng), tmp_path, timeout=10) for _ in range(300)]
    failures = [o for o in outcomes if o.status not in ("read", "refused")]
    assert not failures, failures[:3]
    statuses = {o.status for o in outcomes}
    assert statuses == {"read", "refused"}  # both paths were exercised
    assert sum(o.lines for o in outcomes) > 10_000


@pytest.mark.parametrize("mutation", sorted(fuzz.MUTATIONS))
def test_each_mutation_alone(tmp_path, mutation):
    rng = random.Random(mutation)
    for path in fuzz._seed_files():
        data = fuzz.MUTATIONS[mutation](path.read_bytes(), rng)
        outcome = fuzz.run_case(data, [mutation], False, tmp_path, timeout=10)
        assert outcome.status in ("read", "refused"), (path.name, outcome.detail)


def test_a_megabyte_byline_is_kept_without_a_hang(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("LGJun 4, 2018\n" + "TitleBob Smith, " * 70_000 + "\nAn abstract.\n",
                    encoding="utf-8")
    outcome = fuzz.run_case(path.read_bytes(), ["byline"], False, tmp_path, timeout=10)
    assert outcome.status == "read" and outcome.seconds < 10
