/**
 * Byte patterns that must never appear in a request body: the image's own
 * bytes, the model input in every plain encoding, the decrypted answer.
 */
export interface Needle {
  what: string
  bytes: Buffer
}

function encode(values: number[], kind: 'u8' | 'f32' | 'f64'): Buffer {
  if (kind === 'u8') return Buffer.from(Uint8Array.from(values))
  const arr = kind === 'f32' ? Float32Array.from(values) : Float64Array.from(values)
  return Buffer.from(arr.buffer) // little-endian on every machine this runs on
}

/**
 * A run of the frame's values starting at its first inked pixel: long enough
 * (>= 32 values) that a chance match in megabytes of ciphertext is impossible,
 * and it is where the information is.
 */
export function inputNeedles(frame: number[], mean: number | number[], std: number | number[], label: string): Needle[] {
  // per-channel normalisation of an HWC input (one channel: one mean and std)
  const means = typeof mean === 'number' ? [mean] : mean
  const stds = typeof std === 'number' ? [std] : std
  const start = Math.max(0, frame.findIndex((v) => v > 0) - 4)
  const run = frame.slice(start, start + 112)
  const scaled = run.map((v) => v / 255)
  const normalised = run.map((v, i) => {
    const c = (start + i) % means.length
    return (v / 255 - means[c]) / stds[c]
  })
  const out: Needle[] = []
  for (const [name, values] of [['raw', run], ['scaled', scaled], ['normalised', normalised]] as const) {
    for (const kind of ['f32', 'f64'] as const) out.push({ what: `${label} ${name} input as ${kind}`, bytes: encode(values, kind) })
  }
  out.push({ what: `${label} input as uint8`, bytes: encode(run, 'u8') })
  return out
}

export function probabilityNeedles(p: number[], label: string): Needle[] {
  const top = Math.max(...p)
  return [
    { what: `${label} probabilities as f64`, bytes: encode(p, 'f64') },
    { what: `${label} probabilities as f32`, bytes: encode(p, 'f32') },
    // the top probability alone, the single most telling value
    { what: `${label} top probability as f64`, bytes: encode([top], 'f64') },
    // as text, the way JSON, a form or a query string would carry them
    { what: `${label} probabilities as JSON`, bytes: Buffer.from(JSON.stringify(p)) },
    // (a short string such as "1" would match anywhere)
    ...(String(top).length >= 8 ? [{ what: `${label} top probability as text`, bytes: Buffer.from(String(top)) }] : []),
  ]
}

export function fileNeedles(file: Buffer, label: string): Needle[] {
  const mid = Math.floor(file.length / 2)
  return [
    { what: `${label} file bytes`, bytes: file },
    { what: `${label} 48 bytes from the middle of the file`, bytes: file.subarray(Math.max(0, mid - 24), mid + 24) },
  ]
}

export function findLeaks(bodies: Buffer[], needles: Needle[]): string[] {
  const leaks: string[] = []
  for (const n of needles) for (const b of bodies) if (n.bytes.length > 0 && b.indexOf(n.bytes) >= 0) leaks.push(n.what)
  return leaks
}
