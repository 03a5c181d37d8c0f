"""The ops public attention code runs that the tracer once reported as unsupported, each proven
against a count written here from the torch tensors, and the API that counts a user's own op.

Three parts:

1. Faithful small versions of public attention modules (timm's CoordAttn, Swin's shifted-window
   attention with relative position bias, Swin V2's cosine attention, SKNet's SK unit, GCNet,
   CBAM with adaptive max pooling, a timm ViT block in train and eval mode, MobileNetV3's SE, a
   Lambda layer, halo attention with F.pad / unfold and with F.unfold) trace with nothing
   unsupported, in eval and train mode.
2. One oracle per aten op added: the op runs on random shapes and arguments (hypothesis) through
   ``trace_module``, and the whole ``counts`` dict (every kind, so a missing or extra kind fails) is
   compared with a hand count from ``x.numel()``, ``out.shape``, windows, ``alpha``/``beta``, ...,
   following the units of docs/CONVENTIONS.md. Nothing here calls ``attncost.ops``: only
   ``trace_module`` (the thing under test) and ``attncost.cost.flops`` (the convention views) come
   from attncost. A recorder of its own (a plain ``TorchDispatchMode``) checks that each case really
   runs the aten op it claims. Every case also checks the ``flopcounter`` view against torch's
   FlopCounterMode (which has a formula for ``baddbmm`` and none for the other ops here, so 0), and
   a few modules and ops check the ``fvcore`` view against fvcore itself.
3. ``attncost.register_op`` on a real ``torch.library`` custom op and on an aten op attncost does
   not count.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from fvcore.nn import FlopCountAnalysis
from hypothesis import assume, given, settings, strategies as st
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

import attncost
from attncost.cost import flops
from attncost.trace import UnsupportedOpsError, trace_module

aten = torch.ops.aten
FAST = settings(max_examples=20, deadline=None)


class Fn(nn.Module):
    """A module whose forward is ``fn``: the op under test is all that runs."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class PacketRecorder(TorchDispatchMode):
    """The aten overload packets a call really runs (no attncost code involved)."""

    def __init__(self):
        super().__init__()
        self.packets: set = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.packets.add(func.overloadpacket)
        return func(*args, **(kwargs or {}))


def flopcounter_total(module, x) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x.clone())
    return counter.get_total_flops()


def fvcore_total(module, x) -> int:
    analysis = FlopCountAnalysis(module, (x,))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    return analysis.total()


def traced(module, x: torch.Tensor, packet):
    """Run ``module(x)`` for real (recording its aten packets), under the tracer and under
    FlopCounterMode. Asserts ``packet`` ran, nothing was unsupported, the output shape, and that the
    flopcounter view is FlopCounterMode's count; returns (counts, real output, cost)."""
    if not isinstance(module, nn.Module):
        module = Fn(module)
    recorder = PacketRecorder()
    with torch.no_grad(), recorder:
        out = module(x.clone())
    assert packet in recorder.packets, f"{packet} did not run: {sorted(map(str, recorder.packets))}"
    cost, out_shape, unsupported = trace_module(module, x.clone())
    assert not unsupported
    assert tuple(out_shape) == tuple(out.shape)
    assert flops(cost, "flopcounter") == flopcounter_total(module, x)
    return dict(cost.counts), out, cost


def prod(values) -> int:
    result = 1
    for v in values:
        result *= int(v)
    return result


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4)


# --- 1. public attention code ---------------------------------------------------------------------

class CoordAttn(nn.Module):
    """timm's CoordAttn (timm/layers/coord_attn.py; Hou et al., CVPR 2021): directional means, a
    shared 1x1 conv + BN + Hardswish, two sigmoid gates."""

    def __init__(self, channels, rd_ratio=1 / 8, rd_min=8):
        super().__init__()
        rd = max(rd_min, int(channels * rd_ratio))
        self.conv1 = nn.Conv2d(channels, rd, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(rd)
        self.act = nn.Hardswish()
        self.conv_h = nn.Conv2d(rd, channels, 1, bias=False)
        self.conv_w = nn.Conv2d(rd, channels, 1, bias=False)

    def forward(self, x):
        identity = x
        N, C, H, W = x.size()
        x_h = x.mean(3, keepdim=True)
        x_w = x.mean(2, keepdim=True).transpose(-1, -2)
        y = self.act(self.bn1(self.conv1(torch.cat([x_h, x_w], dim=2))))
        x_h, x_w = torch.split(y, [H, W], dim=2)
        a_h = self.conv_h(x_h).sigmoid()
        a_w = self.conv_w(x_w.transpose(-1, -2)).sigmoid()
        return identity * a_w * a_h


def window_partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def window_reverse(windows, ws, H, W):
    C = windows.shape[-1]
    x = windows.view(-1, H // ws, W // ws, ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)


def relative_position_index(ws):
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


class WindowAttention(nn.Module):
    """Swin's W-MSA (microsoft/Swin-Transformer models/swin_transformer.py): qkv, scaled QKᵀ, the
    relative position bias gathered from its table by index, the shift mask, softmax, AV, proj.
    ``cosine``: Swin V2's scaled cosine attention (F.normalize, a clamped, exponentiated logit
    scale, 16·sigmoid of the bias)."""

    def __init__(self, dim, ws, heads, cosine=False):
        super().__init__()
        self.ws, self.heads, self.cosine = ws, heads, cosine
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * ws - 1) ** 2, heads) * .02)
        self.register_buffer("relative_position_index", relative_position_index(ws), persistent=False)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        bias = bias.permute(2, 0, 1).contiguous()
        if self.cosine:
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()
            bias = 16 * torch.sigmoid(bias)
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        x = (self.softmax(attn) @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


class SwinBlock(nn.Module):
    """A Swin block: LN, cyclic shift by torch.roll, window partition, masked W-MSA, reverse, roll
    back, residual, LN + MLP with GELU. The shift mask is built at construction, as in Swin."""

    def __init__(self, dim=8, resolution=8, heads=2, ws=4, shift=2, cosine=False):
        super().__init__()
        self.H = self.W = resolution
        self.ws, self.shift = ws, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads, cosine)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        attn_mask = None
        if shift:
            img_mask = torch.zeros((1, self.H, self.W, 1))
            cnt = 0
            for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    img_mask[:, h, w, :] = cnt
                    cnt += 1
            mw = window_partition(img_mask, ws).view(-1, ws * ws)
            attn_mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            attn_mask = attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)
        self.register_buffer("attn_mask", attn_mask, persistent=False)

    def forward(self, x):
        B, L, C = x.shape
        shortcut = x
        x = self.norm1(x).view(B, self.H, self.W, C)
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(x, self.ws).view(-1, self.ws * self.ws, C)
        windows = self.attn(windows, mask=self.attn_mask).view(-1, self.ws, self.ws, C)
        x = window_reverse(windows, self.ws, self.H, self.W)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + x.view(B, self.H * self.W, C)
        return x + self.mlp(self.norm2(x))


