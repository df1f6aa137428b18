/**
 * The evaluator's steps on ciphertexts other than a linear stage's products:
 * the square activation, the bilinear read-out's product, a staggered pool's
 * gather before the stage it opens, and the rotate-and-add fold that sums a
 * dense stage's (or a product's) copies.
 */
import type { Seal } from './context'
import type { ProductStagePlan } from './evaluation-plan'
import type { EvaluationJob, LoadedKeys } from './evaluation-job'
import type { GatherPlan } from './gather'

type Ciphertext = InstanceType<Seal['Ciphertext']>
type Evaluator = InstanceType<Seal['Evaluator']>

/** The SEAL instance and evaluator object the steps run with (the model evaluator's own). */
export interface StepTools {
  seal: Seal
  evaluator: Evaluator
}

export function square(tools: StepTools, input: Ciphertext, keys: LoadedKeys): Ciphertext {
  const out = new tools.seal.Ciphertext()
  try {
    tools.evaluator.square(input, out)
    tools.evaluator.relinearizeInplace(out, keys.relin)
    tools.evaluator.rescaleToNextInplace(out)
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
export function product(tools: StepTools, input: Ciphertext, stage: ProductStagePlan, keys: LoadedKeys): Ciphertext {
  const { seal, evaluator: ev } = tools
  const out = new seal.Ciphertext()
  const rotated = new seal.Ciphertext()
  try {
    const [first, ...rest] = stage.align
    ev.rotateVector(input, first, keys.galois, rotated)
    for (const step of rest) ev.rotateVectorInplace(rotated, step, keys.galois)
    ev.multiply(input, rotated, out)
    ev.relinearizeInplace(out, keys.relin)
    ev.rescaleToNextInplace(out)
    fold(ev, out, stage.fold.levels, keys, rotated)
    return out
  } catch (e) {
    out.delete()
    throw e
  } finally {
    rotated.delete()
  }
}

/** A staggered pool's window sums (gather.ts): each gathered ciphertext sums its members, rotated. */
export function gather(tools: StepTools, job: EvaluationJob, plan: GatherPlan, keys: LoadedKeys): Ciphertext[] {
  const { seal, evaluator: ev } = tools
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
export function fold(ev: Evaluator, acc: Ciphertext, levels: ReadonlyArray<{ step: number; count: number }>, keys: LoadedKeys, scratch: Ciphertext): void {
  for (const level of levels) {
    scratch.assign(acc)
    for (let i = 0; i < level.count; i++) {
      ev.rotateVectorInplace(scratch, level.step, keys.galois)
      ev.addInplace(acc, scratch)
    }
  }
}
