/**
 * Owns the image worker (decode + preprocess). Started ahead of the first image
 * (start) or by it; it holds no state, so if it dies (a decoder crash, out of memory on a hostile
 * file) the image it was on fails with a clear message and the next image
 * starts a fresh worker.
 */
import { transfer, wrap, type Remote } from 'comlink'
import type { Preprocessed } from '../image/pipeline'
import type { InputSpec } from '../model/manifest'
import type { ImageSource, ImageWorkerApi } from '../api/image-worker-types'
import { watchDeath } from './worker-death'

interface Live {
  api: Remote<ImageWorkerApi>
  /** rejects when the worker dies, so no image waits forever on a dead worker */
  dead: Promise<never>
}

export class ImageBridge {
  private live?: Live

  /** Starts the worker before the first image needs it (a no-op while one runs). */
  start(): void {
    if (!this.live) this.spawn()
  }

  prepare(source: ImageSource, input: InputSpec): Promise<Preprocessed> {
    const live = this.live ?? this.spawn()
    // a camera frame moves to the worker (which closes it) instead of being copied
    const arg = source instanceof ImageBitmap ? transfer(source, [source]) : source
    return Promise.race([live.api.prepare(arg, input), live.dead])
  }

  private spawn(): Live {
    const worker = new Worker(new URL('../../workers/image.worker.ts', import.meta.url), { type: 'module', name: 'blindfold-image' })
    const dead = watchDeath(
      worker,
      {
        crashed: (detail) => `The image decoder stopped${detail ? `: ${detail}` : ''}. Nothing was sent; try another image.`,
        unreadable: 'The image decoder sent an unreadable message. Nothing was sent; try another image.',
      },
      () => {
        if (this.live === live) this.live = undefined
      },
    )
    const live: Live = { api: wrap<ImageWorkerApi>(worker), dead }
    this.live = live
    return live
  }
}
