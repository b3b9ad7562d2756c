"""The listing layout's title/author seam where a CamelCase word or name sits at it, records
with the title on a line of its own, and the headers paper sites write in other ways.

The records are real papers (titles, authors as the sites list them, abstract openings), read
through `read_file`; the listing lines are written out here.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot import Layout
from bot.ingest import read_file

ALPHACODE = ("Competition-Level Code Generation with AlphaCode"
             "Yujia Li, David Choi, Junyoung Chung et al. · deepmind")
ALPHACODE_OPENING = "Programming is a powerful and ubiquitous problem-solving tool."
ALPHACODE_ABSTRACT = (
    "Programming is a powerful and ubiquitous problem-solving tool. Developing systems that can "
    "assist programmers or even generate programs independently could make programming more "
    "productive and accessible, yet so far incorporating innovations in AI has proven "
    "challenging. [...] To address this gap, we introduce AlphaCode, a system for code "
    "generation that can create novel solutions to these problems that require deeper "
    "reasoning.")
GATED_GRAPH = [
    "LGNov 17, 2015",
    "Gated Graph Sequence Neural NetworksYujia Li, Daniel Tarlow, Marc Brockschmidt, "
    "Richard Zemel",
    "Graph-structured data appears frequently in domains including chemistry, natural language "
    "semantics, social networks, and knowledge bases."]
RELATIONAL = [
    "LGJun 4, 2018Code",
    "Relational inductive biases, deep learning, and graph networksPeter W. Battaglia, "
    "Jessica B. Hamrick, Victor Bapst et al.",
    "Artificial intelligence (AI) has undergone a renaissance recently, making major progress "
    "in key domains such as vision, language, control, and decision-making."]


def _read(tmp_path, lines):
    path = tmp_path / "listing.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sightings, report = read_file(path)
    assert report.layout == Layout.LISTING
    _assert_every_line_accounted_for(lines, sightings, report)
    return sightings, report


def _assert_every_line_accounted_for(lines, sightings, report):
    covered = set()
    for s in sightings:
        covered.update(range(s.source.line, max(s.last_line, s.source.line) + 1))
    for r in report.rejected:
        covered.update(range(r.line, r.line + r.lines))
    assert covered == {n for n, line in enumerate(lines, start=1) if line.strip()}


def _only(sightings, title):
    found = [s for s in sightings if s.title == title]
    assert len(found) == 1, [s.title for s in sightings]
    return found[0]


def test_a_camelcase_title_word_named_in_its_abstract_stays_in_the_title(tmp_path):
    # AlphaCode|Yujia, not Alpha|CodeYujia: "AlphaCode" is a word of the abstract.
    sightings, report = _read(tmp_path, ["PLFeb 8, 2022", ALPHACODE, ALPHACODE_ABSTRACT])
    [paper] = sightings
    assert paper.title == "Competition-Level Code Generation with AlphaCode"
    assert paper.authors == ["Yujia Li", "David Choi", "Junyoung Chung"]
    assert paper.authors_truncated and paper.organisations == ["deepmind"]
    assert paper.date == dt.date(2022, 2, 8) and paper.categories == ["cs.PL"]
    assert not report.warnings


def test_a_given_name_seen_as_another_records_author_decides_the_seam(tmp_path):
    # The abstract's opening does not name AlphaCode; Yujia Li, first author of another record
    # in the file, is what tells `Yujia` for a given name.
    sightings, report = _read(tmp_path, [*GATED_GRAPH, "PLFeb 8, 2022", ALPHACODE,
                                         ALPHACODE_OPENING])
    paper = _only(sightings, "Competition-Level Code Generation with AlphaCode")
    assert paper.authors[0] == "Yujia Li"
    assert _only(sightings, "Gated Graph Sequence Neural Networks").authors[0] == "Yujia Li"
    assert not report.warnings


def test_a_seam_nothing_vouches_for_is_kept_with_a_warning_naming_both_readings(tmp_path):
    # Nothing in this file says whether "AlphaCode" or "CodeYujia" is the word: the record is
    # kept, read one way, and the report says so at its line.
    sightings, report = _read(tmp_path, [*RELATIONAL, "PLFeb 8, 2022", ALPHACODE,
                                         ALPHACODE_OPENING])
    assert len(sightings) == 2
    [warning] = report.warnings
    assert str(warning).startswith(f"{tmp_path / 'listing.txt'}:4: title and authors may be "
                                   "split wrongly: read as ")
    assert "Generation with Alpha' by 'CodeYujia Li'" in warning.reason
    assert "Generation with AlphaCode' by 'Yujia Li'" in warning.reason
    assert sightings[1].title == "Competition-Level Code Generation with Alpha"  # the warned one
    assert sightings[0].title.startswith("Relational inductive biases")


@pytest.mark.parametrize(("lines", "title", "authors"), [
    (["CVFeb 13, 2019",
      "Do ImageNet Classifiers Generalize to ImageNet?Benjamin Recht, Rebecca Roelofs, "
      "Ludwig Schmidt et al.",
      "We build new test sets for the CIFAR-10 and ImageNet datasets. Both benchmarks have been "
      "the focus of intense research for almost a decade, raising the danger of overfitting to "
      "excessively re-used test sets."],
     "Do ImageNet Classifiers Generalize to ImageNet?",
     ["Benjamin Recht", "Rebecca Roelofs", "Ludwig Schmidt"]),
    (["CVJul 13, 2020",
      "Evaluating Machine Accuracy on ImageNetVaishaal Shankar, Rebecca Roelofs, "
      "Horia Mania et al.",
      "We evaluate a wide range of ImageNet models with five trained human labelers. In our "
      "year-long experiment, trained humans first annotated 40,000 images from the ImageNet and "
      "ImageNetV2 test sets with multi-class labels to enable a semantically coherent "
      "evaluation."],
     "Evaluating Machine Accuracy on ImageNet",
     ["Vaishaal Shankar", "Rebecca Roelofs", "Horia Mania"]),
    (["CYAug 22, 2019",
      "Auditing Radicalization Pathways on YouTubeManoel Horta Ribeiro, Raphael Ottoni, "
      "Robert West et al.",
      "Non-profits, as well as the media, have hypothesized the existence of a radicalization "
      "pipeline on YouTube, claiming that users systematically progress towards more extreme "
      "content on the platform."],
     "Auditing Radicalization Pathways on YouTube",
     ["Manoel Horta Ribeiro", "Raphael Ottoni", "Robert West"]),
    (["LGMay 27, 2015",
      "Deep learningYann LeCun, Yoshua Bengio, Geoffrey Hinton",
      "Deep learning allows computational models that are composed of multiple processing "
      "layers to learn representations of data with multiple levels of abstraction."],
     "Deep learning", ["Yann LeCun", "Yoshua Bengio", "Geoffrey Hinton"]),
], ids=["imagenet-question", "imagenet-at-the-seam", "youtube-at-the-seam", "lecun-first"])
def test_camelcase_words_and_names_at_the_seam(tmp_path, lines, title, authors):
    [paper], report = _read(tmp_path, lines)
    assert paper.title == title
    assert paper.authors == authors
    assert not report.warnings


def test_a_camelcase_surname_first_or_second_in_the_list(tmp_path):
    # Sam McCandlish second in one record (a clean split), first in the next: not
    # "...TrainingSam Mc" by "Candlish".
    sightings, report = _read(tmp_path, [
        "LGJan 23, 2020",
        "Scaling Laws for Neural Language ModelsJared Kaplan, Sam McCandlish, Tom Henighan et al.",
        "We study empirical scaling laws for language model performance on the cross-entropy "
        "loss.",
        "LGDec 14, 2018",
        "An Empirical Model of Large-Batch TrainingSam McCandlish, Jared Kaplan, Dario Amodei "
        "et al.",
        "In an increasing number of domains it has been demonstrated that deep learning models "
        "can be trained using relatively large batch sizes without sacrificing data efficiency."])
    scaling = _only(sightings, "Scaling Laws for Neural Language Models")
    assert scaling.authors == ["Jared Kaplan", "Sam McCandlish", "Tom Henighan"]
    batch = _only(sightings, "An Empirical Model of Large-Batch Training")
    assert batch.authors == ["Sam McCandlish", "Jared Kaplan", "Dario Amodei"]
    assert not report.warnings


def test_a_single_record_with_a_camelcase_surname_first(tmp_path):
    # Alone in its file, nothing vouches for McCandlish, yet "Candlish" as a whole author
    # and "TrainingSam" as a title word cost more than one unexplained join in a name.
    [paper], report = _read(tmp_path, [
        "LGDec 14, 2018",
        "An Empirical Model of Large-Batch TrainingSam McCandlish, Jared Kaplan, Dario Amodei, "
        "OpenAI Dota Team",
        "In an increasing number of domains it has been demonstrated that deep learning models "
        "can be trained using relatively large batch sizes without sacrificing data efficiency."])
    assert paper.title == "An Empirical Model of Large-Batch Training"
    assert paper.authors == ["Sam McCandlish", "Jared Kaplan", "Dario Amodei", "OpenAI Dota Team"]
    assert not report.warnings


def test_title_and_authors_on_lines_of_their_own(tmp_path):
    lines = ["PLFeb 8, 2022",
             "Competition-Level Code Generation with AlphaCode",
             "Yujia Li, David Choi, Junyoung Chung et al. · deepmind",
             ALPHACODE_OPENING,
             *RELATIONAL,  # a three-line record after it is read as before
             "LGNov 17, 2015",
             "Gated Graph Sequence Neural Networks",
             "Yujia Li, Daniel Tarlow, Marc Brockschmidt, Richard Zemel"]  # no abstract, last
    sightings, report = _read(tmp_path, lines)
    alphacode, relational, gated = sightings
    assert alphacode.title == "Competition-Level Code Generation with AlphaCode"
    assert alphacode.authors == ["Yujia Li", "David Choi", "Junyoung Chung"]
    assert alphacode.organisations == ["deepmind"] and alphacode.authors_truncated
    assert alphacode.abstract == ALPHACODE_OPENING
    assert (alphacode.source.line, alphacode.last_line) == (1, 4)
    assert relational.title == "Relational inductive biases, deep learning, and graph networks"
    assert relational.authors[0] == "Peter W. Battaglia" and relational.has_code
    assert (relational.source.line, relational.last_line) == (5, 7)
    # A title and its authors with no abstract: kept, with an empty abstract.
    assert gated.title == "Gated Graph Sequence Neural Networks" and gated.abstract == ""
    assert gated.authors == ["Yujia Li", "Daniel Tarlow", "Marc Brockschmidt", "Richard Zemel"]
    assert (gated.source.line, gated.last_line) == (8, 10)
    assert not report.rejected and not report.warnings


def test_a_three_line_record_with_a_stray_line_after_it_is_read_as_before(tmp_path):
    sightings, report = _read(tmp_path, [*RELATIONAL, "stray text from a scraper", *GATED_GRAPH])
    assert [s.title for s in sightings] == [
        "Relational inductive biases, deep learning, and graph networks",
        "Gated Graph Sequence Neural Networks"]
    assert [(r.line, r.lines) for r in report.rejected] == [(4, 1)]


@pytest.mark.parametrize(("header", "has_code"), [
    ("LG Jun 4, 2018", False),
    ("LGJune 4, 2018", False),
    ("LG June 4, 2018 Code", True),
    ("LGJune 4, 2018Code", True),
])
def test_headers_with_a_space_or_a_full_month(tmp_path, header, has_code):
    [paper], report = _read(tmp_path, [header, *RELATIONAL[1:]])
    assert paper.date == dt.date(2018, 6, 4) and paper.categories == ["cs.LG"]
    assert paper.has_code is has_code
    assert paper.title == "Relational inductive biases, deep learning, and graph networks"
    assert not report.rejected and not report.warnings


def test_a_header_with_an_impossible_date_is_kept_undated_with_a_warning(tmp_path):
    [paper], report = _read(tmp_path, ["LGFebruary 30, 2018", *RELATIONAL[1:]])
    assert paper.date is None
    assert [w.reason for w in report.warnings] == ["unreadable date 'February 30, 2018'"]
