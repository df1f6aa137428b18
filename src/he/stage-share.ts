/**
 * How one image's linear stage is shared among several workers, so that one
 * CIFAR-10 image uses every core. Each part computes a partial result per
 * output ciphertext; the parts' partials are added (homomorphic addition is
 * exact), then the fold, bias and next square run once on the sum.
 *
 * - A stage with at least as many output ciphertexts as parts splits by output:
 *   each part computes whole outputs.
 * - Otherwise it splits by giant steps: part q runs Horner over its own range
 *   [from, to) of giant steps, then rotates its sum by from * n1 * unit with the
 *   session's existing keys.
 * Either way every part reads nearly every baby step (rotated copy of an
 * input): the parts divide those rotations and swap the copies where the chain
 * allows (baby-exchange.ts); products and giant rotations are never repeated.
 * Isomorphic: no DOM, no Node.
 */
export interface StageShare {
  /** output ciphertexts this part computes partials for */
  outputs: number[]
  /** giant steps [from, to) of each of those outputs */
  from: number
  to: number
}

export function stageShare(stage: { giant: number; output: { ciphertexts: number } }, part: number, parts: number): StageShare {
  if (!(parts >= 1 && part >= 0 && part < parts)) throw new Error(`stageShare: part ${part} of ${parts}`)
  const outputs = stage.output.ciphertexts
  if (outputs >= parts || parts === 1) {
    return { outputs: Array.from({ length: outputs }, (_, b) => b).filter((b) => b % parts === part), from: 0, to: stage.giant }
  }
  const from = Math.floor((part * stage.giant) / parts)
  const to = Math.floor(((part + 1) * stage.giant) / parts)
  return { outputs: from < to ? Array.from({ length: outputs }, (_, b) => b) : [], from, to }
}

/**
 * A left rotation by `count` giant steps as rotations by the session's keys:
 * largest steps first where they add up exactly, else `count` giant steps
 * (the giant step is always one of the keys); the shorter path wins.
 */
export function rotationPath(count: number, giantStep: number, steps: readonly number[], slots: number): number[] {
  const plain = Array<number>(count).fill(giantStep)
  let left = (count * giantStep) % slots
  const greedy: number[] = []
  for (const s of [...steps].filter((s) => s > 0).sort((a, b) => b - a)) {
    while (left >= s) {
      greedy.push(s)
      left -= s
    }
  }
  return left === 0 && greedy.length < plain.length ? greedy : plain
}
