"""The training loop: one-cycle SGD or AdamW, exposure, crop, flip and affine augmentation, label
smoothing, optional distillation from a teacher's logits, optional weight averaging over the last
epochs."""
import math
import time
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import EXPOSURE_GAIN, EXPOSURE_GAMMA, EXPOSURE_LIFT


class Logger:
    """Prints each line and appends it to the log file (when one is given)."""
    def __init__(self, path=None):
        self.f = open(path, 'a') if path else None

    def __call__(self, *a):
        line = ' '.join(str(x) for x in a)
        print(line, flush=True)
        if self.f:
            self.f.write(line + '\n')
            self.f.flush()


@dataclass
class TrainData:
    """Normalised NCHW tensors and int64 labels of the training and test splits, and the per-channel
    mean and std of the normalisation (pixel = 255 * (x * std + mean)), which exposure needs."""
    xtr: torch.Tensor
    ytr: torch.Tensor
    xte: torch.Tensor
    yte: torch.Tensor
    mean: Optional[torch.Tensor] = None
    std: Optional[torch.Tensor] = None


def expose(xb, p, mean, std, gen):
    """With probability `p` per image, a random exposure (EXPOSURE_*) of its 8-bit pixel values:
    v -> 255 * (v / 255) ^ (1 / gamma) * gain + lift, clipped to 0..255 and rounded as a saved
    photo would be. xb is normalised (per-channel `mean`, `std` of values in 0..1) and comes
    back normalised; the other images are returned unchanged."""
    n = xb.shape[0]
    m = torch.rand(n, generator=gen) < p
    log_uniform = lambda lo, hi: torch.exp(math.log(lo) + torch.rand(n, generator=gen) * math.log(hi / lo))  # noqa: E731
    gain = log_uniform(*EXPOSURE_GAIN).view(-1, 1, 1, 1)
    gamma = log_uniform(*EXPOSURE_GAMMA).view(-1, 1, 1, 1)
    lift = (EXPOSURE_LIFT[0] + torch.rand(n, generator=gen) * (EXPOSURE_LIFT[1] - EXPOSURE_LIFT[0])).view(-1, 1, 1, 1)
    mean, std = mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)
    v = ((xb * std + mean) * 255).clamp(0, 255).round()
    v = (255 * (v / 255) ** (1 / gamma) * gain + lift).clamp(0, 255).round()
    return torch.where(m.view(-1, 1, 1, 1), (v / 255 - mean) / std, xb)


def affine(xb, rotate, zoom, shift, fill, gen):
    """Each image rotated by up to `rotate` degrees, zoomed by 1 +- `zoom` and shifted by up to
    `shift` pixels about its centre (bilinear), `fill` (one value per channel) outside it."""
    n, c, h, w = xb.shape
    u = lambda: torch.rand(n, generator=gen) * 2 - 1  # noqa: E731
    angle, scale = u() * math.radians(rotate), 1 + u() * zoom
    tx, ty = u() * (2 * shift / w), u() * (2 * shift / h)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, (n, c, h, w), align_corners=False)
    fill = fill.view(1, c, 1, 1)
    return F.grid_sample(xb - fill, grid, mode='bilinear', padding_mode='zeros', align_corners=False) + fill


def augment(xb, pad, flip, gen, warp=None, exposure=None):
    """With `exposure` (p, mean, std) first a random exposure (`expose`: a pixel-wise change of the
    whole photo, so before the padding), then a random crop from a zero-padded copy (zeros in
    normalised space), horizontal flip p=0.5, then with `warp` (rotate, zoom, shift, fill) a random
    affine (`affine`)."""
    if exposure:
        xb = expose(xb, *exposure, gen)
    n, c, h, w = xb.shape
    if pad:
        xp = torch.nn.functional.pad(xb, (pad, pad, pad, pad))  # zeros in normalised space
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
        xb = torch.stack([xp[i, :, oy[i]:oy[i] + h, ox[i]:ox[i] + w] for i in range(n)])
    if flip:
        m = torch.rand(n, generator=gen) < 0.5
        xb = torch.where(m.view(-1, 1, 1, 1), xb.flip(3), xb)
    if warp:
        xb = affine(xb, *warp, gen)
    return xb


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def recompute_batch_norm(model, x, fmt, batch=1000):
    """Each batch-norm layer's running mean and variance measured afresh over `x` (the training
    images, unaugmented): averaged weights need the statistics of their own activations."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative mean over every batch seen
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model(x[i:i + batch].contiguous(memory_format=fmt))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.eval()


def fit(model, cfg, epochs, label_smoothing, data, pad, flip, gen, fmt, log, teacher=None, tag='',
        average=0):
    """SGD/AdamW with a one-cycle LR over `epochs`; with a teacher, the loss is knowledge distillation
    (Hinton et al. 2015): kd_alpha * T^2 * KL(teacher || student at temperature T) + (1 - kd_alpha) *
    cross-entropy with the labels. The teacher sees the same augmented batch as the student.
    With `average` K > 1 the model ends with the mean of its weights after each of the last K
    epochs (Izmailov et al. 2018), batch-norm statistics recomputed: the late epochs of a small
    net under strong augmentation wander around a minimum rather than settle in it.
    Returns (final test accuracy, seconds per epoch, wall seconds)."""
    xtr, ytr, xte, yte = data.xtr, data.ytr, data.xte, data.yte
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    groups = [{'params': decay, 'weight_decay': cfg.wd}, {'params': no_decay, 'weight_decay': 0}]
    if cfg.opt == 'sgd':
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    else:
        opt = torch.optim.AdamW(groups, lr=cfg.lr)
    steps_per_epoch = math.ceil(len(xtr) / cfg.batch)
    warp = ((cfg.rotate, cfg.zoom, cfg.shift, xtr.amin(dim=(0, 2, 3)))
            if cfg.rotate or cfg.zoom or cfg.shift else None)
    exposure = (cfg.exposure, data.mean, data.std) if cfg.exposure else None
    # OneCycleLR divides by zero when its warm-up ends on the first step (pct_start x steps = 1),
    # which a small folder of images can hit
    pct_start = 0.25 if epochs * steps_per_epoch != 4 else 0.3
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=pct_start)
    ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    T, alpha = cfg.kd_temp, cfg.kd_alpha
    if teacher is not None:
        teacher.eval()

    epoch_times, acc, t_train = [], 0.0, time.time()
    averaged = None
    for epoch in range(1, epochs + 1):
        model.train()
        te = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        tot_loss, tot_correct, seen, skipped = 0.0, 0, 0, 0
        for bi in range(steps_per_epoch):
            idx = perm[bi * cfg.batch:(bi + 1) * cfg.batch]
            xb, yb = augment(xtr[idx], pad, flip, gen, warp, exposure).contiguous(memory_format=fmt), ytr[idx]
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
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
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
        if average > 1 and epoch > epochs - average:
            weights = [p.detach().clone() for p in model.parameters()]
            averaged = weights if averaged is None else [a + w for a, w in zip(averaged, weights)]
    if averaged is not None:
        with torch.no_grad():
            for p, total in zip(model.parameters(), averaged):
                p.copy_(total / average)
        recompute_batch_norm(model, xtr, fmt)
        acc = evaluate(model, xte, yte)
        log(f'{tag}weights averaged over the last {average} epochs: test_acc {acc:.4f}')
    return acc, epoch_times, time.time() - t_train
