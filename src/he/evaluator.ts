/**
 * Server role: runs a model on ciphertexts with plaintext weights, from
 * evaluation keys and ciphertext bytes alone. It never holds a secret key.
 * Isomorphic (no DOM, no Node APIs) so that it runs in a worker thread.
 *
 * Weights are encoded once per evaluator as plaintext "diagonals" at the level
 * where they are used; every per-request SEAL handle is freed in a finally.
 */
import type { ModelManifest, Weights } from '../model/manifest'
import { tensor } from '../model/manifest'
import { createHeContext, loadSeal, sameParms, type HeContext, type Seal } from './context'
import { gaussianNoise } from '../model/logit-noise'
import { BlindfoldError, guard } from './errors'
import { ciphertextSizes, measureKeySizes, type KeySizes } from './object-sizes'
import { derivePlan, offsetIndex, runOp, shapeLookup, type EvaluationPlan, type LinearStagePlan, type ProductStagePlan } from './plan'
import { galoisElement } from './rotation-search'
import { affineOp, compose, gatheredPoolOp, polyAffines, type LinearOp } from './linear-ops'
import type { GatherPlan } from './gather'
import { uncompressedSealObject } from './seal-header'
import { packCiphertext } from './packed-ciphertext'
import { rotationPath, stageShare } from './stage-share'
import { stageNames } from './stage-names'
import { containerBytes, ContainerKind, pack, unpack } from './wire'
import { checkEncodedWeights, encodedWeightSize } from './weight-memory'

type Ciphertext = InstanceType<Seal['Ciphertext']>
type Plaintext = InstanceType<Seal['Plaintext']>
type RelinKeys = InstanceType<Seal['RelinKeys']>
type GaloisKeys = InstanceType<Seal['GaloisKeys']>
type Evaluator = InstanceType<Seal['Evaluator']>

/** A session's evaluation keys, loaded into this evaluator's SEAL instance. */
export interface LoadedKeys {
  readonly relin: RelinKeys
  readonly galois: GaloisKeys
  readonly byteLength: number
  dispose(): void
}

interface LinearWeights {
  /** pre-rotated diagonals per (output ct, giant step), each with the input ct and baby step it multiplies */
  products: Array<Array<Array<{ input: number; baby: number; plain: Plaintext }>>>
  /** bias per output ct, encoded at the scale the stage ends with */
  bias: Plaintext[]
  /** exact scale of the stage's output, mirrored from SEAL's double arithmetic */
  outScale: number
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

export class ModelEvaluator {
  readonly plan: EvaluationPlan
  readonly manifest: ModelManifest
  /** name of each plan stage, for progress reports (stage-names.ts) */
  readonly stageNames: readonly string[]
  /** upper bound of this model's encoded weights in SEAL's heap (weight-memory.ts) */
  readonly encodedWeightBytes: number
  private readonly he: HeContext
  private readonly evaluator: Evaluator
  private readonly encoder: InstanceType<Seal['CKKSEncoder']>
  private readonly linear = new Map<number, LinearWeights>()
  private readonly inputScale: number
  /** uncompressed sizes SEAL may be handed: nothing larger is ever inflated */
  private readonly sizes: KeySizes & { input: number[] }
  private disposed = false

  private constructor(he: HeContext, manifest: ModelManifest, weights: Weights, loadedWeightBytes: number) {
    this.he = he
    this.manifest = manifest
    this.plan = derivePlan(manifest)
    this.stageNames = stageNames(manifest.layers, this.plan)
    const recorded = manifest.plan.rotationSteps.join(',')
    if (recorded !== this.plan.rotationSteps.join(',')) {
      throw new BlindfoldError('model_mismatch', `manifest rotation steps [${recorded}] differ from the derived plan [${this.plan.rotationSteps}]`)
    }
    // refused here with its size, not by SEAL's std::bad_alloc after gigabytes of encoding
    const size = encodedWeightSize(this.plan, manifest.he)
    checkEncodedWeights(manifest.name, size, loadedWeightBytes)
    this.encodedWeightBytes = size.bytes
    this.evaluator = new he.seal.Evaluator(he.context)
    this.encoder = new he.seal.CKKSEncoder(he.context)
    this.inputScale = 2 ** manifest.he.scaleBits
    try {
      const input = ciphertextSizes(manifest.he.polyModulusDegree, he.levels[0].primes)
      this.sizes = { ...measureKeySizes(he, this.plan.rotationSteps), input: [input.seeded, input.full] }
      this.encodeWeights(weights)
    } catch (e) {
      this.dispose()
      throw e
    }
  }

