"""The dynamic-kernel networks as their papers built them: EfficientNet-CondConv-B0 (Yang et al.,
NeurIPS 2019; the official tensorflow/tpu models/official/efficientnet/condconv code and README),
DY-MobileNetV2 x1.0 and DY-ResNet-18 (Chen et al., CVPR 2020). The walker equals the tracer on each
network's PyTorch build exactly (params, every op kind, activation and peak memory) at 224 and two other
sizes, one of them odd inside and one with a batch of 2 (the per-sample kernels run as a conv grouped
over the batch); the parameters and multiply-adds are derived by hand from layer tables written here;
the official CondConv README's figures are reproduced to the printed digit (its MADDs as the increment
over EfficientNet-B0, its convention for the base network being another than attncost's). The DY-CNN
paper's printed parameters and MAdds are not tested: its table was not at hand, and a figure recalled
is no witness (its top-1 figures were confirmed and are in accuracy.yaml)."""

import dataclasses

import pytest

from attncost.cost import Program
from attncost.cost.compare import differences
from attncost.errors import SpecError
from attncost.graph import walk
from attncost.networks import accuracy, definition, forward, load_definition

from test_replace_conv import check_walker_equals_tracer  # one walker-equals-tracer check for both files

DYNAMIC = ("efficientnet-condconv-b0", "dy-mobilenet-v2", "dy-resnet18")


def walked(spec, shape):
    return walked_program(spec, shape)[1]


def walked_program(spec, shape):
    g = Program()
    return g, walk(g, forward(g, g.input(shape), spec))


@pytest.mark.parametrize("network", DYNAMIC)
@pytest.mark.parametrize("shape", [(1, 3, 224, 224), (2, 3, 160, 160), (1, 3, 201, 201)])
def test_dynamic_networks_equal_the_tracer(network, shape):
    result = check_walker_equals_tracer(definition(network), shape)
    # the routing / kernel attention and the kernel mixing are the attention's cost
    assert result.attention_share("macs")["macs"] > 0


# -- EfficientNet-CondConv-B0 -------------------------------------------------------------------------------

#: the official efficientnet_condconv_builder.py blocks_args marked _cc: (repeats, kernel, stride, input,
#: output, expansion) of r3_k5_s11_e6_i80_o112, r4_k5_s22_e6_i112_o192, r1_k3_s11_e6_i192_o320
CONDCONV_ROWS = ((3, 5, 1, 80, 112, 6), (4, 5, 2, 112, 192, 6), (1, 3, 1, 192, 320, 6))
EFFICIENTNET_B0_PARAMS = 5_288_548      # torchvision's EfficientNet_B0_Weights "num_params" (test_paper_tables)


def condconv_by_hand(experts: int):
    """(params, extra MACs over EfficientNet-B0) from the rows above: each CondConv layer holds E kernels
    instead of one, each block a routing Dense C_in -> E with bias; per sample, the mixing of the kernels
    is E x |W| MACs and the routing Dense C_in x E (neither depends on the input size)."""
    extra_params = extra_macs = 0
    for repeats, kernel, stride, inp, out, expansion in CONDCONV_ROWS:
        for b in range(repeats):
            c = inp if b == 0 else out
            hidden = c * expansion
            kernels = c * hidden + hidden * kernel * kernel + hidden * out     # expand, depthwise, project
            extra_params += (experts - 1) * kernels + c * experts + experts
            extra_macs += experts * kernels + c * experts
    return EFFICIENTNET_B0_PARAMS + extra_params, extra_macs


