"""The README's usage example runs as written."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("ray")  # its Ray example starts a local cluster: not beside tests/scale's

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # its Ray example starts a local cluster
def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "precision" in out
    assert (tmp_path / "audit.json").exists()
    assert (tmp_path / "audit" / "report.json").exists()  # the Ray example's report folder


def test_readme_quick_start_is_the_two_make_commands_and_ci_runs_the_test_one():
    text = README.read_text()
    quick = text.split("## Quick start")[1].split("##")[0]
    commands = [line.split("#")[0].strip() for line in re.findall(r"```sh\n(.*?)```", quick, flags=re.S)[0].splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_and_docstring_say_undo_returns_a_new_plan():
    from datafix.fix import Plan

    assert 'plan = plan.undo("relabel")' in README.read_text()
    assert "plan = plan.undo(" in Plan.undo.__doc__ and "unchanged" in Plan.undo.__doc__