  /**
   * Builds the model's evaluator in `seal`'s heap; `loadedWeightBytes`: the
   * encoded weights of the models already built in that heap (a server worker
   * builds every model it serves in one).
   */
  static async create(manifest: ModelManifest, weights: Weights, seal?: Seal, loadedWeightBytes = 0): Promise<ModelEvaluator> {
    const he = createHeContext(seal ?? (await loadSeal()), manifest.he)
    try {
      return new ModelEvaluator(he, manifest, weights, loadedWeightBytes)
    } catch (e) {
      he.dispose()
      throw e
    }
  }

  /**
   * Bytes of this model's evaluation-key container with seeded keys, uncompressed: what
   * KeyOwner's zstd upload inflates to (an upload is at most this plus zstd framing).
   */
  get seededKeyBytes(): number {
    return containerBytes([this.sizes.relin[0], this.sizes.galois[0]])
  }

  /** Loads and checks a session's evaluation keys (container of relin + Galois keys). */
  loadKeys(bytes: Uint8Array): LoadedKeys {
    const [relinBytes, galoisBytes] = unpack(bytes, ContainerKind.evaluationKeys, 2)
    const { seal, context } = this.he
    const relin = new seal.RelinKeys()
    const galois = new seal.GaloisKeys()
    try {
      const relinPlain = uncompressedSealObject(relinBytes, this.sizes.relin, 'relinearisation keys')
      const galoisPlain = uncompressedSealObject(galoisBytes, this.sizes.galois, `Galois keys for rotation steps ${this.plan.rotationSteps.join(', ')}`)
      guard('seal_rejected', 'relinearisation keys rejected', () => relin.loadFromArray(context, relinPlain))
      if (!relin.hasKey(2)) throw new BlindfoldError('missing_relin_key', 'relinearisation keys lack the key for degree 2')
      guard('seal_rejected', 'Galois keys rejected', () => galois.loadFromArray(context, galoisPlain))
      const N = this.manifest.he.polyModulusDegree
      for (const step of this.plan.rotationSteps) {
        if (!galois.hasKey(galoisElement(step, N))) {
          throw new BlindfoldError('missing_rotation_step', `Galois keys lack rotation step ${step}`)
        }
      }
      if (galois.size() !== this.plan.rotationSteps.length) {
        throw new BlindfoldError(
          'unexpected_rotation_step',
          `Galois keys hold ${galois.size()} steps; the model needs exactly ${this.plan.rotationSteps.length}`,
        )
      }
    } catch (e) {
      relin.delete()
      galois.delete()
      throw e
    }
    return {
      relin,
      galois,
      byteLength: bytes.byteLength,
      dispose() {
        relin.delete()
        galois.delete()
      },
    }
  }

  /**
   * One image: request container in, response container (encrypted logits) out.
   * `logitNoiseStd` > 0 adds fresh Gaussian noise to every logit under
   * encryption (the model owner's extraction mitigation; it costs accuracy).
   * The same steps as a split evaluation (`startJob`, `computeShare`,
   * `combine`, `respond`), with one part. `onStage` hears of each finished
   * stage; `cancelled` can stop it between stages (EvaluationControl).
   */
  classify(keys: LoadedKeys, request: Uint8Array, options: { logitNoiseStd?: number; stageMs?: number[] } & EvaluationControl = {}): Uint8Array {
    const job = this.startJob(request, options)
    try {
      while (!job.done) this.combine(job, keys, [this.computeShare(job, keys, 0, 1)], options.stageMs)
      return this.respond(job, options)
    } finally {
      job.dispose()
    }
  }

