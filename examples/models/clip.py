"""A two-input model (an image and int64 token ids), CLIP-like: the README's several-inputs example.
``build`` returns the model and its example inputs, so ``--shape`` is optional."""

import torch
from torch import nn

DIM, VOCAB, TOKENS = 64, 1000, 77


class ImageText(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Sequential(nn.Conv2d(3, DIM, 16, stride=16), nn.Flatten(2))     # (b, DIM, 196)
        self.embed = nn.Embedding(VOCAB, DIM)
        self.text = nn.TransformerEncoderLayer(DIM, 4, 2 * DIM, batch_first=True)

    def forward(self, image, tokens):
        image_features = self.image(image).mean(-1)                                    # (b, DIM)
        text_features = self.text(self.embed(tokens)).mean(1)                          # (b, DIM)
        return image_features @ text_features.t()                                      # (b, b) similarities


def build():
    return ImageText(), (torch.randn(1, 3, 224, 224), torch.zeros(1, TOKENS, dtype=torch.int64))
