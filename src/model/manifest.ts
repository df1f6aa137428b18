/**
 * A model is a manifest plus a weights file. The manifest holds everything the
 * engine needs to derive its evaluation plan; a second model is a second
 * manifest, not new code. `layerGeometry()` strips the weight references from
 * a layer; the public description a client sees is assembled from it in
 * src/he/public-model.ts.
 */

export const MODEL_FORMAT = 'blindfold-model/2'
/** The first format (one conv, square, dense; scalar normalisation): read as v2 by `migrateManifest`. */
export const MODEL_FORMAT_V1 = 'blindfold-model/1'

export interface HeParams {
  scheme: 'ckks'
  polyModulusDegree: number
  /** bit sizes of the coefficient-modulus primes, special (key-switching) prime last */
  coeffModulusBits: number[]
  /** log2 of the scale the client encodes inputs at */
  scaleBits: number
  securityLevel: 'tc128'
}

export interface Conv2dLayer {
  type: 'conv2d'
  kernel: number
  stride: number
  /** zeros around the input, in normalised (activation) space */
  padding: number
  filters: number
  /**
   * Channel groups (default 1): input channels and filters are split into `groups`
   * equal, consecutive parts, and filter f reads only the input channels of its
   * group g = floor(f / (filters / groups)), channels g * (inChannels / groups) + ci.
   * groups = inChannels is a depthwise convolution; kernel 1 a pointwise channel mix.
   */
  groups?: number
  /** first layer only: how the client packs the input (see src/he/conv-packing.ts); default 'patches' */
  packing?: 'patches' | 'image'
  /**
   * tensor [kernel*kernel*inChannels/groups, filters], row (ky * kernel + kx) * (inChannels / groups) + ci,
   * ci the input channel within the filter's group (PyTorch's [filters, inChannels/groups, k, k] transposed)
   */
  weights: string
  /** tensor [filters] */
  bias: string
}
export interface AvgPool2dLayer {
  type: 'avgpool2d'
  /** window = stride = size */
  size: number
  /**
   * Staggered windows: channel c's start q = c mod size^2 pixels in, at
   * (q div size, q mod size), with zeros past the bottom and right edges
   * (geometry.ts poolOrigin). After the first conv's activation the server
   * then sums size^2 conv ciphertexts into one (plan.ts, gather). Default false:
   * every window starts at (0, 0), no padding.
   */
  stagger?: boolean
}
export interface SquareLayer {
  type: 'square'
}
/** a*x^2 + b*x + c per channel, coefficients trained (so never public) */
export interface PolyLayer {
  type: 'poly'
  /** tensor [channels, 3]: a, b, c per channel of the layer's input */
  coefficients: string
}
export interface DenseLayer {
  type: 'dense'
  units: number
  /** tensor [inputs, units]; inputs in HWC order: (y * width + x) * channels + c */
  weights: string
  bias: string
}
/**
 * The last layer, after a dense layer of 2 * units * K outputs x: logit i is
 * the sum over k < K of x[i + units*k] * x[h + i + units*k], h = half of x.
 * Two linear maps of the features multiplied: a degree-2 read-out in one level
 * (one ciphertext product) where a square and a dense would take two. No weights.
 */
export interface BilinearLayer {
  type: 'bilinear'
  units: number
}
export type Layer = Conv2dLayer | AvgPool2dLayer | SquareLayer | PolyLayer | DenseLayer | BilinearLayer
/** A layer without its weight references: what the public manifest shows. */
export type LayerGeometry =
  | Omit<Conv2dLayer, 'weights' | 'bias'>
  | AvgPool2dLayer
  | SquareLayer
  | Omit<PolyLayer, 'coefficients'>
  | Omit<DenseLayer, 'weights' | 'bias'>
  | BilinearLayer

/** What the browser does to a picture before normalising it (see docs/model-format.md). */
export type Preprocess = 'ink-on-background' | 'photo'

export const PREPROCESS_KINDS: readonly Preprocess[] = ['ink-on-background', 'photo']

/**
 * How an `ink-on-background` model's data set framed its object (docs/model-format.md):
 * MNIST fitted strokes into a 20 px box and centred their mass; Fashion-MNIST fitted the
 * trimmed garment's longest edge to 28 px and centred its bounding box.
 */
export interface FrameSpec {
  /** longest side of the object once fitted, in pixels */
  fit: number
  /** 'mass': centre of mass at the frame's centre; 'box': bounding box centred */
  centre: 'mass' | 'box'
}

/** What an `ink-on-background` input without `frame` gets: MNIST's rule. */
export const DEFAULT_FRAME: Readonly<FrameSpec> = { fit: 20, centre: 'mass' }

export interface InputSpec {
  height: number
  width: number
  channels: 1 | 3
  /** the network sees (pixel / 255 - mean[c]) / std[c]; pixels are HWC */
  mean: number[]
  std: number[]
  preprocess: Preprocess
  /** `ink-on-background` only; DEFAULT_FRAME when absent */
  frame?: FrameSpec
}

