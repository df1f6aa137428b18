/**
 * What every bench:abuse run shares: one HTTP request from a chosen loopback address, the
 * legitimate MNIST client that measures its answers and latency while an attack runs, and the
 * machine line of a result file.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { cpus, loadavg, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { BINARY, paths, type SessionCreated } from '../../src/api/wire'
import { loadMnistSplit } from '../../src/datasets'
import type { ModelFiles } from '../../src/datasets/model-files'
import type { KeyOwner } from '../../src/he/key-owner'
import { argmax, forward, normalise } from '../../src/model/forward'

export interface Answer {
  status: number
  body: Buffer
  ms: number
}

/** One request on its own connection from `localAddress`; status 0 when the connection failed. */
export function send(port: number, method: string, path: string, localAddress: string, body?: Uint8Array): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve) => {
    const failed = () => resolve({ status: 0, body: Buffer.alloc(0), ms: performance.now() - started })
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, localAddress, agent: false, headers: body ? { 'content-type': BINARY, 'content-length': body.byteLength } : {} },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }))
        res.on('error', failed)
      },
    )
    req.on('error', failed)
    req.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined)
  })
}

/** A new session for `model` from `address`; its id, or throws with the server's answer. */
export async function openSession(port: number, model: string, address: string, keys: Uint8Array): Promise<string> {
  const r = await send(port, 'POST', `${paths.sessions}?model=${model}`, address, keys)
  if (r.status !== 201) throw new Error(`session for ${model} from ${address}: ${r.status} ${r.body.toString().slice(0, 200)}`)
  return (JSON.parse(r.body.toString()) as SessionCreated).sessionId
}

export interface LegitFigures {
  sent: number
  answered: number
  correct: number
  medianMs: number
  /** the distinct statuses it got */
  statuses: number[]
}

/**
 * The legitimate client: one address, one mnist-cnn session, one image at a time, each answer
 * decrypted and checked against the plaintext model. With several ports (API replicas) it sends
 * to each in turn.
 */
export class LegitClient {
  private readonly mnist = loadMnistSplit('test')
  private next = 0
  private session = ''

  get sessionId(): string {
    return this.session
  }

  constructor(
    private readonly ports: number[],
    private readonly address: string,
    private readonly model: ModelFiles,
    private readonly owner: KeyOwner,
  ) {}

  async open(): Promise<void> {
    this.session = await openSession(this.ports[0], 'mnist-cnn', this.address, this.owner.evaluationKeys)
  }

  /** Its answers while `during` runs: at least `least` images, at most `most`, one after another. */
  async measure(during: Promise<unknown> = Promise.resolve(), least = 8, most = least * 4): Promise<LegitFigures> {
    let over = false
    void during.finally(() => (over = true)).catch(() => {})
    const ms: number[] = []
    const statuses: number[] = []
    let correct = 0
    const { manifest, weights } = this.model
    for (let k = 0; k < most && (k < least || !over); k++) {
      const i = this.next++ % 10_000
      const x = normalise(this.mnist.images.subarray(i * 784, (i + 1) * 784), manifest)
      const port = this.ports[k % this.ports.length]
      const r = await send(port, 'POST', paths.classify(this.session), this.address, this.owner.encrypt(x))
      statuses.push(r.status)
      if (r.status !== 200) continue
      ms.push(r.ms)
      if (argmax(this.owner.decrypt(new Uint8Array(r.body))) === argmax(forward(manifest, weights, x))) correct++
    }
    await during
    return { sent: statuses.length, answered: ms.length, correct, medianMs: median(ms), statuses: [...new Set(statuses)] }
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  return Math.round(s[s.length >> 1])
}

/** A phase's median over the idle median, two decimals. */
export const ratio = (phase: { medianMs: number }, idle: { medianMs: number }) => Math.round((phase.medianMs / idle.medianMs) * 100) / 100

export function machine(): string {
  return `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`
}

/** os.loadavg() (1, 5, 15 minutes), rounded: recorded before and after a run, as latencies move with it. */
export function loadAverageNow(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100)
}

/** The resident memory of process `pid` in MiB (Linux /proc), worker threads included. */
export async function rssMiB(pid: number): Promise<number | undefined> {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024)
  } catch {
    return undefined
  }
}

/**
 * `count` concurrent key uploads declaring `declared` bytes for `model`, each sending its first
 * megabyte only, from 8 addresses, spread over `ports`; the status each got (0: none).
 */
export function bodyFlood(ports: number[], count: number, model: string, declared: number): Promise<number[]> {
  const start = Buffer.alloc(1024 * 1024, 0x42)
  return Promise.all(
    Array.from({ length: count }, (_, k) => {
      return new Promise<number>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: ports[k % ports.length], localAddress: `127.0.0.${40 + (k % 8)}` })
        let text = ''
        s.on('data', (d: Buffer) => (text += d.toString('latin1')))
        s.on('error', () => {})
        s.on('close', () => resolve(Number(text.split(' ')[1]) || 0))
        s.write(`POST ${paths.sessions}?model=${model} HTTP/1.1\r\nHost: x\r\nContent-Type: ${BINARY}\r\nContent-Length: ${declared}\r\n\r\n`)
        s.write(start)
        setTimeout(() => s.destroy(), 20_000)
      })
    }),
  )
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A new session for `model` from `address` once the server has built the model: asks again
 * while it answers 503 model_loading, for up to `withinMs`.
 */
export async function openSessionOnceBuilt(port: number, model: string, address: string, keys: Uint8Array, withinMs: number): Promise<string> {
  const end = performance.now() + withinMs
  for (;;) {
    try {
      return await openSession(port, model, address, keys)
    } catch (e) {
      if (!/model_loading/.test((e as Error).message) || performance.now() > end) throw e
      await sleep(2000)
    }
  }
}

export interface ImageFlood {
  ports: number[]
  address: string
  session: string
  /** the encrypted image sent again and again */
  image: Uint8Array
  /** sent at once */
  burst: number
  /** then one every `everyMs` for `attackMs`, to the ports in turn */
  everyMs: number
  attackMs: number
  /** runs after each later send (a sample of the server's memory) */
  tick?: () => Promise<void>
}

/** What the flooding address got: statuses by count, and the median time of its answered requests. */
export interface FloodFigures {
  statuses: Record<string, number>
  answeredMedianMs: number | null
}

/**
 * The worker-kill attack: one address sends one classification after another within its rate
 * limit (a burst at once, then one every `everyMs`), each on its own connection.
 */
export async function imageFlood(f: ImageFlood): Promise<FloodFigures> {
  const statuses: Record<string, number> = {}
  const answeredMs: number[] = []
  let sent = 0
  const shoot = async () => {
    const r = await send(f.ports[sent++ % f.ports.length], 'POST', paths.classify(f.session), f.address, f.image)
    statuses[r.status] = (statuses[r.status] ?? 0) + 1
    if (r.status === 200) answeredMs.push(r.ms)
  }
  const shots: Promise<void>[] = []
  for (let k = 0; k < f.burst; k++) shots.push(shoot())
  const end = performance.now() + f.attackMs
  while (performance.now() < end) {
    await sleep(f.everyMs)
    shots.push(shoot())
    await f.tick?.()
  }
  await Promise.all(shots)
  return { statuses, answeredMedianMs: answeredMs.length ? median(answeredMs) : null }
}

/** Writes a bench result (its folder made if need be) and prints it. */
export function writeResult(path: string, result: object): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n')
  console.log(JSON.stringify(result, null, 2))
}
