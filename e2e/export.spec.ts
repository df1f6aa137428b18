/**
 * "Download results": the settled cards saved as CSV and JSON, made in the tab (no request leaves
 * while they are made), with each card's file name, model, prediction, true label,
 * probabilities and timings.
 */
import { readFileSync } from 'node:fs'
import { expect, test, type Page } from '@playwright/test'
import { openReady, settledResults } from './support/page'

async function download(page: Page, testId: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()])
  return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') }
}

test('every card is saved as CSV and JSON, made in the tab', async ({ page }) => {
  await openReady(page)
  const examples = page.getByTestId('example')
  const labels = [await examples.nth(0).getAttribute('data-label'), await examples.nth(5).getAttribute('data-label')]
  await examples.nth(0).click()
  await examples.nth(5).click()
  const results = await settledResults(page, 2)

  const sent: string[] = []
  page.on('request', (r) => sent.push(r.url()))
  const json = await download(page, 'download-json')
  const csv = await download(page, 'download-csv')
  expect(sent.filter((u) => !u.startsWith('blob:'))).toEqual([])

  expect(json.name).toBe('blindfold-results.json')
  const rows = (JSON.parse(json.text) as { results: Array<Record<string, unknown>> }).results
  // oldest first: the order the examples were clicked (settledResults reads them in that order too)
  const cards = results
  expect(rows).toHaveLength(2)
  rows.forEach((row, k) => {
    expect(row.file).toBe(cards[k].name)
    expect(row.model).toBe('mnist-cnn')
    expect(row.prediction).toBe(Number(cards[k].prediction))
    expect(row.trueLabel).toBe(Number(labels[k]))
    expect(row.probabilities).toEqual(cards[k].probabilities)
    expect(Object.keys(row.timingsMs as object)).toEqual(['encrypt', 'upload', 'server', 'download', 'decrypt'])
  })

  expect(csv.name).toBe('blindfold-results.csv')
  const lines = csv.text.trimEnd().split('\r\n')
  expect(lines).toHaveLength(3)
  const head = lines[0].split(',')
  expect(head.slice(0, 7)).toEqual(['file', 'model', 'status', 'prediction', 'predicted_class', 'true_label', 'true_class'])
  expect(head).toContain('p9')
  expect(head).toContain('server_ms')
  lines.slice(1).forEach((line, k) => {
    const cells = Object.fromEntries(line.split(',').map((v, i) => [head[i], v]))
    expect(cells.file).toBe(cards[k].name)
    expect(Number(cells.prediction)).toBe(Number(cards[k].prediction))
    expect(cells.true_label).toBe(labels[k])
    expect(Number(cells.p0)).toBe(cards[k].probabilities![0])
  })
})
