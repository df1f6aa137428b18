/**
 * Every request the worker makes is recorded here and forwarded to the page,
 * so the privacy inspector shows exactly what left the browser.
 */
import type { RequestCarries, RequestRecord, WorkerEvent } from '../../src/api/he-worker-types'
import { sha256Prefix } from './digest'
import { send, type Exchange, type SendOptions } from './http'

type Listener = (e: WorkerEvent) => void

let listener: Listener | undefined
let nextId = 1

export function setListener(l: Listener | undefined): void {
  listener = l
}

/**
 * send(), recorded with the digest of the body as it left: WebCrypto copies the bytes when the
 * digest is asked for, and hashes them off this thread while they travel.
 * `digest`: the body's sha256Prefix when the caller already has it or is taking it (tens of MB of
 * keys are not hashed twice).
 */
export async function loggedSend(carries: RequestCarries, o: SendOptions, model?: string, digest?: string | Promise<string>): Promise<Exchange> {
  const digesting = digest ?? (o.body ? sha256Prefix(o.body) : undefined)
  // a failed digest must not fail the request; the record then says it has none
  const recorded = Promise.resolve(digesting).catch(() => undefined)
  const record: RequestRecord = {
    id: nextId++,
    at: Date.now(),
    method: o.method,
    path: new URL(o.url, self.location.href).pathname,
    carries,
    model,
    bytesSent: o.body?.byteLength ?? 0,
    bytesReceived: 0,
    sha256Prefix: null,
    status: 'network error',
    ms: 0,
  }
  const started = performance.now()
  try {
    const x = await send(o)
    record.status = x.status
    record.bytesReceived = x.body?.byteLength ?? 0
    return x
  } finally {
    record.ms = performance.now() - started
    // a listener on a dead page must not fail the request
    recorded
      .then((hex) => {
        record.sha256Prefix = hex ?? null
        listener?.({ type: 'request', record })
      })
      .catch(() => undefined)
  }
}