class SKUnit(nn.Module):
    """SKNet's selective kernel unit (pppLang/SKNet sknet.py): branches stacked with torch.stack,
    fused by a sum, squeezed, one FC per branch stacked again, softmax over branches."""

    def __init__(self, channels=8, M=2, G=2, r=4, L=8):
        super().__init__()
        d = max(channels // r, L)
        self.convs = nn.ModuleList(nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1 + i, dilation=1 + i, groups=G, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True)) for i in range(M))
        self.fc = nn.Sequential(nn.Conv2d(channels, d, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU(inplace=True))
        self.fcs = nn.ModuleList(nn.Conv2d(d, channels, 1) for _ in range(M))
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        feats = torch.stack([conv(x) for conv in self.convs], dim=1)
        z = self.fc(F.adaptive_avg_pool2d(torch.sum(feats, dim=1), 1))
        attn = self.softmax(torch.stack([fc(z) for fc in self.fcs], dim=1))
        return torch.sum(feats * attn, dim=1)


class GCBlock(nn.Module):
    """GCNet's context block (xvjiarui/GCNet mmdet/ops/gcb/context_block.py): attention pooling,
    channel_add transform with LayerNorm."""

    def __init__(self, channels=8, ratio=1 / 4):
        super().__init__()
        planes = int(channels * ratio)
        self.conv_mask = nn.Conv2d(channels, 1, 1)
        self.softmax = nn.Softmax(dim=2)
        self.channel_add_conv = nn.Sequential(nn.Conv2d(channels, planes, 1), nn.LayerNorm([planes, 1, 1]),
                                              nn.ReLU(inplace=True), nn.Conv2d(planes, channels, 1))

    def forward(self, x):
        b, c, h, w = x.size()
        input_x = x.view(b, c, h * w).unsqueeze(1)
        mask = self.softmax(self.conv_mask(x).view(b, 1, h * w)).unsqueeze(-1)
        context = torch.matmul(input_x, mask).view(b, c, 1, 1)
        return x + self.channel_add_conv(context)


class CBAM(nn.Module):
    """CBAM as luuuyi/CBAM.PyTorch writes it: nn.AdaptiveAvgPool2d(1) and nn.AdaptiveMaxPool2d(1)
    into a shared MLP, then the spatial gate on the channel mean and max."""

    def __init__(self, channels=8, r=4, k=7):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Sequential(nn.Conv2d(channels, channels // r, 1, bias=False), nn.ReLU(),
                                nn.Conv2d(channels // r, channels, 1, bias=False))
        self.conv = nn.Conv2d(2, 1, k, padding=k // 2, bias=False)

    def forward(self, x):
        x = x * torch.sigmoid(self.fc(self.avg_pool(x)) + self.fc(self.max_pool(x)))
        avg_out = torch.mean(x, dim=1, keepdim=True)
        max_out, _ = torch.max(x, dim=1, keepdim=True)
        return x * torch.sigmoid(self.conv(torch.cat([avg_out, max_out], dim=1)))


class ViTBlock(nn.Module):
    """timm's ViT Block (timm/models/vision_transformer.py): LayerNorm, attention with attn_drop
    and proj_drop, MLP with nn.GELU and nn.Dropout, and DropPath (bernoulli_ on a per-sample mask)."""

    def __init__(self, dim=8, heads=2, p=0.1, drop_path=0.1):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_drop, self.proj_drop = nn.Dropout(p), nn.Dropout(p)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(p), nn.Linear(4 * dim, dim),
                                 nn.Dropout(p))
        self.drop_path = drop_path

    def _drop_path(self, x):
        if self.drop_path == 0. or not self.training:
            return x
        keep = 1 - self.drop_path
        random_tensor = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        random_tensor.div_(keep)
        return x * random_tensor

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = self.attn_drop(((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1))
        y = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = x + self._drop_path(self.proj_drop(self.proj(y)))
        return x + self._drop_path(self.mlp(self.norm2(x)))


class MobileNetV3SE(nn.Module):
    """torchvision's SqueezeExcitation with MobileNetV3's hardsigmoid gate, inside an inverted
    residual whose expansion uses nn.Hardswish(inplace=True)."""

    def __init__(self, channels=8, squeeze=4):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(channels, 2 * channels, 1, bias=False), nn.BatchNorm2d(2 * channels),
                                    nn.Hardswish(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(2 * channels, squeeze, 1), nn.Conv2d(squeeze, 2 * channels, 1)
        self.relu, self.scale_activation = nn.ReLU(), nn.Hardsigmoid()
        self.project = nn.Sequential(nn.Conv2d(2 * channels, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        y = self.expand(x)
        s = self.scale_activation(self.fc2(self.relu(self.fc1(self.avgpool(y)))))
        return x + self.project(y * s)


class LambdaLayer(nn.Module):
    """lucidrains/lambda-networks' global LambdaLayer: content and position lambdas with einsum."""

    def __init__(self, dim=8, dim_k=8, n=16, heads=2):
        super().__init__()
        self.u, self.heads = 1, heads
        dim_v = dim // heads
        self.to_q = nn.Conv2d(dim, dim_k * heads, 1, bias=False)
        self.to_k = nn.Conv2d(dim, dim_k, 1, bias=False)
        self.to_v = nn.Conv2d(dim, dim_v, 1, bias=False)
        self.norm_q, self.norm_v = nn.BatchNorm2d(dim_k * heads), nn.BatchNorm2d(dim_v)
        self.pos_emb = nn.Parameter(torch.randn(n, n, dim_k, 1))

    def forward(self, x):
        b, c, hh, ww = x.shape
        q = self.norm_q(self.to_q(x)).reshape(b, self.heads, -1, hh * ww)
        k = self.to_k(x).reshape(b, self.u, -1, hh * ww).softmax(dim=-1)
        v = self.norm_v(self.to_v(x)).reshape(b, self.u, -1, hh * ww)
        content = torch.einsum("b u k m, b u v m -> b k v", k, v)
        position = torch.einsum("n m k u, b u v m -> b n k v", self.pos_emb, v)
        out = torch.einsum("b h k n, b k v -> b h v n", q, content)
        out = out + torch.einsum("b h k n, b n k v -> b h v n", q, position)
        return out.reshape(b, -1, hh, ww)


class HaloAttn(nn.Module):
    """timm's HaloAttn (timm/layers/halo_attn.py; Vaswani et al., CVPR 2021) without its relative
    logits: blocked queries, keys/values from F.pad + tensor.unfold windows."""

    def __init__(self, dim=8, block_size=4, halo_size=1, heads=2, dim_head=8):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.block_size, self.halo_size = block_size, halo_size
        self.win_size = block_size + 2 * halo_size
        self.scale = dim_head ** -0.5
        self.q = nn.Conv2d(dim, heads * dim_head, 1, bias=False)
        self.kv = nn.Conv2d(dim, 2 * heads * dim_head, 1, bias=False)

    def forward(self, x):
        B, C, H, W = x.shape
        bs = self.block_size
        nh, nw = H // bs, W // bs
        q = self.q(x).reshape(-1, self.dim_head, nh, bs, nw, bs).permute(0, 1, 3, 5, 2, 4)
        q = q.reshape(B * self.heads, self.dim_head, -1, nh * nw).transpose(1, 3)
        kv = F.pad(self.kv(x), [self.halo_size] * 4)
        kv = kv.unfold(2, self.win_size, bs).unfold(3, self.win_size, bs).reshape(
            B * self.heads, self.dim_head * 2, nh * nw, -1).permute(0, 2, 3, 1)
        k, v = torch.split(kv, [self.dim_head, self.dim_head], dim=-1)
        attn = ((q @ k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        out = (attn @ v).transpose(1, 3).reshape(-1, bs, bs, nh, nw)
        return out.permute(0, 3, 1, 4, 2).contiguous().view(B, self.heads * self.dim_head, H, W)


class UnfoldAttn(nn.Module):
    """Stand-alone self-attention over k x k neighbourhoods with F.unfold (aten.im2col), as
    SASA-style code gathers keys and values."""

    def __init__(self, dim=4, k=3):
        super().__init__()
        self.k = k
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=1)
        k = F.unfold(k, self.k, padding=self.k // 2).view(B, C, self.k * self.k, H * W)
        v = F.unfold(v, self.k, padding=self.k // 2).view(B, C, self.k * self.k, H * W)
        attn = (q.view(B, C, 1, H * W) * k).sum(1, keepdim=True).softmax(2)
        return (attn * v).sum(2).view(B, C, H, W)


PUBLIC_MODULES = {
    "coord_attn": (lambda: CoordAttn(16), (2, 16, 6, 5)),
    "swin_window": (lambda: SwinBlock(shift=0), (2, 64, 8)),
    "swin_shifted": (lambda: SwinBlock(shift=2), (2, 64, 8)),
    "swin_v2_cosine": (lambda: SwinBlock(shift=2, cosine=True), (2, 64, 8)),
    "sk_unit": (SKUnit, (2, 8, 6, 6)),
    "gcnet": (GCBlock, (2, 8, 5, 5)),
    "cbam_adaptive_max": (CBAM, (2, 8, 5, 5)),
    "vit_block": (ViTBlock, (2, 5, 8)),
    "mobilenetv3_se": (MobileNetV3SE, (2, 8, 5, 5)),
    "lambda_layer": (LambdaLayer, (2, 8, 4, 4)),
    "halo_attn": (HaloAttn, (1, 8, 8, 8)),
    "unfold_attn": (UnfoldAttn, (2, 4, 5, 5)),
}


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_attention_code_has_no_unsupported_op(name, mode):
    build, shape = PUBLIC_MODULES[name]
    module = build().train(mode == "train")
    x = torch.randn(shape)
    cost, out_shape, unsupported = trace_module(module, x.clone())
    assert not unsupported, dict(unsupported)
    with torch.no_grad():
        assert tuple(out_shape) == tuple(module(x).shape)


def test_public_modules_count_the_new_ops_by_hand():
    """The new ops inside the modules, by hand: CBAM's max pool reads the input, CoordAttn's
    hardswish every element of the (N, rd, H + W, 1) map, SK's stacks write both branches and both
    gates, Swin's rolls write the whole (B, H, W, C) map twice, its bias gather (ws², ws², heads)."""
    counts = lambda module, shape: dict(trace_module(module.eval(), torch.randn(shape))[0].counts)
    assert counts(CBAM(8), (2, 8, 5, 5))["pool.adaptive_max"] == 2 * 8 * 5 * 5
    assert counts(CoordAttn(16), (2, 16, 6, 5))["elementwise.hardswish"] == 2 * 8 * (6 + 5)
    sk = counts(SKUnit(8), (2, 8, 6, 6))
    # copies: stack of 2 branches (2*2*8*6*6), stack of 2 gates (2*2*8), nothing else copies
    assert sk["copy"] == 2 * 2 * 8 * 6 * 6 + 2 * 2 * 8
    plain, shifted = counts(SwinBlock(shift=0), (2, 64, 8)), counts(SwinBlock(shift=2), (2, 64, 8))
    assert shifted["copy"] - plain["copy"] == 2 * (2 * 8 * 8 * 8)
    train = dict(trace_module(ViTBlock().train(), torch.randn(2, 5, 8))[0].counts)
    # dropout masks: attention (2, 2, 5, 5) + proj (2, 5, 8) + MLP hidden (2, 5, 32) + MLP out (2, 5, 8),
    # drop path masks (2, 1, 1) twice
    assert train["elementwise.random"] == 2 * 2 * 5 * 5 + 80 + 320 + 80 + 2 * 2


FVCORE_MODULES = {
    "coord_attn": (lambda: CoordAttn(16).eval(), (2, 16, 6, 5)),
    "cbam_adaptive_max": (lambda: CBAM().eval(), (2, 8, 5, 5)),
    "mobilenetv3_se": (lambda: MobileNetV3SE().eval(), (2, 8, 5, 5)),
    "swin_shifted": (lambda: SwinBlock(shift=2).eval(), (2, 64, 8)),
    "sk_unit": (lambda: SKUnit().eval(), (2, 8, 6, 6)),
    "instance_norm_affine": (lambda: nn.InstanceNorm2d(4, affine=True), (2, 4, 5, 3)),
    "instance_norm": (lambda: nn.InstanceNorm2d(4), (2, 4, 5, 3)),
    "batch_norm_train": (lambda: nn.BatchNorm2d(4).train(), (3, 4, 5, 3)),
    "bicubic": (lambda: nn.Upsample(scale_factor=2, mode="bicubic"), (1, 2, 3, 4)),
    "baddbmm": (lambda: Fn(lambda t: torch.baddbmm(t, t, t, alpha=0.5)), (2, 3, 3)),
}


@pytest.mark.parametrize("name", FVCORE_MODULES)
def test_fvcore_view_matches_fvcore(name):
    """fvcore 0.1.5 counts instance norm and training batch norm as 4 per element (+1 with affine),
    and has no handle for hardswish, adaptive max pooling, roll, index, stack, bicubic or baddbmm."""
    build, shape = FVCORE_MODULES[name]
    module, x = build(), torch.randn(shape)
    cost = trace_module(module, x.clone())[0]
    assert flops(cost, "fvcore") == fvcore_total(module, x)


# --- 2. one oracle per op ---------------------------------------------------------------------------

def _const(fn):
    """A case whose op is ``fn(t)`` whatever was drawn."""
    return lambda x, draw: fn


ELEMENTWISE = {
    # case -> (packet, kind, make(x, draw) -> the traced function; constants are made here, outside it)
    "hardswish": (aten.hardswish, "elementwise.hardswish", _const(F.hardswish)),
    "hardswish_": (aten.hardswish_, "elementwise.hardswish", _const(lambda t: F.hardswish(t, inplace=True))),
    "abs": (aten.abs, "elementwise.abs", _const(torch.abs)),
    "abs_": (aten.abs_, "elementwise.abs", _const(lambda t: t.abs_())),
    "erf": (aten.erf, "elementwise.erf", _const(torch.erf)),
    "erf_": (aten.erf_, "elementwise.erf", _const(lambda t: t.erf_())),
    "softplus": (aten.softplus, "elementwise.softplus", lambda x, draw: (
        lambda beta, threshold: lambda t: F.softplus(t, beta=beta, threshold=threshold))(
        draw(st.sampled_from([0.5, 1.0, 2.0])), draw(st.sampled_from([1, 20])))),
    "mish": (aten.mish, "elementwise.mish", _const(F.mish)),
    "mish_": (aten.mish_, "elementwise.mish", _const(lambda t: F.mish(t, inplace=True))),
    "clamp": (aten.clamp, "elementwise.clamp", lambda x, draw: (
        lambda high: lambda t: t.clamp(-0.5, high))(draw(st.sampled_from([0.5, None])))),
    "clamp_max_only": (aten.clamp, "elementwise.clamp", _const(lambda t: t.clamp(max=0.3))),
    "clamp_tensor": (aten.clamp, "elementwise.clamp", lambda x, draw: (
        lambda low: lambda t: t.clamp(min=low))(torch.zeros(x.shape[-1:]))),   # broadcast bound
    "clamp_": (aten.clamp_, "elementwise.clamp", _const(lambda t: t.clamp_(-0.5, 0.5))),
    "clamp_min": (aten.clamp_min, "elementwise.clamp", _const(lambda t: t.clamp_min(1e-6))),
    "clamp_min_": (aten.clamp_min_, "elementwise.clamp", _const(lambda t: t.clamp_min_(1e-6))),
    "clamp_max": (aten.clamp_max, "elementwise.clamp", _const(lambda t: t.clamp_max(0.1))),
    "clamp_max_": (aten.clamp_max_, "elementwise.clamp", _const(lambda t: t.clamp_max_(0.1))),
    "bernoulli_": (aten.bernoulli_, "elementwise.random", lambda x, draw: (
        lambda p: lambda t: t.bernoulli_(p))(draw(st.sampled_from([0.1, 0.9])))),
    "bernoulli": (aten.bernoulli, "elementwise.random", lambda x, draw: (
        lambda probs: lambda t: torch.bernoulli(probs) + t)(torch.rand(x.shape))),
    "rand": (aten.rand, "elementwise.random", _const(lambda t: torch.rand(t.shape))),
    "randn": (aten.randn, "elementwise.random", _const(lambda t: torch.randn(t.shape))),
    "rand_like": (aten.rand_like, "elementwise.random", _const(torch.rand_like)),
    "randn_like": (aten.randn_like, "elementwise.random", _const(torch.randn_like)),
    "normal_": (aten.normal_, "elementwise.random", _const(lambda t: t.normal_())),
    "uniform_": (aten.uniform_, "elementwise.random", _const(lambda t: t.uniform_())),
}
# what a case runs besides the op under test (bernoulli's draw is added to the input: one add each)
EXTRA = {"bernoulli": ("elementwise.add",)}
INPLACE = {"hardswish_", "abs_", "erf_", "mish_", "clamp_", "clamp_min_", "clamp_max_", "bernoulli_", "normal_",
           "uniform_"}


@pytest.mark.parametrize("case", ELEMENTWISE)
@FAST
@given(shape=shapes, data=st.data())
def test_elementwise_counts_output_elements(case, shape, data):
    packet, kind, make = ELEMENTWISE[case]
    x = torch.randn(shape)
    counts, out, cost = traced(make(x, data.draw), x, packet)
    expected = {kind: out.numel()}
    for extra in EXTRA.get(case, ()):
        expected[extra] = out.numel()
    assert counts == expected
    # in place: nothing allocated; otherwise each op's output (bernoulli: the draw and the sum)
    assert cost.activation_elements == (0 if case in INPLACE else out.numel() * (1 + len(EXTRA.get(case, ()))))


@pytest.mark.parametrize("packet", [aten.argmax, aten.argmin])
@FAST
@given(shape=shapes, data=st.data())
def test_argmax_argmin_read_every_input_element(packet, shape, data):
    x = torch.randn(shape)
    dim = data.draw(st.sampled_from([None, *range(-x.dim(), x.dim())]))
    keepdim = data.draw(st.booleans())
    fn = torch.argmax if packet is aten.argmax else torch.argmin
    counts, out, cost = traced(lambda t: fn(t, dim=dim, keepdim=keepdim), x, packet)
    assert counts == {"reduce.max": x.numel()}
    assert cost.activation_elements == out.numel()          # the int64 positions


@FAST
@given(shape=shapes, data=st.data())
def test_vector_norm_counts_its_reduction(shape, data):
    """ATen's norm kernels: ord 2 accumulates x·x and takes a sqrt per output; 1 sums |x|; ±inf
    takes |x| and a max/min; 0 counts x != 0; any other p sums |x|^p and takes one power per output."""
    x = torch.randn(shape)
    order = data.draw(st.sampled_from([2, 1, float("inf"), float("-inf"), 0, 3, 0.5]))
    dim = data.draw(st.sampled_from([None, *range(-x.dim(), x.dim())]))
    keepdim = data.draw(st.booleans())
    counts, out, _ = traced(lambda t: torch.linalg.vector_norm(t, order, dim, keepdim), x, aten.linalg_vector_norm)
    n, outputs = x.numel(), out.numel()
    expected = {2: {"elementwise.mul": n, "reduce.sum": n, "elementwise.sqrt": outputs},
                1: {"elementwise.abs": n, "reduce.sum": n},
                float("inf"): {"elementwise.abs": n, "reduce.max": n},
                float("-inf"): {"elementwise.abs": n, "reduce.max": n},
                0: {"elementwise.compare": n, "reduce.sum": n}}.get(
        order, {"elementwise.abs": n, "elementwise.pow": n + outputs, "reduce.sum": n})
    assert counts == expected


@FAST
@given(shape=shapes, data=st.data())
def test_normalize_counts_norm_clamp_and_divide(shape, data):
    """F.normalize(x, dim): the 2-norm over dim (x·x, sum, sqrt), clamp_min(eps) of each norm, and
    one divide per element."""
    x = torch.randn(shape)
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1))
    counts, out, _ = traced(lambda t: F.normalize(t, dim=dim), x, aten.linalg_vector_norm)
    n, norms = x.numel(), x.numel() // x.shape[dim]
    assert counts == {"elementwise.mul": n, "reduce.sum": n, "elementwise.sqrt": norms, "elementwise.clamp": norms,
                      "elementwise.div": n}


POOLS_3D = {"avg": (aten.avg_pool3d, F.avg_pool3d, "pool.avg"),
            "max": (aten.max_pool3d_with_indices, F.max_pool3d, "pool.max")}


@pytest.mark.parametrize("case", POOLS_3D)
@FAST
@given(data=st.data())
def test_pool3d_counts_outputs_times_window(case, data):
    packet, fn, kind = POOLS_3D[case]
    draw = data.draw
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(3))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(draw(st.integers(k, k + 4)) for k in kernel)
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    counts, out, cost = traced(lambda t: fn(t, kernel, stride, padding), x, packet)
    tally = {"tally.avg_pool_outputs": out.numel()} if case == "avg" else {}     # a division per output
    assert counts == {kind: out.numel() * prod(kernel), **tally}
    # max pooling writes its int64 indices too
    assert cost.activation_elements == out.numel() * (2 if case == "max" else 1)


POOLS_1D = {"avg": (aten.avg_pool2d, F.avg_pool1d, "pool.avg"),
            "max": (aten.max_pool2d_with_indices, F.max_pool1d, "pool.max")}


@pytest.mark.parametrize("case", POOLS_1D)
@FAST
@given(data=st.data())
def test_pool1d_runs_as_2d_and_counts_outputs_times_window(case, data):
    packet, fn, kind = POOLS_1D[case]
    draw = data.draw
    kernel, stride = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(kernel, kernel + 6)))
    counts, out, _ = traced(lambda t: fn(t, kernel, stride, padding), x, packet)
    tally = {"tally.avg_pool_outputs": out.numel()} if case == "avg" else {}     # a division per output
    assert counts == {kind: out.numel() * kernel, **tally}


def window_reads(size: int, out_size: int) -> int:
    """Sum of PyTorch's adaptive window lengths along a dim: [floor(i·s/o), ceil((i+1)·s/o))."""
    return sum(math.ceil((i + 1) * size / out_size) - math.floor(i * size / out_size) for i in range(out_size))


ADAPTIVE_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}


@pytest.mark.parametrize("spatial", [1, 2, 3])
@FAST
@given(data=st.data())
def test_adaptive_max_pool_reads_every_window_element(spatial, data):
    """Windows overlap when the output size does not divide the input's; an element two windows
    share is read twice. The pool writes its int64 indices as well as the maxima."""
    draw = data.draw
    size = [draw(st.integers(1, 7)) for _ in range(spatial)]
    out_size = [draw(st.integers(1, 4)) for _ in range(spatial)]
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    packet = aten.adaptive_max_pool3d if spatial == 3 else aten.adaptive_max_pool2d
    counts, out, cost = traced(lambda t: ADAPTIVE_MAX[spatial](t, out_size), x, packet)
    reads = x.shape[0] * x.shape[1] * prod(window_reads(s, o) for s, o in zip(size, out_size))
    assert counts == {"pool.adaptive_max": reads}
    assert cost.activation_elements == 2 * out.numel()


@FAST
@given(shape=shapes, data=st.data())
def test_log_softmax_counts_elements(shape, data):
    x = torch.randn(shape)
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1))
    counts, out, _ = traced(lambda t: F.log_softmax(t, dim), x, aten._log_softmax)
    assert counts == {"softmax.log": x.numel()}


INSTANCE_NORMS = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


@pytest.mark.parametrize("spatial", [1, 2, 3])
@FAST
@given(n=st.integers(1, 3), c=st.integers(1, 4), size=st.integers(2, 4), affine=st.booleans())
def test_instance_norm_normalises_with_its_own_statistics(spatial, n, c, size, affine):
    """F.instance_norm runs as one training-mode batch norm of (1, N·C, ...): statistics computed
    per element normalised; with affine, the weight and bias are first repeated N times (copies)."""
    x = torch.randn(n, c, *([size] * spatial))
    counts, _, _ = traced(INSTANCE_NORMS[spatial](c, affine=affine), x, aten.native_batch_norm)
    expected = {"norm.batch_stats": x.numel()}
    if affine:
        expected.update({"norm.affine": x.numel(), "copy": 2 * n * c})
    assert counts == expected


@pytest.mark.parametrize("form", ["module_train", "functional"])
@FAST
@given(n=st.integers(2, 3), c=st.integers(1, 4), size=st.integers(1, 4), affine=st.booleans())
def test_training_batch_norm_normalises_with_batch_statistics(form, n, c, size, affine):
    x = torch.randn(n, c, size, size)
    if form == "module_train":
        module = nn.BatchNorm2d(c, affine=affine).train()
    else:
        weight, bias = (torch.randn(c), torch.randn(c)) if affine else (None, None)
        module = Fn(lambda t: F.batch_norm(t, None, None, weight, bias, training=True))
    counts, _, _ = traced(module, x, aten.native_batch_norm)
    expected = {"norm.batch_stats": x.numel()}
    if affine:
        expected["norm.affine"] = x.numel()
    if form == "module_train":
        expected["elementwise.add"] = 1            # num_batches_tracked += 1
    assert counts == expected


@FAST
@given(data=st.data())
def test_bicubic_upsampling_counts_output_elements(data):
    draw = data.draw
    x = torch.randn(*(draw(st.integers(1, n)) for n in (2, 3, 5, 5)))
    align = draw(st.booleans())
    if draw(st.booleans()):
        kwargs = {"scale_factor": draw(st.sampled_from([0.5, 1.5, 2, 3]))}
        assume(all(int(s * kwargs["scale_factor"]) >= 1 for s in x.shape[2:]))
    else:
        kwargs = {"size": (draw(st.integers(1, 9)), draw(st.integers(1, 9)))}
    counts, out, _ = traced(lambda t: F.interpolate(t, mode="bicubic", align_corners=align, **kwargs), x,
                            aten.upsample_bicubic2d)
    assert counts == {"interpolate.bicubic": out.numel()}


@FAST
@given(data=st.data())
def test_baddbmm_counts_product_add_and_scalings(data):
    """beta·input + alpha·(A @ B): b·n·m·k MACs, an add per output unless beta is 0 (input unread),
    a multiply per output for alpha != 1 and one for beta not in (0, 1). FlopCounterMode counts
    the product only, 2 per MAC (checked in ``traced``)."""
    draw = data.draw
    b, n, k, m = (draw(st.integers(1, 5)) for _ in range(4))
    shape = draw(st.sampled_from([(b, n, m), (n, m), (1, m), (m,), (b, 1, 1)]))
    beta, alpha = draw(st.sampled_from([1, 0, 0.5, 2])), draw(st.sampled_from([1, 0.125, 3]))
    a, bb = torch.randn(b, n, k), torch.randn(b, k, m)
    counts, out, _ = traced(lambda t: torch.baddbmm(t, a, bb, beta=beta, alpha=alpha), torch.randn(shape),
                            aten.baddbmm)
    expected = {"mac.baddbmm": b * n * m * k}
    if beta != 0:
        expected["elementwise.add"] = out.numel()
    multiplies = (alpha != 1) + (beta not in (0, 1))
    if multiplies:
        expected["elementwise.mul"] = multiplies * out.numel()
    assert counts == expected
    assert out.shape == (b, n, m)


# copies: every output element written once, no arithmetic. A case draws its arguments and makes
# its input and any index tensor before the trace: make(draw) -> (fn, x, packet)

def _tensor(draw, min_dims=1, max_dims=4):
    return torch.randn(draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=max_dims)))


def _stack(draw):
    x = _tensor(draw)
    k, dim = draw(st.integers(1, 3)), draw(st.integers(-x.dim() - 1, x.dim()))
    return (lambda t: torch.stack([t] * k, dim=dim)), x, aten.stack


def _roll(draw):
    x = _tensor(draw)
    if draw(st.booleans()):
        shift = draw(st.integers(-5, 5))
        return (lambda t: torch.roll(t, shift)), x, aten.roll                  # flattened roll
    dims = draw(st.lists(st.integers(0, x.dim() - 1), min_size=1, max_size=x.dim(), unique=True))
    shifts = [draw(st.integers(-5, 5)) for _ in dims]
    return (lambda t: torch.roll(t, shifts, dims)), x, aten.roll


def _flip(draw):
    x = _tensor(draw)
    dims = draw(st.lists(st.integers(0, x.dim() - 1), min_size=1, max_size=x.dim(), unique=True))
    return (lambda t: torch.flip(t, dims)), x, aten.flip


def _index(draw):
    """Advanced indexing: by one index tensor on dim 0 or 1, by two broadcast together, by a mask."""
    x = _tensor(draw, 2)
    idx_shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    first, second = torch.randint(0, x.shape[0], idx_shape), torch.randint(0, x.shape[1], idx_shape)
    mask = torch.rand(x.shape) > 0.5
    fn = draw(st.sampled_from([lambda t: t[first], lambda t: t[:, second], lambda t: t[first, second],
                               lambda t: t[mask]]))
    return fn, x, aten.index


def _gather(draw):
    x = _tensor(draw)
    dim = draw(st.integers(0, x.dim() - 1))
    index_shape = [draw(st.integers(1, s)) for s in x.shape]
    index_shape[dim] = draw(st.integers(1, 4))
    index = torch.randint(0, x.shape[dim], index_shape)
    return (lambda t: torch.gather(t, dim, index)), x, aten.gather


def _index_select(draw):
    x = _tensor(draw)
    dim = draw(st.integers(0, x.dim() - 1))
    index = torch.randint(0, x.shape[dim], (draw(st.integers(0, 5)),))
    return (lambda t: t.index_select(dim, index)), x, aten.index_select


def _im2col(draw):
    k, dilation, padding, stride = (draw(st.integers(1, 3)) for _ in range(4))
    size = [draw(st.integers(max(1, dilation * (k - 1) + 1 - 2 * padding), 7)) for _ in range(2)]
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    return (lambda t: F.unfold(t, k, dilation, padding, stride)), x, aten.im2col


def _pixel_shuffle(draw):
    r = draw(st.integers(1, 3))
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)) * r * r, draw(st.integers(1, 4)),
                    draw(st.integers(1, 4)))
    return (lambda t: F.pixel_shuffle(t, r)), x, aten.pixel_shuffle


