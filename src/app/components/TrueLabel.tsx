/** A sample's true class beside the prediction, and whether they agree once there is one. */
export function TrueLabel({ truth, classes, prediction }: { truth: number; classes: string[]; prediction?: number }) {
  const verdict = prediction === undefined ? '' : prediction === truth ? 'correct' : 'wrong'
  return (
    <p className={`truth ${verdict}`} data-testid="truth" data-label={truth}>
      <span className="prediction-label">True label</span> <strong>{classes[truth] ?? truth}</strong>
      {verdict && <span className="verdict"> {verdict === 'correct' ? '✓ correct' : '✗ not this one'}</span>}
    </p>
  )
}
