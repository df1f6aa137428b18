"""The architecture string (`c5s1p0-20,poly,spool2,dense80,bilinear`; grouped convs `c3s1p1-128g4`,
depthwise `dw3s2p1`, pointwise `pw128`): parsed into layer dicts,
annotated with shapes, described in words. src/model/arch-string.ts reads the same tokens
with the same rules for the TypeScript side (costing a network, the tfjs trainer)."""
import re


def parse_arch(arch, teacher=False, classes=10):
    """Layer dicts in order; `teacher` admits the tokens with no encrypted form (relu, maxpoolK);
    the last layer has one output per class."""
    layers = []
    channels = 0  # of the activation so far, which a depthwise layer keeps
    for tok in [t.strip() for t in arch.split(',') if t.strip()]:
        m = re.fullmatch(r'c(\d+)s(\d+)p(\d+)-(\d+)(?:g(\d+))?', tok)
        pw = re.fullmatch(r'pw(\d+)(?:g(\d+))?', tok)
        dw = re.fullmatch(r'dw(\d+)s(\d+)p(\d+)', tok)
        if m or pw:
            k, s, p, f, g = (map(int, m.groups(default='1')) if m
                             else (1, 1, 0, int(pw.group(1)), int(pw.group(2) or 1)))
            layers.append({'type': 'conv2d', 'kernel': k, 'stride': s, 'padding': p, 'filters': f,
                           **({'groups': g} if g != 1 else {})})
        elif dw:
            if not layers:
                raise SystemExit(f"{tok!r} cannot be the first layer (its channels are the image's): write cKsSpP-NgC")
            k, s, p = map(int, dw.groups())
            layers.append({'type': 'conv2d', 'kernel': k, 'stride': s, 'padding': p, 'filters': channels,
                           'groups': channels})
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
            layers.append({'type': 'bilinear', 'units': classes})
        else:
            raise SystemExit(f'bad architecture token {tok!r}')
        if layers[-1]['type'] in ('conv2d', 'dense'):
            channels = layers[-1].get('filters', layers[-1].get('units'))
    if layers and layers[-1]['type'] == 'bilinear':
        units = layers[-2]['units'] if len(layers) > 1 and layers[-2]['type'] == 'dense' else None
        if not units or units % (2 * classes):
            raise SystemExit(f'bilinear must be the last layer, after a denseN with N a multiple of {2 * classes} '
                             f'(2 x {classes} classes x K products per class)')
        return layers
    if not layers or layers[-1]['type'] != 'dense':
        raise SystemExit('the last layer must be dense (or bilinear)')
    layers[-1]['units'] = layers[-1]['units'] or classes
    if layers[-1]['units'] != classes:
        raise SystemExit(f'the last dense layer must have {classes} units, one per class')
    return layers


def shapes_through(layers, hwc):
    """Annotates each layer with its input shape (H, W, C) (flat layers: (1, 1, n))."""
    h, w, c = hwc
    for L in layers:
        L['in_shape'] = (h, w, c)
        t = L['type']
        if t == 'conv2d':
            k, s, p, g = L['kernel'], L['stride'], L['padding'], L.get('groups', 1)
            if c % g or L['filters'] % g:
                raise SystemExit(f'groups {g} must divide the {c} input channels and {L["filters"]} filters')
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
            g = L.get('groups', 1)
            groups = '' if g == 1 else ', depthwise' if g == L['filters'] == L['in_shape'][2] else f', {g} groups'
            parts.append(f'conv {L["kernel"]}x{L["kernel"]}/{L["stride"]} ({L["filters"]} filters{groups})')
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
