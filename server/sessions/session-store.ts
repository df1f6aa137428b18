/**
 * In-memory sessions: a model name, that session's evaluation-key bytes and the client that
 * uploaded them. Keys never touch disk or logs. TTL slides with each use.
 *
 * Capacity is the store's key bytes (SESSION_MAX_BYTES; the count SESSION_MAX is a backstop),
 * shared so that a few addresses cannot lock everyone else out:
 * - per client (count and key bytes): a client over its own quota makes room by evicting its
 *   own least recently used session (a user who reloads the page must not be locked out by
 *   the sessions of its earlier tabs, which it can no longer use anyway);
 * - when the store is full (expired sessions swept first), a new session takes the place of,
 *   in this order: sessions idle longer than `idleMs`, least recently used first, whoever
 *   holds them; then the least recently used sessions of clients over their fair share. A
 *   client's share is the store's capacity divided by the clients holding sessions (the new one
 *   included), so it shrinks as more clients fill the store; a client holding a single session
 *   is always within it. If that is not enough, 503 sessions_full: an active client within its
 *   share is never evicted by another.
 * `onDrop` lets the pool free the workers' loaded copies at once.
 */
import { randomBytes } from 'node:crypto'
import { HttpError } from '../http/http-error'

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
  /** a session unused this long may make room for another client's when the store is full; absent: never */
  idleMs?: number
  onDrop?: (id: string) => void
  now?: () => number
}

/** The store's bounds as the server's configuration states them (both modes read the same settings). */
export function sessionLimits(config: {
  sessionTtlSeconds: number
  sessionMax: number
  sessionMaxBytes: number
  sessionsPerClient: number
  sessionBytesPerClient: number
  sessionIdleSeconds: number
}): Omit<SessionStoreOptions, 'onDrop' | 'now'> {
  return {
    ttlMs: config.sessionTtlSeconds * 1000,
    maxSessions: config.sessionMax,
    maxBytes: config.sessionMaxBytes,
    perClientSessions: config.sessionsPerClient,
    perClientBytes: config.sessionBytesPerClient,
    idleMs: config.sessionIdleSeconds * 1000,
  }
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

  /** The sessions to evict so that the owner's new one of `bytes` fits, or the HttpError refusing it. */
  private plan(owner: string, bytes: number): string[] {
    const o = this.options
    if (bytes > o.perClientBytes || bytes > o.maxBytes) {
      throw new HttpError(413, 'body_too_large', 'the keys exceed what one client may store')
    }
    this.sweep()
    const held = new Map<string, { count: number; bytes: number }>()
    for (const s of this.sessions.values()) {
      const h = held.get(s.owner) ?? { count: 0, bytes: 0 }
      h.count++
      h.bytes += s.keys.byteLength
      held.set(s.owner, h)
    }
    const evict = new Set<Session>()
    let freed = 0
    const take = (s: Session) => {
      evict.add(s)
      freed += s.keys.byteLength
      const h = held.get(s.owner)!
      h.count--
      h.bytes -= s.keys.byteLength
    }
    const own = () => held.get(owner) ?? { count: 0, bytes: 0 }
    // the owner's own quota: its least recently used sessions first (Map order)
    for (const s of this.sessions.values()) {
      if (own().count + 1 <= o.perClientSessions && own().bytes + bytes <= o.perClientBytes) break
      if (s.owner === owner) take(s)
    }
    const fits = () => this.sessions.size - evict.size + 1 <= o.maxSessions && this.bytes - freed + bytes <= o.maxBytes
    if (!fits()) {
      const now = this.now()
      const idleMs = o.idleMs ?? Infinity
      for (const s of this.sessions.values()) {
        if (fits()) break
        if (!evict.has(s) && now - this.lastUse(s) >= idleMs) take(s)
      }
      const clients = [...held.values()].filter((h) => h.count > 0).length + (own().count > 0 ? 0 : 1)
      const share = { count: Math.max(1, Math.floor(o.maxSessions / clients)), bytes: Math.floor(o.maxBytes / clients) }
      // the owner counts with its new session: over its share, it replaces its own first in LRU order
      const overShare = (who: string) => {
        const h = held.get(who)!
        const [count, total] = who === owner ? [h.count + 1, h.bytes + bytes] : [h.count, h.bytes]
        return count > 1 && (count > share.count || total > share.bytes)
      }
      for (const s of this.sessions.values()) {
        if (fits()) break
        if (!evict.has(s) && overShare(s.owner)) take(s)
      }
    }
    if (!fits()) {
      throw new HttpError(503, 'sessions_full', 'the server holds as many sessions as it can: try again later', {
        'retry-after': String(this.secondsToRoom()),
      })
    }
    return [...evict].map((s) => s.id)
  }

  private lastUse(s: Session): number {
    return s.expiresAt - this.options.ttlMs
  }

  /** When the next session expires or may be evicted as idle if nobody uses it (a lower bound: TTLs slide). */
  private secondsToRoom(): number {
    let first = Infinity
    const idleMs = this.options.idleMs ?? Infinity
    for (const s of this.sessions.values()) first = Math.min(first, s.expiresAt, this.lastUse(s) + idleMs)
    const ms = Number.isFinite(first) ? first - this.now() : this.options.ttlMs
    return Math.max(1, Math.ceil(ms / 1000))
  }
}
