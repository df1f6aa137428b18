// A small LRU of loaded evaluation keys; every eviction frees the SEAL handles.
import type { LoadedKeys } from '../../src/he/evaluation-job'

export class KeyCache {
  private readonly entries = new Map<string, LoadedKeys>()
  constructor(private readonly capacity: number) {}

  get(session: string): LoadedKeys | undefined {
    const keys = this.entries.get(session)
    if (keys) {
      this.entries.delete(session)
      this.entries.set(session, keys)
    }
    return keys
  }

  set(session: string, keys: LoadedKeys): void {
    this.drop(session)
    this.entries.set(session, keys)
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.drop(oldest)
    }
  }

  drop(session: string): void {
    const keys = this.entries.get(session)
    if (!keys) return
    this.entries.delete(session)
    keys.dispose()
  }

  sessions(): string[] {
    return [...this.entries.keys()]
  }
}
