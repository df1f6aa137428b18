/**
 * Owns the image worker (decode + preprocess). Started on the first image; it
 * holds no state, so if it dies (a decoder crash, out of memory on a hostile
 * file) the image it was on fails with a clear message and the next image
 * starts a fresh worker.
 */
import { transfer, wrap, type Remote } from 'comlink'
import type { Preprocessed } from '../image/pipeline'
import type { InputSpec } from '../model/manifest'
import type { ImageSource, ImageWorkerApi } from '../../workers/image.worker'

interface Live {
  api: Remote<ImageWorkerApi>
  /** rejects when the worker dies, so no image waits forever on a dead worker */
  dead: Promise<never>
}

export class ImageBridge {
  private live?: Live

  prepare(source: ImageSource, input: InputSpec): Promise<Preprocessed> {
    const live = this.live ?? this.spawn()
    // a camera frame moves to the worker (which closes it) instead of being copied
    const arg = source instanceof ImageBitmap ? transfer(source, [source]) : source
    return Promise.race([live.api.prepare(arg, input), live.dead])
  }

  private spawn(): Live {
    const worker = new Worker(new URL('../../workers/image.worker.ts', import.meta.url), { type: 'module', name: 'blindfold-image' })
    let fail: (e: Error) => void = () => undefined
    const dead = new Promise<never>((_, reject) => (fail = reject))
    dead.catch(() => undefined)
    const live: Live = { api: wrap<ImageWorkerApi>(worker), dead }
    const onDeath = (message: string) => {
      if (this.live === live) this.live = undefined
      worker.terminate()
      fail(new Error(message))
    }
    worker.addEventListener('error', (e) => onDeath(`The image decoder stopped${e.message ? `: ${e.message}` : ''}. Nothing was sent; try another image.`))
    worker.addEventListener('messageerror', () => onDeath('The image decoder sent an unreadable message. Nothing was sent; try another image.'))
    this.live = live
    return live
  }
}