  /** Loads and checks a request's ciphertexts: the input of the first stage. */
  startJob(request: Uint8Array, control: EvaluationControl = {}): EvaluationJob {
    if (this.disposed) throw new BlindfoldError('internal', 'evaluator disposed')
    const sections = unpack(request, ContainerKind.request, this.plan.input.ciphertexts)
    // only the two callbacks: the job must not keep the caller's other options alive
    const job = new EvaluationJob({ onStage: control.onStage, cancelled: control.cancelled })
    try {
      job.current = sections.map((s, i) => job.track(this.loadInput(s, i)))
      return job
    } catch (e) {
      job.dispose()
      throw e
    }
  }

  /**
   * Part `part` of `parts` of the job's current linear stage (stage-share.ts):
   * for each output ciphertext it computes, the rescaled sum of its products,
   * before fold and bias. Every part's shares together make the stage.
   */
  computeShare(job: EvaluationJob, keys: LoadedKeys, part: number, parts: number): Share {
    const index = job.stage
    const stage = this.plan.stages[index]
    if (stage?.kind !== 'linear') throw new BlindfoldError('internal', `stage ${index} is not linear`)
    job.checkCancelled()
    const started = performance.now()
    const { seal } = this.he
    const ev = this.evaluator
    const w = this.linear.get(index)!
    const share = stageShare(stage, part, parts)
    const inputs = job.current
    // the baby nodes this share multiplies, and the chain nodes they are made from
    const { j: js, from } = stage.babies
    const nodeOf = new Map(js.map((j, n) => [j, n]))
    const wanted = inputs.map(() => new Set<number>())
    for (const b of share.outputs)
      for (let g = share.from; g < share.to; g++)
        for (const p of w.products[b][g]) for (let n = nodeOf.get(p.baby)!; n > 0 && !wanted[p.input].has(n); n = from[n]) wanted[p.input].add(n)
    const baby = inputs.map((ct, a) => {
      const nodes: Array<Ciphertext | undefined> = [ct]
      for (let n = 1; n < js.length; n++) {
        if (!wanted[a].has(n)) continue
        const next = job.track(new seal.Ciphertext())
        ev.rotateVector(nodes[from[n]]!, (js[n] - js[from[n]]) * stage.unit, keys.galois, next)
        nodes[n] = next
      }
      return nodes
    })
    const out: Share = new Map()
    const tmp = job.track(new seal.Ciphertext())
    const giantStep = stage.n1 * stage.unit
    for (const b of share.outputs) {
      // Horner over this share's giant steps: acc = inner_from + rot(inner_from+1 + rot(...))
      let acc: Ciphertext | undefined
      for (let g = share.to - 1; g >= share.from; g--) {
        // a CIFAR-10 stage takes seconds: a cancel is heard within one giant step (every handle is the job's)
        job.checkCancelled()
        if (acc) ev.rotateVectorInplace(acc, giantStep, keys.galois)
        for (const p of w.products[b][g]) {
          const x = baby[p.input][nodeOf.get(p.baby)!]!
          if (!acc) {
            acc = job.track(new seal.Ciphertext())
            ev.multiplyPlain(x, p.plain, acc)
          } else {
            ev.multiplyPlain(x, p.plain, tmp)
            ev.addInplace(acc, tmp)
          }
        }
      }
      if (!acc) continue // no products in this range
      for (const step of rotationPath(share.from, giantStep, this.plan.rotationSteps, this.plan.slots)) ev.rotateVectorInplace(acc, step, keys.galois)
      ev.rescaleToNextInplace(acc)
      out.set(b, acc)
    }
    job.shareMs += performance.now() - started
    return out
  }