export interface TensorEntry {
  name: string
  shape: number[]
  /** offset in float32 elements */
  offset: number
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT
  name: string
  version: string
  description: string
  classes: string[]
  input: InputSpec
  layers: Layer[]
  he: HeParams
  /** derived from layers + he by plan.ts at export; the loader re-derives and compares */
  plan: { rotationSteps: number[] }
  weights: { file: string; dtype: 'float32'; byteLength: number; sha256: string; tensors: TensorEntry[] }
  training?: Record<string, unknown>
  /** the data set it was trained on, as src/datasets names it ('mnist', 'fashion-mnist', 'cifar10'): tests and benches read its test split */
  dataset?: string
  /** sha256 of the weights file and the manifest without this field */
  contentHash: string
}

/** A layer's public geometry: every field but the names of its weight tensors. */
export function layerGeometry(l: Layer): LayerGeometry {
  switch (l.type) {
    case 'conv2d':
    case 'dense': {
      const { weights: _w, bias: _b, ...rest } = l
      return rest
    }
    case 'poly':
      return { type: 'poly' }
    default:
      return { ...l }
  }
}

export type Weights = Map<string, Float32Array>

export function readWeights(m: ModelManifest, bytes: Uint8Array): Weights {
  if (bytes.byteLength !== m.weights.byteLength) {
    throw new Error(`weights: expected ${m.weights.byteLength} bytes, got ${bytes.byteLength}`)
  }
  const all = new Float32Array(bytes.slice().buffer)
  const out: Weights = new Map()
  for (const t of m.weights.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1)
    if (t.offset + size > all.length) throw new Error(`weights: tensor ${t.name} out of range`)
    out.set(t.name, all.subarray(t.offset, t.offset + size))
  }
  return out
}

export function tensor(w: Weights, name: string, size: number): Float32Array {
  const t = w.get(name)
  if (!t) throw new Error(`weights: missing tensor ${name}`)
  if (t.length !== size) throw new Error(`weights: tensor ${name} has ${t.length} values, expected ${size}`)
  return t
}

export async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.byteLength, 0)
  const joined = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    joined.set(p, at)
    at += p.byteLength
  }
  const digest = await crypto.subtle.digest('SHA-256', joined)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Content hash: sha256 over the manifest (canonical JSON, without contentHash) and the weights. */
export async function contentHash(m: ModelManifest, weights: Uint8Array): Promise<string> {
  const { contentHash: _omit, ...rest } = m
  return sha256Hex(new TextEncoder().encode(JSON.stringify(rest)), weights)
}

/**
 * Reads a stored manifest of either format as v2 (a v2 input is checked by
 * `checkInputSpec`; a v1 input is built here). Hashes are checked on the
 * stored form (src/datasets/model-files.ts) before this runs; a v1 manifest keeps
 * its geometry and weights, its scalar normalisation becomes a list and its
 * preprocessing the digit rule it was trained with.
 */
export function migrateManifest(raw: unknown): ModelManifest {
  const m = raw as Omit<ModelManifest, 'format' | 'input'> & { format: string; input: Record<string, unknown> }
  if (m.format === MODEL_FORMAT) {
    checkInputSpec(m.input as unknown as InputSpec)
    return m as unknown as ModelManifest
  }
  if (m.format !== MODEL_FORMAT_V1) throw new Error(`unknown model format ${String(m.format)}`)
  const { mean, std } = m.input as { mean: number; std: number }
  return {
    ...m,
    format: MODEL_FORMAT,
    dataset: 'mnist',
    input: { height: m.input.height as number, width: m.input.width as number, channels: 1, mean: [mean], std: [std], preprocess: 'ink-on-background' },
  }
}

/**
 * The parts of `input` the browser's preprocessing relies on: a known
 * `preprocess`, and a `frame` only where it means something, with a fit that
 * lies inside the input. Throws with what is wrong.
 */
export function checkInputSpec(input: InputSpec): void {
  if (!PREPROCESS_KINDS.includes(input.preprocess)) throw new Error(`input.preprocess must be one of ${PREPROCESS_KINDS.join(', ')}, not ${String(input.preprocess)}`)
  const { frame } = input
  if (frame === undefined) return
  if (input.preprocess !== 'ink-on-background') throw new Error(`input.frame applies to ink-on-background models only, not ${input.preprocess}`)
  if (typeof frame !== 'object' || frame === null) throw new Error('input.frame must be an object { fit, centre }')
  const extra = Object.keys(frame).filter((k) => k !== 'fit' && k !== 'centre')
  if (extra.length) throw new Error(`input.frame has unknown fields: ${extra.join(', ')}`)
  const side = Math.min(input.height, input.width)
  if (!Number.isInteger(frame.fit) || frame.fit < 1 || frame.fit > side) throw new Error(`input.frame.fit must be a whole number of pixels from 1 to ${side}, not ${String(frame.fit)}`)
  if (frame.centre !== 'mass' && frame.centre !== 'box') throw new Error(`input.frame.centre must be mass or box, not ${String(frame.centre)}`)
}
