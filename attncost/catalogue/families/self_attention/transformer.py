"""Transformer-style self-attention over the H*W positions of a feature map: single-head scaled
dot-product attention, multi-head self-attention, the ViT encoder layer and patch embedding,
attention-augmented convolution (2-D relative logits) and Sparse Transformer strided attention.

Every entry takes an (N, C, H, W) map. The token entries read it as H*W tokens of dimension C
(``x.flatten(2).transpose(1, 2)``) and return the same (N, C, H, W) shape; the token layout of the
result is a free view of it. Attention is written with explicit matmul / softmax ops, as the
reference modules run them; what torch does for each (``torch.matmul`` reshapes batched operands to
3-D, a copy where no view exists; a non-contiguous input makes ``nn.Linear`` a matmul) is the
Program's business (``g.matmul``, ``g.linear``, ``g.split_heads``, ``g.attention``), not this file's.
"""

from __future__ import annotations

from ....algebra import exact_div, floor_scaled, is_one, maximum, power, sympy as _sympy
from ....cost import Program, Tensor
from ....cost.autograd import TrainingError
from ....errors import HyperparameterError
from ....ops.pointwise import DIV, GELU, WHERE
from ...common import fdiv, is_concrete, require_divisible
from ...registry import Hyperparameter as HP
from ...registry import Paper, register

VASWANI = dict(
    title="Attention Is All You Need",
    authors="Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser, Polosukhin",
    venue="NeurIPS 2017", year=2017, code="github.com/tensorflow/tensor2tensor")

VIT = dict(
    title="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
    authors="Dosovitskiy, Beyer, Kolesnikov, Weissenborn, Zhai, Unterthiner, Dehghani, Minderer, Heigold, "
            "Gelly, Uszkoreit, Houlsby",
    venue="ICLR 2021", year=2021, code="github.com/google-research/vision_transformer")

TIMM_ATTENTION = ("timm Attention (non-fused path, as in ViT): qkv Linear C -> 3*heads*d (bias), q * d^-0.5, "
                  "softmax(q k^T) v, proj Linear (bias); the head split is made contiguous once, where timm "
                  "leaves it to matmul's implicit copies (which copy as many elements for N > 1 but none "
                  "for N = 1)")


# -- helpers shared with the reference modules ---------------------------------------------------
def mlp_hidden(channels, mlp_ratio: float):
    """timm ``Mlp`` hidden width: int(C * mlp_ratio)."""
    if is_concrete(channels):
        return int(int(channels) * mlp_ratio)
    sympy = _sympy()
    return sympy.floor(channels * sympy.Rational(str(mlp_ratio)))


def aa_depths(fout, heads, dk, dv, kappa, upsilon, min_key_head_dim):
    """(dk, dv) of attention augmentation. Given values are used as they are; otherwise, as in the
    paper's experiments (kappa = dk/Fout, upsilon = dv/Fout, "a minimum of 20 dimensions per head for
    the keys"): dk = Nh * max(min_key_head_dim, floor(kappa Fout / Nh)),
    dv = Nh * max(1, floor(upsilon Fout / Nh)), so both split evenly over the heads."""
    def per_head(ratio):
        return floor_scaled(fout, ratio, heads)

    if dk is None:
        dk = heads * maximum(min_key_head_dim, per_head(kappa))
    if dv is None:
        dv = heads * maximum(1, per_head(upsilon))
    if is_concrete(dk, dv):
        return int(dk), int(dv)
    return dk, dv


def sparse_stride(stride, w):
    """The Sparse Transformer stride l: given, or the row width W (= sqrt(n) for square maps)."""
    return stride if stride is not None else w


# -- program helpers -----------------------------------------------------------------------------
def _exact_div(a, b):
    """a / b where the entry's check guarantees that b divides a (C / heads, H*W / l)."""
    return fdiv(int(a), int(b)) if is_concrete(a, b) else exact_div(a, b)


def _flag_size_one(g: Program, **sizes) -> None:
    """Sizes derived from N, C, H, W that are 1 here change which copies aten makes (a view of a
    dim of size 1 needs no copy): the symbolic formula, which takes them larger, does not apply."""
    ones = [name for name, size in sizes.items() if is_concrete(size) and int(size) == 1]
    if ones:
        g.mark_degenerate(f"{', '.join(ones)} = 1 changes which copies aten makes")


