"""Bad input, fuzzed over every command: one line on stderr naming the input, exit code 2.

hypothesis draws bad shapes (non-ASCII digits such as ``²56``, 5,000-digit sizes, zero, negative,
above 2^31, more than 2^62 elements, NaN, garbage), bad hyperparameters of every catalogue entry (NaN
and inf floats, out-of-range and non-ASCII integers, unknown keys and modules, a module not compared),
bad option values (``--samples``, ``--range``, ``--depth``, ``--stages``, ``--hint``, choices, the lut
options) and users' model files whose import, builder or forward raises, calls ``sys.exit()``, needs
an argument, returns no module or does not match the shape; over list, compare, formula, crossover,
network, verify, report and lut. Every case must exit with code 2 within the time limit, print
exactly one line on stderr (``Error: ...``, at most 200 characters) that names the input (the option,
the value, the module or FILE.py:FN), no "Traceback", nothing on stdout, and create no file.

The bulk runs in-process through click's CliRunner (fast, deterministic examples); a sample runs as
real processes (``python -m attncost.cli``). ``pytest -m slow tests/fuzz`` runs more examples, drawn
at random. The counts by kind are printed at the end of the run ("fuzz cases: ...").
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attncost import catalogue
from attncost.cli.main import MAX_SAMPLES, cli
from attncost.crossings import MAX_RANGE
from attncost.numbers import MAX_INT

#: seconds one case may take, in-process and as a real process (which starts Python, and for users'
#: models imports torch)
TIME_LIMIT = 20
PROCESS_LIMIT = 60
SPECS = Path(__file__).parents[2] / "specs"


class Hung(KeyboardInterrupt):
    """Raised by the alarm when a case runs past TIME_LIMIT (a KeyboardInterrupt, so that nothing on
    the way mistakes it for the user's code failing)."""


@dataclass(frozen=True)
class Case:
    kind: str
    args: tuple
    names: tuple = ()            # the error line contains one of these (the option, the value, ...)
    required: tuple = ()         # ... and all of these (FILE.py:FN and the exception's type)

    def describe(self) -> str:
        return f"[{self.kind}] attncost " + " ".join(repr(a)[:80] for a in self.args)


def _listing(*folders) -> list:
    return [sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")) for folder in folders]


def check(case: Case, code, stdout: str, stderr: str, elapsed: float, limit: float) -> None:
    where = case.describe()
    assert elapsed < limit, f"{where}: took {elapsed:.1f} s"
    assert "Traceback" not in stderr, f"{where}:\n{stderr[-2000:]}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, f"{where}: exit code {code}, stderr {stderr[-1000:]!r}"
    assert len(lines) == 1, f"{where}: {len(lines)} lines on stderr: {stderr[-1000:]!r}"
    line = lines[0]
    assert line.startswith("Error: ") and len(line) <= 200, f"{where}: {line!r} ({len(line)} characters)"
    assert not case.names or any(n in line for n in case.names), f"{where}: {line!r} names none of {case.names}"
    assert all(n in line for n in case.required), f"{where}: {line!r} lacks one of {case.required}"
    assert stdout == "", f"{where}: stdout {stdout[:500]!r}"


def run_in_process(case: Case, *folders) -> None:
    before = _listing(*folders)

    def alarm(signum, frame):
        raise Hung(f"{case.describe()} ran past {TIME_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    start = time.monotonic()
    try:
        result = CliRunner().invoke(cli, list(case.args))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    check(case, result.exit_code, result.stdout, result.stderr, time.monotonic() - start, TIME_LIMIT)
    assert _listing(*folders) == before, f"{case.describe()}: created a file"


def run_as_process(case: Case, cwd: Path, *folders) -> None:
    before = _listing(cwd, *folders)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("ATTNCOST_DEBUG", None)
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "attncost.cli", *case.args], capture_output=True, text=True,
                              timeout=PROCESS_LIMIT, cwd=cwd, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.describe()}: ran past {PROCESS_LIMIT} s")
    check(case, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start, PROCESS_LIMIT)
    assert _listing(cwd, *folders) == before, f"{case.describe()}: created a file"


# -- strategies --------------------------------------------------------------------------------------

#: digits that are not ASCII: str.isdigit() is true for ², int() reads ٣ and ５, attncost reads neither
NON_ASCII_DIGIT = st.characters(categories=("Nd", "No"), exclude_characters="0123456789")
ASCII_DIGITS = st.text("0123456789", max_size=3)
NON_ASCII_NUMBER = st.tuples(ASCII_DIGITS, NON_ASCII_DIGIT, ASCII_DIGITS).map("".join)
HUGE = st.builds(lambda n, first: first + "9" * (n - 1), st.integers(11, 5000), st.sampled_from("123456789"))
NON_FINITE = st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "-Infinity", "1e400",
                              "-1e999", "1e309"])
