/**
 * A small sealed model folder (random weights, manifest + weights.bin with their hashes) as the
 * writers leave one, for the tests of writing and listing model folders.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomModelFiles } from '../../he/random-model'
import { contentHash, sha256Hex } from '../../model/manifest'

export async function writeSealedModel(dir: string, name: string): Promise<void> {
  const { manifest, weightBytes } = randomModelFiles({
    name,
    input: { height: 8, width: 8, channels: 1 },
    layers: [{ type: 'conv2d', kernel: 3, stride: 1, padding: 0, filters: 2, packing: 'image' }, { type: 'square' }, { type: 'dense', units: 3 }],
  })
  manifest.weights.sha256 = await sha256Hex(weightBytes)
  manifest.contentHash = await contentHash(manifest, weightBytes)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'weights.bin'), weightBytes)
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
}