def _pixel_unshuffle(draw):
    r = draw(st.integers(1, 3))
    x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)) * r,
                    draw(st.integers(1, 3)) * r)
    return (lambda t: F.pixel_unshuffle(t, r)), x, aten.pixel_unshuffle


def _padding(mode, packets):
    def make(draw):
        spatial = draw(st.integers(1, 3))
        x = torch.randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                        *(draw(st.integers(2, 5)) for _ in range(spatial)))
        # reflection needs pad < size along each dim; replication any amount
        pad = [draw(st.integers(0, s - 1 if mode == "reflect" else 3)) for s in x.shape[2:][::-1] for _ in range(2)]
        return (lambda t: F.pad(t, pad, mode=mode)), x, packets[spatial - 1]
    return make


def _arange(draw):
    start, end, step = draw(st.integers(-3, 3)), draw(st.integers(4, 20)), draw(st.integers(1, 4))
    return (lambda t: torch.arange(start, end, step)), torch.randn(1), aten.arange


def _linspace(draw):
    steps = draw(st.integers(1, 20))
    return (lambda t: torch.linspace(0, 1, steps)), torch.randn(1), aten.linspace


COPIES = {
    "stack": _stack, "roll": _roll, "flip": _flip, "index": _index, "gather": _gather, "index_select": _index_select,
    "im2col": _im2col, "pixel_shuffle": _pixel_shuffle, "pixel_unshuffle": _pixel_unshuffle,
    "reflection_pad": _padding("reflect", (aten.reflection_pad1d, aten.reflection_pad2d, aten.reflection_pad3d)),
    "replication_pad": _padding("replicate",
                                (aten.replication_pad1d, aten.replication_pad2d, aten.replication_pad3d)),
    "arange": _arange, "linspace": _linspace,
}


