"""The reference check: a NumPy forward pass of the manifest semantics (HWC activations, permuted
weights), compared with torch after each export and, standalone (--check DIR), with the recorded
test accuracy and a torch model rebuilt from the exported weights."""
import time

import numpy as np

from .data import DATASETS, dataset_key_of_title, load_split, normalise
from .export import load_exported, write_manifest

REFERENCE_IMAGES = 200
MAX_LOGIT_DIFF = 1e-3


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
            g = L.get('groups', 1)  # filter block j reads the channels of group j
            W, cg, fg = tensors[L['weights']], c // g, f // g
            cols = cols.reshape(n, ho, wo, k * k, g, cg)
            x = np.concatenate([cols[..., j, :].reshape(n, ho, wo, -1) @ W[:, j * fg:(j + 1) * fg]
                                for j in range(g)], axis=-1) + tensors[L['bias']]
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


def reference_check(model, out_dir, manifest, xte, xte_u8, yte_u8, log):
    """After an export: reload weights.bin, run the NumPy forward pass of the manifest semantics on
    the first test images against the torch model in eval mode, assert they agree, and record the
    result (and the largest activation of each layer) in the manifest's training record."""
    import torch
    n = min(REFERENCE_IMAGES, len(xte_u8))
    man2, tensors = load_exported(out_dir)
    ranges = []
    ref = numpy_forward(man2, tensors, xte_u8[:n], record=ranges)
    with torch.no_grad():
        tl = model(xte[:n]).double().numpy()
    diff = float(np.abs(ref - tl).max())
    acc_np, acc_t = float((ref.argmax(1) == yte_u8[:n]).mean()), float((tl.argmax(1) == yte_u8[:n]).mean())
    log(f'reference check on {n} test images: max |logit diff| {diff:.2e}, '
        f'accuracy numpy {acc_np:.3f} torch {acc_t:.3f}; max |activation| per layer '
        + ', '.join(f'{r["type"]}:{r["maxAbs"]:.3g}' for r in ranges))
    assert diff < MAX_LOGIT_DIFF, f'exported model differs from torch: {diff}'
    assert acc_np == acc_t
    manifest['training']['referenceCheck'] = {'images': n, 'maxAbsLogitDiff': float(f'{diff:.3g}'),
                                              'maxAbsActivation': [float(f'{r["maxAbs"]:.4g}') for r in ranges]}
    write_manifest(out_dir, manifest)


def _torch_from_manifest(manifest, tensors, x):
    """The manifest's network in torch, NCHW, with the weight permutations undone (float64)."""
    import torch
    from .model import staggered_pool
    F = torch.nn.functional
    for L in manifest['layers']:
        t = L['type']
        if t == 'conv2d':
            k, f = L['kernel'], L['filters']
            W = tensors[L['weights']]
            cin = W.shape[0] // (k * k)
            Wt = torch.from_numpy(W.reshape(k, k, cin, f).transpose(3, 2, 0, 1).copy())
            x = F.conv2d(x, Wt, torch.from_numpy(tensors[L['bias']]), L['stride'], L['padding'], groups=L.get('groups', 1))
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
    return x


def check_model(model_dir, count):
    """Standalone check of an exported model: NumPy manifest-semantics forward pass on the test set
    vs the recorded accuracy, and vs a torch model rebuilt from the weights (NCHW, un-permuted)."""
    manifest, tensors = load_exported(model_dir)
    tr = manifest['training']
    if tr['dataset'] not in {d['title'] for d in DATASETS.values()}:
        raise SystemExit(f'{model_dir} was trained on {tr["dataset"]!r}: --check reads the built-in data sets only '
                         '(a folder model is checked by its training run)')
    key = dataset_key_of_title(tr['dataset'])
    ds = DATASETS[key]
    x_u8, y_u8 = load_split(key, 'test')
    x_u8, y_u8 = x_u8[:count], y_u8[:count]
    t0 = time.time()
    pred = numpy_predict(manifest, tensors, x_u8)
    acc = float((pred == y_u8).mean())
    print(f'{model_dir}: numpy manifest forward on {len(y_u8)} test images: accuracy {acc:.4f} '
          f'(recorded {tr.get("testAccuracy")}) in {time.time() - t0:.1f}s')
    n = REFERENCE_IMAGES
    x = _torch_from_manifest(manifest, tensors, normalise(x_u8[:n], ds).double())
    ref = numpy_forward(manifest, tensors, x_u8[:n])
    diff = float(np.abs(ref - x.numpy()).max())
    print(f'torch (NCHW, un-permuted) vs numpy (HWC) on {n} images: max |logit diff| {diff:.2e}')
    ok = diff < MAX_LOGIT_DIFF
    if len(pred) == tr.get('testImages') and tr.get('testAccuracy') is not None:
        ok = ok and abs(acc - tr['testAccuracy']) < 1.5e-4  # float32 vs float64 may flip a tie
    if not ok:
        raise SystemExit('check FAILED')
    print('ok')