def _tokens(g: Program, x: Tensor) -> Tensor:
    """(N, C, H, W) -> contiguous (N, HW, C) tokens: one copy."""
    n, c, h, w = x.shape
    return g.contiguous(g.transpose(g.reshape(x, (n, c, h * w)), 1, 2))


def _to_map(g: Program, tokens: Tensor, shape) -> Tensor:
    """(N, HW, C) tokens -> (N, C, H, W): transpose and split HW, a view."""
    return g.reshape(g.transpose(tokens, 1, 2), shape)


def timm_attention(g: Program, tokens: Tensor, heads, head_dim, qkv_bias) -> Tensor:
    """timm Attention on (N, L, C) tokens (Vaswani Sec. 3.2.2); shared with networks/vit.py."""
    c = tokens.shape[2]
    _flag_size_one(g, head_dim=head_dim)
    qkv = g.linear(tokens, 3 * heads * head_dim, bias=qkv_bias, name="qkv")         # (N, L, 3 heads d)
    q, k, v = g.split_heads(qkv, 3, heads, head_dim)                                # (N, heads, L, d) each
    out = g.attention(q, k, v, power(head_dim, -1, 2), on="query")
    return g.linear(g.merge_heads(out), c, name="proj")                             # (N, L, C)


def _require_heads(name: str, channels, heads) -> None:
    require_divisible(name, "C", channels, heads, "heads")


# -- sdpa ----------------------------------------------------------------------------------------
@register(
    "sdpa", family="self-attention", aliases=("scaled-dot-product", "single-head-attention"),
    summary="single-head scaled dot-product self-attention over the H*W tokens, q/k/v/out linear layers",
    paper=Paper(equation="Eq. 1: Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V", **VASWANI,
                follows="Eq. 1 on H*W tokens: separate q, k, v nn.Linear C -> d (bias), logits divided by "
                        "sqrt(d), softmax, output nn.Linear d -> C (bias); explicit matmul/softmax (not "
                        "F.scaled_dot_product_attention, whose CPU kernels hide their ops)"),
    hyperparameters=[HP("head_dim", None, "d: width of queries, keys and values (default C)", minimum=1,
                        optional=True)],
)
def sdpa(g: Program, x: Tensor, *, head_dim) -> Tensor:
    """W_O softmax(Q K^T / sqrt(d)) V over the HW tokens (Vaswani Eq. 1), back to (N, C, H, W)."""
    c = x.shape[1]
    d = head_dim if head_dim is not None else c
    tokens = _tokens(g, x)                                                 # (N, HW, C)
    q, k, v = (g.linear(tokens, d, name=name) for name in ("q", "k", "v"))     # (N, HW, d)
    out = g.attention(q, k, v, power(d, 1, 2), op=DIV)                        # (N, HW, d)
    return _to_map(g, g.linear(out, c, name="proj"), x.shape)


# -- mhsa ----------------------------------------------------------------------------------------
def _mhsa_check(shape, hp):
    if hp["head_dim"] is None:
        _require_heads("mhsa", shape[1], hp["heads"])


@register(
    "mhsa", family="self-attention", aliases=("multi-head-self-attention", "mha"),
    summary="multi-head self-attention over the H*W tokens: fused qkv linear, per-head softmax, projection",
    paper=Paper(equation="Sec. 3.2.2: MultiHead = Concat(head_1..head_h) W^O, head_i = Attention (Eq. 1)",
                **VASWANI, follows=TIMM_ATTENTION),
    hyperparameters=[HP("heads", 8, "number of heads", minimum=1),
                     HP("head_dim", None, "d per head (default C // heads)", minimum=1, optional=True),
                     HP("qkv_bias", True, "bias on the qkv linear (ViT: True; timm Attention default False)",
                        type=bool)],
    check=_mhsa_check,
)
def mhsa(g: Program, x: Tensor, *, heads, head_dim, qkv_bias) -> Tensor:
    """proj(concat_h softmax(q_h k_h^T / sqrt(d)) v_h) over the HW tokens, back to (N, C, H, W)."""
    d = head_dim if head_dim is not None else _exact_div(x.shape[1], heads)
    return _to_map(g, timm_attention(g, _tokens(g, x), heads, d, qkv_bias), x.shape)


