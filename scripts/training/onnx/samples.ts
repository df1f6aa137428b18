/**
 * `--samples DIR`: copies a few labelled PNG images (DIR/<class name>/*.png, the ImageFolder
 * layout) into the model's samples/ folder in the form the server serves for "try an example"
 * (server/routes/sample-catalog.ts): files named `<class>-<first 12 hex of their SHA-256>.png` and
 * samples/index.json listing each file with its class index.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { SAMPLE_FILE_PATTERN } from '../../../src/api/samples'
import { OnnxImportError } from './import-error'

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47]

export function copySamples(dir: string, classes: string[], out: string, perClass = 2): number {
  const samples: Array<{ file: string; label: number }> = []
  mkdirSync(out, { recursive: true })
  classes.forEach((cls, label) => {
    const folder = join(dir, cls)
    if (!existsSync(folder)) return
    const pngs = readdirSync(folder).filter((f) => f.toLowerCase().endsWith('.png')).sort()
    for (const f of pngs.slice(0, perClass)) {
      const bytes = readFileSync(join(folder, f))
      if (!PNG_MAGIC.every((b, i) => bytes[i] === b)) throw new OnnxImportError(`--samples: ${join(folder, f)} is not a PNG file`)
      const slug = cls.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || `class-${label}`
      const file = `${slug}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.png`
      if (!SAMPLE_FILE_PATTERN.test(file)) throw new OnnxImportError(`--samples: cannot name ${f} as a sample (${file})`)
      writeFileSync(join(out, file), bytes)
      samples.push({ file, label })
    }
  })
  if (!samples.length) throw new OnnxImportError(`--samples ${dir}: no PNG images found in sub-folders named after the classes (${classes.join(', ')})`)
  const index = { dataset: basename(dir), source: `supplied with the model (${basename(dir)})`, license: 'as supplied by the model owner', samples }
  writeFileSync(join(out, 'index.json'), JSON.stringify(index, null, 2) + '\n')
  return samples.length
}
