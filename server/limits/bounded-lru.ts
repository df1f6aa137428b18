/**
 * A Map that remembers at most `max` keys, forgetting the least recently used first. Per-client
 * state (rate-limit buckets, query windows) lives in one, so a flood of distinct client addresses
 * costs bounded memory: at worst some clients are forgotten and start afresh.
 */
export class BoundedLru<K, V> {
  // Map keeps insertion order: re-inserting on use makes the first entry the least recent
  private readonly map = new Map<K, V>()

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new Error('BoundedLru needs room for at least one entry')
  }

  get size(): number {
    return this.map.size
  }

  /** The value for `key`, marking it most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key)
    if (v === undefined) return undefined
    this.map.delete(key)
    this.map.set(key, v)
    return v
  }

  /** The value for `key`, created with `make()` (evicting the least recent key when full) when absent. */
  getOrCreate(key: K, make: () => V): V {
    const v = this.get(key)
    if (v !== undefined) return v
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as K)
    const fresh = make()
    this.map.set(key, fresh)
    return fresh
  }

  has(key: K): boolean {
    return this.map.has(key)
  }
}
