"""The architecture string (`c5s1p0-20,poly,spool2,dense80,bilinear`): parsed into layer dicts,
annotated with shapes, described in words. src/model/arch-string.ts reads the same tokens
with the same rules for the TypeScript side (costing a network, the tfjs trainer)."""
import re


def parse_arch(arch, teacher=False):
    """Layer dicts in order; `teacher` admits the tokens with no encrypted form (relu, maxpoolK)."""
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
    """`conv 5x5/1 (20 filters) -> poly -> ...`: the manifest description's geometry."""
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
