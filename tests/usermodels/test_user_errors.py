"""A user's model is left as it was found, whatever happens, and whatever its code raises (even
``sys.exit()``) is one error naming FILE.py:FN, its exception type and message; ``--debug`` shows the
traceback."""

import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

import attncost
from attncost.cli.main import cli
from attncost.errors import AttncostError, ShapeError
from attncost.usermodels import REAL_MAX_ELEMENTS, ModelRunError, load_model


class Mixed(torch.nn.Module):
    """Dropout and batch norm (train-mode behaviour, running statistics), a frozen eval-mode branch
    inside a train-mode model, and a forward that can be told to fail after it used the RNG."""

    def __init__(self, fail=False):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.drop = torch.nn.Dropout(0.5)
        self.frozen = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 1), torch.nn.Dropout(0.1))
        self.fail = fail

    def forward(self, x):
        y = self.frozen(self.drop(self.bn(self.conv(x))))
        torch.rand(3)                                  # draws from the global RNG
        if self.fail:
            raise RuntimeError("failed after using the RNG")
        return y


def _modes(model):
    return {name: m.training for name, m in model.named_modules()}


@pytest.mark.parametrize("mode", ["eval", "train", None])
@pytest.mark.parametrize("fake", [False, True])
@pytest.mark.parametrize("fail", [False, True])
def test_analyze_restores_modes_buffers_and_the_rng(mode, fake, fail):
    model = Mixed(fail)
    model.train()
    model.frozen.eval()                               # a mix of modes, as a fine-tuning script leaves it
    modes = _modes(model)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    torch.manual_seed(1234)
    state = torch.random.get_rng_state()
    if fail:
        with pytest.raises(ModelRunError, match="RuntimeError: failed after using the RNG"):
            attncost.analyze(model, (3, 8, 8), mode=mode, fake=fake)
    else:
        attncost.analyze(model, (3, 8, 8), mode=mode, fake=fake)
    assert _modes(model) == modes
    assert all(torch.equal(buffers[k], v) for k, v in model.named_buffers())
    assert torch.equal(torch.random.get_rng_state(), state)
    after = torch.rand(5)
    torch.manual_seed(1234)
    assert torch.equal(after, torch.rand(5))          # the next draw is the one it would have been


def test_formula_restores_modes_and_the_rng():
    model = Mixed()
    model.eval()
    modes = _modes(model)
    state = torch.random.get_rng_state()
    attncost.formula(model, "3xHxW", mode="train")
    assert _modes(model) == modes and torch.equal(torch.random.get_rng_state(), state)


MODELS = '''
import sys
import torch

class Exits(torch.nn.Module):
    def forward(self, x):
        sys.exit(3)

class Raises(torch.nn.Module):
    def forward(self, x):
        raise ValueError("bad input\\nsecond line")

def build_exit():
    sys.exit(0)

def build_exit_code():
    sys.exit(5)

def build_raises():
    raise KeyError("missing")

def build_needs(n):
    return torch.nn.Linear(n, n)

def build_number():
    return 3

def build_forward_exits():
    return Exits()

def build_forward_raises():
    return Raises()

def build_linear():
    return torch.nn.Linear(5, 5)

class MyBug(torch.nn.Module):
    def forward(self, x):
        raise ValueError("my bug")

def build_my_bug():
    return MyBug()

def build_lstm():
    return torch.nn.LSTM(8, 4)         # takes (L, H_in) or (L, N, H_in): 3x8x8 is a batch of 3 sequences
'''


