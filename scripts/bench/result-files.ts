/**
 * The benchmark result files under docs/benchmarks/ and the shipped manifests: their shapes and
 * how the report reads them (sorted, so the report does not depend on the file system's order).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

export const RESULTS_DIR = 'docs/benchmarks'

/** The shape `npm run bench` writes (the fields this report reads). */
export interface BenchResult {
  date: string
  machine: string
  command?: string
  model: string
  description: string
  contentHash: string
  images: number
  threads: number
  accuracy: number
  plaintextAccuracy: number
  agreement: number
  maxLogitError: number
  ms: { server: number; serverSplit?: number }
  split?: { images: number; workers: number; agreement: number }
  serverMsP95: number
  bytes: { evaluationKeys: number; requestPerImage: number; responsePerImage: number }
  params: { polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number; securityLevel: string }
  /** os.loadavg() before and after the run */
  loadAverage?: { before: number[]; after: number[] }
  /** the plan's operations per stage, their floor and the measured time (scripts/bench/floor.ts) */
  floor?: { stages: FloorStage[]; total: { floorMs: number; measuredMs: number; ratio: number } }
}

export interface FloorStage {
  stage: string
  /** per operation kind, count by level */
  counts: Record<'rotations' | 'plainProducts' | 'squares' | 'products' | 'relinearisations' | 'rescales' | 'additions' | 'plainAdditions', Record<string, number>>
  floorMs: number
  measuredMs: number
  ratio: number
}

export interface ExperimentSet {
  what: string
  commands?: string[]
  runs: Array<{ run: string; round?: number; command?: string; bench: BenchResult }>
}

export interface E2eModel {
  switchToReadyMs?: number
  /** a click on an example of the gallery to its answer: the first right after the keys are ready, and the median */
  exampleToAnswer?: { firstMs: number; medianMs: number }
  dropToAnswer: { images: number; firstMs: number; medianMs: number; p95Ms: number }
  appAccuracy: number
  plaintextAccuracyOnSameImages: number
  agreementWithPlaintext: number
  stageMedians: { serverMs: number }
  mainThreadLongTasks?: unknown[]
}

export interface E2eResult {
  date: string
  machine?: string
  command?: string
  modelVersions?: Record<string, string>
  chromium: string
  coldStart: { runs: number[]; medianMs: number }
  models: Record<string, E2eModel>
}

export interface LoadRun {
  mode: string
  cores: number
  sessions?: number
  images?: number
  serial?: number
  failed?: number
  wrong: number
  imagesPerSecond?: number
  latencyMs?: { p50: number; p95: number; p99: number }
  keyCache?: { hits: number; misses: number; hitRate: number }
  medianMs?: number
  evaluationMedianMs?: number
  outsideEvaluationMedianMs?: number
}

export interface LoadResult {
  model: string
  node: string
  cpu: string
  cores: number
  date: string
  command: string
  runs: LoadRun[]
}

export interface AttackResult {
  command: string
  date: string
  machine: string
  model: string
  points: Array<{ sigma: number; queries: number; inputs: string; agreement: number; studentAccuracy: number; realAccuracyNoisy: number }>
}

export interface Manifest {
  name: string
  version: string
  description: string
  classes: string[]
  contentHash: string
  training?: { testAccuracy?: number; testImages?: number }
}


export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

export function listJson(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f))
}

export function listDirs(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
}

export interface ShippedModel {
  manifest: Manifest
  results: Array<{ file: string; r: BenchResult }>
  /** the latest result of the shipped weights (same content hash) that measured both cores too */
  headline: { file: string; r: BenchResult }
  accuracy: { value: number; images: number; source: string }
}

function versionKey(v: string): string {
  return v
    .split('.')
    .map((p) => p.padStart(6, '0'))
    .join('.')
}

export function loadShipped(root: string): ShippedModel[] {
  const models: ShippedModel[] = []
  // hidden folders are writers' unfinished ones (scripts/training/model-folder.ts)
  for (const name of listDirs(join(root, 'server/models')).filter((n) => !n.startsWith('.'))) {
    const manifestPath = join(root, 'server/models', name, 'manifest.json')
    if (!existsSync(manifestPath)) continue
    const manifest = readJson<Manifest>(manifestPath)
    const results = listJson(join(root, RESULTS_DIR, name)).map((p) => ({ file: relative(root, p), r: readJson<BenchResult>(p) }))
    const own = results.filter((x) => x.r.contentHash === manifest.contentHash)
    const byDate = [...own].sort((a, b) => (a.r.date < b.r.date ? 1 : a.r.date > b.r.date ? -1 : 0))
    const headline = byDate.find((x) => x.r.ms.serverSplit !== undefined) ?? byDate[0]
    if (!headline) throw new Error(`no benchmark result in ${RESULTS_DIR}/${name}/ for the shipped ${name}@${manifest.version} (content hash ${manifest.contentHash.slice(0, 12)})`)
    let accuracy: ShippedModel['accuracy']
    if (manifest.training?.testAccuracy !== undefined) {
      accuracy = { value: manifest.training.testAccuracy, images: manifest.training.testImages ?? 0, source: `server/models/${name}/manifest.json (training record)` }
    } else {
      const most = [...own].sort((a, b) => b.r.images - a.r.images || (a.file < b.file ? -1 : 1))[0]
      accuracy = { value: most.r.plaintextAccuracy, images: most.r.images, source: most.file }
      // the whole test split's plaintext record (src/model/model.test.ts keeps it true to this manifest)
      const recordPath = join(root, 'server/models', name, 'accuracy.json')
      const record = existsSync(recordPath) ? readJson<{ count: number; accuracy: number }>(recordPath) : undefined
      if (record && record.count > accuracy.images) accuracy = { value: record.accuracy, images: record.count, source: `server/models/${name}/accuracy.json` }
    }
    results.sort((a, b) => versionKey(a.r.model.split('@')[1]).localeCompare(versionKey(b.r.model.split('@')[1])) || a.r.date.localeCompare(b.r.date))
    models.push({ manifest, results, headline, accuracy })
  }
  // cheapest first: the order a reader meets them in the app's picker is not known here
  return models.sort((a, b) => a.headline.r.ms.server - b.headline.r.ms.server || a.manifest.name.localeCompare(b.manifest.name))
}

export function what(description: string): string {
  return description.split(':')[0].trim()
}
