/**
 * For bench-e2e.ts: waits until the server's pool has finished starting, as a visitor of a
 * running server finds it. GET /readyz?all=true answers 200 once one worker serves every model,
 * while the other workers may still be building the largest one; until they are done the small
 * models' images run on one core, not shared. Readiness publishes no worker counts, so this asks
 * the way a client can: it classifies a blank image of `model` through the public API, one after
 * another, until the answer says that `workers` workers shared it.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { BINARY, headers, paths, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { normalise } from '../../src/model/forward'

/** Returns how long it waited (ms) and the images it sent; throws past `timeoutMs`. */
export async function settlePool(base: string, model: string, workers: number, timeoutMs: number): Promise<{ waitedMs: number; probes: number }> {
  const started = performance.now()
  const { manifest } = await loadModelDir(`${MODELS_DIR}/${model}`)
  const owner = await KeyOwner.create(publicModel(manifest))
  let session: string | undefined
  try {
    const created = await fetch(`${base}${paths.sessions}?model=${encodeURIComponent(model)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.evaluationKeys })
    if (created.status !== 201) throw new Error(`settle: the probe's keys were refused: HTTP ${created.status} ${await created.text()}`)
    session = ((await created.json()) as SessionCreated).sessionId
    const { height, width, channels } = manifest.input
    const request = owner.encrypt(normalise(new Uint8Array(height * width * channels), manifest))
    for (let probes = 1; ; probes++) {
      // the session's keys load into the other workers ahead of its images: let that finish first
      await sleep(1000)
      const r = await fetch(`${base}${paths.classify(session)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: request })
      if (r.status !== 200) throw new Error(`settle: the probe image failed: HTTP ${r.status} ${await r.text()}`)
      await r.arrayBuffer()
      if (Number(r.headers.get(headers.serverWorkers)) >= workers) return { waitedMs: Math.round(performance.now() - started), probes }
      if (performance.now() - started > timeoutMs) throw new Error(`settle: no image was shared by ${workers} workers within ${timeoutMs} ms`)
    }
  } finally {
    if (session) await fetch(`${base}${paths.session(session)}`, { method: 'DELETE' }).catch(() => undefined)
    owner.dispose()
  }
}
