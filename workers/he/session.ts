/**
 * The worker's long-lived state: one SEAL instance and, per model, one
 * KeyOwner (its secret key lives inside it, for the life of the tab) and the
 * server session its evaluation keys were uploaded to. A session is made the
 * first time a model is used and kept when the page switches to another.
 */
import type { ListedModel, OnSessionProgress, SessionInfo } from '../../src/api/he-worker-types'
import { paths, type ModelsResponse, type SessionCreated } from '../../src/api/wire'
import { loadSeal } from '../../src/he/context'
import { KeyOwner } from '../../src/he/key-owner'
import { sha256Prefix } from './digest'
import { expectOk, json } from './http'
import { loggedSend } from './request-log'

interface State {
  owner: KeyOwner
  info: SessionInfo
}

const sessions = new Map<string, State>()
/** one key generation per model at a time: a second call for the same model waits for the first */
const starting = new Map<string, Promise<SessionInfo>>()
let models: Promise<ListedModel[]> | undefined

/** The server's models, fetched once per worker unless `refresh` (their costs change as the server measures); a failed fetch is retried on the next call. */
export function listModels(refresh = false): Promise<ListedModel[]> {
  if (refresh) models = undefined
  models ??= loggedSend('model list (no body)', { method: 'GET', url: paths.models })
    .then((x) => json<ModelsResponse>(expectOk(x)).models)
    .catch((e: unknown) => {
      models = undefined
      throw e
    })
  return models
}

async function findModel(name: string): Promise<ListedModel> {
  const m = (await listModels()).find((x) => x.name === name)
  if (!m) throw new Error(`The server has no model named "${name}".`)
  return m
}

async function upload(owner: KeyOwner, fingerprint: string | Promise<string>, onProgress?: OnSessionProgress): Promise<{ created: SessionCreated; ms: number }> {
  const keys = owner.evaluationKeys
  onProgress?.({ stage: 'uploading', loaded: 0, total: keys.byteLength })
  const x = expectOk(
    await loggedSend(
      'evaluation keys',
      {
        method: 'POST',
        url: `${paths.sessions}?model=${encodeURIComponent(owner.model.name)}`,
        body: keys,
        onUploadProgress: (loaded, total) => onProgress?.({ stage: 'uploading', loaded, total }),
      },
      owner.model.name,
      fingerprint,
    ),
  )
  return { created: json<SessionCreated>(x), ms: x.totalMs }
}

/** The model's session, made (keys generated and uploaded) if there is none yet. */
export function ensureSession(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo> {
  const live = sessions.get(modelName)
  if (live) return Promise.resolve(live.info)
  return starting.get(modelName) ?? startSession(modelName, onProgress)
}

/** Makes fresh keys for one model (dropping its old ones) and uploads their evaluation part. */
export function startSession(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo> {
  const run = (starting.get(modelName) ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => makeSession(modelName, onProgress))
    .finally(() => {
      if (starting.get(modelName) === run) starting.delete(modelName)
    })
  starting.set(modelName, run)
  return run
}

async function makeSession(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo> {
  const started = performance.now()
  onProgress?.({ stage: 'loading' })
  const seal = await loadSeal()
  const model = await findModel(modelName)
  await endSession(modelName)
  const prepareMs = performance.now() - started
  onProgress?.({ stage: 'keygen' })
  const owner = await KeyOwner.create(model, seal)
  try {
    // While the keys travel this thread is free: WebCrypto hashes them (for the inspector) and the
    // plan is derived and checked against the steps the keys were made for (KeyOwner.verifyPlan).
    // The decryption chain waits for the first image (classify.ts): it is longer WASM work than
    // the upload, and would hold back handling the upload's end.
    const hashing = performance.now()
    const fingerprint = sha256Prefix(owner.evaluationKeys).then((hex) => ({ hex, ms: performance.now() - hashing }))
    fingerprint.catch(() => undefined) // awaited below unless the upload fails first
    const uploading = upload(owner, fingerprint.then((f) => f.hex), onProgress)
    let mismatch: unknown
    try {
      owner.verifyPlan()
    } catch (e) {
      mismatch = e
    }
    const { created, ms } = await uploading
    if (mismatch) {
      await deleteSession(created.sessionId, modelName)
      throw mismatch
    }
    const { hex: keyFingerprint, ms: fingerprintMs } = await fingerprint
    const info: SessionInfo = {
      sessionId: created.sessionId,
      model,
      expiresAt: created.expiresAt,
      prepareMs,
      contextMs: owner.timings.contextMs,
      planMs: owner.timings.planMs,
      keygenMs: owner.timings.keygenMs,
      fingerprintMs,
      uploadMs: ms,
      totalMs: performance.now() - started,
      evaluationKeyBytes: owner.evaluationKeys.byteLength,
      keyFingerprint,
    }
    sessions.set(modelName, { owner, info })
    onProgress?.({ stage: 'ready' })
    return info
  } catch (e) {
    owner.dispose()
    throw e
  }
}

/** The server forgot the session (restart, expiry): same keys, new session. */
export async function reupload(modelName: string): Promise<SessionInfo> {
  const s = current(modelName)
  const { created, ms } = await upload(s.owner, s.info.keyFingerprint)
  s.info = { ...s.info, sessionId: created.sessionId, expiresAt: created.expiresAt, uploadMs: ms }
  return s.info
}

export function current(modelName: string): State {
  const s = sessions.get(modelName)
  if (!s) throw new Error(`No keys for ${modelName} yet: they have not been generated.`)
  return s
}

async function endSession(modelName: string): Promise<void> {
  const old = sessions.get(modelName)
  sessions.delete(modelName)
  if (!old) return
  old.owner.dispose()
  await deleteSession(old.info.sessionId, modelName)
}

/** Best effort: the server also expires idle sessions on its own. */
async function deleteSession(sessionId: string, modelName: string): Promise<void> {
  await loggedSend('session delete (no body)', { method: 'DELETE', url: paths.session(sessionId) }, modelName).catch(() => undefined)
}
