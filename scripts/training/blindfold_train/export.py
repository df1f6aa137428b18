"""Export: batch-norm folded into the conv and dense before it, weights permuted from torch's
NCHW/CHW to the manifest's HWC layouts, written as weights.bin (float32 LE) and manifest.json
(docs/model-format.md). The HE parameters, plan and content hash stay empty: `npm run model:seal`
fills them."""
import hashlib
import json
import os

import numpy as np
import torch

from .data import DATASETS


def fold_and_export(model, layers, meta, out_dir, ds=None):
    """Writes weights.bin and manifest.json; returns the manifest dict. ds: the data set's
    description (default DATASETS[meta['dataset']])."""
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
                # [out, in, ky, kx] -> [ky, kx, in, out] -> [(ky*k+kx)*in + ci, out]; grouped: in = channels / groups
                w = wt.numpy().transpose(2, 3, 1, 0).reshape(k * k * cin, L['filters'])
                name = nxt('conv')
                tensors += [(f'{name}.weights', w), (f'{name}.bias', bs.numpy())]
                entry = {'type': 'conv2d', 'kernel': k, 'stride': L['stride'],
                         'padding': L['padding'], 'filters': L['filters'],
                         **({'groups': L['groups']} if L.get('groups', 1) != 1 else {})}
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
    ds = ds or DATASETS[meta['dataset']]
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
    """(manifest, {tensor name: float64 array in manifest layout}), after checking length and sha256."""
    with open(os.path.join(model_dir, 'manifest.json')) as f:
        manifest = json.load(f)
    wm = manifest['weights']
    with open(os.path.join(model_dir, wm['file']), 'rb') as f:
        blob = f.read()
    assert len(blob) == wm['byteLength'], 'weights.bin length differs from the manifest'
    assert hashlib.sha256(blob).hexdigest() == wm['sha256'], 'weights.bin sha256 differs'
    flat = np.frombuffer(blob, dtype='<f4')
    tensors = {}
    for t in wm['tensors']:
        n = int(np.prod(t['shape']))
        tensors[t['name']] = flat[t['offset']:t['offset'] + n].reshape(t['shape']).astype(np.float64)
    return manifest, tensors