# -- vit-layer -----------------------------------------------------------------------------------
def _vit_check(shape, hp):
    _require_heads("vit-layer", shape[1], hp["heads"])
    if hp["mlp_ratio"] <= 0 or (is_concrete(shape[1]) and mlp_hidden(shape[1], hp["mlp_ratio"]) < 1):
        raise HyperparameterError(f"vit-layer: mlp_ratio={hp['mlp_ratio']} leaves no hidden units for C={shape[1]}")


@register(
    "vit-layer", family="self-attention", aliases=("vit-block", "transformer-encoder-layer"),
    summary="ViT encoder layer on the H*W tokens of dim C: x + MHSA(LN(x)), then x + MLP(LN(x))",
    paper=Paper(equation="Eq. 2: z' = MSA(LN(z)) + z; Eq. 3: z = MLP(LN(z')) + z'", **VIT,
                follows="timm Block (= the official Encoder1DBlock): pre-norm LayerNorm (eps 1e-6), " + TIMM_ATTENTION
                        + ", residual, LayerNorm, Mlp C -> int(C*mlp_ratio) -> C with GELU, residual"),
    hyperparameters=[HP("heads", 12, "number of heads (must divide C)", minimum=1),
                     HP("mlp_ratio", 4.0, "MLP hidden width / C (finite, at most 1024)", type=float, maximum=1024),
                     HP("qkv_bias", True, "bias on the qkv linear", type=bool)],
    check=_vit_check,
    notes="The (N, C, H, W) input is read as H*W tokens of dim C (a view: no class token, no position "
          "embedding); the output has the input's shape. The official code's tanh-approximate GELU and "
          "separate q, k, v projections count the same as timm's exact GELU and fused qkv.",
)
def vit_layer(g: Program, x: Tensor, *, heads, mlp_ratio, qkv_bias) -> Tensor:
    """z' = MSA(LN(z)) + z, z'' = MLP(LN(z')) + z' (ViT Eq. 2-3) with z the HW tokens of x."""
    n, c, h, w = x.shape
    tokens = g.transpose(g.reshape(x, (n, c, h * w)), 1, 2)              # (N, HW, C), a view
    attended = timm_attention(g, g.layer_norm(tokens, 1, name="norm1"), heads, _exact_div(c, heads), qkv_bias)
    tokens = g.add(tokens, attended)
    hidden = g.linear(g.layer_norm(tokens, 1, name="norm2"), mlp_hidden(c, mlp_ratio), name="fc1")
    tokens = g.add(tokens, g.linear(g.unary(GELU, hidden), c, name="fc2"))
    return _to_map(g, tokens, x.shape)


# -- patch-embed ---------------------------------------------------------------------------------
def _patch_check(shape, hp):
    p = hp["patch"]
    for axis, size in (("H", shape[2]), ("W", shape[3])):
        if not is_concrete(size):
            continue
        if hp["strict"] and int(size) % p:
            raise HyperparameterError(f"patch-embed: {axis}={size} is not divisible by patch={p} (strict=True)")
        if int(size) < p:
            raise HyperparameterError(f"patch-embed: {axis}={size} is smaller than patch={p}")


