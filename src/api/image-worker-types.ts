/**
 * The image worker's API as the page sees it. workers/image.worker.ts
 * implements `ImageWorkerApi`; the page imports only this file. It names
 * browser types (Blob, ImageBitmap), so tsconfig.worker.json type-checks it
 * rather than the platform-free core.
 */
import type { Rgba } from '../image/ink'
import type { Preprocessed } from '../image/pipeline'
import type { InputSpec } from '../model/manifest'

/** A file or pasted blob, a camera frame (transferred, closed by the worker), or pixels the page already holds (a drawing). */
export type ImageSource = Blob | ImageBitmap | Rgba

/** The one object the image worker exposes (comlink). */
export interface ImageWorkerApi {
  /** The model's raw input (height x width x channels bytes, HWC) from one image, or why not; in call order. */
  prepare(source: ImageSource, input: InputSpec): Promise<Preprocessed>
}
