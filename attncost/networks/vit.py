"""ViT-B/16 (Dosovitskiy et al.: "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021, Eq. 1-4, Table 1 "ViT-Base") as a Program, following timm's
``vit_base_patch16_224`` (= torchvision's ``vit_b_16``, 86,567,656 parameters):

- patch embedding: conv 3 -> D, kernel = stride = P (bias), its (N, D, H/P, W/P) map read as
  (N, HW/P^2, D) tokens (a view); a learned class token (1, 1, D) expanded over the batch (a view) and
  concatenated in front (a copy); a learned position embedding (1, HW/P^2 + 1, D) added (Eq. 1);
- L encoder layers (Eq. 2-3): x + MHSA(LN(x)), then x + MLP(LN(x)); LayerNorm eps 1e-6; MHSA with a
  qkv Linear D -> 3D (bias), q * d^-0.5, softmax(q k^T) v per head, proj Linear (bias); MLP
  D -> 4D -> D with exact GELU; residual adds not in place;
- final LayerNorm, the class token (``x[:, 0]``, a view), head Linear D -> classes (Eq. 4).

Dropout and drop-path are the identity at inference and run no ops. Attention is written out with
explicit matmul / softmax (the catalogue's timm ``Attention`` block, ``timm_attention``, which makes
the head split contiguous once); each MHSA runs in scope ``attention:mhsa``. The encoder is one stage
(``stage1``, blocks ``block0..``).

Position embedding: ``image_size=None`` sizes it for the input's patch grid (197 x 768 at 224 x 224),
so a smaller input gives a smaller (still exact) network; a given ``image_size`` requires that input.
The CNN attention placements (SE, CBAM, ...) have no place in ViT: a spec with any is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..catalogue.common import is_concrete
from ..catalogue.families.self_attention.transformer import mlp_hidden, timm_attention
from ..cost import Program, Tensor
from ..ops.pointwise import GELU
from ..errors import SpecError
from .fields import check_fields, check_mlp_hidden, field_error


@dataclass(frozen=True)
class ViTSpec:
    # the encoder's attention is built in; the CNN placements (SE, CBAM, ...) have no place in it
    supported_placements: ClassVar[tuple] = ()
    name: str
    patch: int = 16
    embed_dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    image_size: int | None = None   # None: the position embedding follows the input's patch grid
    num_classes: int = 1000
    attention: tuple = field(default=(), compare=False)

    def __post_init__(self):
        check_fields(self)
        if self.embed_dim % self.heads:
            raise field_error(self, ("heads", "embed_dim"),
                              f"embed_dim={self.embed_dim} is not divisible by heads={self.heads}")
        check_mlp_hidden(self, self.embed_dim)

    def stage_blocks(self) -> dict:
        """{stage: number of blocks}: the encoder, the breakdown's ``stage1`` (no placement goes there)."""
        return {1: self.depth}


def check_vit(spec: ViTSpec, shape) -> None:
    """Reject what ViT cannot run: CNN attention placements, a mismatched image size, too small inputs
    (what the fields alone decide, ``__post_init__`` has checked)."""
    if spec.attention:
        raise SpecError(f"{spec.name}: attention placements apply to CNN stages; a ViT has none")
    for axis, size in zip("HW", shape[2:]):
        if not is_concrete(size):
            continue
        if spec.image_size is not None and int(size) != spec.image_size:
            raise SpecError(f"{spec.name}: input {axis}={size} differs from image_size={spec.image_size} "
                            "(the position embedding is sized for it)")
        if int(size) < spec.patch:
            raise SpecError(f"{spec.name}: input {axis}={size} is smaller than the patch size {spec.patch}")


def vit(g: Program, x: Tensor, spec: ViTSpec) -> Tensor:
    """z_0 = [x_class; x_p E] + E_pos, L encoder layers, y = head(LN(z_L^0)) (ViT Eq. 1-4)."""
    check_vit(spec, x.shape)
    d = spec.embed_dim
    with g.scope("stem"):
        patches = g.conv(x, d, spec.patch, stride=spec.patch, name="patch_embed")    # (N, D, H/P, W/P)
        n, _, h, w = patches.shape
        tokens = g.transpose(g.reshape(patches, (n, d, h * w)), 1, 2)               # (N, HW/P^2, D), a view
        cls = g.view(g.parameter("cls_token", (1, 1, d)), (n, 1, d))
        z = g.cat([cls, tokens], 1)                                                  # (N, L, D)
        z = g.add(z, g.parameter("pos_embed", (1, h * w + 1, d)))
    for b in range(spec.depth):
        with g.scope("stage1", f"block{b}"):
            normed = g.layer_norm(z, 1, name="norm1")
            with g.scope("attention:mhsa"):
                attended = timm_attention(g, normed, spec.heads, d // spec.heads, True)
            z = g.add(z, attended)
            hidden = g.linear(g.layer_norm(z, 1, name="norm2"), mlp_hidden(d, spec.mlp_ratio), name="fc1")
            z = g.add(z, g.linear(g.unary(GELU, hidden), d, name="fc2"))
    with g.scope("head"):
        z = g.layer_norm(z, 1, name="norm")
        cls = g.view(g.slice(z, 1, 0, 1), (n, d))                                   # x[:, 0], a view
        return g.linear(cls, spec.num_classes, name="head")
