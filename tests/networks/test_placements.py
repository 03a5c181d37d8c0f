"""Attention placements: stages numbered as the breakdown numbers them, on every reference network,
and a placement that would insert nothing is an error (in spec files with file and line)."""

import pytest

from attncost.cost import Program
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import DEFINITIONS, AttentionPlacement, definition, forward, load_spec, with_attention

SHAPE = (1, 3, 64, 64)
#: the networks that take placements (transformers, ViT and Swin-T, have no CNN stages: supported_placements == ())
CNNS = sorted(n for n in DEFINITIONS if getattr(type(definition(n)), "supported_placements", None) != ())


def stage_rows(spec) -> dict:
    g = Program()
    result = walk(g, forward(g, g.input(SHAPE), spec))
    return {row["stage"]: (row["params"], row["macs"]) for row in result.breakdown("stage", "macs")}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_the_breakdown_names_the_stages_placements_take(name):
    spec = definition(name)
    stages = [row for row in stage_rows(spec) if row.startswith("stage")]
    assert stages == [f"stage{s}" for s in spec.stage_blocks()]


def _policies(name):
    spec = definition(name)
    last = max(spec.stage_blocks())
    for stage in spec.stage_blocks():
        yield "every_block", stage, AttentionPlacement("se", "every_block", (stage,))
        supported = getattr(type(spec), "supported_placements", None)
        if supported is None or "after_blocks" in supported:                  # ResNets, RegNets: the insertions
            yield "after_blocks", stage, AttentionPlacement("eca", "after_blocks", (stage,), (0,))
            if stage != last:
                yield "after_stage", stage, AttentionPlacement("eca", "after_stage", (stage,))


@pytest.mark.parametrize("name", CNNS)
def test_inserting_at_stage_k_changes_exactly_stage_k(name):
    spec = definition(name)
    plain = stage_rows(spec)
    for where, stage, placement in _policies(name):
        rows = stage_rows(with_attention(spec, [placement]))
        assert list(rows) == list(plain), (where, stage)
        assert [row for row in rows if rows[row] != plain[row]] == [f"stage{stage}"], (name, where, stage)


@pytest.mark.parametrize("name", CNNS)
def test_a_stage_the_network_lacks_names_its_range(name):
    spec = definition(name)
    last = max(spec.stage_blocks())
    with pytest.raises(SpecError, match=f"{name} has stages 1..{last}, not {last + 1}"):
        with_attention(spec, [AttentionPlacement("se", "every_block", (last + 1,))])


def test_vit_takes_no_placement():
    with pytest.raises(SpecError, match="attention placements apply to CNN stages"):
        with_attention(definition("vit-b16"), [AttentionPlacement("se")])


@pytest.mark.parametrize("placement, message", [
    (AttentionPlacement("bam", "after_stage", (4,)), "after_stage at stage 4 inserts nothing"),
    (AttentionPlacement("bam", "after_stage", (2, 3, 4)), "after_stage at stage 4 inserts nothing"),
    (AttentionPlacement("nonlocal", "after_blocks", (3,), (6,)), "stage 3 of resnet50 has blocks 0..5, none of 6"),
    (AttentionPlacement("nonlocal", "after_blocks", (1, 3), (4,)), "stage 1 of resnet50 has blocks 0..2, none of 4"),
    (AttentionPlacement("nonlocal", "after_blocks", (3,), (1, 7)), "block 7 is in none of the stages"),
    (AttentionPlacement("nonlocal", "after_blocks", None, (6,)), "block 6 is in none of the stages"),
    (AttentionPlacement("se", "every_block", (0, 5)), "resnet50 has stages 1..4, not 0, 5"),
])
def test_a_placement_that_inserts_nothing_is_an_error(placement, message):
    with pytest.raises(SpecError, match=message):
        with_attention(definition("resnet50"), [placement])


