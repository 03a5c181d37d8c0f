"""Catalogue formulas against counts derived by hand from the papers (independent of the tracer)."""

import sympy

from attncost import catalogue
from attncost.catalogue.common import eca_kernel
from attncost.symbols import C, H, N, W


def cost(name, shape, **hp):
    return catalogue.get(name).cost(shape, hp)


def test_se_params_and_macs():
    # C=256, r=16: fc1 256*16 + 16, fc2 16*256 + 256 = 8464 params; MACs 2*256*16 = 8192 per sample
    c = cost("se", (1, 256, 14, 14), r=16)
    assert c.params == 8464 and c.macs == 8192


def test_se_symbolic_params_ignore_bias_like_the_paper_plus_biases():
    # SE Eq. 5 counts 2C^2/r weights; the official code adds C/r + C biases
    formula = catalogue.get("se").formula({"r": 16})
    assert sympy.simplify(formula.params.subs(C, 512) - (2 * 512 * 512 / 16 + 32 + 512)) == 0


def test_eca_kernel_from_paper_table():
    # ECA-Net Eq. 12 with gamma=2, b=1: C=64 -> 3, 128..1024 -> 5, 2048 -> 7
    assert [eca_kernel(c, 2, 1) for c in (64, 128, 256, 512, 1024, 2048)] == [3, 5, 5, 5, 5, 7]
    assert cost("eca", (1, 256, 14, 14)).params == 5


def test_cbam_params():
    # MLP 2*C*(C//16) + C//16 + C, spatial 7*7*2 weights + BN 2 = 100; C=256: 8192+16+256+100 = 8564
    assert cost("cbam", (1, 256, 14, 14)).params == 8564


def test_cbam_spatial_macs_are_2k2_per_position():
    assert catalogue.get("cbam-spatial").formula().macs == 2 * 7 * 7 * N * H * W


def test_nonlocal_embedded_macs():
    # theta/phi/g: 3 convs C->C/2 over HW; pooled phi,g positions M = floor(H/2)*floor(W/2)
    # f = theta^T phi: HW*M*C/2; y = f g: HW*M*C/2; W conv C/2 -> C over HW
    n, c, h, w = 1, 64, 14, 14
    ci, m = 32, 7 * 7
    expected = 3 * h * w * c * ci + 2 * h * w * m * ci + h * w * ci * c
    assert cost("nonlocal", (n, c, h, w)).macs == expected
    assert cost("nonlocal", (n, c, h, w)).attention_map_elements == h * w * m


def test_gc_params():
    # conv_mask C+1, transform C*C'+C', LN 2C', C'*C+C with C' = C//16; C=256: 257+4112+32+4352 = 8753
    assert cost("gc", (1, 256, 14, 14)).params == 8753


def test_ccnet_attention_map_is_h_plus_w_per_position():
    assert catalogue.get("ccnet").formula().attention_map_elements == N * H * W * (H + W)


def test_ge_theta_global_params_grow_with_resolution():
    # official GEP: depthwise kernel = whole map (C*H*W) + BN 2C; C=256 at 56x56: 802816 + 512
    assert cost("ge-theta", (1, 256, 56, 56)).params == 256 * 56 * 56 + 512
