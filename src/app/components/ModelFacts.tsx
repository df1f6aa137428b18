import type { ListedModel } from '../../api/he-worker-types'
import { architecture, modelTitle, speedText, trafficText } from '../model-words'

/** The selected model in plain words: what it recognises, how fast it is here, what the browser sends; the engineering behind a disclosure. */
export function ModelFacts({ model }: { model: ListedModel }) {
  const { he, input } = model
  return (
    <section className="panel" aria-labelledby="facts-title" data-testid="model-facts">
      <h2 id="facts-title" className="panel-title">{modelTitle(model)}</h2>
      <dl className="facts plain">
        <div><dt>Recognises</dt><dd>{model.classes.join(', ')}</dd></div>
        <div><dt>Speed</dt><dd>{speedText(model)}</dd></div>
        <div><dt>Traffic</dt><dd>{trafficText(model)}</dd></div>
      </dl>
      <details className="model-details">
        <summary>Architecture and encryption parameters</summary>
        <dl className="facts">
          <div><dt>Network</dt><dd>{architecture(model)}</dd></div>
          <div><dt>Input</dt><dd>{input.width}×{input.height} {input.channels === 3 ? 'colour' : 'gray'}</dd></div>
          <div><dt>Scheme</dt><dd>CKKS, N = {he.polyModulusDegree}, {he.securityLevel}</dd></div>
          <div><dt>Moduli</dt><dd>{he.coeffModulusBits.join(' + ')} bits, scale 2^{he.scaleBits}</dd></div>
          <div><dt>Version</dt><dd>{model.name} {model.version}</dd></div>
        </dl>
      </details>
    </section>
  )
}