  /**
   * Adds the parts' shares of the current linear stage, folds, adds the bias,
   * then applies the square that follows, if any: the job moves on to the next
   * linear stage's input (or is done, holding the logits).
   */
  combine(job: EvaluationJob, keys: LoadedKeys, shares: Share[], stageMs?: number[]): void {
    const index = job.stage
    const stage = this.plan.stages[index] as LinearStagePlan
    const started = performance.now()
    const ev = this.evaluator
    const w = this.linear.get(index)!
    const outputs: Ciphertext[] = []
    for (let b = 0; b < w.products.length; b++) {
      let acc: Ciphertext | undefined
      for (const share of shares) {
        const part = share.get(b)
        if (!part) continue
        // shares are the job's own (or loaded into it): the first one takes the sum in place
        if (!acc) acc = part
        else ev.addInplace(acc, part)
      }
      if (!acc) throw new BlindfoldError('internal', `stage ${index} output ${b} has no terms`)
      if (stage.fold) this.fold(acc, stage.fold.levels, keys, job.track(new this.he.seal.Ciphertext()))
      if (acc.scale() !== w.outScale) throw new BlindfoldError('internal', `stage ${index}: scale drifted`)
      ev.addPlainInplace(acc, w.bias[b])
      outputs.push(acc)
    }
    if (stageMs) stageMs[index] = job.shareMs + performance.now() - started
    job.shareMs = 0
    job.current = outputs
    job.stage++
    this.finished(job, index)
    const next = this.plan.stages[job.stage]
    if (next && next.kind !== 'linear') {
      job.checkCancelled()
      const t = performance.now()
      job.current = outputs.map((c) => job.track(next.kind === 'square' ? this.square(c, keys) : this.product(c, next, keys)))
      if (stageMs) stageMs[job.stage] = performance.now() - t
      job.stage++
      this.finished(job, job.stage - 1)
    }
    const after = this.plan.stages[job.stage]
    if (after?.kind === 'linear' && after.gather) {
      // made here, before a split evaluation sends the stage's input on: its parts then receive fewer ciphertexts
      const t = performance.now()
      job.current = this.gather(job, after.gather, keys)
      job.shareMs += performance.now() - t // counted with the stage it opens
    }
    job.done = job.stage >= this.plan.stages.length
  }

  /** Tells the job's caller that stage `index` is finished. */
  private finished(job: EvaluationJob, index: number): void {
    job.control.onStage?.(index + 1, this.plan.stages.length, this.stageNames[index])
  }

  /** The response container of a finished job (with the owner's logit noise, if any). */
  respond(job: EvaluationJob, options: { logitNoiseStd?: number } = {}): Uint8Array {
    if (!job.done) throw new BlindfoldError('internal', 'the job has stages left')
    if (options.logitNoiseStd && options.logitNoiseStd > 0) this.addLogitNoise(job.current, options.logitNoiseStd)
    return pack(ContainerKind.response, job.current.map((c) => this.packResponse(c)))
  }

  /** One output ciphertext as a response carries it: at the last level, in coefficient form, packed (see packed-ciphertext.ts). */
  private packResponse(ct: Ciphertext): Uint8Array {
    const { seal, levels, q0 } = this.he
    const out = new seal.Ciphertext()
    try {
      // a plan that ends above the last level loses nothing by dropping primes: the logits fit in q0
      this.evaluator.cipherModSwitchTo(ct, levels[levels.length - 1].parmsId, out)
      this.evaluator.cipherTransformFromNttInplace(out)
      return packCiphertext(out.saveToArray(seal.ComprModeType.none) as Uint8Array, q0)
    } finally {
      out.delete()
    }
  }

  /** A share or a job's current ciphertexts as bytes for another worker of this model (uncompressed: in-process, speed wins). */
  saveCiphertexts(cts: Ciphertext[]): Uint8Array[] {
    const none = this.he.seal.ComprModeType.none
    return cts.map((c) => c.saveToArray(none) as Uint8Array)
  }

  /** Ciphertexts another worker of this server saved with saveCiphertexts, owned by `job`. */
  loadCiphertexts(job: EvaluationJob, sections: Uint8Array[]): Ciphertext[] {
    const { seal, context } = this.he
    return sections.map((bytes) => {
      const ct = job.track(new seal.Ciphertext())
      guard('internal', 'a worker\'s ciphertext did not load', () => ct.loadFromArray(context, bytes))
      return ct
    })
  }

