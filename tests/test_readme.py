"""The README's commands and Python example are the ones that work."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_python_example_runs(capsys):
    example = _blocks("python")[0]
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Synthetic Returns for Long-Term Credit Assignment" in out
    assert "[1]" in out


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick_start, flags=re.DOTALL)
    assert len(commands) == 2
    serve, test = commands
    assert "pip install ." in serve and serve.endswith("paperchat serve")
    assert "pip install '.[dev" in test and "pytest" in test
    assert "ray" in test.split("pip install '", 1)[1].split("'", 1)[0]  # the Ray tests run
    extracted = subprocess.run(
        ["awk", "/<!-- test-command -->/ {f=1; next} f && /^```bash/ {i=1; next} "
                "i && /^```/ {exit} i {print}", "README.md"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == test
    assert "README.md" in (REPO / ".ci" / "run").read_text()


def test_cli_section_lists_every_command():
    from bot.surfaces.cli import _parser

    commands = _parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"paperchat {name}" in README


def test_the_formats_table_is_the_registrys():
    from bot.ingest.readers import format_table

    shown = README.split("<!-- formats", 1)[1].split("-->", 1)[1].split("<!-- /formats -->")[0]
    assert shown.strip() == format_table(), f"README's formats table should be:\n{format_table()}"


def test_follow_up_example_runs(capsys):
    (example,) = [b for b in _blocks("python") if "Turn.of(first)" in b]
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "a follow-up: among the 5 papers of the previous answer"
    assert any("Creating Multimodal Interactive Agents" in line for line in out[1:])
