"""Attention that replaces a convolution (``where: replace_conv``) and the networks built so: SKNet-50,
ResNeSt-50, BoT50, AA-ResNet-50. The walker equals the tracer on each network's PyTorch build (params,
every op kind, activation and peak memory) at 224 and two other sizes (one of them odd-sized inside,
where ResNeSt's ceil-mode shortcut pools and the strided pools' rounding show); every replaceable
entry, in every stride it meets, equals its torch build in a ResNet-50; what would replace nothing,
or could not, is a one-line error. Published figures: test_paper_tables.py."""

import pytest
import torch
from click.testing import CliRunner

from attncost.cli.main import cli
from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import DEFINITIONS, AttentionPlacement, definition, forward, load_definition, load_spec, \
    with_attention
from attncost.networks.attention import REPLACES_CONV
from attncost.reference.networks import build_network
from attncost.trace import trace_module

REPLACING = ("sknet50", "resnest50", "botnet50", "aa-resnet50")


def walked(spec, shape):
    g = Program()
    return walk(g, forward(g, g.input(shape), spec))


def check_walker_equals_tracer(spec, shape):
    result = walked(spec, shape)
    torch.manual_seed(0)
    model = build_network(spec, shape[2:])
    traced, out_shape, unsupported = trace_module(model, torch.randn(*shape))
    assert not unsupported
    assert differences(result.total, traced) == []
    assert out_shape == (shape[0], 1000)
    assert sum(p.numel() for p in model.parameters()) == result.total.params
    return result


@pytest.mark.parametrize("network, size", [
    *((n, s) for n in ("sknet50", "resnest50", "aa-resnet50") for s in (224, 160, 200)),
    # BoT50's 2x2 pool needs an even c4 map (see test_botnet_at_an_odd_c4_size_is_an_error)
    *(("botnet50", s) for s in (224, 160, 256)),
])
def test_replacing_networks_equal_the_tracer(network, size):
    check_walker_equals_tracer(definition(network), (1, 3, size, size))


@pytest.mark.parametrize("module", sorted(REPLACES_CONV))
@pytest.mark.parametrize("network", ["resnet50", "resnet50-v1"])
def test_every_replaceable_entry_in_a_resnet(module, network):
    # v1.5 puts the stride on the replaced 3x3 (the module strides, or ResNeSt's avd pool follows it);
    # v1 on the first 1x1 (every replacement at stride 1). deform-conv has no stride: stage 1 only in v1.5.
    stages = (1,) if module == "deform-conv" and network == "resnet50" else None
    spec = with_attention(definition(network), [AttentionPlacement(module, "replace_conv", stages)])
    batch = 2 if module in ("condconv", "dynamic-conv") else 1      # the per-sample kernels: groups = N
    result = check_walker_equals_tracer(spec, (batch, 3, 64, 64))
    # the replaced units are attention, in scope attention:NAME
    assert result.attention_share("macs")["macs"] > 0


def test_replacing_in_chosen_stages_changes_exactly_those():
    def stage_rows(spec):
        return {r["stage"]: (r["params"], r["macs"]) for r in walked(spec, (1, 3, 64, 64)).breakdown("stage", "macs")}

    plain = stage_rows(definition("resnet50"))
    rows = stage_rows(with_attention(definition("resnet50"), [AttentionPlacement("condconv", "replace_conv", (2, 4))]))
    assert [s for s in rows if rows[s] != plain[s]] == ["stage2", "stage4"]


def test_replace_conv_and_insertions_combine():
    # SKNet-50 with SE after every block, and ResNet-50 with CondConv in stage 4 and CBAM everywhere
    for spec in (with_attention(definition("sknet50"), [AttentionPlacement("se")]),
                 with_attention(definition("resnet50"), [AttentionPlacement("condconv", "replace_conv", (4,)),
                                                         AttentionPlacement("cbam")])):
        check_walker_equals_tracer(spec, (1, 3, 64, 64))