@pytest.mark.parametrize("case", COPIES)
@FAST
@given(data=st.data())
def test_moves_gathers_and_fills_count_elements_written(case, data):
    fn, x, packet = COPIES[case](data.draw)
    counts, out, cost = traced(fn, x, packet)
    assert counts == ({"copy": out.numel()} if out.numel() else {})
    assert cost.activation_elements == out.numel()


@FAST
@given(num=st.integers(1, 9), dim=st.integers(1, 6), indices=shapes, padding=st.booleans())
def test_embedding_gathers_rows(num, dim, indices, padding):
    module = nn.Embedding(num, dim, padding_idx=0 if padding else None)
    x = torch.randint(0, num, indices)
    counts, out, cost = traced(module, x, aten.embedding)
    assert counts == {"copy": x.numel() * dim}
    assert cost.params == num * dim and cost.activation_elements == out.numel()


@pytest.mark.parametrize("train", [True, False])
@FAST
@given(shape=shapes, p=st.sampled_from([0.1, 0.5, 0.9]))
def test_native_dropout_counts_its_kernel(train, shape, p):
    """native_dropout (CUDA's fused dropout, decompositions) returns (output, bool mask); in
    training its kernel draws a Bernoulli mask, multiplies by it and by 1/(1-p), and converts the
    mask to bool (torch's profiler shows bernoulli_, mul, to, mul_); otherwise it writes a mask of
    ones and clones the input."""
    x = torch.randn(shape)
    counts, _, cost = traced(lambda t: aten.native_dropout(t, p, train)[0], x, aten.native_dropout)
    n = x.numel()
    assert counts == ({"elementwise.random": n, "elementwise.mul": 2 * n, "copy": n} if train else {"copy": 2 * n})
    assert cost.activation_elements == 2 * n           # output and mask


