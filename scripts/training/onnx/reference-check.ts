/**
 * The importer's proof: ONNX Runtime (CPU) runs the original .onnx file on sample images, and the
 * manifest's plaintext forward pass (src/model/forward.ts) must give the same logits (max |diff|
 * within `relativeTolerance` of the largest logit), and the encrypted evaluation (the server's
 * worker pool with the client role in this thread: encrypted-check.ts) the same argmax on every image.
 */
import * as ort from 'onnxruntime-node'
import { argmax, forward, normalise } from '../../../src/model/forward'
import type { ModelManifest, Weights } from '../../../src/model/manifest'
import { seededRandom } from '../../../src/model/seeded-random'
import { startEncryptedCheck } from './encrypted-check'

export const RELATIVE_TOLERANCE = 1e-4

export interface CheckFigures {
  images: number
  /** largest |manifest forward - ORT| over every logit of every image */
  maxError: number
  /** largest |ORT logit| */
  maxLogit: number
  encryptedImages: number
  /** images whose encrypted argmax equals ORT's */
  encryptedAgree: number
  /** largest |decrypted - ORT| logit */
  encryptedMaxError: number
}

/** Seeded 8-bit test images, HWC, smooth enough to look like pictures rather than noise. */
export function sampleImages(m: ModelManifest, count: number, seed = 1): Uint8Array[] {
  const { height: H, width: W, channels: C } = m.input
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => {
    const base = Array.from({ length: C }, () => 255 * random())
    const fx = Array.from({ length: C }, () => 6 * random())
    const fy = Array.from({ length: C }, () => 6 * random())
    const image = new Uint8Array(H * W * C)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++) {
          const wave = 100 * Math.sin((fx[c] * x) / W + (fy[c] * y) / H + c)
          image[(y * W + x) * C + c] = Math.max(0, Math.min(255, Math.round(base[c] + wave + 40 * (random() - 0.5))))
        }
    return image
  })
}

/** ORT's logits for normalised HWC images, fed as NCHW batches of one. */
export async function ortLogits(onnxPath: string, m: ModelManifest, inputs: Float64Array[]): Promise<Float64Array[]> {
  const session = await ort.InferenceSession.create(onnxPath)
  try {
    const { height: H, width: W, channels: C } = m.input
    const out: Float64Array[] = []
    for (const x of inputs) {
      const nchw = new Float32Array(C * H * W)
      for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) nchw[c * H * W + i] = x[i * C + c]
      const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', nchw, [1, C, H, W]) })
      out.push(Float64Array.from(result[session.outputNames[0]].data as Float32Array))
    }
    return out
  } finally {
    await session.release()
  }
}

export interface CheckOptions {
  images: number
  /** the first this many images are also evaluated under encryption */
  encryptedImages: number
  /** the model's weight file as stored, which the server's workers build the model from: needed when encryptedImages > 0 */
  weightBytes?: Uint8Array
  droppedSoftmax?: 'Softmax' | 'LogSoftmax'
}

/**
 * Checks the imported manifest against ORT. Where the importer dropped a final Softmax or
 * LogSoftmax, ORT's output is compared with the same function applied to the manifest's logits.
 * The pool's workers start building the model first, so that they build while ORT and the
 * plaintext pass run here.
 */
export async function checkAgainstOrt(onnxPath: string, m: ModelManifest, w: Weights, options: CheckOptions): Promise<CheckFigures> {
  const inputs = sampleImages(m, options.images).map((img) => normalise(img, m))
  const encrypted = Math.min(Math.max(0, options.encryptedImages), inputs.length)
  if (encrypted > 0 && !options.weightBytes) throw new Error('checkAgainstOrt: an encrypted check needs the weight bytes')
  const pool = encrypted > 0 ? startEncryptedCheck({ manifest: m, weights: w, weightBytes: options.weightBytes! }, encrypted) : undefined
  try {
    const reference = await ortLogits(onnxPath, m, inputs)
    const figures: CheckFigures = { images: inputs.length, maxError: 0, maxLogit: 0, encryptedImages: 0, encryptedAgree: 0, encryptedMaxError: 0 }
    const plain = inputs.map((x) => forward(m, w, x))
    plain.forEach((p, i) => {
      const r = options.droppedSoftmax ? applySoftmax(p, options.droppedSoftmax) : p
      r.forEach((v, o) => {
        figures.maxError = Math.max(figures.maxError, Math.abs(v - reference[i][o]))
        figures.maxLogit = Math.max(figures.maxLogit, Math.abs(reference[i][o]))
      })
    })
    if (!pool) return figures
    const decrypted = await pool.logits(inputs.slice(0, encrypted))
    decrypted.forEach((logits, i) => {
      figures.encryptedImages++
      if (argmax(logits) === argmax(reference[i])) figures.encryptedAgree++
      logits.forEach((v, o) => (figures.encryptedMaxError = Math.max(figures.encryptedMaxError, Math.abs(v - plain[i][o]))))
    })
    return figures
  } finally {
    await pool?.close()
  }
}

function applySoftmax(v: Float64Array, kind: 'Softmax' | 'LogSoftmax'): Float64Array {
  const max = Math.max(...v)
  const lse = max + Math.log(v.reduce((s, t) => s + Math.exp(t - max), 0))
  return v.map((t) => (kind === 'LogSoftmax' ? t - lse : Math.exp(t - lse)))
}

export const passes = (f: CheckFigures): boolean => f.maxError <= RELATIVE_TOLERANCE * f.maxLogit && f.encryptedAgree === f.encryptedImages

export const describeFigures = (f: CheckFigures): string =>
  `ONNX Runtime vs manifest forward pass on ${f.images} images: max |diff| ${f.maxError.toExponential(2)} (limit ${(RELATIVE_TOLERANCE * f.maxLogit).toExponential(2)} = 1e-4 x max |logit| ${f.maxLogit.toFixed(3)}); ` +
  `encrypted: argmax equal to ORT's on ${f.encryptedAgree}/${f.encryptedImages} images, max |decrypted - plaintext| ${f.encryptedMaxError.toExponential(2)}`
