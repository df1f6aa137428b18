/**
 * The test split that `--data DIR --prepared P` kept (P/prepared.json and P/prepared.bin, written
 * by ./prepare.ts), classified by an exported model twice: the plaintext forward pass
 * (src/model/forward.ts) and the encrypted evaluation the server runs (client and server roles in
 * two SEAL instances), on the very inputs the page would send for those files.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import SEAL from 'node-seal'
import { ModelEvaluator } from '../../../src/he/evaluator'
import { KeyOwner } from '../../../src/he/key-owner'
import { publicModel } from '../../../src/he/public-model'
import { argmax, forward, normalise } from '../../../src/model/forward'
import type { ModelManifest, Weights } from '../../../src/model/manifest'
import type { FolderInput, PreparedItem } from './read-folder'

export interface PreparedFiles {
  classes: string[]
  input: FolderInput
  items: PreparedItem[]
  /** per item, its 8-bit model input (HWC) */
  images: Uint8Array[]
}

export function readPrepared(dir: string): PreparedFiles {
  const json = JSON.parse(readFileSync(join(dir, 'prepared.json'), 'utf8')) as Omit<PreparedFiles, 'images'>
  const pixels = new Uint8Array(readFileSync(join(dir, 'prepared.bin')))
  const size = json.input.height * json.input.width * json.input.channels
  if (pixels.length !== json.items.length * size) throw new Error(`${dir}: prepared.bin holds ${pixels.length} bytes, not ${json.items.length} x ${size}`)
  return { ...json, images: json.items.map((_, i) => pixels.subarray(i * size, (i + 1) * size)) }
}

/** The test split's inputs and labels. */
export function testSplit(p: PreparedFiles): { images: Uint8Array[]; labels: number[]; files: string[] } {
  const at = p.items.flatMap((item, i) => (item.split === 'test' ? [i] : []))
  return { images: at.map((i) => p.images[i]), labels: at.map((i) => p.items[i].label), files: at.map((i) => p.items[i].file) }
}

export function plaintextPredictions(m: ModelManifest, w: Weights, images: Uint8Array[]): number[] {
  return images.map((img) => argmax(forward(m, w, normalise(img, m))))
}

/** Encrypted under the client's keys, evaluated as the server evaluates, decrypted: each image's predicted class. */
export async function encryptedPredictions(m: ModelManifest, w: Weights, images: Uint8Array[], onEach?: (done: number) => void): Promise<number[]> {
  const [clientSeal, serverSeal] = [await SEAL(), await SEAL()]
  const owner = await KeyOwner.create(publicModel(m), clientSeal)
  const evaluator = await ModelEvaluator.create(m, w, serverSeal)
  const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
  try {
    return images.map((img, i) => {
      const p = argmax(owner.decrypt(evaluator.classify(keys, owner.encrypt(normalise(img, m)).slice()).slice()))
      onEach?.(i + 1)
      return p
    })
  } finally {
    keys.dispose()
    evaluator.dispose()
    owner.dispose()
  }
}

export const accuracy = (predictions: number[], labels: number[]): number => predictions.filter((p, i) => p === labels[i]).length / labels.length
