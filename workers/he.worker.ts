/**
 * The HE worker: all SEAL work happens here, off the main thread. Its API is
 * this one object; the page imports only its type.
 */
import { expose } from 'comlink'
import type { ClassifyResult, SessionInfo, WorkerEvent } from '../src/api/he-worker-types'
import { sealMessage } from '../src/he/errors'
import { classifyPixels, type OnStage } from './he/classify'
import { setListener } from './he/request-log'
import { startSession, type OnSessionProgress } from './he/session'

/**
 * SEAL's C++ failures arrive as WebAssembly.Exception, which is not an Error
 * and which comlink cannot pass on; give the page an Error with the message.
 */
async function asError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (e) {
    if (e instanceof Error) throw e
    throw new Error(`Encryption library error: ${sealMessage(e)}`)
  }
}

const api = {
  /** Registers the page's listener for request records (a comlink proxy). */
  listen(listener: (e: WorkerEvent) => void): void {
    setListener(listener)
  },
  /** Generates keys (replacing any) and uploads the evaluation keys. */
  startSession(modelName: string | undefined, onProgress?: OnSessionProgress): Promise<SessionInfo> {
    return asError(startSession(modelName, onProgress))
  },
  /** 784 grayscale pixels, 0 = background, 255 = ink. */
  classify(pixels: Uint8Array, onStage?: OnStage): Promise<ClassifyResult> {
    return asError(classifyPixels(pixels, onStage))
  },
}

export type HeWorkerApi = typeof api

expose(api)