  /** Continues a job from the ciphertexts another worker combined (the input of linear stage `stage`). */
  adopt(job: EvaluationJob, current: Ciphertext[], stage: number): void {
    job.current = current
    job.stage = stage
    job.done = stage >= this.plan.stages.length
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    for (const w of this.linear.values()) {
      for (const perOut of w.products) for (const perGiant of perOut) for (const p of perGiant) p.plain.delete()
      for (const b of w.bias) b.delete()
    }
    this.linear.clear()
    this.encoder.delete()
    this.evaluator.delete()
    this.he.dispose()
  }

  private loadInput(bytes: Uint8Array, index: number): Ciphertext {
    const { seal, context, levels } = this.he
    const plain = uncompressedSealObject(bytes, this.sizes.input, `ciphertext ${index}`)
    const ct = new seal.Ciphertext()
    try {
      guard('seal_rejected', 'ciphertext rejected', () => ct.loadFromArray(context, plain))
      if (ct.isTransparent()) throw new BlindfoldError('transparent_ciphertext', 'transparent ciphertexts are refused')
      // CKKS computes in NTT form; a flag saying otherwise would only fail mid-evaluation
      if (!ct.isNttForm()) throw new BlindfoldError('not_ntt_form', 'ciphertext is not in NTT form, as every CKKS ciphertext must be')
      if (ct.size() !== 2) throw new BlindfoldError('wrong_size', `ciphertext has ${ct.size()} polynomials, expected 2`)
      const id = ct.parmsId()
      const top = levels[0].parmsId
      const same = sameParms(id, top)
      id.delete()
      if (!same) throw new BlindfoldError('wrong_level', 'ciphertext is not at the top level of the model\'s modulus chain')
      if (ct.scale() !== this.inputScale) {
        throw new BlindfoldError('wrong_scale', `ciphertext scale 2^${Math.log2(ct.scale()).toFixed(2)} differs from 2^${this.manifest.he.scaleBits}`)
      }
      return ct
    } catch (e) {
      ct.delete()
      throw e
    }
  }

  /** The same fresh noise value on every slot copy of a logit; zero slots stay zero. */
  private addLogitNoise(outputs: Ciphertext[], std: number): void {
    const { seal, levels } = this.he
    const last = this.plan.stages[this.plan.stages.length - 1]
    const units = this.plan.outputSlots.length
    const noise = gaussianNoise(units, std)
    const values = Array.from(outputs, () => new Float64Array(this.plan.slots))
    const period = last.kind === 'square' ? undefined : last.fold?.period
    for (let o = 0; o < units; o++) {
      if (period) for (let s = this.plan.outputSlots[o]; s < this.plan.slots; s += period) values[0][s] = noise[o]
      else values[this.plan.outputCts[o]][this.plan.outputSlots[o]] = noise[o]
    }
    const level = levels[this.plan.stages.length]
    outputs.forEach((ct, i) => {
      const plain = new seal.Plaintext()
      try {
        this.encoder.encode(values[i], ct.scale(), plain)
        this.evaluator.plainModSwitchToInplace(plain, level.parmsId)
        this.evaluator.addPlainInplace(ct, plain)
      } finally {
        plain.delete()
      }
    })
  }

  private square(input: Ciphertext, keys: LoadedKeys): Ciphertext {
    const out = new this.he.seal.Ciphertext()
    try {
      this.evaluator.square(input, out)
      this.evaluator.relinearizeInplace(out, keys.relin)
      this.evaluator.rescaleToNextInplace(out)
      return out
    } catch (e) {
      out.delete()
      throw e
    }
  }