NOT_AN_INTEGER = st.sampled_from(["1.5", "1e3", "0x10", "1_000", "½", "four", "", " ", "1 2", "--1", "4."])
#: text that is no number and no letter a shape could mean (no ASCII letters or digits, no separators)
GARBAGE = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp"),
                                exclude_characters="0123456789xX×,:="), min_size=1, max_size=8).filter(
    lambda t: t.strip() and not re.search(r"[A-Za-z]", t))


def bad_size():
    """One size of a shape that is wrong whatever the command."""
    return st.one_of(NON_ASCII_NUMBER, HUGE, st.integers(MAX_INT + 1, 10 ** 15).map(str),
                     st.sampled_from(["0", "00", "-0", "+4"]), st.integers(-10 ** 6, -1).map(str),
                     NOT_AN_INTEGER.filter(lambda t: "x" not in t), NON_FINITE.filter(lambda t: "x" not in t),
                     GARBAGE)


@st.composite
def bad_shape(draw, catalogue_rank=True):
    """A shape with one bad size among good ones; for the catalogue also a wrong rank or too many elements."""
    kinds = ["size", "size", "size"] + (["rank", "elements"] if catalogue_rank else ["elements"])
    kind = draw(st.sampled_from(kinds))
    if kind == "elements":
        sizes = draw(st.lists(st.integers(2 ** 20, MAX_INT), min_size=3, max_size=4).filter(
            lambda s: math.prod(s) > 2 ** 62))
        return "x".join(map(str, sizes))
    good = draw(st.lists(st.integers(1, 64).map(str), min_size=2, max_size=3))
    if kind == "rank":
        return "x".join(draw(st.lists(st.integers(1, 64).map(str), min_size=1, max_size=6).filter(
            lambda s: len(s) not in (3, 4))))
    good.insert(draw(st.integers(0, len(good))), draw(bad_size()))
    return "x".join(good)


def value_names(value: str) -> tuple:
    """What of ``value`` an error line shows: a piece of it as ``repr`` writes it (errors quote values)."""
    shown = repr(value)[1:-1]
    return (shown[:12],) if shown else ()


@st.composite
def shape_cases(draw, model):
    catalogue_commands = [("compare", "se", "--shape", "{}"),
                          ("compare", "nonlocal", "eca", "--shape", "{}", "--format", "json"),
                          ("crossover", "nonlocal", "ccnet", "--shape", "{}"),
                          ("report", "--modules", "se", "--shape", "{}", "-o", "out.html")]
    input_commands = [("network", "resnet18", "--shape", "{}"),
                      ("network", f"{model}:build", "--shape", "{}"),
                      ("formula", f"{model}:build", "--shape", "{}")]
    command = draw(st.sampled_from(catalogue_commands + input_commands))
    shape = draw(bad_shape(catalogue_rank=command in catalogue_commands))
    return Case("shape", tuple(shape if a == "{}" else a for a in command), ("--shape",) + value_names(shape))


def _hp_cases():
    """(entry, hyperparameter) pairs with a strategy of bad values each."""
    pairs = []
    for entry in catalogue.entries():
        for h in entry.hyperparameters:
            values = bad_hp_value(h)
            if values is not None:
                pairs.append((entry.name, h.name, values))
    return pairs