def test_native_dropout_kernel_runs_what_its_formula_says():
    from torch.profiler import profile

    with profile() as prof:
        aten.native_dropout(torch.randn(3, 4), 0.3, True)
    names = [e.name for e in prof.events() if e.name != "aten::native_dropout"]
    # one Bernoulli draw, two products (mask, then scale), one bool conversion; the other aten
    # calls are allocations, or a product of two 0-d scalars
    assert names.count("aten::bernoulli_") == 1 and names.count("aten::mul_") == 1 and "aten::to" in names


@pytest.mark.parametrize("kind", ["dropout", "dropout2d"])
@FAST
@given(n=st.integers(1, 3), c=st.integers(1, 4), size=st.integers(1, 4), p=st.sampled_from([0.2, 0.5]))
def test_cpu_dropout_in_training_counts_mask_scale_and_product(kind, n, c, size, p):
    """On the CPU F.dropout(training=True) runs bernoulli_ on a fresh mask, div_ by 1-p, and a mul;
    dropout2d draws one mask value per (sample, channel)."""
    x = torch.randn(n, c, size, size)
    fn = F.dropout if kind == "dropout" else F.dropout2d
    counts, _, _ = traced(lambda t: fn(t, p, training=True), x, aten.bernoulli_)
    mask = x.numel() if kind == "dropout" else n * c
    assert counts == {"elementwise.random": mask, "elementwise.div": mask, "elementwise.mul": x.numel()}


