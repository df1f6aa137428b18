"""A whole training run: data, network, optional teacher, training, export, reference check."""
import datetime
import os
import time

import numpy as np
import torch

from . import folder, model_folder
from .arch import describe, parse_arch, shapes_through
from .check import reference_check
from .config import exposure_text
from .data import DATASETS, load_split, normalise
from .distill import load_or_train_teacher
from .export import fold_and_export, write_manifest
from .model import PolyInit, build_torch
from .train import Logger, TrainData, fit


def training_record(cfg, ds, pad, flip, acc, n_test, n_params, epoch_times, wall):
    """The manifest's `training` record: the recipe, the result and where it ran."""
    aug = []
    if cfg.exposure:
        aug.append(exposure_text(cfg.exposure))
    if pad:
        aug.append(f'random crop with {pad}px zero padding (normalised space)')
    if flip:
        aug.append('horizontal flip p=0.5')
    if cfg.rotate or cfg.zoom or cfg.shift:
        aug.append(f'random affine: rotation up to {cfg.rotate} deg, zoom 1 +- {cfg.zoom}, '
                   f'shift up to {cfg.shift} px (bilinear)')
    return {
        'dataset': ds['title'],
        'arch': cfg.arch,
        'seed': cfg.seed,
        'epochs': cfg.epochs,
        'batch': cfg.batch,
        'optimizer': (f'{"SGD nesterov momentum 0.9" if cfg.opt == "sgd" else "AdamW"}, '
                      f'one-cycle LR max {cfg.lr} (25% warm-up, cosine), weight decay {cfg.wd} '
                      f'(weights only), gradient clipping norm {cfg.clip}'),
        'augmentation': ', '.join(aug) or 'none',
        'labelSmoothing': cfg.label_smoothing,
        'weightAveraging': (f'mean of the weights after each of the last {cfg.average} epochs, '
                            'batch-norm statistics recomputed on the training images'
                            if cfg.average > 1 else None),
        'distillation': ({'teacherArch': cfg.teacher_arch, 'teacherEpochs': cfg.teacher_epochs,
                          'temperature': cfg.kd_temp, 'alpha': cfg.kd_alpha}
                         if cfg.teacher_arch else None),
        'batchNorm': 'after each conv (and hidden dense), folded at export',
        'polyInit': {'a': cfg.poly_a0, 'b': cfg.poly_b0, 'c': 0, 'minAbsA': 0.01},
        'testAccuracy': round(acc, 4),
        'testImages': n_test,
        'parameters': None,
        'trainableParameters': n_params,
        'epochSeconds': round(float(np.mean(epoch_times)), 1),
        'wallSeconds': round(wall, 1),
        'machine': f'{os.cpu_count()} vCPU, torch.set_num_threads({cfg.threads})',
        'torch': torch.__version__,
        'exportedAt': datetime.datetime.utcnow().isoformat(timespec='seconds') + 'Z',
    }


def run(cfg):
    """Trains cfg.arch on cfg.dataset (or the images in cfg.data), exports it to cfg.out and checks
    the export; a folder's model is then sealed and written as ONNX too. Everything is written to
    a hidden sibling of cfg.out that becomes cfg.out only when the run succeeds (model_folder.py),
    so a run cut short never leaves a half-written folder where the server reads models."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)

    t0 = time.time()
    # a folder of images the trainer cannot use stops the run before anything is written
    prepared = folder.prepare(cfg) if cfg.data else None
    out = model_folder.start(cfg.out)
    try:
        log = _train_into(cfg, out, prepared, gen, t0)
    except BaseException:
        print(f'the unfinished run is kept in {out} (the next run for {cfg.out} removes it)', flush=True)
        raise
    model_folder.publish(out, cfg.out)
    if cfg.data:
        log(folder.serve_hint(cfg.out, _name(cfg)))
    log('ok')


def _name(cfg):
    return cfg.name or os.path.basename(os.path.normpath(cfg.out))


def _train_into(cfg, out, prepared, gen, t0):
    """The run's work, writing into the folder `out`; returns the run's logger."""
    log_path = cfg.log or os.path.join(out, 'train.log')
    if os.path.exists(log_path):
        os.remove(log_path)
    log = Logger(log_path)
    log(f'# {datetime.datetime.utcnow().isoformat(timespec="seconds")}Z torch {torch.__version__} '
        f'threads {cfg.threads}')
    log('# ' + cfg.command)

    if prepared:
        ds, xtr_u8, ytr_u8, xte_u8, yte_u8, summary, prepared_dir = prepared
        log(summary)
    else:
        ds = DATASETS[cfg.dataset]
        xtr_u8, ytr_u8 = load_split(cfg.dataset, 'train')
        xte_u8, yte_u8 = load_split(cfg.dataset, 'test')
    if cfg.train_limit:
        xtr_u8, ytr_u8 = xtr_u8[:cfg.train_limit], ytr_u8[:cfg.train_limit]
    data = TrainData(xtr=normalise(xtr_u8, ds), ytr=torch.from_numpy(ytr_u8.astype(np.int64)),
                     xte=normalise(xte_u8, ds), yte=torch.from_numpy(yte_u8.astype(np.int64)),
                     mean=torch.tensor(ds['mean'], dtype=torch.float32),
                     std=torch.tensor(ds['std'], dtype=torch.float32))
    log(f'data: train {tuple(data.xtr.shape)} test {tuple(data.xte.shape)} loaded in {time.time() - t0:.1f}s')

    layers = shapes_through(parse_arch(cfg.arch, classes=len(ds['classes'])), ds['shape'])
    model = build_torch(layers, PolyInit(cfg.poly_a0, cfg.poly_b0))
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    n_params = sum(p.numel() for p in model.parameters())
    log(f'arch {cfg.arch}: ' + ' -> '.join(f'{L["type"]}{L["out_shape"]}' for L in layers)
        + f'; trainable params {n_params}')

    pad, flip = cfg.augmentation()
    teacher = None
    if cfg.teacher_arch:
        teacher = load_or_train_teacher(cfg, ds, data, pad, flip, fmt, log)

    acc, epoch_times, wall = fit(model, cfg, cfg.epochs, cfg.label_smoothing, data, pad, flip, gen,
                                 fmt, log, teacher=teacher, average=cfg.average)
    n_test = len(data.xte)
    log(f'final test accuracy {acc:.4f} ({int(round(acc * n_test))}/{n_test}), '
        f'training wall time {wall:.0f}s, mean epoch {np.mean(epoch_times):.1f}s')

    meta = {
        'dataset': cfg.dataset,
        'name': _name(cfg),
        'version': cfg.version,
        'packing': cfg.packing,
        # the server publishes the description: geometry only, no measured number
        'description': f'{ds["subject"]}: {describe(layers)}, batch-norm folded',
        'training': training_record(cfg, ds, pad, flip, acc, n_test, n_params, epoch_times, wall),
    }
    model.eval()
    manifest = fold_and_export(model, layers, meta, out, ds)
    manifest['training']['parameters'] = manifest['weights']['byteLength'] // 4
    write_manifest(out, manifest)
    log(f'exported {cfg.out}: weights.bin {manifest["weights"]["byteLength"]} bytes '
        f'({manifest["weights"]["byteLength"] // 4} floats), sha256 {manifest["weights"]["sha256"]}')

    reference_check(model, out, manifest, data.xte, xte_u8, yte_u8, log)
    if cfg.data:
        folder.finish(cfg, out, cfg.onnx or os.path.join(out, f'{meta["name"]}.onnx'), prepared_dir)
    return log
