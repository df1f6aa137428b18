/**
 * The public model description: what any client may see (GET /api/v1/models).
 * It joins the manifest's geometry (src/model) with what the HE engine derives
 * from it, the rotation steps and the client description (client-spec.ts), so
 * it is assembled here, in the layer that knows both; src/model stays free of
 * the engine. Nothing in it comes from a weight.
 */
import { layerGeometry, type HeParams, type InputSpec, type LayerGeometry, type ModelManifest } from '../model/manifest'
import { clientSpec, type ClientSpec } from './client-spec'
import type { EvaluationPlan } from './evaluation-plan'

/**
 * Geometry, classes, HE parameters, rotation steps, and `client`, the
 * machine-readable description a client is built from (normalisation, input
 * slot layout, scale, key sections, logit slots; see client-spec.ts).
 */
export interface PublicModel {
  name: string
  version: string
  description: string
  classes: string[]
  input: InputSpec
  layers: LayerGeometry[]
  he: HeParams
  plan: { rotationSteps: number[] }
  client: ClientSpec
  contentHash: string
}

/**
 * `plan`: the model's plan where the caller has derived it already (the server, at start), so that
 * it is not derived a second time for the client description.
 */
export function publicModel(m: ModelManifest, plan?: EvaluationPlan): PublicModel {
  const geometry = {
    input: { ...m.input, mean: [...m.input.mean], std: [...m.input.std], ...(m.input.frame ? { frame: { ...m.input.frame } } : {}) },
    layers: m.layers.map(layerGeometry),
    he: { ...m.he, coeffModulusBits: [...m.he.coeffModulusBits] },
  }
  return {
    name: m.name,
    version: m.version,
    description: m.description,
    classes: [...m.classes],
    ...geometry,
    plan: { rotationSteps: [...m.plan.rotationSteps] },
    client: plan ? clientSpec(geometry, plan) : cachedClientSpec(geometry),
    contentHash: m.contentHash,
  }
}

/**
 * Deriving a plan takes long for a large model, and tools and tests make
 * descriptions of the same model again and again. Keyed by the
 * public geometry itself (never by object identity, so a manifest changed in
 * place gets a fresh description); each call gets a copy.
 */
const clientSpecs = new Map<string, string>()
function cachedClientSpec(geometry: Pick<PublicModel, 'input' | 'layers' | 'he'>): ClientSpec {
  const key = JSON.stringify(geometry)
  let json = clientSpecs.get(key)
  if (json === undefined) {
    json = JSON.stringify(clientSpec(geometry))
    if (clientSpecs.size >= 64) clientSpecs.delete(clientSpecs.keys().next().value as string)
    clientSpecs.set(key, json)
  }
  return JSON.parse(json) as ClientSpec
}
