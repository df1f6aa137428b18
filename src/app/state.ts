/** The page's state: the server's models, one key session per model, the queue of images and the request log. */
import type { ClassifyResult, ClassifyStage, ListedModel, RequestRecord, ServerProgress, SessionInfo, SessionProgress } from '../api/he-worker-types'
import type { WireExchange } from '../api/wire-sample'

export type ItemStatus = 'queued' | ClassifyStage | 'done' | 'error' | 'cancelled'

/** What the model sees: height x width x channels bytes, HWC (stays in this tab). */
export interface Frame {
  pixels: Uint8Array
  width: number
  height: number
  channels: 1 | 3
}

export interface Item {
  id: number
  /** the id the server knows this classification by (progress, cancel) */
  requestId: string
  name: string
  /** the model it was classified with; results keep theirs when the page switches models */
  model: string
  /** the true class, for a sample image the server labelled */
  truth?: number
  status: ItemStatus
  frame?: Frame
  /** the server's progress while it computes */
  server?: ServerProgress
  result?: ClassifyResult
  /** bounded samples of the ciphertext sent and the encrypted answer received, for "what the server sees" */
  wire?: WireExchange
  error?: string
}

export type SessionStatus = 'idle' | SessionProgress['stage'] | 'error'

export interface Session {
  status: SessionStatus
  progress?: SessionProgress
  info?: SessionInfo
  error?: string
}

export interface State {
  models: { status: 'loading' | 'ready' | 'error'; list: ListedModel[]; error?: string }
  /** the server's reason while it is still starting (its /readyz answers 503); absent once it is ready */
  warming?: string
  /** the model new images go to */
  selected?: string
  sessions: Record<string, Session>
  items: Item[]
  requests: RequestRecord[]
}

export type Action =
  | { type: 'models'; list: ListedModel[]; selected: string }
  | { type: 'models-error'; error: string }
  /** the server is still starting, for this reason */
  | { type: 'warming'; message: string }
  /** the same models with the server's latest measured costs */
  | { type: 'models-refreshed'; list: ListedModel[] }
  | { type: 'select'; model: string }
  | { type: 'session-progress'; model: string; progress: SessionProgress }
  | { type: 'session-ready'; model: string; info: SessionInfo }
  | { type: 'session-error'; model: string; error: string }
  /** the worker died with every model's keys */
  | { type: 'crash'; error: string }
  | { type: 'add'; item: Item }
  | { type: 'update'; id: number; patch: Partial<Item> }
  /** the worker's news about a running item: dropped once the item has settled */
  | { type: 'stage'; id: number; status: ClassifyStage }
  | { type: 'server-progress'; id: number; server: ServerProgress }
  | { type: 'request'; record: RequestRecord }
  | { type: 'clear-done' }

/** done, failed or cancelled: nothing more will happen to this item */
export function isSettled(status: ItemStatus): boolean {
  return status === 'done' || status === 'error' || status === 'cancelled'
}

export const IDLE: Session = { status: 'idle' }

export const initialState: State = { models: { status: 'loading', list: [] }, sessions: {}, items: [], requests: [] }

export function selectedModel(s: State): ListedModel | undefined {
  return s.models.list.find((m) => m.name === s.selected)
}

/** 1-based place of a queued item among the queued items (oldest first), for "3rd in line". */
export function queuePlace(s: State, id: number): number {
  let place = 0
  for (const i of s.items) if (i.status === 'queued' && i.id <= id) place++
  return place
}

function withSession(s: State, model: string, next: (old: Session) => Session): State {
  return { ...s, sessions: { ...s.sessions, [model]: next(s.sessions[model] ?? IDLE) } }
}

export function reducer(s: State, a: Action): State {
  switch (a.type) {
    case 'warming':
      return { ...s, warming: a.message }
    case 'models':
      return { ...s, models: { status: 'ready', list: a.list }, selected: a.selected, warming: undefined }
    case 'models-refreshed':
      return { ...s, models: { ...s.models, list: a.list } }
    case 'models-error':
      return { ...s, models: { ...s.models, status: 'error', error: a.error }, warming: undefined }
    case 'select':
      return { ...s, selected: a.model }
    case 'session-progress':
      return withSession(s, a.model, (o) => ({ ...o, status: a.progress.stage, progress: a.progress, error: undefined }))
    case 'session-ready':
      return withSession(s, a.model, () => ({ status: 'ready', info: a.info }))
    case 'session-error':
      return withSession(s, a.model, (o) => ({ ...o, status: 'error', error: a.error }))
    case 'crash':
      return { ...s, sessions: Object.fromEntries(Object.keys(s.sessions).map((m) => [m, { status: 'error', error: a.error }])) }
    case 'add':
      return { ...s, items: [a.item, ...s.items] }
    case 'update':
      return { ...s, items: s.items.map((i) => (i.id === a.id ? { ...i, ...a.patch } : i)) }
    case 'stage':
      return { ...s, items: s.items.map((i) => (i.id === a.id && !isSettled(i.status) ? { ...i, status: a.status } : i)) }
    case 'server-progress':
      return { ...s, items: s.items.map((i) => (i.id === a.id && !isSettled(i.status) ? { ...i, server: a.server } : i)) }
    case 'request':
      return { ...s, requests: [a.record, ...s.requests].slice(0, 200) }
    case 'clear-done':
      return { ...s, items: s.items.filter((i) => !isSettled(i.status)) }
  }
}
