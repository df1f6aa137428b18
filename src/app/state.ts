/** The page's state: the session, the queue of images and the request log. */
import type { ClassifyResult, ClassifyStage, RequestRecord, SessionInfo, SessionProgress } from '../api/he-worker-types'

export type ItemStatus = 'queued' | ClassifyStage | 'done' | 'error'

export interface Item {
  id: number
  name: string
  status: ItemStatus
  /** the 28x28 frame the model sees (stays in this tab) */
  frame?: Uint8Array
  result?: ClassifyResult
  error?: string
}

export type SessionStatus = 'idle' | SessionProgress['stage'] | 'error'

export interface State {
  session: { status: SessionStatus; progress?: SessionProgress; info?: SessionInfo; error?: string }
  items: Item[]
  requests: RequestRecord[]
}

export type Action =
  | { type: 'session-progress'; progress: SessionProgress }
  | { type: 'session-ready'; info: SessionInfo }
  | { type: 'session-error'; error: string }
  | { type: 'add'; item: Item }
  | { type: 'update'; id: number; patch: Partial<Item> }
  | { type: 'request'; record: RequestRecord }
  | { type: 'clear-done' }

/** done or failed: nothing more will happen to this item */
export function isSettled(status: ItemStatus): boolean {
  return status === 'done' || status === 'error'
}

export const initialState: State = { session: { status: 'idle' }, items: [], requests: [] }

export function reducer(s: State, a: Action): State {
  switch (a.type) {
    case 'session-progress':
      return { ...s, session: { ...s.session, status: a.progress.stage, progress: a.progress, error: undefined } }
    case 'session-ready':
      return { ...s, session: { status: 'ready', info: a.info } }
    case 'session-error':
      return { ...s, session: { ...s.session, status: 'error', error: a.error } }
    case 'add':
      return { ...s, items: [a.item, ...s.items] }
    case 'update':
      return { ...s, items: s.items.map((i) => (i.id === a.id ? { ...i, ...a.patch } : i)) }
    case 'request':
      return { ...s, requests: [a.record, ...s.requests].slice(0, 200) }
    case 'clear-done':
      return { ...s, items: s.items.filter((i) => !isSettled(i.status)) }
  }
}
