/**
 * The HE worker's API as the page sees it, and what it reports. Plain data
 * only: nothing here can carry a secret key (the worker never hands one out),
 * only public facts, sizes, digests and decrypted results for the page to show.
 * workers/he.worker.ts implements `HeWorkerApi`; the page imports only this file.
 */
import type { PublicModel } from '../he/public-model'
import type { JobProgress, ModelsResponse } from './wire'
import type { WireExchange } from './wire-sample'

/** A model as the server lists it: public description plus what it costs on that server. */
export type ListedModel = ModelsResponse['models'][number]

/** The server's progress on one image (polled while it computes), as the card shows it. */
export type ServerProgress = Pick<JobProgress, 'state' | 'queuePosition' | 'done' | 'total' | 'stage'>

/** Stages one image passes through, in order; also the result's data-status. */
export type ClassifyStage = 'encrypting' | 'sending' | 'computing' | 'decrypting'

export type SessionStage = 'loading' | 'keygen' | 'uploading' | 'ready'

export interface SessionProgress {
  stage: SessionStage
  /** bytes of evaluation keys uploaded so far (uploading only) */
  loaded?: number
  total?: number
}

export interface SessionInfo {
  sessionId: string
  /** the model these keys were made for (one session per model, kept for the tab's life) */
  model: PublicModel
  expiresAt: string
  /** SEAL loaded, the model list read, the model's old session ended */
  prepareMs: number
  /** SEAL's context for the model's parameters, built before the keys */
  contextMs: number
  /** the plan derived from the public geometry and checked against the keys' steps, while they upload */
  planMs: number
  keygenMs: number
  /** the fingerprint below, hashed over every key byte (off the worker's thread, while they upload) */
  fingerprintMs: number
  uploadMs: number
  /** from the session's start to ready: loading, context, keys, then the upload and the server's check (the plan and the fingerprint alongside) */
  totalMs: number
  evaluationKeyBytes: number
  /** sha256 prefix of the evaluation keys: a fingerprint of the public key material */
  keyFingerprint: string
}

export interface StageTimings {
  encryptMs: number
  uploadMs: number
  serverMs: number
  downloadMs: number
  decryptMs: number
  /** the whole modulus chain for decryption, built while the server computed this image: present on a session's first image only */
  chainMs?: number
}

export interface ClassifyResult {
  prediction: number
  probabilities: number[]
  timings: StageTimings
  /** how many server worker threads shared this image */
  serverWorkers: number
  bytesSent: number
  bytesReceived: number
}

/** A classification as the worker returns it: the result, and bounded samples of the bytes it sent and received. */
export interface ClassifiedImage extends ClassifyResult {
  wire: WireExchange
}

/** What a request carried, as the privacy inspector lists it. */
export type RequestCarries =
  | 'model list (no body)'
  | 'evaluation keys'
  | 'ciphertext'
  | 'session delete (no body)'
  | 'progress poll (no body)'
  | 'cancel (no body)'

export interface RequestRecord {
  id: number
  at: number
  method: string
  path: string
  /** the model whose session the request belongs to (none for the model list) */
  model?: string
  carries: RequestCarries
  bytesSent: number
  bytesReceived: number
  /** first 16 hex digits of the body's SHA-256, computed in the worker */
  sha256Prefix: string | null
  status: number | 'network error'
  ms: number
}

export type WorkerEvent = { type: 'request'; record: RequestRecord }

export type OnSessionProgress = (p: SessionProgress) => void
export type OnStage = (stage: ClassifyStage) => void
export type OnServerProgress = (p: ServerProgress) => void

/** The one object the HE worker exposes (comlink); callbacks arrive as comlink proxies. */
export interface HeWorkerApi {
  /** Registers the page's listener for request records. */
  listen(listener: (e: WorkerEvent) => void): void
  /** The server's models with their public description and measured costs (asked again when `refresh`). */
  models(refresh?: boolean): Promise<ListedModel[]>
  /** The model's session: keys made and uploaded the first time, then kept. */
  ensureSession(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo>
  /** Fresh keys for one model (its old secret key dropped, its old session deleted). */
  newKeys(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo>
  /**
   * The model's raw input, height x width x channels bytes (HWC, 0..255, as
   * src/image makes it in the image worker); `requestId` names the job for cancel().
   */
  classify(modelName: string, pixels: Uint8Array, requestId: string, onStage?: OnStage, onProgress?: OnServerProgress): Promise<ClassifiedImage>
  /** Stops a classification in flight (a no-op when it is not). */
  cancel(requestId: string): void
}