def bad_hp_value(h):
    valid_none = ("none", "auto") if h.optional else ()
    if h.type is float:
        values = st.one_of(NON_FINITE, NON_ASCII_NUMBER, st.sampled_from(["abc", "1,5", "", "0x1p3", "1.2.3"]))
    elif h.type is int:
        maximum = int(h.maximum) if h.maximum is not None else MAX_INT
        options = [NON_ASCII_NUMBER, HUGE, NON_FINITE, NOT_AN_INTEGER,
                   st.integers(maximum + 1, maximum + 10 ** 9).map(str)]
        if h.minimum is not None:
            options.append(st.integers(-10 ** 9, int(h.minimum) - 1).map(str))
        if h.choices is not None:
            options.append(st.integers(-99, 99).filter(lambda v: v not in h.choices).map(str))
        values = st.one_of(options)
    elif h.type is bool:
        values = st.text(max_size=6).filter(lambda t: t.lower() not in ("true", "1", "yes", "false", "0", "no"))
    elif h.type is str and h.choices is not None:
        values = st.text(max_size=12).filter(lambda t: t not in h.choices)
    else:
        return None
    return values.filter(lambda t: t.strip().lower() not in valid_none and "\x00" not in t)


HP_CASES = _hp_cases()
NAMES = [e.name for e in catalogue.entries()]
KNOWN = {name.lower().replace("_", "-") for e in catalogue.entries() for name in (e.name, *e.aliases)}
IDENTIFIER = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)


@st.composite
def hyperparameter_cases(draw):
    name, key, values = draw(st.sampled_from(HP_CASES))
    value = draw(values)
    kind = draw(st.sampled_from(["compare", "formula", "crossover"]))
    assignment = f"{name}.{key}={value}"
    if kind == "compare":
        args = ("compare", name, "--shape", "64x16x16", "--hp", assignment)
    elif kind == "formula":
        args = ("formula", name, "--hp", f"{key}={value}")
    else:
        args = ("crossover", name, "se", "--shape", "64xHxW", "--range", "1", "16", "--hp", assignment)
    return Case("hyperparameter", args, (f"{name}.{key}",))


@st.composite
def hyperparameter_name_cases(draw):
    """Unknown keys, unknown modules, and a module that is not among those compared."""
    name = draw(st.sampled_from(NAMES))
    entry = catalogue.get(name)
    kind = draw(st.sampled_from(["key", "module", "not compared"]))
    if kind == "key":
        key = draw(IDENTIFIER.filter(lambda k: k not in {h.name for h in entry.hyperparameters}))
        return Case("hyperparameter", ("compare", name, "--shape", "64x16x16", "--hp", f"{name}.{key}=1"), (repr(key),))
    if kind == "module":
        module = draw(IDENTIFIER.filter(lambda m: m.replace("_", "-") not in KNOWN))
        return Case("hyperparameter", ("compare", name, "--shape", "64x16x16", "--hp", f"{module}.r=1"),
                    (repr(module),))
    other, key, values = draw(st.sampled_from([c for c in HP_CASES if c[0] != name]))
    command = draw(st.sampled_from(["compare", "crossover"]))
    args = (("compare", name, "--shape", "64x16x16") if command == "compare" else
            ("crossover", name, "se" if other != "se" else "eca", "--shape", "64xHxW", "--range", "1", "8"))
    hp = catalogue.get(other).hp(key)
    return Case("hyperparameter", (*args, "--hp", f"{other}.{key}={hp.default}"), (f"{other}.{key}",))


def bad_int(minimum, maximum):
    """Text that is no integer in [minimum, maximum]."""
    options = [NON_ASCII_NUMBER, HUGE, NOT_AN_INTEGER, NON_FINITE]
    if minimum is not None:
        options.append(st.integers(-10 ** 6, minimum - 1).map(str))
    if maximum is not None:
        options.append(st.integers(maximum + 1, maximum + 10 ** 6).map(str))
    return st.one_of(options)