@register(
    "patch-embed", family="self-attention", aliases=("vit-patch-embed", "patchify"),
    summary="ViT patch embedding: conv C -> embed_dim with kernel = stride = patch, optional token LayerNorm",
    paper=Paper(equation="Eq. 1: z_0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos (the x_p E part)", **VIT,
                follows="timm PatchEmbed: Conv2d(C, embed_dim, patch, stride=patch, bias), flatten to tokens, "
                        "optional LayerNorm (norm_layer, as Swin's patch_norm); by default sizes that are not "
                        "multiples of p are floored, as the official VALID-padded conv does (strict=True: "
                        "timm's strict_img_size check)"),
    hyperparameters=[HP("embed_dim", 768, "token width", minimum=1),
                     HP("patch", 16, "patch size p (kernel and stride)", minimum=1),
                     HP("strict", False, "H and W must be multiples of p (timm strict_img_size)", type=bool),
                     HP("norm", False, "LayerNorm on the tokens", type=bool)],
    check=_patch_check,
    notes="Returns the (N, embed_dim, floor(H/p), floor(W/p)) map; its tokens x.flatten(2).transpose(1, 2) are "
          "a free view. Where p does not divide H or W the conv drops the last H mod p rows and W mod p "
          "columns (strict=True rejects such sizes instead).",
)
def patch_embed(g: Program, x: Tensor, *, embed_dim, patch, strict, norm) -> Tensor:
    """x_p E for every p x p patch (ViT Eq. 1) as one strided conv, optionally LayerNorm'ed."""
    y = g.conv(x, embed_dim, patch, stride=patch, name="proj")           # (N, E, H/p, W/p)
    if not norm:
        return y
    n, e, hp, wp = y.shape
    tokens = g.layer_norm(g.transpose(g.reshape(y, (n, e, hp * wp)), 1, 2), 1, name="norm")
    return _to_map(g, tokens, y.shape)


# -- aa-conv -------------------------------------------------------------------------------------
AA_PAPER = Paper(
    title="Attention Augmented Convolutional Networks", authors="Bello, Zoph, Vaswani, Shlens, Le",
    venue="ICCV 2019", year=2019,
    equation="Eq. 1-2 (multi-head attention), Eq. 3-4 (2-D relative logits S_H^rel + S_W^rel), "
             "Eq. 5: AAConv(X) = Concat[Conv(X), MHA(X)]",
    code="TensorFlow code in the paper's appendix (no repository); PyTorch port "
         "github.com/leaderj1001/Attention-Augmented-Conv2d",
    follows="the appendix code in NCHW PyTorch: conv k x k (same padding, bias) to Fout - dv; 1x1 conv (bias) "
            "to k, q, v (2 dk + dv channels, run as three convs: same parameters, MACs and activations, and "
            "no batch-size-dependent copies); q * dkh^-0.5; logits q^T k; relative logits by einsum, "
            "rel_to_abs (zero column, flatten, zero pad, slice) and tile, computed for W then H and added; "
            "softmax; attention output 1x1 conv dv -> dv (bias); concat. Unlike leaderj1001, the heads are "
            "combined in the paper's channel order")


def _aa_check(shape, hp):
    fout = hp["out_channels"] if hp["out_channels"] is not None else shape[1]
    heads = hp["heads"]
    dk, dv = aa_depths(fout, heads, hp["dk"], hp["dv"], hp["kappa"], hp["upsilon"], hp["min_key_head_dim"])
    for what, value in (("dk", dk), ("dv", dv)):
        require_divisible("aa-conv", what, value, heads, "heads")
    if is_concrete(dv, fout) and int(dv) > int(fout):
        raise HyperparameterError(f"aa-conv: dv={dv} exceeds the output channels {fout}")
    for what, value in (("kappa", hp["kappa"]), ("upsilon", hp["upsilon"])):
        if value <= 0:
            raise HyperparameterError(f"aa-conv: {what}={value} must be positive")


def _rel_to_abs(g: Program, x: Tensor) -> Tensor:
    """[B, Nh, L, 2L-1] relative -> [B, Nh, L, L] absolute logits (Bello et al. appendix)."""
    b, nh, length, _ = x.shape
    x = g.cat([x, g.fill((b, nh, length, 1))], 3)                          # (B, Nh, L, 2L)
    flat = g.reshape(x, (b, nh, 2 * length * length))
    flat = g.cat([flat, g.fill((b, nh, length - 1))], 2)
    flat = g.reshape(flat, (b, nh, length + 1, 2 * length - 1))
    return g.slice(g.slice(flat, 2, 0, length), 3, length - 1, 2 * length - 1)


