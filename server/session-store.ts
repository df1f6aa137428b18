/**
 * In-memory sessions: a model name, that session's evaluation-key bytes and the client that
 * uploaded them. Keys never touch disk or logs. TTL slides with each use.
 *
 * Capacity rules, so that no client can push out another client's session:
 * - per client (count and key bytes): a client over its own quota makes room by evicting its
 *   own least recently used session (a user who reloads the page must not be locked out by
 *   the sessions of its earlier tabs, which it can no longer use anyway);
 * - in all (count and key bytes): when full, expired sessions are swept and, if that is not
 *   enough, the new session is refused with 503 sessions_full. Nobody else's session is evicted.
 * `onDrop` lets the pool free the workers' loaded copies at once.
 */
import { randomBytes } from 'node:crypto'
import { HttpError } from './http-error'

export interface Session {
  readonly id: string
  readonly model: string
  readonly keys: Uint8Array
  /** client id (see client-id.ts) that uploaded the keys: quotas count against it */
  readonly owner: string
  expiresAt: number
  /** classifications answered or in flight under these keys (MAX_QUERIES_PER_SESSION) */
  queries: number
}

export interface SessionStoreOptions {
  ttlMs: number
  maxSessions: number
  maxBytes: number
  perClientSessions: number
  perClientBytes: number
  onDrop?: (id: string) => void
  now?: () => number
}

export class SessionStore {
  // Map keeps insertion order: re-inserting on use makes the first entry the LRU
  private readonly sessions = new Map<string, Session>()
  private bytes = 0
  private readonly now: () => number
  private readonly sweeper: NodeJS.Timeout

  constructor(private readonly options: SessionStoreOptions) {
    this.now = options.now ?? Date.now
    this.sweeper = setInterval(() => this.sweep(), Math.min(options.ttlMs, 30_000))
    this.sweeper.unref()
  }

  static newId(): string {
    return randomBytes(18).toString('base64url')
  }

  get size(): number {
    return this.sessions.size
  }
  get totalBytes(): number {
    return this.bytes
  }

  /**
   * Throws the HttpError that add() would throw for this owner and size, evicting nothing
   * (only expired sessions are swept): lets the route refuse before a worker validates the keys.
   */
  admit(owner: string, bytes: number): void {
    this.plan(owner, bytes)
  }

  /** Adds a session, first evicting the owner's own least recently used ones over its quota. */
  add(id: string, model: string, keys: Uint8Array, owner: string): Session {
    for (const old of this.plan(owner, keys.byteLength)) this.delete(old)
    const session: Session = { id, model, keys, owner, expiresAt: this.now() + this.options.ttlMs, queries: 0 }
    this.sessions.set(id, session)
    this.bytes += keys.byteLength
    return session
  }

  /** The live session without extending its TTL (a job's bookkeeping is not a use of the keys). */
  peek(id: string): Session | undefined {
    const s = this.sessions.get(id)
    return s && s.expiresAt > this.now() ? s : undefined
  }

  /** The live session, its TTL extended; undefined when unknown or expired. */
  touch(id: string): Session | undefined {
    const s = this.sessions.get(id)
    if (!s) return undefined
    if (s.expiresAt <= this.now()) {
      this.delete(id)
      return undefined
    }
    s.expiresAt = this.now() + this.options.ttlMs
    this.sessions.delete(id)
    this.sessions.set(id, s)
    return s
  }

  delete(id: string): boolean {
    const s = this.sessions.get(id)
    if (!s) return false
    this.sessions.delete(id)
    this.bytes -= s.keys.byteLength
    this.options.onDrop?.(id)
    return true
  }

  sweep(): void {
    const now = this.now()
    for (const s of [...this.sessions.values()]) if (s.expiresAt <= now) this.delete(s.id)
  }

  close(): void {
    clearInterval(this.sweeper)
    for (const id of [...this.sessions.keys()]) this.delete(id)
  }

  /** The owner's sessions to evict so that a new one of `bytes` fits, or the HttpError refusing it. */
  private plan(owner: string, bytes: number): string[] {
    const o = this.options
    if (bytes > o.perClientBytes || bytes > o.maxBytes) {
      throw new HttpError(413, 'body_too_large', 'the keys exceed what one client may store')
    }
    this.sweep()
    const own = [...this.sessions.values()].filter((s) => s.owner === owner) // least recent first
    let ownBytes = own.reduce((sum, s) => sum + s.keys.byteLength, 0)
    const evict: Session[] = []
    while (own.length > 0 && (own.length + 1 > o.perClientSessions || ownBytes + bytes > o.perClientBytes)) {
      const s = own.shift()!
      evict.push(s)
      ownBytes -= s.keys.byteLength
    }
    const freedBytes = evict.reduce((sum, s) => sum + s.keys.byteLength, 0)
    if (this.sessions.size - evict.length + 1 > o.maxSessions || this.bytes - freedBytes + bytes > o.maxBytes) {
      throw new HttpError(503, 'sessions_full', 'the server holds as many sessions as it can: try again later', {
        'retry-after': String(this.secondsToFirstExpiry()),
      })
    }
    return evict.map((s) => s.id)
  }

  /** When the next session expires if nobody uses it (a lower bound: TTLs slide). */
  private secondsToFirstExpiry(): number {
    let first = Infinity
    for (const s of this.sessions.values()) first = Math.min(first, s.expiresAt)
    const ms = Number.isFinite(first) ? first - this.now() : this.options.ttlMs
    return Math.max(1, Math.ceil(ms / 1000))
  }
}