#: click's own integer types read ٣ and ５ (int() does): for the lut options only what click rejects
CLICK_BAD_INT = st.one_of(st.sampled_from(["²", "½", "x", "1.5", "nan", ""]), st.integers(-10 ** 6, 0).map(str))


@st.composite
def option_cases(draw, model):
    kind = draw(st.sampled_from(["samples", "range", "depth", "stages", "blocks", "attn", "choice", "hint",
                                 "list", "verify-name", "lut", "seed"]))
    if kind == "samples":
        v = draw(bad_int(1, MAX_SAMPLES))
        return Case("option", ("verify", "se", "--samples", v), ("--samples",))
    if kind == "range":
        lo, hi = draw(st.one_of(
            st.tuples(st.integers(1, 10 ** 6), st.integers(0, 10 ** 6)).filter(lambda r: r[1] <= r[0]),
            st.tuples(st.integers(-10 ** 6, 0), st.integers(1, 100)),
            st.tuples(st.integers(1, 100), st.integers(MAX_INT + 1, 10 ** 12)),
            st.tuples(st.integers(1, 10 ** 6), st.integers(MAX_RANGE + 1, MAX_INT)).filter(
                lambda r: r[1] - r[0] + 1 > MAX_RANGE)).map(lambda r: tuple(map(str, r))))
        if draw(st.booleans()):
            lo = draw(bad_int(1, MAX_INT))
        return Case("option", ("crossover", "nonlocal", "ccnet", "--shape", "512xHxW", "--range", lo, hi),
                    ("--range", "range "))
    if kind == "depth":
        v = draw(CLICK_BAD_INT)
        return Case("option", ("network", "resnet18", "--depth", v), ("--depth",))
    if kind == "stages":
        v = draw(st.one_of(bad_int(1, 4), st.sampled_from([",", ",,", "1,,x", "1;2"])))
        return Case("option", ("network", "resnet18", "--attn", "se", "--stages", v), ("stages",))
    if kind == "blocks":
        v = draw(st.one_of(bad_int(0, None), st.sampled_from(["1,x", "a"])))
        return Case("option", ("network", "resnet50", "--attn", "se", "--where", "after_blocks", "--blocks", v),
                    ("blocks",))
    if kind == "attn":
        v = draw(IDENTIFIER.filter(lambda m: m.replace("_", "-") not in KNOWN))
        return Case("option", ("network", "resnet18", "--attn", v), (repr(v),))
    if kind == "choice":
        option, command = draw(st.sampled_from([
            ("--format", ("compare", "se", "--shape", "64x8x8")),
            ("--convention", ("compare", "se", "--shape", "64x8x8")),
            ("--dtype", ("compare", "se", "--shape", "64x8x8")),
            ("--vary", ("crossover", "se", "eca", "--shape", "64xHxW")),
            ("--metric", ("crossover", "se", "eca", "--shape", "64xHxW")), ("--group-by", ("network", "resnet18")),
            ("--where", ("network", "resnet18", "--attn", "se")), ("--family", ("list",)),
            ("--convention", ("report", "--modules", "se", "--shape", "8x8x8", "-o", "out.html")),
            ("--mode", ("network", f"{model}:build"))]))
        # choices match regardless of case (cli/choices.py): no spelling of a valid one is drawn
        v = draw(st.text(max_size=10).filter(lambda t: "\x00" not in t and t.casefold() not in {c.casefold() for c in (
            "table", "json", "csv", "markdown", "full", "macs", "fvcore", "flopcounter", "float32", "float16",
            "bfloat16", "float64", "int8", "H=W", "H", "W", "C", "N", "flops", "params", "peak", "attention-map",
            "activation", "stage", "block", "kind", "op", "every_block", "after_stage", "after_blocks", "channel",
            "spatial", "self-attention", "branch", "other", "nas", "baseline", "eval", "train")}))
        return Case("option", (*command, option, v), (option,))
    if kind == "hint":
        v = draw(st.one_of(st.sampled_from(["H=1", "H=0", "H=-3", "HH=4", "=4", "H=", "H", "é=4", "1=4", "H=²"]),
                           HUGE.map(lambda n: f"W={n}"), NON_ASCII_NUMBER.map(lambda n: f"H={n}")))
        return Case("option", ("formula", f"{model}:build", "--shape", "3xHxW", "--hint", v), ("--hint",))
    if kind == "list":
        v = draw(IDENTIFIER.filter(lambda p: p.replace("_", "-") not in KNOWN and not any(
            p in name for name in KNOWN)))
        return Case("option", ("list", v), (repr(v),))
    if kind == "verify-name":
        v = draw(IDENTIFIER.filter(lambda m: m.replace("_", "-") not in KNOWN))
        return Case("option", ("verify", v), (repr(v),))
    if kind == "seed":
        return Case("option", ("verify", "se", "--seed", draw(st.sampled_from(["x", "1.5", "²", ""]))), ("--seed",))
    option, command = draw(st.sampled_from([
        ("--batch", ("lut", "predict", str(SPECS / "singlepath-tiny.yaml"), "--device-profile", "missing.json")),
        ("--threads", ("lut", "build", str(SPECS / "singlepath-tiny.yaml"), "-o", "table.json")),
        ("--repeats", ("lut", "build", str(SPECS / "singlepath-tiny.yaml"), "-o", "table.json")),
        ("--archs", ("lut", "calibrate-sum", "missing.json")),
        ("--passes", ("lut", "validate", "missing.json")),
        ("--samples", ("lut", "validate", "missing.json"))]))
    return Case("option", (*command, option, draw(CLICK_BAD_INT)), (option,))


