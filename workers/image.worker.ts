/**
 * The image worker: decoding, downscaling and preprocessing, off the main
 * thread, so that forty photos dropped at once never stall the page. It sees
 * the user's pixels (as the page does), never a key and never the network;
 * the HE worker encrypts what it returns. Its API is this one object, typed by
 * `ImageWorkerApi` in src/api/image-worker-types.ts, which is all the page imports.
 */
import type { ImageSource, ImageWorkerApi } from '../src/api/image-worker-types'
import type { Rgba } from '../src/image/ink'
import { preprocessFor, type Preprocessed } from '../src/image/pipeline'
import type { InputSpec } from '../src/model/manifest'
import { bitmapPixels, decodeImage, InputError } from './image/decode'
import { exposeApi } from './expose-api'

async function pixelsOf(source: ImageSource): Promise<Rgba> {
  if (source instanceof Blob) return decodeImage(source)
  if (source instanceof ImageBitmap) {
    try {
      return await bitmapPixels(source)
    } finally {
      source.close()
    }
  }
  return source
}

async function prepareNow(source: ImageSource, input: InputSpec): Promise<Preprocessed> {
  try {
    return preprocessFor(input, await pixelsOf(source))
  } catch (e) {
    // a bad file is an answer, not a failure of the worker
    if (e instanceof InputError) return { ok: false, reason: e.message }
    throw e
  }
}

// one image at a time: forty large photos decoding at once would hold forty full-size bitmaps
let queue: Promise<unknown> = Promise.resolve()

const api: ImageWorkerApi = {
  /** The model's raw input (height x width x channels bytes, HWC) from one image, or why not; in call order. */
  prepare(source: ImageSource, input: InputSpec): Promise<Preprocessed> {
    const run = queue.then(() => prepareNow(source, input))
    queue = run.catch(() => undefined)
    return run
  },
}

exposeApi(api)
