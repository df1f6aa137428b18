/**
 * The page's one hook: owns the bridge, turns files and drawings into queue
 * items and walks each through preprocessing and the worker.
 */
import { useCallback, useEffect, useReducer, useRef } from 'react'
import { HeBridge } from './he-bridge'
import { decodeImage, InputError } from './decode-image'
import type { Rgba } from './preprocess/ink'
import { preprocess } from './preprocess/pipeline'
import { initialState, reducer } from './state'

/** The page prepares digits (src/app/preprocess); the server may offer other models, which need a model picker first. */
const DIGITS_MODEL = 'mnist-cnn'

let nextId = 1

function message(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}

/** Lets the browser paint and handle input between chunks of work. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

export function useBlindfold() {
  const [state, dispatch] = useReducer(reducer, initialState)
  const bridgeRef = useRef<HeBridge | null>(null)

  if (!bridgeRef.current) {
    const model = new URLSearchParams(location.search).get('model') ?? DIGITS_MODEL
    bridgeRef.current = new HeBridge(
      {
        onSessionProgress: (progress) => dispatch({ type: 'session-progress', progress }),
        onSession: (info) => dispatch({ type: 'session-ready', info }),
        onRequest: (e) => dispatch({ type: 'request', record: e.record }),
        onCrash: (error) => dispatch({ type: 'session-error', error }),
      },
      model,
    )
  }
  const bridge = bridgeRef.current

  const connect = useCallback(() => {
    bridge.ensureSession().catch((e) => dispatch({ type: 'session-error', error: message(e) }))
  }, [bridge])

  useEffect(connect, [connect])

  const newKeys = useCallback(() => {
    bridge.newKeys().catch((e) => dispatch({ type: 'session-error', error: message(e) }))
  }, [bridge])

  // decoding is serialised too: forty files dropped at once must not decode and
  // scan in one burst of main-thread work
  const decodeQueue = useRef<Promise<unknown>>(Promise.resolve())

  const run = useCallback(
    async (id: number, pixels: () => Promise<Rgba>) => {
      try {
        const step = decodeQueue.current.then(async () => {
          await yieldToBrowser()
          return preprocess(await pixels())
        })
        decodeQueue.current = step.catch(() => undefined)
        const pre = await step
        if (!pre.ok) throw new InputError(pre.reason)
        dispatch({ type: 'update', id, patch: { frame: pre.pixels } })
        const result = await bridge.classify(pre.pixels, (status) => dispatch({ type: 'update', id, patch: { status } }))
        dispatch({ type: 'update', id, patch: { status: 'done', result } })
      } catch (e) {
        dispatch({ type: 'update', id, patch: { status: 'error', error: message(e) } })
      }
    },
    [bridge],
  )

  const addFiles = useCallback(
    (files: Iterable<File>) => {
      for (const file of files) {
        const id = nextId++
        dispatch({ type: 'add', item: { id, name: file.name || 'pasted image', status: 'queued' } })
        void run(id, () => decodeImage(file))
      }
    },
    [run],
  )

  const addDrawing = useCallback(
    (rgba: Rgba) => {
      const id = nextId++
      dispatch({ type: 'add', item: { id, name: 'drawing', status: 'queued' } })
      void run(id, async () => rgba)
    },
    [run],
  )

  const clearDone = useCallback(() => dispatch({ type: 'clear-done' }), [])

  return { state, addFiles, addDrawing, newKeys, retry: connect, clearDone }
}
