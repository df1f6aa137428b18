/** The ten class probabilities as a horizontal bar chart (a list, for screen readers). */
export function ProbabilityBars({ probabilities, classes, prediction }: { probabilities: number[]; classes: string[]; prediction: number }) {
  return (
    <ol className="bars" aria-label="Probability of each class">
      {probabilities.map((p, i) => (
        <li key={i} className={i === prediction ? 'bar top' : 'bar'}>
          <span className="bar-label">{classes[i] ?? i}</span>
          <span className="bar-track" aria-hidden="true">
            {/* width via CSSOM (React's style prop), which the page's CSP allows */}
            <span className="bar-fill" style={{ width: `${Math.max(0.5, p * 100)}%` }} />
          </span>
          <span className="bar-value">{(p * 100).toFixed(1)}%</span>
        </li>
      ))}
    </ol>
  )
}