def _relative_logits_1d(g: Program, q: Tensor, name: str, permutation) -> Tensor:
    """q (N, Nh, X, Y, dkh) -> logits of relative position along Y, tiled over X: (N, Nh, XY, XY).

    einsum('bhxyd,md->bhxym', q, r) runs as one bmm of the flattened q against r^T; with dkh = 1
    there is nothing to contract and it runs as a broadcast multiply, whose output keeps q's
    innermost spatial dim innermost with the relative index just outside it."""
    n, heads, rows, cols, dkh = q.shape
    m = 2 * cols - 1
    rel_k = g.parameter(name, (m, dkh))
    if is_concrete(dkh) and int(dkh) == 1:
        if g.training:          # torch's einsum runs it on 6-D views whose size-1 strides decide a later copy
            raise TrainingError("aa-conv with dk / heads = 1 (the relative einsum as a broadcast multiply) has no "
                                "backward yet: its gradient's layout is not modelled op for op")
        g.mark_degenerate("dk / heads = 1: the einsum runs as a broadcast multiply, not a bmm")
        inner = 3 if q.strides[3] is not None and is_one(q.strides[3]) else 2
        rel = g.mul(g.permute(q, (0, 1, 5 - inner, 4, inner)), g.reshape(rel_k, (1, 1, 1, m, 1)))
        rel = g.permute(rel, (0, 1, 2, 4, 3) if inner == 3 else (0, 1, 4, 2, 3))     # (N, Nh, X, Y, 2Y-1)
    else:
        q3 = g.reshape(q, (1, n * heads * rows * cols, dkh))
        rel = g.bmm(q3, g.transpose(g.reshape(rel_k, (1, m, dkh)), 1, 2))
    rel = _rel_to_abs(g, g.reshape(rel, (n, heads * rows, cols, m)))
    rel = g.reshape(rel, (n, heads, rows, 1, cols, cols))
    rel = g.permute(g.repeat(rel, (1, 1, 1, rows, 1, 1)), permutation)
    return g.reshape(rel, (n, heads, rows * cols, rows * cols))


