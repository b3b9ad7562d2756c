"""Settings that cannot be meant are refused in one line, before anything runs."""

from __future__ import annotations

import pytest

from bot.surfaces.cli import main


@pytest.mark.parametrize(("variable", "value"), [
    ("PAPERCHAT_RETRIEVAL__DENSE_WEIGHT", "inf"),
    ("PAPERCHAT_RETRIEVAL__LEXICAL_WEIGHT", "nan"),
    ("PAPERCHAT_RETRIEVAL__EVIDENCE_THRESHOLD", "nan"),
    ("PAPERCHAT_RETRIEVAL__EVIDENCE_THRESHOLD", "-inf"),
    ("PAPERCHAT_LLM__TIMEOUT", "inf"),
    ("PAPERCHAT_SERVER__MAX_UPLOAD_MB", "nan"),
])
def test_infinite_or_undefined_numbers_are_refused(monkeypatch, capsys, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exit_:
        main(["papers"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "finite" in err and "Traceback" not in err


@pytest.mark.parametrize("timeout", ["inf", "nan", "0", "-5", "1e9"])
def test_an_llm_timeout_that_never_ends_or_never_starts_is_refused(capsys, timeout):
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "anything", "--llm-url", "http://127.0.0.1:9/v1", "--llm-timeout", timeout])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("paperchat: error: setting llm.timeout")
