/**
 * The worker's long-lived state: one SEAL instance, one KeyOwner (the secret
 * key lives inside it, for the life of the tab) and the server session its
 * evaluation keys were uploaded to.
 */
import type { SessionInfo, SessionProgress } from '../../src/api/he-worker-types'
import { paths, type ModelsResponse, type SessionCreated } from '../../src/api/wire'
import { loadSeal } from '../../src/he/context'
import { KeyOwner } from '../../src/he/key-owner'
import type { PublicModel } from '../../src/model/manifest'
import { sha256Prefix } from './digest'
import { expectOk, json } from './http'
import { loggedSend } from './request-log'

export type OnSessionProgress = (p: SessionProgress) => void

interface State {
  owner: KeyOwner
  info: SessionInfo
}

let state: State | undefined
let models: PublicModel[] | undefined

async function fetchModels(): Promise<PublicModel[]> {
  models ??= json<ModelsResponse>(expectOk(await loggedSend('model list (no body)', { method: 'GET', url: paths.models }))).models
  return models
}

function pickModel(all: PublicModel[], wanted?: string): PublicModel {
  const m = wanted ? all.find((x) => x.name === wanted) : all[0]
  if (!m) throw new Error(wanted ? `The server has no model named "${wanted}".` : 'The server offers no model yet.')
  return m
}

async function upload(owner: KeyOwner, onProgress?: OnSessionProgress): Promise<{ created: SessionCreated; ms: number }> {
  const keys = owner.evaluationKeys
  onProgress?.({ stage: 'uploading', loaded: 0, total: keys.byteLength })
  const x = expectOk(
    await loggedSend('evaluation keys', {
      method: 'POST',
      url: `${paths.sessions}?model=${encodeURIComponent(owner.model.name)}`,
      body: keys,
      onUploadProgress: (loaded, total) => onProgress?.({ stage: 'uploading', loaded, total }),
    }),
  )
  return { created: json<SessionCreated>(x), ms: x.totalMs }
}

/** Makes fresh keys (dropping any old ones) and uploads their evaluation part. */
export async function startSession(modelName: string | undefined, onProgress?: OnSessionProgress): Promise<SessionInfo> {
  onProgress?.({ stage: 'loading' })
  const seal = await loadSeal()
  const model = pickModel(await fetchModels(), modelName)
  await endSession()
  onProgress?.({ stage: 'keygen' })
  const owner = await KeyOwner.create(model, seal)
  try {
    const keyFingerprint = await sha256Prefix(owner.evaluationKeys)
    const { created, ms } = await upload(owner, onProgress)
    const info: SessionInfo = {
      sessionId: created.sessionId,
      model,
      expiresAt: created.expiresAt,
      keygenMs: owner.timings.keygenMs,
      uploadMs: ms,
      evaluationKeyBytes: owner.evaluationKeys.byteLength,
      keyFingerprint,
    }
    state = { owner, info }
    onProgress?.({ stage: 'ready' })
    return info
  } catch (e) {
    owner.dispose()
    throw e
  }
}

/** The server forgot the session (restart, expiry): same keys, new session. */
export async function reupload(): Promise<SessionInfo> {
  const s = current()
  const { created, ms } = await upload(s.owner)
  s.info = { ...s.info, sessionId: created.sessionId, expiresAt: created.expiresAt, uploadMs: ms }
  return s.info
}

export function current(): State {
  if (!state) throw new Error('No session yet: keys have not been generated.')
  return state
}

async function endSession(): Promise<void> {
  const old = state
  state = undefined
  if (!old) return
  old.owner.dispose()
  // best effort: the server also expires idle sessions on its own
  await loggedSend('session delete (no body)', { method: 'DELETE', url: paths.session(old.info.sessionId) }).catch(() => undefined)
}