  /**
   * The bilinear read-out: the input times itself rotated by half its period
   * (each first factor meets its second), then the fold sums each logit's
   * products into every slot of its residue (ProductStagePlan).
   */
  private product(input: Ciphertext, stage: ProductStagePlan, keys: LoadedKeys): Ciphertext {
    const { seal } = this.he
    const ev = this.evaluator
    const out = new seal.Ciphertext()
    const rotated = new seal.Ciphertext()
    try {
      const [first, ...rest] = stage.align
      ev.rotateVector(input, first, keys.galois, rotated)
      for (const step of rest) ev.rotateVectorInplace(rotated, step, keys.galois)
      ev.multiply(input, rotated, out)
      ev.relinearizeInplace(out, keys.relin)
      ev.rescaleToNextInplace(out)
      this.fold(out, stage.fold.levels, keys, rotated)
      return out
    } catch (e) {
      out.delete()
      throw e
    } finally {
      rotated.delete()
    }
  }

  /** A staggered pool's window sums (gather.ts): each gathered ciphertext sums its members, rotated. */
  private gather(job: EvaluationJob, plan: GatherPlan, keys: LoadedKeys): Ciphertext[] {
    const { seal } = this.he
    const ev = this.evaluator
    const tmp = job.track(new seal.Ciphertext())
    return plan.members.map((members, t) => {
      const acc = job.track(new seal.Ciphertext())
      members.forEach((m, i) => {
        const target = i === 0 ? acc : tmp
        target.assign(job.current[m.ct])
        for (const step of plan.paths[t][i]) ev.rotateVectorInplace(target, step, keys.galois)
        if (i > 0) ev.addInplace(acc, tmp)
      })
      return acc
    })
  }

  /** At each level, sums `count + 1` copies of `acc` spaced `step` apart, in place (one key per level); `scratch` is overwritten. */
  private fold(acc: Ciphertext, levels: ReadonlyArray<{ step: number; count: number }>, keys: LoadedKeys, scratch: Ciphertext): void {
    for (const level of levels) {
      scratch.assign(acc)
      for (let i = 0; i < level.count; i++) {
        this.evaluator.rotateVectorInplace(scratch, level.step, keys.galois)
        this.evaluator.addInplace(acc, scratch)
      }
    }
  }

  /** Encodes every layer's diagonals and biases at the level and scale they meet. */
  private encodeWeights(weights: Weights): void {
    const { levels } = this.he
    let level = 0
    let scale = this.inputScale
    for (let i = 0; i < this.plan.stages.length; i++) {
      const stage = this.plan.stages[i]
      if (stage.kind !== 'linear') {
        // a square or a product: two ciphertexts at `scale` multiplied, then one rescale
        scale = (scale * scale) / levels[level].lastPrime
        level++
        continue
      }
      const prime = levels[level].lastPrime
      const outScale = (scale * prime) / prime
      this.linear.set(i, this.encodeStage(i, stage, weights, level, prime, outScale))
      scale = outScale
      level++
    }
  }

