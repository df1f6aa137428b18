/**
 * What each model costs on this server, for GET /models (ModelCost in src/api/wire.ts):
 * the medians of the last few key uploads, requests, responses and evaluation times the
 * server actually saw, not estimates. Before the first of a kind, the byte sizes fall back
 * to what the page's own client sends and the server answers: packed keys, requests and
 * responses, whose sizes the plan fixes; the time stays null, since only a measurement says it.
 *
 * Recording is O(1) and reading sorts at most WINDOW numbers per field, so GET /models stays
 * cheap however many images the server has answered.
 */
import type { ModelCost } from '../../src/api/wire'
import type { EvaluationPlan } from '../../src/he/evaluation-plan'
import { containerBytes } from '../../src/he/wire'
import { plannedPackedBytes } from '../../src/he/packed-ciphertext'
import { keyTables, packedKeySetSize } from '../../src/he/packed-keys'
import { packedRequestSize } from '../../src/he/packed-request'
import { RecentSamples } from './recent-samples'

/** how many recent samples each median is taken over */
export const COST_WINDOW = 50

/** Sizes known before anything was measured, from the plan. */
export interface PlannedBytes {
  evaluationKeys: number
  request: number
  response: number
}

/** A model's evaluation-key, request (as KeyOwner packs them) and response (packed) containers. */
export function plannedBytes(
  he: { polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number },
  plan: Pick<EvaluationPlan, 'input' | 'outputCiphertexts' | 'rotationSteps'>,
): PlannedBytes {
  const N = he.polyModulusDegree
  const tables = keyTables(N, plan.rotationSteps)
  const keySet = (t: { filled: number[] }) => packedKeySetSize(N, he.coeffModulusBits, t.filled.length)
  const request = packedRequestSize(N, he.coeffModulusBits.slice(0, -1))
  const response = plannedPackedBytes(N, he.coeffModulusBits[0], he.scaleBits)
  return {
    evaluationKeys: containerBytes([keySet(tables.relin), keySet(tables.galois)]),
    request: containerBytes(Array.from({ length: plan.input.ciphertexts }, () => request)),
    response: containerBytes(Array.from({ length: plan.outputCiphertexts }, () => response)),
  }
}

interface ModelSamples {
  planned: PlannedBytes
  keys: RecentSamples
  request: RecentSamples
  response: RecentSamples
  serverMs: RecentSamples
}

export class ModelCosts {
  private readonly models = new Map<string, ModelSamples>()

  constructor(planned: Map<string, PlannedBytes>, window = COST_WINDOW) {
    for (const [name, p] of planned) {
      const samples = () => new RecentSamples(window)
      this.models.set(name, { planned: p, keys: samples(), request: samples(), response: samples(), serverMs: samples() })
    }
  }

  /** An evaluation-key upload the server accepted (a session was created). */
  keysAccepted(model: string, bytes: number): void {
    this.models.get(model)?.keys.push(bytes)
  }

  /** A classification answered: its request and response bodies, and the worker's time. */
  classified(model: string, e: { requestBytes: number; responseBytes: number; serverMs: number }): void {
    const m = this.models.get(model)
    if (!m) return
    m.request.push(e.requestBytes)
    m.response.push(e.responseBytes)
    m.serverMs.push(e.serverMs)
  }

  cost(model: string): ModelCost {
    const m = this.models.get(model)
    if (!m) return { evaluationKeyBytes: null, requestBytes: null, responseBytes: null, serverMs: null, measured: { evaluationKeys: false, request: false, response: false } }
    const ms = m.serverMs.median()
    const bytes = (s: RecentSamples) => {
      const median = s.median()
      return median === undefined ? undefined : Math.round(median)
    }
    return {
      evaluationKeyBytes: bytes(m.keys) ?? m.planned.evaluationKeys,
      requestBytes: bytes(m.request) ?? m.planned.request,
      responseBytes: bytes(m.response) ?? m.planned.response,
      serverMs: ms === undefined ? null : { median: Math.round(ms * 10) / 10, samples: m.serverMs.count },
      measured: { evaluationKeys: m.keys.count > 0, request: m.request.count > 0, response: m.response.count > 0 },
    }
  }
}
