/**
 * A worker's comlink surface is exactly its API object's own methods. comlink's expose() walks
 * whatever path a message names (GET, SET, APPLY, CONSTRUCT on `__proto__`, `constructor`, a
 * method's own properties), so a page script could read or set values reachable from the API
 * object inside the worker, the HE worker holding the secret key. Here the page may only call
 * a method (APPLY on a one-segment path naming one) and release its proxy; any other call is
 * answered with a thrown error and never reaches expose(), which sees a frozen, null-prototype
 * copy of the API besides.
 */
import { expose, type Endpoint } from 'comlink'

/** The comlink message types that act on the exposed object (comlink's MessageType). */
const CALLS = new Set(['GET', 'SET', 'APPLY', 'CONSTRUCT', 'ENDPOINT', 'RELEASE'])

interface Call {
  id?: unknown
  type: string
  path?: unknown
}

const isCall = (data: unknown): data is Call =>
  typeof data === 'object' && data !== null && CALLS.has(String((data as { type?: unknown }).type))

/** Whether a comlink call stays on the API's surface: a method called by its name, or the proxy released. */
export function onSurface(call: Call, methods: ReadonlySet<string>): boolean {
  const path = call.path ?? []
  if (!Array.isArray(path)) return false
  if (call.type === 'RELEASE') return path.length === 0
  return call.type === 'APPLY' && path.length === 1 && typeof path[0] === 'string' && methods.has(path[0])
}

/** Exposes `api` through `endpoint` (the worker's global scope by default), guarded as above. */
export function exposeApi(api: object, endpoint: Endpoint = self as unknown as Endpoint): void {
  const methods = new Set(Object.entries(api).filter(([, v]) => typeof v === 'function').map(([k]) => k))
  const surface = Object.freeze(Object.assign(Object.create(null) as object, api))
  expose(surface, guarded(endpoint, methods))
}

/** `endpoint`, its message listeners seeing only the calls on the surface; the others refused. */
function guarded(endpoint: Endpoint, methods: ReadonlySet<string>): Endpoint {
  const inner = new Map<EventListenerOrEventListenerObject, EventListener>()
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => endpoint.postMessage(message, transfer),
    addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: object) {
      const filtered = (event: Event) => {
        const data = (event as MessageEvent).data
        if (isCall(data) && !onSurface(data, methods)) return refuse(endpoint, data)
        if (typeof listener === 'function') listener(event)
        else listener.handleEvent(event)
      }
      inner.set(listener, filtered)
      endpoint.addEventListener(type, filtered, options)
    },
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: object) {
      const filtered = inner.get(listener)
      if (!filtered) return
      inner.delete(listener)
      endpoint.removeEventListener(type, filtered, options)
    },
    ...(endpoint.start ? { start: () => endpoint.start!() } : {}),
  }
}

/** Answers a refused call as comlink answers a thrown Error, so the caller's promise rejects. */
function refuse(endpoint: Endpoint, call: Call): void {
  if (call.id === undefined) return
  const message = `refused: the worker answers calls of its API's methods only (${call.type})`
  endpoint.postMessage({ id: call.id, type: 'HANDLER', name: 'throw', value: { isError: true, value: { name: 'Error', message } } })
}