  private encodeStage(index: number, stage: LinearStagePlan, weights: Weights, level: number, prime: number, outScale: number): LinearWeights {
    const { slots } = this.plan
    const op = this.stageOp(index, stage, weights)
    const outputs = stage.output.ciphertexts

    // diagonals[(a, b, k)][logical output slot], logical = before the stage's origin shift
    const diagonals = new Map<string, Float64Array>()
    const diag = (a: number, b: number, k: number) => {
      const key = `${a},${b},${k}`
      let d = diagonals.get(key)
      if (!d) diagonals.set(key, (d = new Float64Array(slots)))
      return d
    }
    const shift = stage.origin * stage.unit
    for (let o = 0; o < op.outputs; o++) {
      const b = stage.output.ct[o]
      const sOut = mod(stage.output.slot[o] - shift, slots)
      op.row(o, (i, value) => {
        if (value === 0) return
        const a = stage.input.ct[i]
        const sIn = stage.input.slot[i]
        if (stage.fold) {
          // hybrid: row o accumulates in the copy of its slot just at or before sIn
          const k = mod(sIn - sOut, stage.fold.period)
          diag(a, 0, k)[mod(sIn - k, slots)] += value
        } else {
          diag(a, b, offsetIndex(stage, mod(sIn - sOut, slots), slots))[sOut] += value
        }
      })
    }

    const products: LinearWeights['products'] = Array.from({ length: outputs }, () =>
      Array.from({ length: stage.giant }, () => []),
    )
    const used = new Set<string>()
    for (const term of stage.terms) {
      const key = `${term.input},${term.output},${term.k}`
      const d = diagonals.get(key)
      used.add(key)
      if (!d) continue
      const g = Math.floor(term.k / stage.n1)
      const j = term.k - g * stage.n1
      // pre-rotate right by (origin + g*n1)*unit: the giant-step rotation moves it back
      const rot = (stage.origin + g * stage.n1) * stage.unit
      const values = new Float64Array(slots)
      for (let s = 0; s < slots; s++) values[s] = d[mod(s - rot, slots)]
      products[term.output][g].push({ input: term.input, baby: j, plain: this.encode(values, prime, level) })
    }
    for (const key of diagonals.keys()) {
      if (!used.has(key)) throw new BlindfoldError('internal', `stage ${index}: weights need product ${key}, which the plan lacks`)
    }

    const biasPlains: Plaintext[] = []
    for (let b = 0; b < outputs; b++) {
      const values = new Float64Array(slots)
      for (let o = 0; o < stage.output.ct.length; o++) {
        if (stage.output.ct[o] !== b) continue
        const v = op.bias(o)
        if (stage.fold) {
          for (let s = stage.output.slot[o]; s < slots; s += stage.fold.period) values[s] = v
        } else {
          values[stage.output.slot[o]] = v
        }
      }
      biasPlains.push(this.encode(values, outScale, level + 1))
    }
    return { products, bias: biasPlains, outScale }
  }

  /**
   * The stage's linear map with the model's weights: its layers composed, and
   * the affine halves of a poly activation on either side folded in.
   */
  private stageOp(index: number, stage: LinearStagePlan, weights: Weights): LinearOp {
    const m = this.manifest
    const shapes = shapeLookup(m)
    const poly = (layer: number) => {
      const l = m.layers[layer]
      if (l.type !== 'poly') throw new BlindfoldError('internal', `layer ${layer} is not poly`)
      const channels = shapes.in(layer).channels
      return polyAffines(tensor(weights, l.coefficients, channels * 3), channels)
    }
    if (stage.gather) {
      // the stage reads window sums of squares: the pool's average and the poly's affine half after its square act on them
      const layer = stage.gather.layer
      const pool = m.layers[layer] as Extract<ModelManifest['layers'][number], { type: 'avgpool2d' }>
      const sums = gatheredPoolOp(pool.size, shapes.in(layer), shapes.out(layer), stage.polyBefore === undefined ? undefined : poly(stage.polyBefore).after)
      let op = compose(runOp(m, stage.layers.slice(1), undefined, weights), sums)
      if (stage.polyAfter !== undefined) {
        const { before } = poly(stage.polyAfter)
        op = compose(affineOp(op.outputs, before.scale.length, before.scale, before.shift), op)
      }
      return op
    }
    let op = runOp(m, stage.layers, index === 0 ? this.plan.conv : undefined, weights)
    if (stage.polyBefore !== undefined) {
      const { after } = poly(stage.polyBefore)
      op = compose(op, affineOp(op.inputs, after.scale.length, after.scale, after.shift))
    }
    if (stage.polyAfter !== undefined) {
      const { before } = poly(stage.polyAfter)
      op = compose(affineOp(op.outputs, before.scale.length, before.scale, before.shift), op)
    }
    return op
  }

  private encode(values: Float64Array, scale: number, level: number): Plaintext {
    const plain = new this.he.seal.Plaintext()
    try {
      this.encoder.encode(values, scale, plain)
      this.evaluator.plainModSwitchToInplace(plain, this.he.levels[level].parmsId)
      // switching down keeps the top level's buffer (SEAL never shrinks on
      // resize): without this a deep model's diagonals take ~2x their size
      plain.shrinkToFit()
      return plain
    } catch (e) {
      plain.delete()
      throw e
    }
  }
}

const mod = (a: number, n: number) => ((a % n) + n) % n

