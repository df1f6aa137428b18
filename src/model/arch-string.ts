/**
 * Architecture strings (`c5s1p0-20,poly,spool2,dense80,bilinear`, `...,dw3s2p1,poly,pw128,...`) read into manifest layer
 * geometry: the trainers' notation (scripts/training/blindfold_train/arch.py parses the same
 * tokens with the same rules; the tfjs trainer takes one too), so a network can be costed under
 * encryption (npm run model:explore) before anyone trains it. The last layer is a 10-unit dense,
 * or `bilinear` (10 logits) after a dense of 20 x K units. The teacher-only tokens (`relu`,
 * `maxpoolK`) are refused with the Python trainer's message.
 */
import type { LayerGeometry } from './manifest'

export function parseArch(arch: string, packing: 'image' | 'patches' = 'patches'): LayerGeometry[] {
  // channels of the activation so far (after the first layer), which a depthwise layer keeps
  let channels = 0
  const layers = arch
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((token, i): LayerGeometry => {
      const layer = parseToken(token, i, channels, packing)
      if (layer.type === 'conv2d') channels = layer.filters
      if (layer.type === 'dense') channels = layer.units
      return layer
    })
  return checkLast(layers)
}

/**
 * One token. Convolutions: `cKsSpP-N` (N filters), `cKsSpP-NgG` (G channel groups),
 * `dwKsSpP` (depthwise: one filter per input channel), `pwN` (1x1 channel mix, `pwNgG` grouped).
 */
function parseToken(token: string, i: number, channels: number, packing: 'image' | 'patches'): LayerGeometry {
  const conv = /^c(\d+)s(\d+)p(\d+)-(\d+)(?:g(\d+))?$/.exec(token)
  const pw = /^pw(\d+)(?:g(\d+))?$/.exec(token)
  const dw = /^dw(\d+)s(\d+)p(\d+)$/.exec(token)
  const first = i === 0 ? { packing } : {}
  const grouped = (groups: number) => (groups === 1 ? {} : { groups })
  if (conv) {
    const [kernel, stride, padding, filters] = conv.slice(1, 5).map(Number)
    return { type: 'conv2d', kernel, stride, padding, filters, ...grouped(Number(conv[5] ?? 1)), ...first }
  }
  if (pw) return { type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: Number(pw[1]), ...grouped(Number(pw[2] ?? 1)), ...first }
  if (dw) {
    if (i === 0) throw new Error(`'${token}' cannot be the first layer (its channels are the image's): write cKsSpP-NgC`)
    const [kernel, stride, padding] = dw.slice(1).map(Number)
    return { type: 'conv2d', kernel, stride, padding, filters: channels, groups: channels }
  }
  if (token === 'square' || token === 'poly') return { type: token }
  if (token === 'bilinear') return { type: 'bilinear', units: 10 }
  const pool = /^(s?)pool(\d+)$/.exec(token)
  if (pool) return { type: 'avgpool2d', size: Number(pool[2]), ...(pool[1] ? { stagger: true } : {}) }
  const dense = /^dense(\d*)$/.exec(token)
  if (dense) return { type: 'dense', units: dense[1] ? Number(dense[1]) : 10 }
  // the trainer takes these in a --teacher-arch only: no encrypted form, so no manifest layer
  if (token === 'relu' || /^maxpool\d+$/.test(token)) throw new Error(`'${token}' has no encrypted form: it may appear only in --teacher-arch`)
  throw new Error(`bad architecture token '${token}'`)
}

function checkLast(layers: LayerGeometry[]): LayerGeometry[] {
  const last = layers.at(-1)
  if (last?.type === 'bilinear') {
    const before = layers.at(-2)
    if (before?.type !== 'dense' || before.units % 20) throw new Error('bilinear must follow a dense layer of 20 x K units')
    return layers
  }
  if (last?.type !== 'dense' || last.units !== 10) throw new Error('the last layer must be a 10-unit dense (or bilinear)')
  return layers
}
