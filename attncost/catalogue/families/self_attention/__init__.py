"""The self-attention family: pairwise attention over the positions of a feature map, one module per
sub-family. ``non_local``: Non-local, CCNet, DANet, OCNet and CGNL, projections by convolutions over
the map; ``transformer``: scaled dot-product and multi-head self-attention, the ViT encoder layer and
patch embedding, attention-augmented convolution and strided sparse attention, over H*W tokens.
Importing the package registers both; the family itself is declared once, in ``registry.FAMILIES``."""

from . import non_local, transformer  # noqa: F401
