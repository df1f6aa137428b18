/**
 * The page's one hook: owns the bridge, lists the server's models, keeps one
 * key session per model, turns files, drawings and camera shots into queue
 * items and walks each through the image worker (decode, preprocess) and the
 * HE worker (encrypt, classify, decrypt).
 */
import { useCallback, useEffect, useReducer, useRef } from 'react'
import type { ListedModel } from '../api/he-worker-types'
import { CancelledError, HeBridge } from './he-bridge'
import type { ImageSource } from '../api/image-worker-types'
import type { SampleImage } from '../api/samples'
import { ImageBridge } from './image-bridge'
import { sampleBlob } from './samples'
import { stillLoading, untilServerReady, whileModelsLoad } from './server-ready'
import { initialState, reducer, type State } from './state'

/** The model a first visit opens with: the cheapest to start (keys in under a second). */
const DEFAULT_MODEL = 'mnist-cnn'

let nextId = 1

function message(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}

/** The model to open with: ?model= if the server has it, else the default, else the first. */
function initialModel(list: ListedModel[]): string {
  const wanted = new URLSearchParams(location.search).get('model')
  const names = list.map((m) => m.name)
  if (wanted && names.includes(wanted)) return wanted
  return names.includes(DEFAULT_MODEL) ? DEFAULT_MODEL : names[0]
}

export function useBlindfold() {
  const [state, dispatch] = useReducer(reducer, initialState)
  const stateRef = useRef<State>(state)
  stateRef.current = state
  const bridgeRef = useRef<HeBridge | null>(null)

  const connect = useCallback((model: string) => {
    bridgeRef.current!.ensureSession(model).catch((e) => dispatch({ type: 'session-error', model, error: message(e) }))
  }, [])

  if (!bridgeRef.current) {
    bridgeRef.current = new HeBridge({
      onSessionProgress: (model, progress) => dispatch({ type: 'session-progress', model, progress }),
      onSession: (model, info) => dispatch({ type: 'session-ready', model, info }),
      onRequest: (e) => dispatch({ type: 'request', record: e.record }),
      onCrash: (error) => {
        dispatch({ type: 'crash', error })
        // the secret keys died with the worker: make the selected model's keys now, not on the next image
        const selected = stateRef.current.selected
        if (selected) setTimeout(() => connect(selected), 0)
      },
    })
  }
  const bridge = bridgeRef.current
  const images = useRef<ImageBridge | null>(null)
  images.current ??= new ImageBridge()

  const loadModels = useCallback(() => {
    // the HE worker loads SEAL while the page asks whether the server is ready and for its models
    bridge.start()
    untilServerReady({ onWaiting: (message) => dispatch({ type: 'warming', message }) })
      .then(() => bridge.models())
      .then((list) => {
        if (list.length === 0) throw new Error('The server offers no model yet.')
        const selected = stateRef.current.selected ?? initialModel(list)
        dispatch({ type: 'models', list, selected })
        // the first image (an example, say) then finds its decoder loaded
        images.current!.start()
        // a model the server is still building gets its keys once it is served
        const connectIfServed = (l: ListedModel[]) => {
          const now = stateRef.current.selected ?? selected
          const m = l.find((x) => x.name === now)
          if (m && !stillLoading(m) && !stateRef.current.sessions[now]) connect(now)
        }
        connectIfServed(list)
        void whileModelsLoad(list, () => bridge.models(true), (l) => {
          dispatch({ type: 'models-refreshed', list: l })
          connectIfServed(l)
        })
      })
      .catch((e) => dispatch({ type: 'models-error', error: message(e) }))
  }, [bridge, connect])

  useEffect(loadModels, [loadModels])

  const select = useCallback(
    (model: string) => {
      dispatch({ type: 'select', model })
      // the costs shown are the server's latest measurements; a failed refresh keeps the old ones
      bridge
        .models(true)
        .then((list) => list.length > 0 && dispatch({ type: 'models-refreshed', list }))
        .catch(() => undefined)
      const url = new URL(location.href)
      url.searchParams.set('model', model)
      history.replaceState(null, '', url)
      // a model still building is connected by the list's polling once it is served
      if (!stateRef.current.models.list.some((m) => m.name === model && stillLoading(m))) connect(model)
    },
    [bridge, connect],
  )

  /** "Try again" after a failure: the model list if that failed, else the selected model's keys. */
  const retry = useCallback(() => {
    const s = stateRef.current
    if (s.models.status !== 'ready') loadModels()
    else if (s.selected) connect(s.selected)
  }, [connect, loadModels])

  const newKeys = useCallback(() => {
    const model = stateRef.current.selected
    if (model) bridge.newKeys(model).catch((e) => dispatch({ type: 'session-error', model, error: message(e) }))
  }, [bridge])

  const run = useCallback(
    async (id: number, requestId: string, model: ListedModel, source: ImageSource | (() => Promise<ImageSource>)) => {
      try {
        // decoded and framed in the image worker, one image at a time, in the order given
        const pre = await images.current!.prepare(typeof source === 'function' ? await source() : source, model.input)
        if (!pre.ok) throw new Error(pre.reason)
        const { height, width, channels } = model.input
        dispatch({ type: 'update', id, patch: { frame: { pixels: pre.pixels, width, height, channels } } })
        const { wire, ...result } = await bridge.classify(model.name, pre.pixels, requestId, {
          // a late stage or progress message must not reopen a card that has settled
          onStage: (status) => dispatch({ type: 'stage', id, status }),
          onProgress: (server) => dispatch({ type: 'server-progress', id, server }),
        })
        dispatch({ type: 'update', id, patch: { status: 'done', result, wire, server: undefined } })
      } catch (e) {
        // cancelled while it waited its turn: the card already says so
        if (stateRef.current.items.find((i) => i.id === id)?.status === 'cancelled') return
        if (e instanceof CancelledError) dispatch({ type: 'update', id, patch: { status: 'cancelled', server: undefined } })
        else dispatch({ type: 'update', id, patch: { status: 'error', error: message(e), server: undefined } })
      }
    },
    [bridge],
  )

  const add = useCallback(
    (name: string, source: ImageSource | (() => Promise<ImageSource>), truth?: number) => {
      const model = stateRef.current.models.list.find((m) => m.name === stateRef.current.selected)
      if (!model) return
      const id = nextId++
      const requestId = crypto.randomUUID()
      dispatch({ type: 'add', item: { id, requestId, name, model: model.name, status: 'queued', truth } })
      void run(id, requestId, model, source)
    },
    [run],
  )

  const addFiles = useCallback(
    (files: Iterable<File>) => {
      for (const file of files) add(file.name || 'pasted image', file)
    },
    [add],
  )

  const addImage = useCallback((name: string, source: ImageSource) => add(name, source), [add])

  /** A sample image: its card is there at once; the file (cached by the browser) is fetched when its turn comes. */
  const addExample = useCallback((sample: SampleImage) => add(sample.file, () => sampleBlob(sample), sample.label), [add])

  const cancel = useCallback(
    (id: number) => {
      const item = stateRef.current.items.find((i) => i.id === id)
      if (!item) return
      bridge.cancel(item.requestId)
      // not started yet: nothing to wait for (a running one settles when the worker has stopped it)
      if (item.status === 'queued') dispatch({ type: 'update', id, patch: { status: 'cancelled' } })
    },
    [bridge],
  )

  const clearDone = useCallback(() => dispatch({ type: 'clear-done' }), [])

  // addImage: a drawing (pixels the page holds) or a camera shot (a frame, handed to the image worker)
  return { state, select, addFiles, addImage, addExample, cancel, newKeys, retry, clearDone }
}
