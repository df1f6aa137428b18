/**
 * What one evaluation holds and what its caller sees: a session's evaluation
 * keys as loaded, the job (the current stage's input and every handle made
 * for it), the caller's control (progress, cancel), and one part's share of a
 * linear stage when an image is split across workers.
 */
import type { Seal } from './context'
import { BlindfoldError } from './errors'

type Ciphertext = InstanceType<Seal['Ciphertext']>
type RelinKeys = InstanceType<Seal['RelinKeys']>
type GaloisKeys = InstanceType<Seal['GaloisKeys']>

/** A session's evaluation keys, loaded into this evaluator's SEAL instance. */
export interface LoadedKeys {
  readonly relin: RelinKeys
  readonly galois: GaloisKeys
  readonly byteLength: number
  dispose(): void
}

/** Partial results of one linear stage: output ciphertext index -> rescaled sum of its products */
export type Share = Map<number, Ciphertext>

/**
 * What the caller of one evaluation may watch and stop (server: a pool job's progress
 * messages and its shared cancel flag). Both are optional and must be cheap: `cancelled`
 * is read between stages and between giant steps and output ciphertexts inside one.
 */
export interface EvaluationControl {
  /** after each plan stage: `done` of `total` stages finished, `name` the one just finished (stageNames) */
  onStage?(done: number, total: number, name: string): void
  /** true stops the evaluation with BlindfoldError('cancelled'); every handle is still freed */
  cancelled?(): boolean
}

/** One image in evaluation: the current stage's input and every handle made for it (freed by dispose). */
export class EvaluationJob {
  /** next stage to run (a linear one, or past the end) */
  stage = 0
  current: Ciphertext[] = []
  done = false
  /** time spent in computeShare since the last combine (per-stage timings) */
  shareMs = 0
  private readonly owned: Ciphertext[] = []
  constructor(readonly control: EvaluationControl = {}) {}
  /** Throws BlindfoldError('cancelled') once the caller has asked to stop. */
  checkCancelled(): void {
    if (this.control.cancelled?.()) throw new BlindfoldError('cancelled', 'the classification was cancelled')
  }
  track(c: Ciphertext): Ciphertext {
    this.owned.push(c)
    return c
  }
  dispose(): void {
    for (const c of this.owned.splice(0)) c.delete()
  }
}
