/**
 * The encrypted half of the importer's check, run as the server runs it: the server's own worker
 * pool (server/pool) builds the model in worker threads while the caller goes on with the
 * plaintext check and this thread makes the keys, then evaluates the encrypted images side by
 * side. The client role (src/he/key-owner.ts, its own SEAL instance) makes the keys, encrypts and
 * decrypts in this thread; the pool never sees a secret key.
 */
import { availableParallelism, loadavg } from 'node:os'
import type { ModelFiles } from '../../../src/datasets/model-files'
import { loadSeal } from '../../../src/he/context'
import { KeyOwner } from '../../../src/he/key-owner'
import { publicModel } from '../../../src/he/public-model'
import { WorkerPool } from '../../../server/pool/pool'

export interface EncryptedCheck {
  /** the decrypted logits of each normalised image, evaluated under encryption by the pool */
  logits(inputs: Float64Array[]): Promise<Float64Array[]>
  close(): Promise<void>
}

/** the pool's deadline for one image: an import check waits for it however loaded the machine is */
const CHECK_DEADLINE_MS = 60 * 60 * 1000

/**
 * Workers worth starting: one per image, up to the cores idle now. Each worker builds the model
 * itself, so a second one pays back its build only on a core of its own; on a busy machine it
 * would only add that build to the work.
 */
export function checkWorkers(images: number, cores = availableParallelism(), load = loadavg()[0]): number {
  return Math.max(1, Math.min(images, Math.round(cores - load)))
}

/** Starts the pool's workers building the model now. */
export function startEncryptedCheck(model: ModelFiles, images: number): EncryptedCheck {
  const name = model.manifest.name
  const pool = new WorkerPool({
    models: new Map([[name, model]]),
    size: checkWorkers(images),
    queueMax: Math.max(1, images),
    timeoutMs: CHECK_DEADLINE_MS,
    keyCache: 1,
  })
  return {
    async logits(inputs) {
      const owner = await KeyOwner.create(publicModel(model.manifest), await loadSeal())
      try {
        const requests = inputs.map((x) => owner.encrypt(x))
        await pool.ready
        const answers = Promise.all(requests.map((request) => pool.classify('import-check', name, owner.evaluationKeys, request)))
        answers.catch(() => {}) // awaited below; a failure there is the one reported
        // the chain the responses need is built while the workers evaluate
        owner.prepareDecryption()
        return (await answers).map((a) => owner.decrypt(a.response))
      } finally {
        owner.dispose()
      }
    },
    close: () => pool.close(),
  }
}
