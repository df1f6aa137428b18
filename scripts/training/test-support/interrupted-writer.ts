/**
 * node --import tsx interrupted-writer.ts TARGET
 *
 * A model writer that stops half-way: it writes a model into TARGET's partial folder through
 * ../model-folder.ts, prints `written PARTIAL` and then waits, never finishing, for the test to
 * kill it.
 */
import { writeModelFolder } from '../model-folder'
import { writeSealedModel } from '../../../src/datasets/test-support/sealed-model'

const target = process.argv[2]
await writeModelFolder(target, {}, async (dir) => {
  await writeSealedModel(dir, 'interrupted')
  console.log(`written ${dir}`)
  await new Promise(() => setInterval(() => {}, 60_000))
})
