"""The distillation teacher: trained before the student (or loaded from a checkpoint trained with
the same settings) and never exported."""
import os

import torch

from .arch import parse_arch, shapes_through
from .model import PolyInit, build_torch
from .train import evaluate, fit


def teacher_spec(cfg):
    """What identifies a teacher checkpoint: a cached one is reused only if all of this matches."""
    return {'dataset': cfg.dataset or f'folder {os.path.abspath(cfg.data)}', 'arch': cfg.teacher_arch, 'epochs': cfg.teacher_epochs,
            'seed': cfg.seed, 'batch': cfg.batch, 'opt': cfg.opt, 'lr': cfg.lr, 'wd': cfg.wd,
            'crop_pad': cfg.crop_pad, 'flip': cfg.flip, 'train_limit': cfg.train_limit,
            **({'affine': [cfg.rotate, cfg.zoom, cfg.shift]} if cfg.rotate or cfg.zoom or cfg.shift else {}),
            **({'exposure': cfg.exposure} if cfg.exposure else {})}


def load_or_train_teacher(cfg, ds, data, pad, flip, fmt, log):
    """The teacher is training-only (never exported): any architecture string, trained here without
    label smoothing (smoothed teachers distil worse, Mueller et al. 2019) and cached in
    --teacher-ckpt so that several students can share it."""
    layers = shapes_through(parse_arch(cfg.teacher_arch, teacher=True, classes=len(ds['classes'])), ds['shape'])
    teacher = build_torch(layers, PolyInit(cfg.poly_a0, cfg.poly_b0)).to(memory_format=fmt)
    spec = teacher_spec(cfg)
    ckpt = cfg.teacher_ckpt
    if ckpt and os.path.exists(ckpt):
        saved = torch.load(ckpt)
        if saved.get('spec') == spec:
            teacher.load_state_dict(saved['state'])
            acc = evaluate(teacher, data.xte, data.yte)
            log(f'teacher {cfg.teacher_arch} loaded from {ckpt}: test_acc {acc:.4f}')
            return teacher
        log(f'teacher checkpoint {ckpt} was trained with other settings: training again')
    gen = torch.Generator().manual_seed(cfg.seed + 1000)
    torch.manual_seed(cfg.seed + 1000)
    acc, times, wall = fit(teacher, cfg, cfg.teacher_epochs, 0.0, data, pad, flip, gen, fmt, log,
                           tag='teacher ')
    log(f'teacher {cfg.teacher_arch}: test_acc {acc:.4f}, {wall:.0f}s')
    if ckpt:
        os.makedirs(os.path.dirname(os.path.abspath(ckpt)), exist_ok=True)
        torch.save({'spec': spec, 'state': teacher.state_dict(), 'testAccuracy': acc}, ckpt)
    return teacher
