"""benchmarks/training_speed.py in a reduced form (ResNet-18 + SE at 64x64, batches 1 and 2, one repeat):
it runs, the formula side and the traced step give the same numbers at each batch, and the ratios are
printed. The full run (ResNet-50 + CBAM at 224, the issue's >= 100x at its training batch 32) is the
slow test."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "training_speed.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("training_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reduced_benchmark_runs_and_agrees(capsys):
    ratios = _benchmark().main(["--network", "resnet18", "--attn", "se", "--size", "64", "--batch", "2,1",
                                "--repeats", "1"])
    out = capsys.readouterr().out
    assert sorted(ratios) == [1, 2]
    assert out.count("same: saved") == 2 and "DIFFERENT" not in out
    assert out.strip().splitlines()[-1].startswith("ratio at N=2: traced / formula = ")
    assert all(ratio > 0 for ratio in ratios.values())


def test_batch_option_refuses_nonsense():
    with pytest.raises(SystemExit):
        _benchmark().main(["--batch", "0,4"])


@pytest.mark.slow
def test_resnet50_cbam_formula_is_100x_faster_than_a_traced_step_at_batch_32(capsys):
    ratios = _benchmark().main(["--repeats", "1", "--batch", "1,32"])
    out = capsys.readouterr().out
    assert out.count("same: saved") == 2 and "DIFFERENT" not in out
    assert ratios[32] >= 100
