"""The torch modules of an architecture string: conv (+ batch-norm), square, poly, average and
staggered pooling, dense (+ batch-norm when hidden), bilinear, and the teacher-only relu and max
pooling."""
from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class PolyInit:
    """Initial a and b of every poly activation (c starts at 0)."""
    a: float = 0.125
    b: float = 0.5


class Square(nn.Module):
    def forward(self, x):
        return x * x


class Poly(nn.Module):
    """a*x^2 + b*x + c per channel; a is kept at |a| >= 0.01 (its sign is free)."""
    def __init__(self, channels, spatial, a0, b0):
        super().__init__()
        self.spatial = spatial
        self.a = nn.Parameter(torch.full((channels,), a0))
        self.b = nn.Parameter(torch.full((channels,), b0))
        self.c = nn.Parameter(torch.zeros(channels))

    def eff_a(self):
        a = self.a
        return torch.where(a >= 0, a.clamp(min=0.01), a.clamp(max=-0.01))

    def coefficients(self):
        return torch.stack([self.eff_a(), self.b, self.c], dim=1)

    def forward(self, x):
        shape = (1, -1, 1, 1) if self.spatial else (1, -1)
        a, b, c = self.eff_a().view(shape), self.b.view(shape), self.c.view(shape)
        return (a * x + b) * x + c


def staggered_pool(x, s, avg_pool2d):
    """NCHW: channel c averages s x s windows starting at (q // s, q % s), q = c mod s^2, every s
    pixels, floor(H / s) x floor(W / s) of them, zeros past the bottom and right edges."""
    n, c, h, w = x.shape
    xp = torch.nn.functional.pad(x, (0, s - 1, 0, s - 1))
    parts = []
    for q in range(s * s):
        oy, ox = divmod(q, s)
        parts.append(avg_pool2d(xp[:, q::s * s, oy:oy + s * (h // s), ox:ox + s * (w // s)], s))
    out = x.new_empty(n, c, h // s, w // s)
    for q in range(s * s):
        out[:, q::s * s] = parts[q]
    return out


class StaggeredPool(nn.Module):
    """avgpool2d size s whose channel c starts q = c mod s^2 pixels in, at (q // s, q % s)."""
    def __init__(self, size):
        super().__init__()
        self.size = size

    def forward(self, x):
        return staggered_pool(x, self.size, torch.nn.functional.avg_pool2d)


class Bilinear(nn.Module):
    """logit i = sum over k of x[i + U*k] * x[U*K + i + U*k]: two linear maps multiplied."""
    def __init__(self, units):
        super().__init__()
        self.units = units

    def forward(self, x):
        half = x.shape[1] // 2
        return (x[:, :half] * x[:, half:]).view(x.shape[0], -1, self.units).sum(1)


class Net(nn.Module):
    """One block per layer dict (annotated by arch.shapes_through); dense layers read the
    activations flattened in torch's CHW order (export permutes them to the manifest's HWC)."""
    def __init__(self, layers, poly_init):
        super().__init__()
        self.layers = layers
        self.blocks = nn.ModuleList()
        for L in layers:
            h, w, c = L['in_shape']
            t = L['type']
            if t == 'conv2d':
                conv = nn.Conv2d(c, L['filters'], L['kernel'], L['stride'], L['padding'], groups=L.get('groups', 1))
                self.blocks.append(nn.Sequential(conv, nn.BatchNorm2d(L['filters'])))
            elif t == 'square':
                self.blocks.append(Square())
            elif t == 'poly':
                spatial = L['in_shape'][:2] != (1, 1) or L.get('spatial', False)
                self.blocks.append(Poly(c, spatial, poly_init.a, poly_init.b))
            elif t == 'avgpool2d':
                self.blocks.append(StaggeredPool(L['size']) if L.get('stagger') else nn.AvgPool2d(L['size']))
            elif t == 'maxpool2d':
                self.blocks.append(nn.MaxPool2d(L['size']))
            elif t == 'relu':
                self.blocks.append(nn.ReLU())
            elif t == 'bilinear':
                self.blocks.append(Bilinear(L['units']))
            elif t == 'dense':
                lin = nn.Linear(h * w * c, L['units'])
                last = L is layers[-1]
                self.blocks.append(lin if last else nn.Sequential(lin, nn.BatchNorm1d(L['units'])))

    def forward(self, x):
        for L, blk in zip(self.layers, self.blocks):
            if L['type'] == 'dense' and x.dim() == 4:
                x = x.flatten(1)  # CHW order
            x = blk(x)
        return x


def build_torch(layers, poly_init=PolyInit()):
    """The network of `layers` (from arch.shapes_through), initialised from torch's global RNG."""
    # a poly right after a conv/pool is spatial; after a dense it is flat
    spatial = False
    for L in layers:
        if L['type'] in ('conv2d', 'avgpool2d', 'maxpool2d'):
            spatial = True
        elif L['type'] == 'dense':
            spatial = False
        elif L['type'] == 'poly':
            L['spatial'] = spatial
    return Net(layers, poly_init)
