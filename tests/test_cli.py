"""The ``skfam`` console command."""

from __future__ import annotations

import subprocess
import sys

from skfam.cli import main


def test_list_prints_every_family(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["family", "tasks", "input", "gpu"]
    assert "lightgbm" in out and "mlp" in out
    assert "fast" in out


def test_train_prints_a_leaderboard(capsys):
    assert main(["train", "lightgbm", "mlp", "--variant", "fast", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "Leaderboard: regression on diabetes" in captured.out
    assert "Leaderboard: classification on breast_cancer" in captured.out
    assert "[1/4] lightgbm (regression, diabetes)" in captured.err
    rows = [line.split() for line in captured.out.splitlines() if line[:1].isdigit()]
    assert sorted(row[1] for row in rows) == ["lightgbm", "lightgbm", "mlp", "mlp"]
    for row in rows:
        assert -1.0 <= float(row[3]) <= 1.0  # r2 or accuracy
    # Ranks follow the scores within each leaderboard.
    assert [row[0] for row in rows] == ["1", "2", "1", "2"]
    for first, second in (rows[0:2], rows[2:4]):
        assert float(first[3]) >= float(second[3])


def test_train_rejects_unknown_family(capsys):
    assert main(["train", "nope"]) == 2
    assert "unknown families ['nope']" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "skfam.cli", "list"], capture_output=True, text=True, check=True
    )
    assert "lightgbm" in result.stdout
