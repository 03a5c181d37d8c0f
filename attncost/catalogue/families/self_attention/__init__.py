"""The self-attention family: pairwise attention over the positions of a feature map, one module per
sub-family. ``non_local``: Non-local, CCNet, DANet, OCNet and CGNL, projections by convolutions over
the map; ``transformer``: scaled dot-product and multi-head self-attention, the ViT encoder layer and
patch embedding, attention-augmented convolution and strided sparse attention, over H*W tokens;
``efficient``: efficient attention, the product reassociated as Q (K^T V), linear in H*W;
``window``: Swin's W-MSA and SW-MSA; ``botnet``: BoTNet's relative-position MHSA; ``axial``:
Axial-DeepLab's position-sensitive axial attention.
Importing the package registers them all; the family itself is declared once, in ``registry.FAMILIES``."""

from . import axial, botnet, efficient, non_local, transformer, window  # noqa: F401
