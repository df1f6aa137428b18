/**
 * Start-up of the API server as `npm run dev:api` starts it (no build): from the spawn to the
 * first model served and to every model served, polling GET /readyz and GET /api/v1/models, and
 * what each worker's SEAL heap grew by for each model it built (from the pool's log lines).
 *
 *   npm run bench:startup -- [--port 8791] [--label after] [--out docs/benchmarks/startup] [--cwd DIR] [--timeout-s 180]
 *
 * A model counts as served once the model list flags it `ready`; a server whose list has no
 * such flag serves every model at once, when /readyz first answers 200. Writes
 * <out>/<date>-<label>.json when --label is given. --cwd: start the server of another checkout
 * (an earlier commit unpacked with `git archive`), to compare in the same hour.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { helpIfAsked } from '../help'
import { labelledResult } from './labelled-result'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8791' },
    label: { type: 'string' },
    out: { type: 'string', default: 'docs/benchmarks/startup' },
    'timeout-s': { type: 'string', default: '180' },
    cwd: { type: 'string' },
  },
})
const base = `http://127.0.0.1:${args.port}`
const loadBefore = loadavg()
const started = performance.now()
const since = () => Math.round(performance.now() - started)

// its own process group, so that stopping it stops the node under npm too; info logs carry the builds
const server = spawn('npm', ['run', '--silent', 'dev:api'], {
  detached: true,
  cwd: args.cwd,
  env: { ...process.env, PORT: args.port, HOST: '127.0.0.1', LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
const stop = () => {
  try {
    if (server.pid) process.kill(-server.pid, 'SIGTERM')
  } catch {
    // already gone
  }
}
process.on('exit', stop)

/** One worker's build of one model, as the pool logs it (server/pool/pool.ts). */
interface Build {
  threadId: number
  model: string
  buildMs: number
  heapGrowthBytes: number
  heapBytes: number
  atMs: number
}
const builds: Build[] = []
createInterface({ input: server.stdout! }).on('line', (line) => {
  try {
    const entry = JSON.parse(line) as { msg?: string; threadId?: number; model?: string; buildMs?: number; heapGrowthBytes?: number; heapBytes?: number }
    if (entry.msg === 'pool worker built a model' && entry.model) {
      builds.push({ threadId: entry.threadId!, model: entry.model, buildMs: entry.buildMs!, heapGrowthBytes: entry.heapGrowthBytes!, heapBytes: entry.heapBytes!, atMs: since() })
    }
  } catch {
    // not a log line
  }
})

const served = new Map<string, number>()
let firstReadyzMs: number | undefined
let names: string[] = []
const deadline = Number(args['timeout-s']) * 1000
while (since() < deadline) {
  const readyz = await fetch(`${base}/readyz`).then((r) => r.status, () => 0)
  if (readyz === 200 && firstReadyzMs === undefined) firstReadyzMs = since()
  const list = await fetch(`${base}/api/v1/models`).then((r) => (r.ok ? (r.json() as Promise<{ models: Array<{ name: string; ready?: boolean }> }>) : undefined), () => undefined)
  if (list) {
    names = list.models.map((m) => m.name)
    for (const m of list.models) {
      const ready = m.ready ?? readyz === 200
      if (ready && !served.has(m.name)) served.set(m.name, since())
    }
    if (names.length > 0 && names.every((n) => served.has(n))) break
  }
  await new Promise((r) => setTimeout(r, 100))
}
stop()

const MB = 2 ** 20
const firstMs = Math.min(...served.values())
const allMs = names.every((n) => served.has(n)) ? Math.max(...served.values()) : null
console.log(`start to /readyz 200: ${firstReadyzMs ?? 'never'} ms; first model served: ${firstMs} ms; every model served: ${allMs ?? 'not within the timeout'} ms`)
for (const [name, ms] of [...served].sort((a, b) => a[1] - b[1])) console.log(`  ${name.padEnd(16)} served at ${ms} ms`)
console.log('per worker and model: build time and SEAL heap growth')
for (const b of builds) console.log(`  worker ${b.threadId}  ${b.model.padEnd(16)} ${String(b.buildMs).padStart(6)} ms  +${(b.heapGrowthBytes / MB).toFixed(0).padStart(5)} MB  (heap ${(b.heapBytes / MB).toFixed(0)} MB)`)

if (args.label) {
  const { file, date, machine } = labelledResult(args.out, args.label)
  const result = {
    date,
    machine,
    command: `npm run bench:startup -- ${process.argv.slice(2).join(' ')}`.trim(),
    cores: availableParallelism(),
    loadAverage: { before: loadBefore, after: loadavg() },
    firstReadyzMs: firstReadyzMs ?? null,
    firstModelServedMs: Number.isFinite(firstMs) ? firstMs : null,
    everyModelServedMs: allMs,
    servedAtMs: Object.fromEntries(served),
    builds,
  }
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${file}`)
}
process.exit(0)
