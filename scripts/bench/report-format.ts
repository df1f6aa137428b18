/** Formatting for the benchmark report: locale-independent, so the output is the same on every machine. */
export function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`
}

/** Bytes in decimal units: kB below a megabyte, MB above. */
export function fmtBytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${Math.round(bytes / 1e3)} kB`
}

export function fmtInt(n: number): string {
  return group(String(Math.round(n)))
}

export function fmtPct(x: number): string {
  return `${(x * 100).toFixed(2)}%`
}

export function day(iso: string): string {
  return iso.slice(0, 10)
}

/** The machine's first words (CPU), then its core count. */
export function shortMachine(machine: string): string {
  const parts = machine.split(',').map((s) => s.trim())
  const cores = parts.find((p) => /core|vCPU/.test(p))
  return cores ? `${parts[0]}, ${cores}` : parts[0]
}

export function code(s: string | undefined): string {
  return s ? '`' + s.replace(/\|/g, '\\|') + '`' : 'not recorded'
}

export function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function table(head: string[], rows: string[][], align?: string[]): string {
  const sep = head.map((_, i) => align?.[i] ?? '---')
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

/** A link from docs/benchmarks.md to a result file (paths relative to the repository root). */
export function link(file: string): string {
  return `[${file.replace(/^docs\/benchmarks\//, '')}](${file.replace(/^docs\//, '')})`
}
