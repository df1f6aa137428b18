/**
 * The HE worker's API, typed by `HeWorkerApi` in src/api/he-worker-types.ts: the one object
 * he.worker.ts exposes to the page.
 */
import type { ClassifiedImage, HeWorkerApi, ListedModel, OnServerProgress, OnSessionProgress, OnStage, SessionInfo, WorkerEvent } from '../../src/api/he-worker-types'
import { sealMessage } from '../../src/he/errors'
import { cancelClassification, classifyPixels } from './classify'
import { afterDelivery, delivered } from './delivered'
import { setListener } from './request-log'
import { ensureSession, listModels, startSession } from './session'

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

export const api: HeWorkerApi = {
  /** Registers the page's listener for request records (a comlink proxy). */
  listen(listener: (e: WorkerEvent) => void): void {
    setListener(listener)
  },
  /** The server's models with their public description and measured costs (asked again when `refresh`). */
  models(refresh = false): Promise<ListedModel[]> {
    return asError(listModels(refresh))
  },
  /** The model's session: keys made and uploaded the first time, then kept. */
  ensureSession(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo> {
    const progress = delivered(onProgress)
    return asError(afterDelivery(ensureSession(modelName, progress.call), progress))
  },
  /** Fresh keys for one model (its old secret key dropped, its old session deleted). */
  newKeys(modelName: string, onProgress?: OnSessionProgress): Promise<SessionInfo> {
    const progress = delivered(onProgress)
    return asError(afterDelivery(startSession(modelName, progress.call), progress))
  },
  /**
   * The model's raw input, height x width x channels bytes (HWC, 0..255, as
   * src/image makes it in the image worker); `requestId` names the job for cancel().
   */
  classify(modelName: string, pixels: Uint8Array, requestId: string, onStage?: OnStage, onProgress?: OnServerProgress): Promise<ClassifiedImage> {
    // the result goes out only after every stage and progress call has reached the page
    const stage = delivered(onStage)
    const progress = delivered(onProgress)
    return asError(afterDelivery(classifyPixels(modelName, pixels, requestId, stage.call, progress.call), stage, progress))
  },
  /** Stops a classification in flight (a no-op when it is not). */
  cancel(requestId: string): void {
    cancelClassification(requestId)
  },
}
