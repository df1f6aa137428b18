/**
 * Holds the place of the example gallery while its list is on its way: the same panel, title,
 * tile grid and hint line, empty, so the image actions below do not jump when the examples come.
 */
export function ExamplesPlaceholder({ tiles = 12 }: { tiles?: number }) {
  return (
    <section className="panel examples-panel examples-pending" aria-hidden="true">
      <p className="panel-title">Try an example</p>
      <ul className="examples">
        {Array.from({ length: tiles }, (_, i) => (
          <li key={i}>
            <span className="example" />
          </li>
        ))}
      </ul>
      <p className="hint">&nbsp;</p>
    </section>
  )
}