# -- users' model files ------------------------------------------------------------------------------

EXCEPTIONS = ("ValueError", "RuntimeError", "KeyError", "TypeError", "ZeroDivisionError", "AssertionError",
              "IndexError", "NotImplementedError", "Boom", "Unprintable", "BaseBoom")
PRELUDE = '''import sys
import torch


class Boom(Exception):
    pass


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message")


class BaseBoom(BaseException):
    pass


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        {forward}
        return y


'''


@st.composite
def failing_code(draw):
    """(Python statement that fails, the exception type the error names)."""
    how = draw(st.sampled_from(["raise", "raise", "exit"]))
    if how == "raise":
        name = draw(st.sampled_from(EXCEPTIONS))
        message = draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=300))
        return f"raise {name}({message!r})", name
    code = draw(st.sampled_from(["", "0", "1", "2", "3", "70", "255", "'bye'", "None"]))
    statement = draw(st.sampled_from(["sys.exit({})", "raise SystemExit({})", "exit({})"]))
    return statement.format(code), "SystemExit"


@st.composite
def user_model_cases(draw, folder: Path):
    where = draw(st.sampled_from(["import", "build", "forward", "forward"]))
    statement, error = draw(failing_code())
    build, forward = "return Model()", "pass"
    if where == "build":
        special = draw(st.sampled_from(["fails", "fails", "argument", "not a module"]))
        if special == "argument":
            build, error = "return Model()", "TypeError"
        elif special == "not a module":
            returned = draw(st.sampled_from(["3", "None", "Model", "[Model()]", "(1, 2, 3)"]))
            build, error = f"return {returned}", "returned"
        else:
            build = statement
    elif where == "forward":
        if draw(st.booleans()):
            forward = statement
        else:                                          # a layer that does not match the input
            forward, error = "y = torch.nn.Linear(7, 2)(y)", "RuntimeError"
    source = PRELUDE.replace("{forward}", forward)
    signature = "n" if where == "build" and special == "argument" else ""
    source += f"def build({signature}):\n    {build}\n" + (f"\n\n{statement}\n" if where == "import" else "")
    index = len(list(folder.glob("m_*.py")))
    path = folder / f"m_{index}.py"
    path.write_text(source)
    reference = f"{path}:build"
    command = draw(st.sampled_from([("network", reference, "--shape", "3x8x8"), ("network", reference),
                                    ("formula", reference, "--shape", "3xHxW"),
                                    ("crossover", reference, "se", "--shape", "3xHxW", "--range", "1", "8")]))
    if command[0] != "network" and error == "RuntimeError" and where == "forward":
        error = "Error"                                # FakeTensors may name it otherwise
    return Case("user model", command, (), (f"{path.name}:build", error))