def test_condconv_b0_params_and_madds_by_hand_and_the_official_readme():
    # Official README (tensorflow/tpu models/official/efficientnet/condconv/README.md), the table of
    # pretrained checkpoints: EfficientNet-B0 5.3M params, 391M MADDs; EfficientNet-CondConv-B0 4 experts
    # 13.3M, 402M; 8 experts 24.0M, 413M.
    spec = definition("efficientnet-condconv-b0")
    base = walked(definition("efficientnet-b0"), (1, 3, 224, 224)).total
    for experts, params_m, madds_m in ((8, 24.0, 413), (4, 13.3, 402)):
        total = walked(dataclasses.replace(spec, condconv_experts=experts), (1, 3, 224, 224)).total
        params, extra_macs = condconv_by_hand(experts)
        assert total.params == params
        assert round(total.params / 1e6, 1) == params_m
        assert total.macs - base.macs == extra_macs
        # The README's MADDs are not attncost's macs: its EfficientNet-B0 is 391M where conv + fc MACs are
        # 385.8M (torchvision's and the paper's 0.39B); what CondConv adds is the same in both, and the
        # printed figures pin it to (413 - 391) +- 1 = 21..23 M and (402 - 391) +- 1 = 10..12 M.
        assert abs(extra_macs / 1e6 - (madds_m - 391)) < 1
    assert round(base.macs / 1e6, 1) == 385.8


def test_condconv_b0_is_the_official_model():
    spec = definition("efficientnet-condconv-b0")
    assert (spec.condconv_experts, spec.condconv_stages, spec.width, spec.depth) == (8, (5, 6, 7), 1.0, 1.0)
    # CondConv blocks are exactly the blocks of the _cc rows: 3 + 4 + 1 routing functions (a sigmoid each)
    records = walked(spec, (1, 3, 224, 224)).records
    routings = [r.scope for r in records if "attention:condconv" in r.scope and "elementwise.sigmoid" in r.counts]
    assert [s[:2] for s in routings] == [(f"stage{stage}", f"block{b}") for stage, n in ((5, 3), (6, 4), (7, 1))
                                         for b in range(n)]


# -- DY-MobileNetV2 -----------------------------------------------------------------------------------------

def mobilenet_v2_convs():
    """(C_in, C_out, k, groups) of every conv but the stem's, from MobileNetV2 Table 2 (t, c, n, s)."""
    rows = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1))
    convs, c = [], 32
    for t, out, n in rows:
        for _ in range(n):
            hidden = c * t
            if t != 1:
                convs.append((c, hidden, 1, 1))
            convs += [(hidden, hidden, 3, hidden), (hidden, out, 1, 1)]
            c = out
    return convs + [(c, 1280, 1, 1)]


