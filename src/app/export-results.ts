/**
 * The result cards as files a person can keep: one row per settled card (file name, model,
 * prediction, true label when known, every class's probability, stage timings and bytes), as
 * CSV and as JSON. Made in this tab from what the cards hold; nothing is sent anywhere.
 */
import { isSettled, type Item } from './state'

export interface ExportRow {
  file: string
  model: string
  status: Item['status']
  prediction: number | null
  predictedClass: string | null
  trueLabel: number | null
  trueClass: string | null
  /** probability of class i at index i, as decrypted */
  probabilities: number[]
  timingsMs: { encrypt: number; upload: number; server: number; download: number; decrypt: number } | null
  bytesSent: number | null
  bytesReceived: number | null
  error: string | null
}

/** Settled cards, oldest first (the page shows the newest first). */
export function exportRows(items: Item[], classesOf: (model: string) => string[]): ExportRow[] {
  return items
    .filter((i) => isSettled(i.status))
    .reverse()
    .map((i) => {
      const r = i.result
      const classes = classesOf(i.model)
      return {
        file: i.name,
        model: i.model,
        status: i.status,
        prediction: r ? r.prediction : null,
        predictedClass: r ? (classes[r.prediction] ?? null) : null,
        trueLabel: i.truth ?? null,
        trueClass: i.truth === undefined ? null : (classes[i.truth] ?? null),
        probabilities: r ? [...r.probabilities] : [],
        timingsMs: r ? { encrypt: r.timings.encryptMs, upload: r.timings.uploadMs, server: r.timings.serverMs, download: r.timings.downloadMs, decrypt: r.timings.decryptMs } : null,
        bytesSent: r ? r.bytesSent : null,
        bytesReceived: r ? r.bytesReceived : null,
        error: i.error ?? null,
      }
    })
}

export function toJson(rows: ExportRow[]): string {
  return `${JSON.stringify({ results: rows }, null, 2)}\n`
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function field(v: string | number | null): string {
  const s = v === null ? '' : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** One column per class index (p0, p1, ...), as many as the widest model has; a row's predicted class names its index. */
export function toCsv(rows: ExportRow[]): string {
  const width = Math.max(0, ...rows.map((r) => r.probabilities.length))
  const head = ['file', 'model', 'status', 'prediction', 'predicted_class', 'true_label', 'true_class']
  const tail = ['encrypt_ms', 'upload_ms', 'server_ms', 'download_ms', 'decrypt_ms', 'bytes_sent', 'bytes_received', 'error']
  const lines = [[...head, ...Array.from({ length: width }, (_, i) => `p${i}`), ...tail].join(',')]
  for (const r of rows) {
    const t = r.timingsMs
    const cells = [
      r.file, r.model, r.status, r.prediction, r.predictedClass, r.trueLabel, r.trueClass,
      ...Array.from({ length: width }, (_, i) => r.probabilities[i] ?? null),
      t?.encrypt ?? null, t?.upload ?? null, t?.server ?? null, t?.download ?? null, t?.decrypt ?? null, r.bytesSent, r.bytesReceived, r.error,
    ]
    lines.push(cells.map(field).join(','))
  }
  return `${lines.join('\r\n')}\r\n`
}
