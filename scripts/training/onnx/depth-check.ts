/**
 * A network too deep for the largest ring the project uses (N = 16384 at 128-bit security) is
 * refused naming the node whose layer first goes past it, before anything is sealed. Levels are
 * counted as src/he/params.ts counts them: one per linear run (convs, pools, dense layers with no
 * activation between) and one per activation or bilinear read-out (one ciphertext product).
 */
import { heParamsForDepth } from '../../../src/he/params'
import { OnnxImportError } from './import-error'
import type { PendingLayer } from './layers'

/** The largest depth the parameter table gives parameters for. */
function maxDepth(): number {
  let d = 1
  for (;;) {
    try {
      heParamsForDepth(d + 1)
    } catch {
      return d
    }
    d++
  }
}

export function checkDepth(layers: PendingLayer[], opTypeOf: (node: string) => string): void {
  const limit = maxDepth()
  let depth = 0
  let inRun = false
  for (const l of layers) {
    if (l.type === 'square' || l.type === 'poly' || l.type === 'bilinear') {
      depth++
      inRun = false
    } else if (!inRun) {
      depth++
      inRun = true
    }
    if (depth > limit) {
      const opType = opTypeOf(l.node)
      throw new OnnxImportError(
        `node '${l.node}' (${opType}, a ${l.type} layer) makes the network too deep for N = 16384: it needs level ${depth}, the largest parameters at 128-bit security hold ${limit}; use fewer activations (each square or polynomial costs a level, as does each run of linear layers)`,
        { name: l.node, opType },
      )
    }
  }
}
