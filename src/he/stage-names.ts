/**
 * Human names of a plan's stages, for progress reports ("conv2", "poly1",
 * "pool1+dense1"): each layer is named by its kind and its rank among layers
 * of that kind, from the public geometry alone (tensor names are private).
 * A linear stage is named by the layers it composes. Isomorphic.
 */
import type { LayerGeometry } from '../model/manifest'
import type { EvaluationPlan } from './evaluation-plan'

const KIND_NAMES: Record<LayerGeometry['type'], string> = {
  conv2d: 'conv',
  dense: 'dense',
  avgpool2d: 'pool',
  square: 'square',
  poly: 'poly',
  bilinear: 'bilinear',
}

/** One name per manifest layer: its kind and its rank among layers of that kind (conv1, conv2, ...). */
export function layerNames(layers: readonly { type: LayerGeometry['type'] }[]): string[] {
  const seen = new Map<string, number>()
  return layers.map((l) => {
    const kind = KIND_NAMES[l.type] ?? l.type
    const rank = (seen.get(kind) ?? 0) + 1
    seen.set(kind, rank)
    return `${kind}${rank}`
  })
}

/** One name per plan stage, in order. */
export function stageNames(layers: readonly { type: LayerGeometry['type'] }[], plan: Pick<EvaluationPlan, 'stages'>): string[] {
  const names = layerNames(layers)
  return plan.stages.map((s) => (s.kind !== 'linear' ? names[s.layer] : s.layers.map((l) => names[l]).join('+')))
}