@pytest.fixture
def models(tmp_path, monkeypatch):
    """models.py in the working directory, named as a user types it."""
    (tmp_path / "models.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    return "models.py"


def _error(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and result.stdout == "", (args, result.output)
    assert len(lines[0]) <= 200 and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("function, expected", [
    ("build_exit", "build_exit() failed: SystemExit: sys.exit(0) was called"),
    ("build_exit_code", "build_exit_code() failed: SystemExit: sys.exit(5) was called"),
    ("build_raises", "build_raises() failed: KeyError: 'missing'"),
    ("build_needs", "build_needs() failed: TypeError: build_needs() missing 1 required positional argument: 'n'"),
    ("build_number", "build_number() returned int, not an nn.Module"),
    ("build_forward_exits", "the forward on 1x3x8x8 failed: SystemExit: sys.exit(3) was called"),
    ("build_forward_raises", "the forward on 1x3x8x8 failed: ValueError: bad input"),
    ("build_linear", "the forward on 1x3x8x8 failed: RuntimeError: mat1 and mat2 shapes cannot be multiplied"),
])
def test_the_users_code_failing_is_one_line_naming_it(models, function, expected):
    for command in (["network", f"{models}:{function}", "--shape", "3x8x8"],
                    ["formula", f"{models}:{function}", "--shape", "3xHxW"],
                    ["crossover", f"{models}:{function}", "se", "--shape", "3xHxW", "--range", "1", "8"]):
        line = _error(*command)
        assert line.startswith(f"Error: {models}:{function}: "), line
        if command[0] == "network" or "forward" not in expected:
            assert expected in line, line
        else:                                          # traced on FakeTensors with symbolic sizes
            assert "the forward on FakeTensors on" in line and expected.split(" failed: ")[1].split(":")[0] in line


HINT = "(CxHxW got a batch of 1; --exact-shape / exact_shape=True adds none)"


@pytest.mark.parametrize("function, shape, message, hinted", [
    # nn.LSTM takes 2-dim or 3-dim input; the batch of 1 in front of 3x8x8 makes it 4-dim
    ("build_lstm", ["3x8x8"], "ValueError: LSTM: Expected input to be 2D or 3D, got 4D instead", True),
    ("build_lstm", ["3x8x8", "--exact-shape"], None, False),     # as written: it runs
    # the model's own error has nothing to do with the batch dimension
    ("build_my_bug", ["3x8x8"], "the forward on 1x3x8x8 failed: ValueError: my bug", False),
    # mat1 (24x8) times Linear(5, 5)'s weight: the last size is wrong, not the rank
    ("build_linear", ["3x8x8"], "RuntimeError: mat1 and mat2 shapes cannot be multiplied (24x8 and 5x5)", False),
])
def test_the_batch_hint_comes_only_with_a_rank_mismatch(models, function, shape, message, hinted):
    if message is None:
        result = CliRunner().invoke(cli, ["network", f"{models}:{function}", "--shape", *shape])
        assert result.exit_code == 0, result.output
        return
    line = _error("network", f"{models}:{function}", "--shape", *shape)
    assert message in line, line
    assert (HINT in line) is hinted, line
    assert line.endswith(HINT) if hinted else line.endswith(message)


def test_the_batch_hint_is_not_given_where_no_batch_was_added(models):
    line = _error("network", f"{models}:build_my_bug", "--shape", "1x3x8x8")
    assert line.endswith("the forward on 1x3x8x8 failed: ValueError: my bug"), line


def test_load_model_errors_keep_the_cause(models):
    with pytest.raises(ModelRunError) as info:
        load_model(f"{models}:build_exit_code")
    assert isinstance(info.value.__cause__, SystemExit) and info.value.__cause__.code == 5


def test_real_tensors_are_bounded_fake_ones_are_not(models):
    model = torch.nn.Linear(5, 5)
    with pytest.raises(ShapeError, match="real tensors are allocated only up to"):
        attncost.analyze(model, (REAL_MAX_ELEMENTS + 1, 5), fake=False, exact_shape=True)
    assert attncost.analyze(model, (REAL_MAX_ELEMENTS + 1, 5), exact_shape=True).fake
    line = _error("network", f"{models}:build_linear", "--shape", "100000x100000x5", "--no-fake")
    assert "--fake" in line and "100000x100000x5" in line
    with pytest.raises(AttncostError, match="at most 2147483648"):
        attncost.analyze(model, (2 ** 31 + 1, 5), exact_shape=True)


def test_debug_shows_the_traceback_of_the_users_code(models, monkeypatch):
    args = ["network", f"{models}:build_raises", "--shape", "3x8x8"]
    flag = CliRunner().invoke(cli, ["--debug", *args])
    assert flag.exit_code == 2 and "Traceback" in flag.stderr and "KeyError: 'missing'" in flag.stderr
    assert flag.stderr.strip().splitlines()[-1].startswith(f"Error: {models}:build_raises: ")
    monkeypatch.setenv("ATTNCOST_DEBUG", "1")
    env = CliRunner().invoke(cli, args)
    assert env.exit_code == 2 and 'raise KeyError("missing")' in env.stderr
    monkeypatch.delenv("ATTNCOST_DEBUG")
    assert "Traceback" not in CliRunner().invoke(cli, args).stderr


def test_a_bug_is_one_line_and_exit_70_unless_debugging(monkeypatch):
    from attncost import api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "compare", broken)
    result = CliRunner().invoke(cli, ["compare", "se", "--shape", "64x8x8"])
    assert result.exit_code == 70 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("Error: internal error (a bug in attncost, please report it with the output "
                                     "of --debug): ZeroDivisionError: a bug")
    debug = CliRunner().invoke(cli, ["--debug", "compare", "se", "--shape", "64x8x8"])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_a_real_process_exits_2_when_the_model_calls_sys_exit_0(models):
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", f"{models}:build_exit"],
                          capture_output=True, text=True, timeout=120, cwd=".")
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr.strip() == f"Error: {models}:build_exit: build_exit() failed: SystemExit: sys.exit(0) was called"
