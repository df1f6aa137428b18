/**
 * Server role: runs a model on ciphertexts with plaintext weights, from
 * evaluation keys and ciphertext bytes alone. It never holds a secret key.
 * Isomorphic (no DOM, no Node APIs) so that it runs in a worker thread.
 *
 * Weights are encoded once per evaluator as plaintext "diagonals" at the level
 * where they are used; every per-request SEAL handle is freed in a finally.
 */
import type { ModelManifest, Weights } from '../model/manifest'
import { gaussianNoise } from '../model/logit-noise'
import { babyReads, babyWork, type BabyRef, type BabyWork } from './baby-exchange'
import { fold, gather, product, square, type StepTools } from './ciphertext-steps'
import { createHeContext, loadSeal, sameParms, type HeContext, type Seal } from './context'
import { BlindfoldError, guard } from './errors'
import { EvaluationJob, type EvaluationControl, type LoadedKeys, type Share } from './evaluation-job'
import type { EvaluationPlan, LinearStagePlan } from './evaluation-plan'
import { ciphertextSizes, keySizes, type KeySizes } from './object-sizes'
import { packCiphertext } from './packed-ciphertext'
import { derivePlan } from './plan'
import { galoisElement } from './rotation-search'
import { uncompressedSealObject } from './seal-header'
import { isPackedKeySet, keySetLayouts, sealKeySetFromPacked, type KeySetLayout } from './packed-keys'
import { isPackedRequest, PackedRequestReader, requestShape } from './packed-request'
import { rotationPath, stageShare } from './stage-share'
import { stageNames } from './stage-names'
import { checkEncodedWeights, encodedWeightSize } from './weight-memory'
import { encodeWeights, freeLinearWeights, type LinearWeights } from './weight-encoding'
import { ContainerKind, pack, unpack } from './wire'

type Ciphertext = InstanceType<Seal['Ciphertext']>
/** Rotated copies of a stage's inputs, [input][chain node]; node 0 is the input itself (computeBabies). */
export type BabyNodes = Array<Array<Ciphertext | undefined>>
type Evaluator = InstanceType<Seal['Evaluator']>

