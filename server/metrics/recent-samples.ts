/** The last `size` numbers pushed, overwriting the oldest, and their median. */
export class RecentSamples {
  private readonly values: number[] = []
  private next = 0
  constructor(private readonly size: number) {}

  push(v: number): void {
    if (this.values.length < this.size) this.values.push(v)
    else this.values[this.next] = v
    this.next = (this.next + 1) % this.size
  }

  get count(): number {
    return this.values.length
  }

  median(): number | undefined {
    if (this.values.length === 0) return undefined
    const sorted = [...this.values].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}
