/**
 * One HTTP exchange from the worker. XMLHttpRequest rather than fetch because
 * it reports upload progress (the evaluation keys are megabytes) and tells
 * apart "request sent" from "first response byte", which gives the
 * upload / server / download split the page shows.
 */
import type { ApiError } from '../../src/api/wire'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export interface Exchange {
  status: number
  body: ArrayBuffer
  header(name: string): string | null
  /** ms from send() to the end of the upload */
  uploadMs: number
  /** ms from the headers arriving to the last byte */
  downloadMs: number
  /** ms from the end of the upload to the response headers */
  waitMs: number
  totalMs: number
}

export interface SendOptions {
  method: string
  url: string
  body?: Uint8Array
  onUploadProgress?: (loaded: number, total: number) => void
  onUploaded?: () => void
  /** stop reading a response larger than this (the server's bytes are untrusted too) */
  maxResponseBytes?: number
  /** extra request headers (the classification's request id) */
  headers?: Record<string, string>
  /** aborting it aborts the request: the server sees the connection close and stops the work */
  signal?: AbortSignal
}

/** The user cancelled the request (AbortSignal): not a failure to report as one. */
export const CANCELLED = 'cancelled'

export function send(o: SendOptions): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new HttpError(0, CANCELLED, 'Cancelled.'))
    const xhr = new XMLHttpRequest()
    xhr.open(o.method, o.url)
    xhr.responseType = 'arraybuffer'
    for (const [name, value] of Object.entries(o.headers ?? {})) xhr.setRequestHeader(name, value)
    let settled = false
    o.signal?.addEventListener(
      'abort',
      () => {
        if (settled) return
        settled = true
        // settle first: abort() re-enters the event handlers synchronously
        reject(new HttpError(0, CANCELLED, 'Cancelled.'))
        xhr.abort()
      },
      { once: true },
    )
    const t0 = performance.now()
    let uploaded = o.body ? 0 : t0
    let headersAt = 0
    const markUploaded = () => {
      if (uploaded) return
      uploaded = performance.now()
      o.onUploaded?.()
    }
    if (o.body) {
      xhr.setRequestHeader('content-type', 'application/octet-stream')
      xhr.upload.onprogress = (e) => o.onUploadProgress?.(e.loaded, e.total)
      xhr.upload.onload = markUploaded
    }
    let refused = false
    const refuse = (size: number) => {
      if (refused || settled) return
      refused = true
      settled = true
      // settle first: abort() re-enters the event handlers synchronously
      reject(new HttpError(0, 'response_too_large', `The server's answer (${size} bytes) is larger than this model's answers can be (${o.maxResponseBytes} bytes); it was not read.`))
      xhr.abort()
    }
    xhr.onreadystatechange = () => {
      if (xhr.readyState >= XMLHttpRequest.HEADERS_RECEIVED && !headersAt) {
        markUploaded() // upload events may be skipped for small local bodies
        headersAt = performance.now()
        const declared = Number(xhr.getResponseHeader('content-length'))
        if (o.maxResponseBytes !== undefined && declared > o.maxResponseBytes) refuse(declared)
      }
    }
    xhr.onprogress = (e) => {
      if (o.maxResponseBytes !== undefined && e.loaded > o.maxResponseBytes) refuse(e.loaded)
    }
    xhr.onerror = () => !settled && reject(new HttpError(0, 'network_error', 'Cannot reach the Blindfold server. Check your connection and try again.'))
    xhr.ontimeout = () => !settled && reject(new HttpError(0, 'timeout', 'The server took too long to answer.'))
    xhr.onload = () => {
      if (refused || settled) return
      settled = true
      const end = performance.now()
      resolve({
        status: xhr.status,
        body: xhr.response as ArrayBuffer,
        header: (n) => xhr.getResponseHeader(n),
        uploadMs: uploaded - t0,
        waitMs: headersAt - uploaded,
        downloadMs: end - headersAt,
        totalMs: end - t0,
      })
    }
    xhr.timeout = 120_000
    // A Blob, not the bytes: Chromium uploads either at the same speed, but with DevTools attached
    // (Playwright, or a person watching the network panel) it copies an ArrayBuffer body into the
    // protocol first, which adds seconds to a large key upload (the upload benchmark measures it). A route still sees it.
    xhr.send(o.body ? new Blob([o.body as Uint8Array<ArrayBuffer>]) : null)
  })
}

/** Throws the answer's error (see errorOf) for any non-2xx answer. */
export function expectOk(x: Exchange): Exchange {
  if (x.status >= 200 && x.status < 300) return x
  throw errorOf(x)
}

/** An HttpError built from the API's JSON error body, or a generic one when there is none. */
export function errorOf(x: Exchange): HttpError {
  let code = 'http_' + x.status
  let message = `The server answered ${x.status}.`
  try {
    const parsed = JSON.parse(new TextDecoder().decode(x.body)) as ApiError
    if (parsed?.error?.code) code = parsed.error.code
    if (parsed?.error?.message) message = parsed.error.message
  } catch {
    // not JSON (a proxy's HTML page, say): keep the generic message
  }
  return new HttpError(x.status, code, message)
}

export function json<T>(x: Exchange): T {
  return JSON.parse(new TextDecoder().decode(x.body)) as T
}