# --- 3. attncost.register_op --------------------------------------------------------------------------

@torch.library.custom_op("attncost_test::scaled_gate", mutates_args=())
def scaled_gate(x: torch.Tensor, gate: torch.Tensor, scale: float) -> torch.Tensor:
    """x · sigmoid(gate) · scale, gate broadcast over x: a user's fused op, opaque to the tracer."""
    return x * torch.sigmoid(gate) * scale


@scaled_gate.register_fake
def _(x, gate, scale):
    return torch.empty_like(x)


class Gated(nn.Module):
    """A 1x1 conv, the custom op gating it by a per-channel parameter, and a residual add."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1, bias=False)
        self.gate = nn.Parameter(torch.randn(c, 1, 1))

    def forward(self, x):
        return x + scaled_gate(self.conv(x), self.gate, 0.5)


def gate_counts(call):
    """One sigmoid per gate element, two multiplies per output element (math.prod: ints on real
    tensors, sympy expressions on symbolic ones)."""
    return {"elementwise.sigmoid": math.prod(call.shape(call.args[1])),
            "elementwise.mul": 2 * math.prod(call.out_shape)}


@pytest.fixture
def registered():
    """Registers formulas for the test, and removes them afterwards (the registry is process-wide)."""
    names = []

    def register(op, counts=None, **kwargs):
        result = attncost.register_op(op, counts, **kwargs)
        names.append(op)
        return result

    yield register
    for op in names:
        attncost.unregister_op(op)
    from attncost import ops

    assert not ops.CUSTOM_OPS


def test_an_unregistered_custom_op_is_reported_by_name():
    with pytest.raises(UnsupportedOpsError, match=r"attncost_test\.scaled_gate\.default.*register_op"):
        trace_module(Gated(3), torch.randn(2, 3, 4, 4))
    cost, _, unsupported = trace_module(Gated(3), torch.randn(2, 3, 4, 4), allow_unsupported=True)
    assert unsupported == {"attncost_test.scaled_gate.default": 1}
    assert cost.counts == {"mac.conv": 2 * 3 * 16 * 3, "elementwise.add": 2 * 3 * 16}   # the rest, not the gate


def test_a_registered_custom_op_is_counted_with_its_formula(registered):
    registered("attncost_test::scaled_gate", gate_counts, kinds=("elementwise.sigmoid", "elementwise.mul"))
    cost, _, unsupported = trace_module(Gated(3), torch.randn(2, 3, 4, 4))
    assert not unsupported
    outputs = 2 * 3 * 4 * 4
    assert cost.counts == {"mac.conv": outputs * 3, "elementwise.add": outputs, "elementwise.sigmoid": 3,
                           "elementwise.mul": 2 * outputs}
    # totals include it: full = 2 per MAC + 1 per elementwise op; the gate's output is an activation
    assert flops(cost, "full") == 2 * outputs * 3 + outputs + 3 + 2 * outputs
    assert flops(cost, "macs") == outputs * 3
    assert cost.activation_elements == 3 * outputs          # conv out, gate out, sum
    assert cost.params == 3 * 3 + 3


def test_a_custom_op_can_count_a_new_kind_and_it_goes_when_unregistered():
    from attncost import ops

    gate_kind = ops.kind("elementwise.scaled_gate", "fused x·sigmoid(g)·s", "output elements",
                         macs=0, fvcore=0, flopcounter=0, full=3)

    @attncost.register_op(scaled_gate, kinds=(gate_kind,))
    def counts(call):
        return {"elementwise.scaled_gate": call.out.numel()}

    try:
        cost, _, _ = trace_module(Gated(2), torch.randn(1, 2, 3, 3))
        assert cost.counts["elementwise.scaled_gate"] == 18
        assert flops(cost, "full") == 2 * 18 * 2 + 18 + 3 * 18      # conv, residual add, 3 per gated element
        assert flops(cost, "fvcore") == 18 * 2
    finally:
        attncost.unregister_op("attncost_test::scaled_gate")
    assert "elementwise.scaled_gate" not in ops.OP_KINDS
    assert trace_module(Gated(2), torch.randn(1, 2, 3, 3), allow_unsupported=True)[2]


def test_a_registered_formula_works_on_symbolic_shapes(registered):
    import sympy

    from attncost.symbols import H, N, W
    from attncost.trace.symbolic import trace_symbolic

    registered(scaled_gate, lambda call: {"elementwise.mul": 2 * math.prod(call.out_shape)},
               kinds="elementwise.mul")
    cost, _, _ = trace_symbolic(lambda: Gated(3), (2, 3, 4, 5))
    assert sympy.simplify(cost.counts["elementwise.mul"] - 2 * N * 3 * H * W) == 0


def test_an_aten_op_attncost_lacks_can_be_registered(registered):
    """topk's comparisons depend on the data and the kernel, so attncost leaves it unsupported; a
    user who accepts a model (one compare per element read) can say so."""
    module = Fn(lambda t: t.topk(2, dim=-1).values)
    assert trace_module(module, torch.randn(3, 5), allow_unsupported=True)[2] == {"aten.topk.default": 1}
    registered("aten::topk", lambda call: {"reduce.max": math.prod(call.shape(call.args[0]))}, kinds=["reduce.max"])
    cost, _, unsupported = trace_module(module, torch.randn(3, 5))
    assert not unsupported and cost.counts == {"reduce.max": 15}


def test_registering_twice_or_a_counted_or_free_op_raises(registered):
    registered(scaled_gate, gate_counts, kinds=("elementwise.sigmoid", "elementwise.mul"))
    with pytest.raises(ValueError, match="twice"):
        attncost.register_op("attncost_test::scaled_gate", gate_counts, kinds=("elementwise.mul",))
    with pytest.raises(ValueError, match="twice"):
        attncost.register_op(torch.ops.aten.relu, gate_counts, kinds=("elementwise.relu",))
    with pytest.raises(ValueError, match="nothing by decision"):
        attncost.register_op("aten::view", gate_counts, kinds=("copy",))
    with pytest.raises(ValueError, match="no torch op"):
        attncost.register_op("attncost_test::not_defined", gate_counts, kinds=("copy",))
    with pytest.raises(KeyError, match="not registered"):
        attncost.register_op("aten::sort", gate_counts, kinds=("elementwise.no_such_kind",))
    with pytest.raises(KeyError, match="attncost's own"):
        attncost.unregister_op("aten::relu")
    assert trace_module(Fn(lambda t: t.sort().values), torch.randn(3), allow_unsupported=True)[2]


def test_a_formula_counting_kinds_it_did_not_declare_raises(registered):
    registered(scaled_gate, gate_counts, kinds=("elementwise.mul",))
    with pytest.raises(ValueError, match="not among its kinds"):
        trace_module(Gated(2), torch.randn(1, 2, 3, 3))
