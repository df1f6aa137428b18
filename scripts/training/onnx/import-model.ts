/**
 * An ONNX file in, a sealed model folder out: reads and translates the graph (refusing what
 * cannot run under CKKS), writes manifest + weights as the trainers' export does, seals them
 * (packing, HE parameters for the depth, plan, content hash: ../seal.ts) in a hidden sibling of
 * `<modelsDir>/<name>`, checks the result against ONNX Runtime in plaintext and under
 * encryption, and only then renames it into place (../model-folder.ts). Nothing is served from
 * there when any step fails or the run is interrupted.
 */
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import { loadModelDir, MODELS_DIR } from '../../../src/datasets/model-files'
import { parseHeParams } from '../../../src/he/params'
import { PREPROCESS_KINDS, type InputSpec, type Preprocess } from '../../../src/model/manifest'
import { exportModel } from '../export-model'
import { writeModelFolder } from '../model-folder'
import { sealModel } from '../seal'
import { checkDepth } from './depth-check'
import { OnnxImportError } from './import-error'
import { toManifestLayers } from './layers'
import { readOnnx } from './read-onnx'
import { checkAgainstOrt, describeFigures, passes, type CheckFigures } from './reference-check'
import { copySamples } from './samples'
import { translate } from './translate'

export interface ImportOptions {
  onnx: string
  name: string
  classes: string[]
  preprocess: Preprocess
  /** per channel (or one for all); default 0 and 1: the network sees pixel / 255 */
  mean?: number[]
  std?: number[]
  /** 'auto' (default: the parameters for the network's depth) or N:BITS:SCALE */
  he?: string
  /** a folder of labelled images (one sub-folder per class) to copy a few of into the model's samples/ */
  samples?: string
  force?: boolean
  /** where model folders live; the server's by default */
  modelsDir?: string
  /** images checked against ORT in plaintext, and how many of them under encryption */
  images?: number
  encryptedImages?: number
}

export interface ImportResult {
  dir: string
  summary: string
  notes: string[]
  figures: CheckFigures
  seconds: number
  /** seconds of each step, in order: reading and translating, export and sealing, the check against ORT, samples and the rename */
  phases: Array<[string, number]>
}

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/

function perChannel(values: number[] | undefined, channels: number, fallback: number, what: string): number[] {
  if (!values) return Array(channels).fill(fallback)
  if (values.length === 1) return Array(channels).fill(values[0])
  if (values.length !== channels || values.some((v) => !Number.isFinite(v))) throw new OnnxImportError(`--${what} needs 1 or ${channels} numbers, got ${values.join(',')}`)
  if (what === 'std' && values.some((v) => v <= 0)) throw new OnnxImportError('--std values must be positive')
  return values
}

export async function importOnnx(o: ImportOptions): Promise<ImportResult> {
  const started = performance.now()
  const phases: Array<[string, number]> = []
  let mark = started
  const phase = (what: string) => {
    const now = performance.now()
    phases.push([what, (now - mark) / 1000])
    mark = now
  }
  if (!NAME.test(o.name)) throw new OnnxImportError(`--name ${o.name}: lower-case letters, digits and '-' only (it names the folder and the model in the API)`)
  if (!PREPROCESS_KINDS.includes(o.preprocess)) throw new OnnxImportError(`--preprocess must be one of ${PREPROCESS_KINDS.join(', ')}`)
  const target = join(o.modelsDir ?? MODELS_DIR, o.name)
  if (existsSync(target) && !o.force) throw new OnnxImportError(`${target} exists; pass --force to replace it`)
  const graph = readOnnx(o.onnx)
  const t = translate(graph)
  const { layers, tensors } = toManifestLayers(t.layers)
  const end = t.layers[t.layers.length - 1]
  const units = end.type === 'dense' || end.type === 'bilinear' ? end.units : 0
  if (o.classes.length !== units) throw new OnnxImportError(`--classes names ${o.classes.length} classes; the network gives ${units} logits`)
  const input: InputSpec = {
    height: t.input.height,
    width: t.input.width,
    channels: t.input.channels as 1 | 3,
    mean: perChannel(o.mean, t.input.channels, 0, 'mean'),
    std: perChannel(o.std, t.input.channels, 1, 'std'),
    preprocess: o.preprocess,
  }
  const he = o.he && o.he !== 'auto' ? o.he : undefined
  if (he) parseHeParams(he)
  else checkDepth(t.layers, (n) => graph.nodes.find((x) => x.name === n)?.opType ?? '?')
  phase('read and translate')
  // filled as a hidden sibling of the target and renamed into place only once it passed every check
  const { summary, figures } = await writeModelFolder(target, { replace: o.force }, async (scratch) => {
    await exportModel({
      out: scratch,
      name: o.name,
      version: '1.0.0',
      description: `${o.name}: imported from ${basename(o.onnx)}`,
      classes: o.classes,
      input,
      layers,
      tensors,
      training: { importedFrom: basename(o.onnx), producer: graph.producer, opset: graph.opset },
    })
    const summary = await sealModel(scratch, { he })
    const { manifest, weights, weightBytes } = await loadModelDir(scratch)
    phase('export and seal')
    const figures = await checkAgainstOrt(o.onnx, manifest, weights, { images: o.images ?? 16, encryptedImages: o.encryptedImages ?? 4, weightBytes, droppedSoftmax: t.droppedSoftmax })
    phase('check against ONNX Runtime (plaintext and encrypted)')
    if (!passes(figures)) throw new OnnxImportError(`the imported model does not match ONNX Runtime, nothing written: ${describeFigures(figures)}`)
    if (o.samples) copySamples(o.samples, o.classes, join(scratch, 'samples'))
    return { summary: summary.replace(scratch, target), figures }
  })
  phase('samples and rename into place')
  return { dir: target, summary, notes: t.notes, figures, seconds: (performance.now() - started) / 1000, phases }
}
