import type { SampleImage, SampleList } from '../../api/samples'

/** "Try an example": the model's sample images as buttons; one click classifies one like a dropped file. */
export function ExampleGallery({ samples, classes, onPick }: { samples?: SampleList; classes: string[]; onPick(sample: SampleImage): void }) {
  if (!samples || samples.samples.length === 0) return null
  return (
    <section className="panel examples-panel" aria-labelledby="examples-title">
      <h2 id="examples-title" className="panel-title">Try an example</h2>
      <ul className="examples" data-testid="examples">
        {samples.samples.map((s) => (
          <li key={s.file}>
            <button type="button" className="example" data-testid="example" data-label={s.label} onClick={() => onPick(s)} aria-label={`Classify an example: ${classes[s.label] ?? s.label}`}>
              <img src={s.url} alt="" width={48} height={48} />
            </button>
          </li>
        ))}
      </ul>
      <p className="hint">
        {samples.dataset} test images ({samples.license.replace(/\s*\(https?:[^)]*\)/g, '')}).
      </p>
    </section>
  )
}