export class ModelEvaluator {
  readonly plan: EvaluationPlan
  readonly manifest: ModelManifest
  /** name of each plan stage, for progress reports (stage-names.ts) */
  readonly stageNames: readonly string[]
  /** upper bound of this model's encoded weights in SEAL's heap (weight-memory.ts) */
  readonly encodedWeightBytes: number
  private readonly he: HeContext
  private readonly evaluator: Evaluator
  private readonly tools: StepTools
  private readonly encoder: InstanceType<Seal['CKKSEncoder']>
  private readonly linear = new Map<number, LinearWeights>()
  /** babyWorkOf's answers by stage and number of parts */
  private readonly babyWorks = new Map<string, BabyWork>()
  private readonly inputScale: number
  /** uncompressed sizes SEAL may be handed: nothing larger is ever inflated */
  private readonly sizes: KeySizes & { input: number[] }
  /** what SEAL's seeded key sets and input ciphertexts for this plan look like: packed sections are rebuilt from them */
  private readonly keyLayouts: { relin: KeySetLayout; galois: KeySetLayout }
  private readonly inputReader: PackedRequestReader
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
    this.tools = { seal: he.seal, evaluator: this.evaluator }
    this.encoder = new he.seal.CKKSEncoder(he.context)
    this.inputScale = 2 ** manifest.he.scaleBits
    try {
      const input = ciphertextSizes(manifest.he.polyModulusDegree, he.levels[0].primes)
      this.sizes = { ...keySizes(manifest.he.polyModulusDegree, he.levels[0].primes, this.plan.rotationSteps), input: [input.seeded, input.full] }
      this.keyLayouts = keySetLayouts(he.keyLevel, this.plan.rotationSteps)
      this.inputReader = new PackedRequestReader(requestShape(he))
      encodeWeights({ he, encoder: this.encoder, evaluator: this.evaluator, plan: this.plan, manifest, inputScale: this.inputScale }, weights, this.linear)
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

  /** Loads and checks a session's evaluation keys (container of relin + Galois keys). */
  loadKeys(bytes: Uint8Array): LoadedKeys {
    const [relinBytes, galoisBytes] = unpack(bytes, ContainerKind.evaluationKeys, 2)
    const { seal, context } = this.he
    const relin = new seal.RelinKeys()
    const galois = new seal.GaloisKeys()
    try {
      // a packed set is rebuilt from its seeds and coefficients; a SEAL object is inflated within its exact size
      const sealObject = (section: Uint8Array, layout: KeySetLayout, sizes: number[], what: string) =>
        isPackedKeySet(section) ? sealKeySetFromPacked(section, layout) : uncompressedSealObject(section, sizes, what)
      const relinPlain = sealObject(relinBytes, this.keyLayouts.relin, this.sizes.relin, 'relinearisation keys')
      const galoisPlain = sealObject(galoisBytes, this.keyLayouts.galois, this.sizes.galois, `Galois keys for rotation steps ${this.plan.rotationSteps.join(', ')}`)
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
   * The baby-step work of the current linear stage's `parts` parts (baby-exchange.ts): which
   * chain nodes each part rotates, and which copies the parts swap. The same in every part.
   */
  babyWorkOf(job: EvaluationJob, parts: number): BabyWork {
    const index = job.stage
    const key = `${index}/${parts}`
    const known = this.babyWorks.get(key)
    if (known) return known
    const stage = this.linearStage(index)
    const work = babyWork(stage.babies, babyReads(stage, this.linear.get(index)!.products, parts))
    this.babyWorks.set(key, work)
    return work
  }

  /**
   * The rotated copies of the current stage's inputs that part `part` of `parts` makes: every
   * node its share reads, or, when the parts swap copies, its own branches (babyWorkOf).
   * Index [input][node]; node 0 is the input itself.
   */
  computeBabies(job: EvaluationJob, keys: LoadedKeys, part: number, parts: number): BabyNodes {
    const stage = this.linearStage(job.stage)
    const started = performance.now()
    const { compute } = this.babyWorkOf(job, parts).parts[part]
    const { j: js, from } = stage.babies
    const nodes = job.current.map((ct, a) => {
      const made: Array<Ciphertext | undefined> = [ct]
      for (const n of compute[a] ?? []) {
        job.checkCancelled()
        const next = job.track(new this.he.seal.Ciphertext())
        this.evaluator.rotateVector(made[from[n]]!, (js[n] - js[from[n]]) * stage.unit, keys.galois, next)
        made[n] = next
      }
      return made
    })
    job.shareMs += performance.now() - started
    return nodes
  }

  /** The copies `refs` of `nodes`, as bytes for another worker of this server. */
  saveBabies(nodes: BabyNodes, refs: readonly BabyRef[]): Uint8Array[] {
    return this.saveCiphertexts(refs.map((r) => nodes[r.input][r.node]!))
  }

  /** Puts copies another worker saved (saveBabies) into `nodes` at `refs`, owned by `job`. */
  loadBabies(job: EvaluationJob, nodes: BabyNodes, refs: readonly BabyRef[], bytes: Uint8Array[]): void {
    if (bytes.length !== refs.length) throw new BlindfoldError('internal', `split: ${bytes.length} baby steps arrived for ${refs.length}`)
    this.loadCiphertexts(job, bytes).forEach((ct, i) => (nodes[refs[i].input][refs[i].node] = ct))
  }

  /**
   * Part `part` of `parts` of the job's current linear stage (stage-share.ts):
   * for each output ciphertext it computes, the rescaled sum of its products,
   * before fold and bias. Every part's shares together make the stage. `babies`
   * holds every node the share reads (by default this part rotates them all).
   */
  computeShare(job: EvaluationJob, keys: LoadedKeys, part: number, parts: number, babies: BabyNodes = this.computeBabies(job, keys, part, parts)): Share {
    const index = job.stage
    const stage = this.linearStage(index)
    job.checkCancelled()
    const started = performance.now()
    const { seal } = this.he
    const ev = this.evaluator
    const w = this.linear.get(index)!
    const share = stageShare(stage, part, parts)
    const nodeOf = new Map(stage.babies.j.map((j, n) => [j, n]))
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
          const x = babies[p.input][nodeOf.get(p.baby)!]
          if (!x) throw new BlindfoldError('internal', `stage ${index}: baby step ${p.baby} of input ${p.input} is missing`)
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
      if (stage.fold) fold(ev, acc, stage.fold.levels, keys, job.track(new this.he.seal.Ciphertext()))
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
      job.current = outputs.map((c) => job.track(next.kind === 'square' ? square(this.tools, c, keys) : product(this.tools, c, next, keys)))
      if (stageMs) stageMs[job.stage] = performance.now() - t
      job.stage++
      this.finished(job, job.stage - 1)
    }
    const after = this.plan.stages[job.stage]
    if (after?.kind === 'linear' && after.gather) {
      // made here, before a split evaluation sends the stage's input on: its parts then receive fewer ciphertexts
      const t = performance.now()
      job.current = gather(this.tools, job, after.gather, keys)
      job.shareMs += performance.now() - t // counted with the stage it opens
    }
    job.done = job.stage >= this.plan.stages.length
  }

  private linearStage(index: number): LinearStagePlan {
    const stage = this.plan.stages[index]
    if (stage?.kind !== 'linear') throw new BlindfoldError('internal', `stage ${index} is not linear`)
    return stage
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
    for (const w of this.linear.values()) freeLinearWeights(w)
    this.linear.clear()
    this.encoder.delete()
    this.evaluator.delete()
    this.he.dispose()
  }

  private loadInput(bytes: Uint8Array, index: number): Ciphertext {
    const { seal, context, levels } = this.he
    const what = `ciphertext ${index}`
    const plain = isPackedRequest(bytes) ? this.inputReader.read(bytes, what) : uncompressedSealObject(bytes, this.sizes.input, what)
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


}
