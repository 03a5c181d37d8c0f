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


def test_prediction_imports_no_torch():
    code = ("import sys; from attncost.lut.space import load_space; from attncost.lut.predict import predict_table; "
            "p = {'macs_per_s': 1e10, 'other_ops_per_s': 1e10, 'bytes_per_s': 1e10, 'seconds_per_op': 0}; "
            "t = predict_table(load_space('specs/singlepath-space-attention.yaml'), p); "
            "t.architecture_ms([('k3e1', 'none')] + [('k5e6', 'cbam')] * 20 + [('k3e6', 'none')]); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