def test_dy_mobilenet_v2_params_and_macs_by_hand():
    # Chen et al., Sec. 3-4: every conv but the first holds K = 4 kernels and 4 biases (Eq. 1), and has its
    # own attention GAP -> FC C -> C/4 (bias) -> ReLU -> FC -> K (bias) -> softmax(. / tau) (Fig. 3). The
    # static network is torchvision's MobileNetV2, 3,504,872 parameters (MobileNet_V2_Weights "num_params").
    k = 4
    convs = mobilenet_v2_convs()
    assert len(convs) == 16 + 17 + 17 + 1                       # expand, depthwise, project, the last 1x1
    kernels = sum(cout * cin // groups * size * size for cin, cout, size, groups in convs)
    biases = sum(cout for _, cout, _, _ in convs)
    attention = sum(cin * (cin // 4) + cin // 4 + (cin // 4) * k + k for cin, *_ in convs)
    total = walked(definition("dy-mobilenet-v2"), (1, 3, 224, 224)).total
    assert total.params == 3_504_872 + (k - 1) * kernels + k * biases + attention
    # per sample: the static convs' MACs, plus mixing K kernels and K biases, plus the attention FCs
    static = walked(definition("mobilenet-v2"), (1, 3, 224, 224)).total
    fc_macs = sum(cin * (cin // 4) + (cin // 4) * k for cin, *_ in convs)
    assert total.macs == static.macs + k * kernels + k * biases + fc_macs
    # one attention map (the K kernel weights) per dynamic conv
    g, _ = walked_program(definition("dy-mobilenet-v2"), (1, 3, 64, 64))
    assert len(g.attention_maps()) == len(convs)


def test_dy_mobilenet_v2_temperature_changes_no_count():
    spec = definition("dy-mobilenet-v2")
    a = walked(spec, (1, 3, 96, 96)).total
    b = walked(dataclasses.replace(spec, dynamic_temperature=1.0), (1, 3, 96, 96)).total
    assert differences(a, b) == []


def resnet18_convs():
    """(C_in, C_out, k) of every conv of ResNet-18 but the 7x7 stem: two 3x3 per basic block, a 1x1
    projection where a stage starts with stride 2 (torchvision's resnet.py)."""
    convs, c = [], 64
    for planes in (64, 128, 256, 512):
        for b in range(2):
            convs += [(c, planes, 3), (planes, planes, 3)]
            if c != planes:
                convs.append((c, planes, 1))
            c = planes
    return convs


def test_dy_resnet18_params_and_macs_by_hand():
    # every conv but the first dynamic (K = 4 kernels and biases, its own attention C -> C/4 -> K); the
    # static network is torchvision's ResNet-18, 11,689,512 parameters (ResNet18_Weights "num_params")
    k = 4
    convs = resnet18_convs()
    assert len(convs) == 16 + 3
    kernels = sum(cin * cout * size * size for cin, cout, size in convs)
    biases = sum(cout for _, cout, _ in convs)
    attention = sum(cin * (cin // 4) + cin // 4 + (cin // 4) * k + k for cin, *_ in convs)
    total = walked(definition("dy-resnet18"), (1, 3, 224, 224)).total
    assert total.params == 11_689_512 + (k - 1) * kernels + k * biases + attention
    static = walked(definition("resnet18"), (1, 3, 224, 224)).total
    fc_macs = sum(cin * (cin // 4) + (cin // 4) * k for cin, *_ in convs)
    assert total.macs == static.macs + k * kernels + k * biases + fc_macs


def test_dynamic_convs_go_with_neither_replace_conv_nor_the_deep_stem():
    for extra, message in (({"replace_conv": {"module": "sk"}}, "goes with neither replace_conv nor deep_stem"),
                           ({"deep_stem": True, "stem_width": 32}, "goes with neither replace_conv nor deep_stem")):
        with pytest.raises(SpecError, match=message):
            dataclasses.replace(definition("resnet50"), dynamic_experts=4, **extra)


# -- reported accuracy and definition errors ----------------------------------------------------------------

@pytest.mark.parametrize("network, top1", [("efficientnet-condconv-b0", 78.3), ("dy-mobilenet-v2", 74.4),
                                           ("dy-resnet18", 72.7)])
def test_dynamic_networks_carry_their_reported_top1(network, top1):
    figures = accuracy.reported_for(definition(network), (1, 3, 224, 224))
    assert figures and figures[0].top1 == top1
    assert not accuracy.reported_for(definition(network), (1, 3, 160, 160))


@pytest.mark.parametrize("family, lines, line, message", [
    ("efficientnet", "condconv_experts: 8", 3, "condconv_experts and condconv_stages go together"),
    ("efficientnet", "condconv_experts: 8\ncondconv_stages: [9]", 4, "condconv_stages [9] are not among its stages"),
    ("efficientnet", "condconv_experts: -1\ncondconv_stages: [7]", 3,
     "condconv_experts must be a number of experts (0: none), an integer from 0 to 1,024 (got -1)"),
    ("mobilenet-v2", "dynamic_experts: 4\ndynamic_temperature: 0", 4,
     "dynamic_temperature must be a number above 0 and at most 1e+06 (got 0)"),
    ("mobilenet-v2", "dynamic_experts: 4\ndynamic_reduction: 0", 4,
     "dynamic_reduction must be a channel reduction, an integer from 1"),
])
def test_bad_dynamic_fields_are_one_line_errors(tmp_path, family, lines, line, message):
    path = tmp_path / "net.yaml"
    path.write_text(f"name: mine\nfamily: {family}\n{lines}\n")
    with pytest.raises(SpecError) as error:
        load_definition(path)
    assert str(error.value).startswith(f"{path}:{line}:") and message in str(error.value), str(error.value)
