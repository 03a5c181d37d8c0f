"""`attncost network FILE.py:FN` with any inputs, dtypes, modes, FakeTensors and attention patterns;
bad input is one line and exit code 2."""

import json
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

import attncost
from attncost.cli.main import cli

FIXTURES = Path(__file__).parents[1] / "fixtures"
ZOO = FIXTURES / "user_zoo.py"
sys.path.insert(0, str(FIXTURES))
import user_zoo as zoo  # noqa: E402


def network(*args) -> dict:
    result = CliRunner().invoke(cli, ["network", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_tokens_patterns_modes_and_dtypes():
    plain = network(f"{ZOO}:build_blocks", "--shape", "2x6x32", "--exact-shape", "--convention", "macs")
    python = attncost.analyze(zoo.Blocks(), [(2, 6, 32)])
    assert plain["totals"]["macs"] == python.network.total.macs
    assert plain["inputs"] == "2x6x32" and plain["mode"] == "eval" and plain["fake_tensors"] is False
    assert plain["attention_share"]["macs"] == python.network.attention_share("macs")["macs"]   # softmax-matmul
    marked = network(f"{ZOO}:build_blocks", "--shape", "2x6x32", "--exact-shape", "--attention-modules",
                     "blocks.*.attn", "--convention", "macs")
    by_path = attncost.analyze(zoo.Blocks(), [(2, 6, 32)], attention_modules="blocks.*.attn")
    assert marked["attention_share"]["macs"] == by_path.network.attention_share("macs")["macs"]
    assert marked["attention_share"]["params"] == by_path.network.attention_share("macs")["params"] > 0
    train = network(f"{ZOO}:build_blocks", "--shape", "2x6x32", "--exact-shape", "--mode", "train-forward")
    assert train["mode"] == "train" and train["totals"]["flops"] > plain["totals"]["flops"]
    half = network(f"{ZOO}:build_blocks", "--shape", "2x6x32", "--exact-shape", "--dtype", "float16")
    assert half["dtype"] == "float16" and 2 * half["totals"]["peak_bytes"] == plain["totals"]["peak_bytes"]


def test_example_inputs_need_no_shape_and_several_shapes_are_comma_separated():
    example = network(f"{ZOO}:build_image_and_text")
    given = network(f"{ZOO}:build_image_and_text", "--shape", "1x3x32x32,1x7:int64")
    assert example["totals"] == given["totals"] and example["inputs"] == "1x3x32x32:float32,1x7:int64"
    assert example["shape"] == [1, 3, 32, 32]


def test_fake_tensors_from_the_command_line():
    real = network(f"{ZOO}:build_nonlocal", "--shape", "3x32x32")
    fake = network(f"{ZOO}:build_nonlocal", "--shape", "3x32x32", "--fake")
    assert fake["fake_tensors"] and not real["fake_tensors"] and fake["totals"] == real["totals"]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "attncost.cli", "network", f"{ZOO}:build_nonlocal", "--shape",
                           "3x2048x2048", "--format", "json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert time.perf_counter() - start < 60
    big = json.loads(proc.stdout)
    assert big["fake_tensors"] and big["totals"]["attention_map_bytes"] == 4 * (512 * 512) ** 2


def test_bad_input_is_one_line_and_exit_code_two():
    for args in (["network", f"{ZOO}:build_mha", "--shape", "2x6x16"],          # read as CxHxW, batch 1
                 ["network", f"{ZOO}:build_mha", "--shape", "2x6x16:float8"],
                 ["network", f"{ZOO}:build_branchy", "--shape", "3x8x8", "--fake"],
                 ["network", f"{ZOO}:build_nonlocal", "--dtype", "int8"],
                 ["network", "resnet18", "--fake"],
                 ["network", "resnet18", "--shape", "196x768"],
                 ["network", "resnet18", "--attention-modules", "layer1.*"]):
        proc = subprocess.run([sys.executable, "-m", "attncost.cli", *args], capture_output=True, text=True)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
    hint = subprocess.run([sys.executable, "-m", "attncost.cli", "network", f"{ZOO}:build_mha", "--shape", "2x6x16"],
                          capture_output=True, text=True)
    assert "--exact-shape" in hint.stderr


def test_an_attention_pattern_matching_no_module_is_an_error():
    # it would mark nothing as attention (share 0 %), like --checkpoint's patterns that match nothing
    for command in (["network", f"{ZOO}:build_blocks", "--shape", "2x6x32", "--exact-shape"],
                    ["formula", f"{ZOO}:build_blocks", "--shape", "2x6xD", "--exact-shape"]):
        result = CliRunner().invoke(cli, [*command, "--attention-modules", "nothere.*"])
        assert result.exit_code == 2 and "'nothere.*' match no module" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_an_empty_pattern_is_an_error():
    for option in ("--checkpoint", "--train-only"):
        for value in ("", ",", "se,,cbam"):
            result = CliRunner().invoke(cli, ["network", "resnet18", "--mode", "train", option, value])
            assert result.exit_code == 2 and f"{option} {value!r} holds an empty pattern" in result.output
    result = CliRunner().invoke(cli, ["network", f"{ZOO}:build_blocks", "--shape", "2x6x32", "--exact-shape",
                                      "--attention-modules", ""])
    assert result.exit_code == 2 and "holds an empty pattern" in result.output
