/**
 * In-memory sessions: a model name and that session's evaluation-key bytes.
 * Keys never touch disk or logs. TTL slides with each use; count and total
 * bytes are capped, least recently used evicted first. `onDrop` lets the pool
 * free the workers' loaded copies at once.
 */
import { randomBytes } from 'node:crypto'

export interface Session {
  readonly id: string
  readonly model: string
  readonly keys: Uint8Array
  expiresAt: number
}

export interface SessionStoreOptions {
  ttlMs: number
  maxSessions: number
  maxBytes: number
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

  /** Adds a session, evicting the least recently used ones to stay under the caps. */
  add(id: string, model: string, keys: Uint8Array): Session {
    if (keys.byteLength > this.options.maxBytes) throw new Error('keys exceed the session store capacity')
    while (this.sessions.size >= this.options.maxSessions || this.bytes + keys.byteLength > this.options.maxBytes) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.delete(oldest)
    }
    const session: Session = { id, model, keys, expiresAt: this.now() + this.options.ttlMs }
    this.sessions.set(id, session)
    this.bytes += keys.byteLength
    return session
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
}
