/**
 * Per-client query budget over a rolling window (a model owner's mitigation against model
 * extraction by many queries): at most `max` classifications per client in any `windowMs`.
 * The window is kept as SLOTS counters, so memory per client is fixed whatever `max` is; a
 * query counts for between windowMs and windowMs * (1 + 1/SLOTS), never less, so the budget is
 * never exceeded in any window of windowMs.
 */
import { BoundedLru } from './bounded-lru'

const SLOTS = 20

export interface QueryBudgetOptions {
  max: number
  windowMs: number
  /** clients remembered (LRU); a forgotten client starts with a fresh window */
  maxClients: number
  now?: () => number
}

/** `slot` identifies the reservation for refund() */
export type Reserve = { ok: true; slot: number } | { ok: false; retryAfterSeconds: number }

interface Window {
  /** slot number (time / slotMs) each counter belongs to */
  slot: number[]
  count: number[]
}

export class QueryBudget {
  private readonly windows: BoundedLru<string, Window>
  private readonly now: () => number
  private readonly slotMs: number

  constructor(private readonly options: QueryBudgetOptions) {
    this.windows = new BoundedLru(options.maxClients)
    this.now = options.now ?? Date.now
    this.slotMs = options.windowMs / SLOTS
  }

  /** Counts one query for the client if its window has room; call refund() if it was not answered. */
  reserve(client: string): Reserve {
    const current = Math.floor(this.now() / this.slotMs)
    const w = this.windows.getOrCreate(client, () => ({ slot: Array(SLOTS + 1).fill(-Infinity), count: Array(SLOTS + 1).fill(0) }))
    const live = this.liveSlots(w, current)
    const used = live.reduce((sum, i) => sum + w.count[i], 0)
    if (used >= this.options.max) {
      // oldest slots leave the window first: wait until enough of them have gone
      let freed = 0
      for (const i of live) {
        freed += w.count[i]
        if (used - freed < this.options.max) {
          const leavesAt = (w.slot[i] + SLOTS + 1) * this.slotMs
          return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((leavesAt - this.now()) / 1000)) }
        }
      }
    }
    const i = current % (SLOTS + 1)
    if (w.slot[i] !== current) {
      w.slot[i] = current
      w.count[i] = 0
    }
    w.count[i]++
    return { ok: true, slot: current }
  }

  /** Gives back a reserved query that produced no answer (the client learnt nothing from it). */
  refund(client: string, slot: number): void {
    const w = this.windows.get(client)
    const i = slot % (SLOTS + 1)
    // a slot already reused for a later time has left the window: nothing to give back
    if (w && w.slot[i] === slot && w.count[i] > 0) w.count[i]--
  }

  /** Indexes of the slots still inside the window, oldest first. */
  private liveSlots(w: Window, current: number): number[] {
    return w.slot
      .map((s, i) => [s, i] as const)
      .filter(([s]) => s > current - SLOTS - 1)
      .sort((a, b) => a[0] - b[0])
      .map(([, i]) => i)
  }
}