def test_the_definitions_replace_what_their_papers_replace():
    sk = definition("sknet50").replace_conv
    assert [(p.module, p.stages, p.hp) for p in sk] == [("sk", None, {"branches": 2, "groups": 32, "r": 16,
                                                                       "min_hidden": 32})]
    assert [(p.module, p.stages) for p in definition("botnet50").replace_conv] == [("botnet-mhsa", (4,))]
    assert [(p.module, p.stages) for p in definition("aa-resnet50").replace_conv] == [("aa-conv", (2, 3, 4))]
    resnest = definition("resnest50")
    assert (resnest.deep_stem, resnest.stem_width, resnest.avg_down, resnest.stem_channels) == (True, 32, True, 64)
    # spec files' attention is added to a definition's replacements, never instead of them
    assert with_attention(resnest, [AttentionPlacement("se")]).replace_conv == resnest.replace_conv
    assert set(REPLACING) <= set(DEFINITIONS)


@pytest.mark.parametrize("placements, message", [
    ([AttentionPlacement("se", "replace_conv")], "se cannot replace a convolution"),
    ([AttentionPlacement("sk", "replace_conv", hp={"stride": 2})], "sets sk's stride from the 3x3 conv"),
    ([AttentionPlacement("botnet-mhsa", "replace_conv", hp={"dim_out": 64})], "sets botnet-mhsa's dim_out"),
    ([AttentionPlacement("deform-conv", "replace_conv")], "deform-conv has no stride"),
    ([AttentionPlacement("sk", "replace_conv", (5,))], "resnet50 has stages 1..4, not 5"),
    ([AttentionPlacement("condconv", "replace_conv", (3,)), AttentionPlacement("sk", "replace_conv", (3, 4))],
     "at stage 3: resnet50's 3x3 convs there are condconv already; a conv is replaced once"),
])
def test_a_replacement_that_cannot_be_made_is_an_error(placements, message):
    with pytest.raises(SpecError, match=message):
        with_attention(definition("resnet50"), placements)


@pytest.mark.parametrize("network, placement, message", [
    ("sknet50", AttentionPlacement("condconv", "replace_conv"),
     "sknet50's 3x3 convs there are sk \\(the definition's replace_conv\\) already"),
    ("resnet18", AttentionPlacement("sk", "replace_conv"), "resnet18 is built of basic blocks"),
    ("regnet-y-400mf", AttentionPlacement("sk", "replace_conv"), "where=replace_conv is not supported"),
    ("mobilenet-v2", AttentionPlacement("condconv", "replace_conv"), "where=replace_conv is not supported"),
])
def test_networks_without_a_conv_to_replace_refuse(network, placement, message):
    with pytest.raises(SpecError, match=message):
        with_attention(definition(network), [placement])


def test_botnet_at_an_odd_c4_size_is_an_error():
    # 200 x 200: c4 is 13 x 13; the 2x2 pool gives 6 x 6 where the shortcut's 1x1/2 conv gives 7 x 7,
    # and PyTorch fails at the residual add (timm's BottleneckAttn asserts the feature size)
    with pytest.raises(SpecError, match="botnet-mhsa turns a 1x512x13x13 input into 1x512x6x6, where the 3x3 conv "
                                        "it replaces gives 1x512x7x7"):
        walked(definition("botnet50"), (1, 3, 200, 200))
    with pytest.raises(RuntimeError):
        build_network(definition("botnet50"), (200, 200))(torch.randn(1, 3, 200, 200))


@pytest.mark.parametrize("lines, line, message", [
    ("replace_conv: {module: se}", 5, "se cannot replace a convolution"),
    ("replace_conv: {module: sk, where: every_block}", 5, "'where' is replace_conv itself"),
    ("replace_conv: sk", 5, "replace_conv is a mapping such as {module: sk"),
    ("replace_conv: {module: sk, blocks: [1]}", 5, "blocks apply only to where=after_blocks"),
    ("deep_stem: true", 5, "deep_stem needs stem_width"),
    ("stem_width: 32", 5, "stem_width applies to deep_stem: true"),
])
def test_definition_files_check_their_replacements(tmp_path, lines, line, message):
    path = tmp_path / "net.yaml"
    path.write_text(f"name: mine\nfamily: resnet\nblock: bottleneck\nlayers: [3, 4, 6, 3]\n{lines}\n")
    with pytest.raises(SpecError) as error:
        load_definition(path)
    assert str(error.value).startswith(f"{path}:{line}:") and message in str(error.value), str(error.value)


