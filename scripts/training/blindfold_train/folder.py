"""Your own images (--data DIR, the ImageFolder layout): the page's preprocessing runs in Node
(scripts/training/folder/prepare.ts applies src/image's pipeline to each decoded file, so the
network trains on exactly what the page will send), this module reads its output, and the
normalisation is measured on the training split. After the export, finish.ts seals the model
and writes it as ONNX."""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from .data import REPO_ROOT

NODE = os.path.join(REPO_ROOT, 'node_modules', '.bin', 'node')
PREPARE = os.path.join(REPO_ROOT, 'scripts', 'training', 'folder', 'prepare.ts')
FINISH = os.path.join(REPO_ROOT, 'scripts', 'training', 'folder', 'finish.ts')
DEFAULT_INPUT = {'photo': '32x32x3', 'ink-on-background': '28x28x1'}


def _node(script, *args):
    """Runs a TypeScript script with the project's Node; a failure ends the run with its message."""
    node = NODE if os.path.exists(NODE) else 'node'
    r = subprocess.run([node, '--import', 'tsx', script, *args], cwd=REPO_ROOT)
    if r.returncode != 0:
        raise SystemExit(f'{os.path.relpath(script, REPO_ROOT)} failed (exit {r.returncode}); see its message above')


def input_shape(cfg):
    """(height, width, channels) of the network's input for this run."""
    h, w, c = (int(v) for v in (cfg.input_shape or DEFAULT_INPUT[cfg.preprocess]).split('x'))
    return h, w, c


def prepare(cfg):
    """Runs the page's preprocessing over cfg.data; returns (ds, xtr_u8, ytr_u8, xte_u8, yte_u8,
    summary line, folder of the prepared files for finish). ds is the data set's description that
    the export and the manifest use (as data.DATASETS holds for the built-in sets), with the
    normalisation measured on the training split."""
    h, w, c = input_shape(cfg)
    work = cfg.prepared or tempfile.mkdtemp(prefix='blindfold-prepared-')
    args = ['--data', os.path.abspath(cfg.data), '--out', os.path.abspath(work), '--preprocess', cfg.preprocess,
            '--input', f'{h}x{w}x{c}', '--seed', str(cfg.seed), '--test-fraction', str(cfg.test_fraction)]
    if cfg.frame:
        args += ['--frame', cfg.frame]
    if cfg.samples:
        args += ['--samples', str(cfg.samples)]
    try:
        _node(PREPARE, *args)
        with open(os.path.join(work, 'prepared.json')) as f:
            prep = json.load(f)
        pixels = np.fromfile(os.path.join(work, 'prepared.bin'), dtype=np.uint8)
    finally:
        # the sample images wait there for finish
        if not cfg.prepared and not cfg.samples:
            shutil.rmtree(work, ignore_errors=True)
    items = prep['items']
    x = pixels.reshape(len(items), h, w, c)
    y = np.asarray([it['label'] for it in items], dtype=np.uint8)
    test = np.asarray([it['split'] == 'test' for it in items])
    xtr, ytr, xte, yte = x[~test], y[~test], x[test], y[test]
    # per-channel mean and std of the training split, as the manifest's input normalisation
    flat = xtr.reshape(-1, c).astype(np.float64) / 255.0
    mean = [round(float(v), 4) for v in flat.mean(0)]
    std = [max(round(float(v), 4), 1e-3) for v in flat.std(0)]
    classes = prep['classes']
    name = os.path.basename(os.path.normpath(cfg.data))
    ds = {
        'title': (f'image folder {name}: {len(ytr)} train / {len(yte)} test, {len(classes)} classes, '
                  + ('seeded split' if prep['layout'] == 'seeded split' else 'its own train/ and test/')
                  + (f' (seed {cfg.seed}, {cfg.test_fraction:g} held out per class)' if prep['layout'] == 'seeded split' else '')),
        'classes': classes,
        'shape': (h, w, c),
        'mean': mean,
        'std': std,
        'preprocess': cfg.preprocess,
        'subject': cfg.subject or ', '.join(classes),
    }
    if 'frame' in prep['input']:
        ds['frame'] = prep['input']['frame']
    summary = (f'data: {cfg.data}: classes {classes}; {len(ytr)} train / {len(yte)} test images '
               f'({prep["layout"]}), {len(prep["skipped"])} skipped; mean {mean} std {std} (training split)'
               + (f'; prepared inputs kept in {work}' if cfg.prepared else ''))
    return ds, xtr, ytr, xte, yte, summary, work


def serve_hint(out_dir, name):
    """How the model gets served: where the server looks, or where to copy it."""
    models = os.path.join(REPO_ROOT, 'server', 'models')
    if os.path.realpath(os.path.dirname(os.path.abspath(out_dir))) == os.path.realpath(models):
        return f'serve it: the server serves {out_dir} from its next start (npm start)'
    return (f'serve it: copy {out_dir} to server/models/{name} (or point MODELS_DIR at its parent) '
            'and start the server')


def finish(cfg, out_dir, onnx_path, work):
    """Seals the exported model in out_dir (HE parameters, plan, content hash), writes it as ONNX
    and, with --samples N, gives it N example images per class from the test split. out_dir is the
    run's unfinished folder; the messages name cfg.out, where it goes when the run is done."""
    args = [os.path.abspath(out_dir), '--onnx', os.path.abspath(onnx_path), '--final', cfg.out]
    if cfg.samples:
        args += ['--samples', os.path.join(work, 'samples'), '--per-class', str(cfg.samples)]
    try:
        _node(FINISH, *args)
    finally:
        if cfg.samples and not cfg.prepared:
            shutil.rmtree(work, ignore_errors=True)
