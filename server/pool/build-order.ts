/**
 * Which model a pool worker builds (encodes the weights of) next, and when. Encoding a model's
 * weights into SEAL plaintexts is most of a worker's start, and it grows with the model: a
 * worker builds its models one at a time, cheapest first, so the small models are served while
 * the large ones are still being encoded. A worker that is building takes no job (its thread is
 * busy encoding), so a worker starts a build only when every model the pool already serves keeps
 * a worker that is not building: a served model stays served. Why: docs/decisions/serve-models-as-they-load.md.
 */
import { encodedWeightSize } from '../../src/he/weight-memory'
import type { EvaluationPlan } from '../../src/he/evaluation-plan'
import { derivePlan } from '../../src/he/plan'
import type { ModelManifest } from '../../src/model/manifest'

/** What building a model writes, in bytes: its encoded weights (an upper bound, from the plan), which take the time in proportion, so this orders the builds. */
export function buildBytes(manifest: ModelManifest, plan: EvaluationPlan = derivePlan(manifest)): number {
  return encodedWeightSize(plan, manifest.he).bytes
}

/**
 * The models' names, cheapest to build first (buildBytes), then by name. `plans`: the ones the
 * caller has already derived, by model name; a model without one has its plan derived here
 * (a large model's takes a noticeable share of the start-up on the main thread).
 */
export function buildOrder(manifests: ModelManifest[], plans?: ReadonlyMap<string, EvaluationPlan>): string[] {
  const cost = new Map(manifests.map((m) => [m.name, buildBytes(m, plans?.get(m.name))]))
  return [...cost.keys()].sort((a, b) => cost.get(a)! - cost.get(b)! || a.localeCompare(b))
}

/** What the rule needs to know of each worker. */
export interface BuildingWorker {
  /** SEAL has loaded: the worker can build */
  loaded: boolean
  /** models it has built (it serves them whenever it is not building) */
  models: ReadonlySet<string>
  /** the model it is building now */
  building?: string
  /** it runs a job, or leaves after its answer: no build now */
  busy: boolean
}

/**
 * The model `worker` should start building now, or undefined: the next one in `order` it lacks,
 * if starting it leaves every model some worker serves with another worker that serves it and
 * is not building. A lone worker builds on regardless (there is no other to keep serving).
 */
export function nextBuild(worker: BuildingWorker, workers: readonly BuildingWorker[], order: readonly string[]): string | undefined {
  if (!worker.loaded || worker.busy || worker.building !== undefined) return undefined
  const next = order.find((m) => !worker.models.has(m))
  if (next === undefined) return undefined
  const others = workers.filter((w) => w !== worker)
  if (others.length === 0) return next
  const served = new Set(workers.flatMap((w) => [...w.models]))
  const stillServed = (model: string) => others.some((w) => w.building === undefined && w.models.has(model))
  return [...served].every(stillServed) ? next : undefined
}
