import type { CSSProperties } from 'react'

/** Every class's probability as a horizontal bar chart, most likely first (a list, for screen readers). */
export function ProbabilityBars({ probabilities, classes, prediction }: { probabilities: number[]; classes: string[]; prediction: number }) {
  const order = probabilities.map((p, i) => ({ p, i })).sort((a, b) => b.p - a.p)
  const labelWidth = Math.max(1.4, ...classes.map((c) => c.length * 0.62))
  // width via CSSOM (React's style prop), which the page's CSP allows
  const style = { '--label-width': `${labelWidth}em` } as CSSProperties
  return (
    <ol className="bars" aria-label="Probability of each class, most likely first" style={style}>
      {order.map(({ p, i }) => (
        <li key={i} className={i === prediction ? 'bar top' : 'bar'} data-class={i}>
          <span className="bar-label">{classes[i] ?? i}</span>
          <span className="bar-track" aria-hidden="true">
            <span className="bar-fill" style={{ width: `${Math.max(0.5, p * 100)}%` }} />
          </span>
          <span className="bar-value">{(p * 100).toFixed(1)}%</span>
        </li>
      ))}
    </ol>
  )
}
