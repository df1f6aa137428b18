/**
 * Fault injection for tests: a test passes a PoolFaults in PoolOptions.faults (through
 * buildApp's `faults`), and the pool asks it, as each job is submitted, what should go wrong
 * with that job in its worker. Production passes none, so no job ever carries a fault.
 * test-support/faults.ts holds the implementation the tests use.
 */
import type { WorkerFault } from './messages'

export type JobOp = 'validate' | 'classify'

export interface PoolFaults {
  /**
   * The fault for a job just submitted (undefined: none). A crash of a shared image hits its
   * last part, so the lead is left waiting for a share; a trap hits its lead.
   */
  forJob(job: { op: JobOp; model: string }): WorkerFault | undefined
  /**
   * Every worker of the pool, about to build this model, waits until the gate (an Int32Array(1)
   * over a SharedArrayBuffer) is raised: a model that stays "building" as long as a test needs.
   */
  readonly holdBuild?: { model: string; gate: SharedArrayBuffer }
}