@register(
    "aa-conv", family="self-attention", aliases=("attention-augmented-conv", "aaconv"),
    summary="attention-augmented convolution: concat of a k x k conv and multi-head 2-D relative self-attention",
    paper=AA_PAPER,
    hyperparameters=[
        HP("out_channels", None, "Fout (default C)", minimum=1, optional=True),
        HP("kernel", 3, "conv kernel size", minimum=1, odd=True),
        HP("heads", 8, "Nh attention heads", minimum=1),
        HP("dk", None, "key/query depth (default from kappa, see notes)", minimum=1, optional=True),
        HP("dv", None, "value depth = attention channels (default from upsilon, see notes)", minimum=1,
           optional=True),
        HP("kappa", 0.2, "dk / Fout when dk is not given", type=float),
        HP("upsilon", 0.1, "dv / Fout when dv is not given", type=float),
        HP("min_key_head_dim", 20, "minimum dk / Nh when dk is not given", minimum=1),
        HP("relative", True, "2-D relative position logits", type=bool),
        HP("stride", 1, "2: the conv strides, and the attention runs on a 3x3 average pool of stride 2 of the "
                        "input (the paper's downsampling of the self-attention's input, Sec. 3.2)", choices=(1, 2)),
    ],
    check=_aa_check,
    notes="Defaults follow the paper's ResNet/Wide-ResNet setting (Nh = 8, kappa = 2 upsilon = 0.2, at "
          "least 20 key dimensions per head): dk = Nh max(min_key_head_dim, floor(kappa Fout / Nh)), "
          "dv = Nh max(1, floor(upsilon Fout / Nh)). With relative=True the parameters depend on H and W "
          "(relative embeddings of 2W - 1 and 2H - 1 positions, dk/Nh wide) and the tiled relative logits "
          "(N Nh H^2 W^2 elements each) dominate memory. dv = Fout (fully attentional) drops the conv. "
          "stride=2 (a strided 3x3 of a ResNet) pools the attention's input with AvgPool2d(3, 2, padding=1), "
          "so the attention and its relative embeddings have the strided size.",
)
def aa_conv(g: Program, x: Tensor, *, out_channels, kernel, heads, dk, dv, kappa, upsilon, min_key_head_dim,
            relative, stride) -> Tensor:
    """Concat[Conv(X), MHA(X)] (Bello Eq. 5), MHA with relative logits (Eq. 4) and a 1x1 output conv."""
    fout = out_channels if out_channels is not None else x.shape[1]
    dk, dv = aa_depths(fout, heads, dk, dv, kappa, upsilon, min_key_head_dim)
    dkh, dvh = fdiv(dk, heads), fdiv(dv, heads)
    _flag_size_one(g, dkh=dkh, dvh=dvh)
    has_conv = not (is_concrete(fout, dv) and int(fout) == int(dv))
    if not has_conv:                 # the symbolic formula takes dv < Fout (a conv and a concat)
        g.mark_degenerate("dv = Fout: no conv and no concat")
    # the conv first, then the pool, as the official code runs them (the order decides what is live when)
    conv_out = (g.conv(x, fout - dv, kernel, stride=stride, padding=kernel // 2, name="conv") if has_conv
                else None)
    if stride != 1:
        x = g.avg_pool2d(x, 3, stride, 1)                                  # the attention's downsampled input
    n, c, h, w = x.shape
    k = g.reshape(g.conv(x, dk, 1, name="k"), (n, heads, dkh, h * w))
    q = g.mul(g.conv(x, dk, 1, name="q"), power(dkh, -1, 2))
    q = g.reshape(q, (n, heads, dkh, h * w))
    v = g.reshape(g.conv(x, dv, 1, name="v"), (n, heads, dvh, h * w))
    logits = g.matmul(g.transpose(q, 2, 3), k)                             # (N, Nh, HW, HW)
    if relative:
        # with N = 1 (and one head) the einsum's reshape of q is a view; with the map's H or W = 1 (a 2x2
        # input pooled at stride 2) the relative logits' reshapes are views and their pads empty
        _flag_size_one(g, N=n, H=h, W=w)
        q5 = g.permute(g.reshape(q, (n, heads, dkh, h, w)), (0, 1, 3, 4, 2))   # (N, Nh, H, W, dkh)
        rel_w = _relative_logits_1d(g, q5, "key_rel_w", (0, 1, 2, 4, 3, 5))
        rel_h = _relative_logits_1d(g, g.transpose(q5, 2, 3), "key_rel_h", (0, 1, 4, 2, 5, 3))
        logits = g.add(logits, rel_h, inplace=True)
        logits = g.add(logits, rel_w, inplace=True)
    weights = g.mark_attention_map(g.softmax(logits, -1))
    attn = g.reshape(g.matmul(v, g.transpose(weights, 2, 3)), (n, dv, h, w))
    attn = g.conv(attn, dv, 1, name="attn_out")
    return g.cat([conv_out, attn], 1) if has_conv else attn


# -- sparse-attention ----------------------------------------------------------------------------
SPARSE_PAPER = Paper(
    title="Generating Long Sequences with Sparse Transformers", authors="Child, Gray, Radford, Sutskever",
    venue="arXiv:1904.10509", year=2019,
    equation="Sec. 4.2: Attend(X, S) with the strided pattern A(1) = {t..i}, t = max(0, i - l), "
             "A(2) = {j: (i - j) mod l = 0}; Sec. 4.3: merged head attend(X, A(1) u A(2))",
    code="github.com/openai/sparse_attention (TF + blocksparse kernels)",
    follows="openai/sparse_attention masks (causal; 'local' band of l keys, 'strided' (i - j) mod l = 0, "
            "'all' for dense) and strided_transpose; qkv Linear C -> 3C and output Linear with bias; "
            "logits * d^-0.5; masking by masked_fill(-inf) instead of w*mask - 1e9(1 - mask). The blocksparse "
            "kernel's work is done with explicit ops: local keys as windows of 2l (previous and own block, "
            "zero-padded before the first) and strided keys on the strided-transposed sequence, one softmax "
            "over both (merged head; the query's own position is kept in the local half only)")


def _sparse_check(shape, hp):
    c, h, w = shape[1], shape[2], shape[3]
    _require_heads("sparse-attention", c, hp["heads"])
    if hp["mode"] == "dense" or not is_concrete(h, w):
        return
    n = int(h) * int(w)
    l = sparse_stride(hp["stride"], int(w))
    if l > n:
        raise HyperparameterError(f"sparse-attention: stride={l} is longer than the sequence H*W={n}")
    if n % l:
        raise HyperparameterError(f"sparse-attention: H*W={n} is not divisible by stride={l}")


def _dense_causal(g: Program, q: Tensor, k: Tensor, v: Tensor, scale) -> Tensor:
    """Causal full attention (the official 'all' mode): softmax(mask(q k^T * scale)) v."""
    length = q.shape[2]
    return g.attention(q, k, v, scale, mask=g.buffer("mask", (length, length)))   # logits (N, heads, n, n)


def _strided_merged(g: Program, q: Tensor, k: Tensor, v: Tensor, scale, l) -> Tensor:
    """One softmax over A(1) (windows of 2l keys, banded mask) and A(2) (strided-transposed keys,
    strictly earlier rows), then the two weighted sums of values added."""
    batch, heads, length, d = q.shape
    b = _exact_div(length, l)
    _flag_size_one(g, blocks=b, stride=l, N=batch)   # with N = 1 (and one head) the window reshapes are views

    def windows(t):              # (N, heads, n, d) -> (N, heads, b, d, 2l): [previous, own] block
        return g.unfold(g.cat([g.fill((batch, heads, l, d)), t], 2), 2, 2 * l, l)

    def strided_transpose(t):    # (N, heads, n, d) -> (N, heads, l, b, d)
        return g.contiguous(g.transpose(g.reshape(t, (batch, heads, b, l, d)), 2, 3))

    local = g.matmul(g.reshape(q, (batch, heads, b, l, d)), windows(k))  # (N, heads, b, l, 2l)
    local = g.binary(WHERE, local, g.buffer("local_mask", (b, l, 2 * l)), inplace=True)
    q_t, k_t, v_t = strided_transpose(q), strided_transpose(k), strided_transpose(v)
    strided = g.matmul(q_t, g.transpose(k_t, -2, -1))                   # (N, heads, l, b, b)
    strided = g.binary(WHERE, strided, g.buffer("strided_mask", (b, b)), inplace=True)
    logits = g.mul(g.cat([local, g.transpose(strided, 2, 3)], -1), scale)  # (N, heads, b, l, 2l + b)
    weights = g.mark_attention_map(g.softmax(logits, -1))
    out = g.matmul(g.slice(weights, 4, 0, 2 * l), g.transpose(windows(v), -2, -1))
    strided_out = g.matmul(g.transpose(g.slice(weights, 4, 2 * l, 2 * l + b), 2, 3), v_t)
    out = g.add(out, g.transpose(strided_out, 2, 3), inplace=True)        # (N, heads, b, l, d)
    return g.reshape(out, (batch, heads, length, d))


@register(
    "sparse-attention", family="self-attention", aliases=("sparse-transformer", "strided-attention"),
    summary="Sparse Transformer strided attention over the H*W tokens (O(n sqrt n)), or dense causal attention",
    paper=SPARSE_PAPER,
    hyperparameters=[HP("mode", "strided", "strided (merged local + strided head) or dense (causal)", type=str,
                        choices=("strided", "dense")),
                     HP("stride", None, "l: local window and stride (default W, = sqrt(H*W) when square; "
                                        "must divide H*W)", minimum=1, optional=True),
                     HP("heads", 8, "number of heads (must divide C)", minimum=1)],
    check=_sparse_check,
    notes="Causal, as in the paper (autoregressive models of images, text, audio), tokens in raster order. "
          "MACs: strided 2 N C n (2l + n/l) for n = H*W (l = W: 2 N C HW (2W + H)), dense 2 N C n^2, plus "
          "the qkv and output linears. The local half computes all 2l window keys (masked), including a "
          "zero-padded block before the first.",
)
def sparse_attention(g: Program, x: Tensor, *, mode, stride, heads) -> Tensor:
    """proj(attend(X, A(1) u A(2))) over the HW tokens (Child et al. Sec. 4.2-4.3), or dense causal."""
    n, c, h, w = x.shape
    tokens = _tokens(g, x)                                                 # (N, HW, C)
    d = _exact_div(c, heads)
    _flag_size_one(g, head_dim=d)
    q, k, v = g.split_heads(g.linear(tokens, 3 * heads * d, name="qkv"), 3, heads, d)    # 3 * heads * d = 3C
    scale = power(d, -1, 2)
    if mode == "dense":
        out = _dense_causal(g, q, k, v, scale)
    else:
        out = _strided_merged(g, q, k, v, scale, sparse_stride(stride, w))
    return _to_map(g, g.linear(g.merge_heads(out), c, name="proj"), x.shape)
