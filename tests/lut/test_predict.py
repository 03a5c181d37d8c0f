"""The analytic predictor: roofline arithmetic by hand, profile errors, no torch."""

import subprocess
import sys

import pytest

from attncost.errors import LutError
from attncost.lut.predict import load_profile, segment_seconds


def test_stem_time_by_hand(tiny_space):
    profile = {"macs_per_s": 1e9, "other_ops_per_s": 1e9, "bytes_per_s": 1e9, "seconds_per_op": 1e-6}
    # conv 3x32x32 -> 8x16x16: max(55296 MACs, 21344 B) / 1e9;
    # batch norm: 2048 norm.batch + 2048 norm.affine elements vs 4 (2048 in + 16 affine + 2048 out) B;
    # in-place ReLU: 2048 elements vs 4 * 2048 B read; plus 3 ops x 1 us
    conv = max(8 * 16 * 16 * 27, 4 * (3 * 32 * 32 + 8 * 27 + 8 * 16 * 16))
    norm = max(2 * 2048, 4 * (2048 + 16 + 2048))
    relu = max(2048, 4 * 2048)
    assert segment_seconds(tiny_space, "stem", profile) == pytest.approx((conv + norm + relu) / 1e9 + 3e-6)


@pytest.mark.parametrize("text, words", [
    ("{}", "not a device profile"),
    ('{"format": "attncost-device-profile", "macs_per_s": 0, "other_ops_per_s": 1, "bytes_per_s": 1, '
     '"seconds_per_op": 0}', "macs_per_s must be a positive number"),
    ('{"format": "attncost-device-profile", "macs_per_s": 1, "other_ops_per_s": 1, "bytes_per_s": 1}',
     "seconds_per_op must be a non-negative number"),
    ("{: bad", "not a JSON/YAML device profile"),
])
def test_bad_profiles(tmp_path, text, words):
    path = tmp_path / "profile.json"
    path.write_text(text)
    with pytest.raises(LutError, match=words):
        load_profile(path)


YAML_PROFILE = ("format: attncost-device-profile\nversion: 1\nname: yaml\nmacs_per_s: 2e10\nother_ops_per_s: 4.0e+9\n"
                "bytes_per_s: 1.2e10\nseconds_per_op: 6e-6\n")


def _bomb() -> str:
    """A billion-laughs profile: 9 anchors of 9 aliases each (9^9 values)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\nformat: attncost-device-profile\nmacs_per_s: *l8\n"


def test_a_yaml_profile_reads_numbers_as_yaml_1_2_does(tmp_path):
    # QA: YAML 1.1 reads 2e10 as a string, and the profile was refused (macs_per_s ... got "2e10")
    path = tmp_path / "profile.yaml"
    path.write_text(YAML_PROFILE)
    profile = load_profile(path)
    assert (profile["macs_per_s"], profile["other_ops_per_s"], profile["seconds_per_op"]) == (2e10, 4e9, 6e-6)


BAD_PROFILES = [
    ("alias-bomb.yaml", _bomb(), ":6: more than 200,000 values once its aliases are expanded (an alias bomb?)"),
    ("duplicate.yaml", YAML_PROFILE + "macs_per_s: 5\n",
     ":8: a device profile gives 'macs_per_s' twice (first at line 4)"),
    ("duplicate-nested.yaml", YAML_PROFILE + "fitted_on: {table: a, table: b}\n",
     ":8: fitted_on gives 'table' twice (first at line 8)"),
    ("duplicate.json", '{"format": "attncost-device-profile", "macs_per_s": 1, "macs_per_s": 2}',
     ': gives "macs_per_s" twice in one object'),
    ("latin-1.yaml", "name: caf\xe9\n".encode("latin-1"), ":1: not UTF-8 text (byte 0xe9 at column 10)"),
    ("empty.yaml", "", ":1: a device profile must be a mapping (the file is empty)"),
    ("a-list.yaml", "- 1\n- 2\n", ":1: a device profile must be a mapping"),
    ("nan.yaml", YAML_PROFILE.replace("1.2e10", ".nan"), ":6: bytes_per_s must be a positive number (got NaN)"),
    ("missing.yaml", YAML_PROFILE.replace("seconds_per_op: 6e-6\n", ""),
     ":1: seconds_per_op must be a non-negative number (missing)"),
    ("malformed.yaml", "format: attncost-device-profile\nmacs_per_s: [1\n", ":3: not a JSON/YAML device profile ("),
    ("python-tag.yaml", "format: !!python/object/apply:os.system ['true']\n", ":1: not a JSON/YAML device profile ("),
]


@pytest.mark.parametrize("name, content, expect", BAD_PROFILES, ids=[case[0] for case in BAD_PROFILES])
def test_a_bad_profile_file_is_one_line_naming_file_and_line(tmp_path, name, content, expect):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LutError) as error:
        load_profile(path)
    assert str(error.value).startswith(f"{path}{expect}"), str(error.value)
    assert _cli(tmp_path, str(path)).startswith(f"Error: {path}{expect.split(' ')[0]}")


def test_a_directory_given_as_the_profile_is_one_line(tmp_path):
    folder = tmp_path / "profile.yaml"
    folder.mkdir()
    with pytest.raises(LutError, match="cannot read \\(a directory, not a regular file\\)"):
        load_profile(folder)
    assert "profile.yaml" in _cli(tmp_path, str(folder))


def _cli(folder, profile) -> str:
    """The one line of ``lut predict`` with ``--device-profile PROFILE``, which exits with code 2 and writes nothing."""
    from click.testing import CliRunner

    from attncost.cli.main import cli

    out = folder / "predicted.json"
    result = CliRunner().invoke(cli, ["lut", "predict", "specs/singlepath-tiny.yaml", "--device-profile", profile,
                                      "-o", str(out)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and not out.exists(), result.stderr
    return lines[0]


def test_prediction_imports_no_torch():
    code = ("import sys; from attncost.lut.space import load_space; from attncost.lut.predict import predict_table; "
            "p = {'macs_per_s': 1e10, 'other_ops_per_s': 1e10, 'bytes_per_s': 1e10, 'seconds_per_op': 0}; "
            "t = predict_table(load_space('specs/singlepath-space-attention.yaml'), p); "
            "t.architecture_ms([('k3e1', 'none')] + [('k5e6', 'cbam')] * 20 + [('k3e6', 'none')]); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
