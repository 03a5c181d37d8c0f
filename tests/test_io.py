"""attncost.io.parse_json tells a file cut short from a damaged one, wherever the cut falls.

A table cut at an arbitrary byte ends anywhere: between tokens, inside a string, inside ``null`` or a
number. Each cut below is written by hand; the expected word is what a reader would call it.
"""
import pytest

from attncost.errors import SpecError
from attncost.io import parse_json

WHOLE = ('{"name": "layer1:k3e3", "ci_low_ms": null, "ok": true, "bad": false, "median_ms": -1.25e-3, '
         '"n": 5, "values": [1, 2.5]}')


@pytest.mark.parametrize("cut_after", ['"ci_low_ms": n', '"ci_low_ms": nul', '"ok": tr', '"bad": fa',
                                       '"median_ms": -', '"median_ms": -1.', '"median_ms": -1.25e',
                                       '"median_ms": -1.25e-', '"n": 5', '"values": [1,', '"name": "lay',
                                       '"name"', '"name":'])
def test_a_cut_anywhere_reads_as_truncated(cut_after):
    text = WHOLE[: WHOLE.index(cut_after) + len(cut_after)]
    with pytest.raises(SpecError, match=r"not a complete JSON file \(truncated at line 1"):
        parse_json(text, "table.json")


@pytest.mark.parametrize("damaged", ['{"a": nx}', '{"a": 1.x}', '{"a": }', '{"a": tru e}', '{"a" 1}',
                                     '{"a": 1,, "b": 2}'])
def test_damage_inside_the_text_reads_as_corrupt(damaged):
    with pytest.raises(SpecError, match=r"not a complete JSON file \(corrupt at line 1"):
        parse_json(damaged, "table.json")


def test_a_whole_file_parses():
    assert parse_json(WHOLE, "table.json")["values"] == [1, 2.5]
