import { describe, expect, it } from 'vitest'
import { exportRows, toCsv, toJson } from './export-results'
import type { Item } from './state'

const done = (id: number, name: string, truth?: number): Item => ({
  id,
  requestId: `r${id}`,
  name,
  model: 'mnist-cnn',
  status: 'done',
  truth,
  result: { prediction: 1, probabilities: [0.25, 0.75], timings: { encryptMs: 1, uploadMs: 2, serverMs: 3, downloadMs: 4, decryptMs: 5 }, serverWorkers: 1, bytesSent: 10, bytesReceived: 20 },
})
const classes = () => ['zero', 'one']

describe('exporting the result cards', () => {
  // the page lists the newest card first
  const items: Item[] = [done(3, 'b, "quoted".png', 0), { id: 2, requestId: 'r2', name: 'busy.png', model: 'mnist-cnn', status: 'computing' }, { id: 1, requestId: 'r1', name: 'bad.png', model: 'mnist-cnn', status: 'error', error: 'not an image' }]

  it('keeps settled cards, oldest first, with prediction, true label, probabilities and timings', () => {
    const rows = exportRows(items, classes)
    expect(rows.map((r) => r.file)).toEqual(['bad.png', 'b, "quoted".png'])
    expect(rows[1]).toMatchObject({ prediction: 1, predictedClass: 'one', trueLabel: 0, trueClass: 'zero', probabilities: [0.25, 0.75], timingsMs: { encrypt: 1, upload: 2, server: 3, download: 4, decrypt: 5 }, bytesSent: 10 })
    expect(rows[0]).toMatchObject({ status: 'error', prediction: null, error: 'not an image', probabilities: [] })
  })

  it('writes CSV with a column per class and quotes what needs quoting', () => {
    const lines = toCsv(exportRows(items, classes)).trimEnd().split('\r\n')
    expect(lines[0]).toBe('file,model,status,prediction,predicted_class,true_label,true_class,p0,p1,encrypt_ms,upload_ms,server_ms,download_ms,decrypt_ms,bytes_sent,bytes_received,error')
    expect(lines[2]).toBe('"b, ""quoted"".png",mnist-cnn,done,1,one,0,zero,0.25,0.75,1,2,3,4,5,10,20,')
    expect(lines[1]).toBe('bad.png,mnist-cnn,error,,,,,,,,,,,,,,not an image')
  })

  it('writes the same rows as JSON', () => {
    expect(JSON.parse(toJson(exportRows(items, classes)))).toEqual({ results: exportRows(items, classes) })
  })
})
