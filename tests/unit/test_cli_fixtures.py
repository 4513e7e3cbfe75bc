"""`rwg-sandbox fixtures`: no default output file (it would overwrite the committed one), `-` for stdout."""

import pytest

from mock_server import cli
from mock_server.config import ROOT


def test_generate_without_out_is_refused_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "default.json").write_text("committed\n")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["fixtures", "generate", "--seed", "7"])
    assert stopped.value.code == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert (tmp_path / "fixtures" / "default.json").read_text() == "committed\n"


def test_out_dash_writes_the_fixture_to_stdout_and_the_summary_to_stderr(capsys):
    assert cli.main(["fixtures", "generate", "--seed", "42", "--out", "-"]) == 0
    out, err = capsys.readouterr()
    assert out == (ROOT / "fixtures" / "default.json").read_text(encoding="utf-8")
    assert err == "wrote stdout: 12 merchants, 28 services, 7812 slots (seed 42)\n"


def test_out_file_is_written(tmp_path, capsys):
    target = tmp_path / "small.json"
    assert cli.main(["fixtures", "generate", "--merchants", "1", "--days", "1", "--out", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}: 1 merchants, 1 services, 72 slots (seed 42)\n"
    assert target.read_text(encoding="utf-8").startswith('{\n"merchants": {')


@pytest.mark.parametrize(("command", "action"), [("fixtures", "generate"), ("feeds", "export")])
def test_a_command_without_its_action_prints_that_commands_usage(capsys, command, action):
    assert cli.main([command]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"usage: rwg-sandbox {command} [-h] ACTION ...")
    assert action in out