# -- the tests ---------------------------------------------------------------------------------------

FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
MORE = settings(FAST, max_examples=3000, derandomize=False)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """(the working directory the commands run in, the folder of the users' model files)."""
    return tmp_path_factory.mktemp("cwd"), tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def model(folders):
    """A valid model file, for the cases whose error is in an option, not in the model."""
    path = folders[1] / "valid.py"
    path.write_text(PRELUDE.replace("{forward}", "pass") + "def build():\n    return Model()\n")
    return str(path)


@pytest.fixture
def in_cwd(folders, monkeypatch):
    monkeypatch.chdir(folders[0])
    return folders


def _all_cases(model, folder):
    return st.one_of(shape_cases(model), hyperparameter_cases(), hyperparameter_name_cases(), option_cases(model),
                     user_model_cases(folder))


@FAST
@given(data=st.data())
def test_bad_shapes(data, in_cwd, model, fuzz_cases):
    case = data.draw(shape_cases(model))
    run_in_process(case, *in_cwd)
    fuzz_cases[f"{case.kind}, in-process"] += 1


@settings(FAST, max_examples=160)
@given(data=st.data())
def test_bad_hyperparameters(data, in_cwd, fuzz_cases):
    case = data.draw(st.one_of(hyperparameter_cases(), hyperparameter_cases(), hyperparameter_name_cases()))
    run_in_process(case, *in_cwd)
    fuzz_cases[f"{case.kind}, in-process"] += 1


@settings(FAST, max_examples=120)
@given(data=st.data())
def test_bad_option_values(data, in_cwd, model, fuzz_cases):
    case = data.draw(option_cases(model))
    run_in_process(case, *in_cwd)
    fuzz_cases[f"{case.kind}, in-process"] += 1


@settings(FAST, max_examples=40)
@given(data=st.data())
def test_failing_user_models(data, in_cwd, fuzz_cases):
    case = data.draw(user_model_cases(in_cwd[1]))
    run_in_process(case, *in_cwd)
    fuzz_cases[f"{case.kind}, in-process"] += 1


@settings(FAST, max_examples=6)
@given(data=st.data())
def test_a_sample_as_real_processes(data, folders, model, fuzz_cases):
    case = data.draw(_all_cases(model, folders[1]).filter(lambda c: not any("\x00" in a for a in c.args)))
    run_as_process(case, *folders)
    fuzz_cases[f"{case.kind}, process"] += 1


@settings(FAST, max_examples=2)
@given(data=st.data())
def test_failing_user_models_as_real_processes(data, folders, fuzz_cases):
    case = data.draw(user_model_cases(folders[1]))
    run_as_process(case, *folders)
    fuzz_cases[f"{case.kind}, process"] += 1


def test_a_model_calling_sys_exit_0_as_a_real_process(folders, fuzz_cases):
    """The model's sys.exit(0) ends neither attncost with 0 nor without a word."""
    path = folders[1] / "exits.py"
    path.write_text(PRELUDE.replace("{forward}", "sys.exit(0)") + "def build():\n    return Model()\n")
    run_as_process(Case("user model", ("network", f"{path}:build", "--shape", "3x8x8"), (),
                        ("exits.py:build", "SystemExit: sys.exit(0) was called")), *folders)
    fuzz_cases["user model, process"] += 1


@pytest.mark.slow
@MORE
@given(data=st.data())
def test_more_bad_input_in_process(data, in_cwd, model, fuzz_cases):
    case = data.draw(_all_cases(model, in_cwd[1]))
    run_in_process(case, *in_cwd)
    fuzz_cases[f"{case.kind}, in-process (slow)"] += 1
