import { exportRows, toCsv, toJson } from '../export-results'
import type { Item } from '../state'

/** Saves a file made in this tab (a blob URL, revoked once the download has started). */
function save(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 0)
}

/** "Download results": every settled card as CSV or JSON, made in this tab; nothing is sent. */
export function DownloadResults({ items, classesOf }: { items: Item[]; classesOf(model: string): string[] }) {
  const rows = () => exportRows(items, classesOf)
  return (
    <div className="actions download" role="group" aria-label="Download results">
      <button type="button" className="secondary small" data-testid="download-csv" onClick={() => save('blindfold-results.csv', 'text/csv', toCsv(rows()))}>
        Download results (CSV)
      </button>
      <button type="button" className="secondary small" data-testid="download-json" onClick={() => save('blindfold-results.json', 'application/json', toJson(rows()))}>
        Download results (JSON)
      </button>
    </div>
  )
}
