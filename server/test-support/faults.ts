/**
 * The faults tests inject into a pool (buildApp's / startApp's `faults`): each job submitted
 * after a call gets what the test asked for, in its worker.
 */
import { cancelFlagOf, raise } from '../pool/cancel-flag'
import type { PoolFaults } from '../pool/faults'
import type { WorkerFault } from '../pool/messages'

export class InjectedFaults implements PoolFaults {
  private crashNext = false
  private trapNext = false
  private stuckNextMs = 0
  private stageDelayMs = 0
  readonly holdBuild?: { model: string; gate: SharedArrayBuffer }

  /** heldModel: every worker of a pool made with these faults waits, before building that model, until releaseBuild() */
  constructor(heldModel?: string) {
    if (heldModel !== undefined) this.holdBuild = { model: heldModel, gate: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT) }
  }

  /** The held model's builds go on. */
  releaseBuild(): void {
    if (this.holdBuild) raise(cancelFlagOf(this.holdBuild.gate))
  }

  /** The worker that takes the next job exits in the middle of it, as on a WASM abort. */
  crashNextJob(): void {
    this.crashNext = true
  }

  /** The next job fails inside the worker as a trap in SEAL would (WebAssembly.RuntimeError). */
  trapNextJob(): void {
    this.trapNext = true
  }

  /** The worker that takes the next classification blocks for `ms`, deaf to its cancel flag (a stuck thread). */
  stickNextJob(ms: number): void {
    this.stuckNextMs = ms
  }

  /**
   * Every classification submitted from now on waits `ms` after each stage in its worker (a
   * cancel wakes it at once), so tests can watch and cancel it mid-image without a slow model.
   * 0 turns it off.
   */
  slowStages(ms: number): void {
    this.stageDelayMs = ms
  }

  forJob(job: { op: 'validate' | 'classify' }): WorkerFault | undefined {
    const fault: WorkerFault = {}
    if (this.crashNext) fault.crash = true
    if (this.trapNext) fault.trap = true
    this.crashNext = this.trapNext = false
    if (job.op === 'classify') {
      if (this.stageDelayMs > 0) fault.stageDelayMs = this.stageDelayMs
      if (this.stuckNextMs > 0) fault.stuckMs = this.stuckNextMs
      this.stuckNextMs = 0
    }
    return Object.keys(fault).length > 0 ? fault : undefined
  }
}