def test_placements_that_insert_everywhere_named_pass():
    # the papers' placements: BAM after stages 1-3, Non-local after blocks 1, 3, 5 of res4, GC in c3-c5
    spec = with_attention(definition("resnet50"), [AttentionPlacement("bam", "after_stage", (1, 2, 3)),
                                                   AttentionPlacement("nonlocal", "after_blocks", (3,), (1, 3, 5)),
                                                   AttentionPlacement("nonlocal", "after_blocks", (3, 4), (1,)),
                                                   AttentionPlacement("gc", "every_block", (2, 3, 4))])
    assert len(spec.attention) == 4
    # stages left out: every stage (after_stage: all but the last)
    assert with_attention(definition("mobilenet-v2"), [AttentionPlacement("se")]).attention[0].stages is None


@pytest.mark.parametrize("attention, line, message", [
    ("{module: se, where: after_stage, stages: [4]}", 2, "after_stage at stage 4 inserts nothing"),
    ("{module: nonlocal, where: after_blocks, stages: [3], blocks: [6]}", 2, "none of 6"),
    ("{module: se, stages: [5]}", 2, "resnet50 has stages 1..4, not 5"),
    ("{module: se, blocks: [1]}", 2, "blocks apply only to where=after_blocks"),
    ("{module: se, stages: [3, 3]}", 2, "stages lists 3 more than once"),
    ("{module: se, stages: []}", 2, "non-empty list"),
    # an unknown key inside attention: at its line, the closest key suggested, as at the top level
    ("{module: se, wher: every_block}", 2, "unknown key 'wher' in attention (known: module, where, stages, blocks, "
                                           "hp); did you mean 'where'?"),
    ("\n  module: se\n  stagez: [1]", 4, "did you mean 'stages'?"),
    ("\n  - {module: se}\n  - {module: bam, hpp: {r: 8}}", 4, "unknown key 'hpp' in attention"),
    ("\n  - {module: se}\n  - {module: bam, where: after_stage, stages: [3, 4]}", 4, "at stage 4 inserts nothing"),
])
def test_spec_files_get_the_same_errors_with_file_and_line(tmp_path, attention, line, message):
    path = tmp_path / "spec.yaml"
    path.write_text(f"network: resnet50\nattention: {attention}\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value).startswith(f"{path}:{line}:") and message in str(error.value), str(error.value)


def test_spec_file_choices_are_case_insensitive(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("network: ResNet50\nattention: {module: SE, where: Every_Block, stages: [4]}\n")
    placement = load_spec(path).attention[0]
    assert (placement.module, placement.where, placement.stages) == ("se", "every_block", (4,))


def test_an_unknown_placement_key_is_suggested_outside_spec_files_too():
    # the Python API and definitions' replace_conv build placements from dicts
    from attncost.networks import placement_from_dict

    with pytest.raises(SpecError, match="attention: unknown key\\(s\\) wher .*; did you mean 'where'\\?$"):
        placement_from_dict({"module": "se", "wher": "every_block"})


@pytest.mark.parametrize("key", ["stages", "blocks"])
def test_repeats_in_a_long_list_are_found_in_linear_time(key):
    # QA: 150,000 stages took 29 s (a count per entry: quadratic); the brief allows 3 s
    import time

    from attncost.networks import placement_from_dict

    data = {"module": "nonlocal", "where": "after_blocks", "blocks": [1]} if key == "stages" else \
        {"module": "nonlocal", "where": "after_blocks"}
    data[key] = [1] * 150_000
    start = time.perf_counter()
    with pytest.raises(SpecError, match=f"^attention: {key} lists 1 more than once$"):
        placement_from_dict(data)
    assert time.perf_counter() - start < 3
    # many different repeats: the first ten are named, then how many more
    data[key] = list(range(1, 13)) * 2
    with pytest.raises(SpecError, match=f"{key} lists 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 others more than once$"):
        placement_from_dict(data)