def test_spec_files_replace_with_file_and_line(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("network: resnet50\nattention:\n  - {module: dynamic-conv, where: replace_conv, stages: [3, 4]}\n")
    spec = load_spec(path)
    assert [(p.module, p.where, p.stages) for p in spec.attention] == [("dynamic-conv", "replace_conv", (3, 4))]
    path.write_text("network: sknet50\nattention:\n  - {module: dynamic-conv, where: replace_conv, stages: [3]}\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value).startswith(f"{path}:3:") and "a conv is replaced once" in str(error.value)


def test_cli_replace_conv():
    runner = CliRunner()
    result = runner.invoke(cli, ["network", "resnet50", "--attn", "condconv", "--where", "replace_conv",
                                 "--stages", "4", "--format", "json"])
    assert result.exit_code == 0, result.output
    plain = runner.invoke(cli, ["network", "resnet50", "--format", "json"])
    assert '"params"' in result.output and result.output != plain.output
    for args, message in ((["--attn", "se", "--where", "replace_conv"], "se cannot replace a convolution"),
                          (["--attn", "aa-conv", "--where", "replace_conv", "--shape", "3x64x64", "--stages", "9"],
                           "resnet50 has stages 1..4, not 9")):
        result = runner.invoke(cli, ["network", "resnet50", *args])
        assert result.exit_code == 2 and message in result.output, result.output


def test_botnet50_follows_the_papers_text():
    # Srinivas et al., BoTNet (CVPR 2021), abstract: "replacing the spatial convolutions with global
    # self-attention in the final three bottleneck blocks of a ResNet and no other changes"; Sec. 3 / Fig. 3:
    # the BoT block's MHSA has 4 heads and 2-D relative position encodings (Rh, Rw), and the first c5 block
    # strides by a 2x2 average pool after the attention; the 3x3 conv's BN and ReLU stay.
    bot, r50 = definition("botnet50"), definition("resnet50")
    assert (bot.block, bot.layers, bot.stride_on) == (r50.block, r50.layers, r50.stride_on)
    (placement,) = bot.replace_conv
    assert (placement.module, placement.stages, placement.hp) == ("botnet-mhsa", (4,), {"heads": 4})
    assert REPLACES_CONV["botnet-mhsa"].norm_act and REPLACES_CONV["botnet-mhsa"].stride == "module"
    records = walked(bot, (1, 3, 224, 224)).records
    attention_blocks = sorted({r.scope[1] for r in records if "attention:botnet-mhsa" in r.scope})
    assert attention_blocks == ["block0", "block1", "block2"]                      # the three c5 blocks only
    assert all(r.scope[0] == "stage4" for r in records if "attention:botnet-mhsa" in r.scope)
    pooled = [r.scope[1] for r in records if "attention:botnet-mhsa" in r.scope and "pool.avg" in r.counts]
    assert pooled == ["block0"]                                                    # the 2x2 pool: stride 2 only


def test_aa_resnet50_follows_the_papers_text():
    # Bello et al., Attention Augmented Convolutional Networks (ICCV 2019), Sec. 4: attention augmentation
    # with "Nh = 8 heads, kappa = 2 upsilon = 0.2 and a minimum of 20 dimensions per head for the keys",
    # relative position encodings, in the bottlenecks' 3x3 convs of the last three stages (conv3_x-conv5_x;
    # Table 2's AA-ResNet-50, 25.8M parameters: test_paper_tables.py); the conv's BN and ReLU stay.
    aa = definition("aa-resnet50")
    (placement,) = aa.replace_conv
    assert (placement.module, placement.stages) == ("aa-conv", (2, 3, 4))
    assert placement.hp == {"heads": 8, "kappa": 0.2, "upsilon": 0.1, "min_key_head_dim": 20}
    assert 2 * placement.hp["upsilon"] == placement.hp["kappa"] == 0.2
    assert REPLACES_CONV["aa-conv"].norm_act
    records = walked(aa, (1, 3, 224, 224)).records
    assert {r.scope[0] for r in records if "attention:aa-conv" in r.scope} == {"stage2", "stage3", "stage4"}
