import { describe, expect, it } from 'vitest'
import {
  CIFAR10_CLASSES,
  FASHION_MNIST_CLASSES,
  imageAt,
  loadCifar10,
  loadFashionMnist,
  loadMnist,
  parseIdx,
  type Split,
} from './index'

function checkSplit(s: Split, count: number, h: number, w: number, c: number, classes: number): void {
  expect(s.count).toBe(count)
  expect([s.height, s.width, s.channels]).toEqual([h, w, c])
  expect(s.images.length).toBe(count * h * w * c)
  expect(s.labels.length).toBe(count)
  const hist = new Array<number>(classes).fill(0)
  for (const l of s.labels) {
    expect(l).toBeLessThan(classes)
    hist[l]++
  }
  // every class occurs, none dominates (all three datasets are balanced)
  for (const n of hist) {
    expect(n).toBeGreaterThan(count / classes / 2)
    expect(n).toBeLessThan((count / classes) * 1.5)
  }
  // not all black: the pixel bytes are really there
  const first = imageAt(s, 0)
  expect(first.length).toBe(h * w * c)
  expect(first.some((v) => v > 0)).toBe(true)
}

describe('datasets', () => {
  it('MNIST: 60,000 / 10,000 28x28x1, test starts 7, 2, 1', () => {
    const d = loadMnist()
    checkSplit(d.train, 60000, 28, 28, 1, 10)
    checkSplit(d.test, 10000, 28, 28, 1, 10)
    expect(Array.from(d.test.labels.subarray(0, 3))).toEqual([7, 2, 1])
    expect(d.classes).toHaveLength(10)
  })

  it('Fashion-MNIST: 60,000 / 10,000 28x28x1, test starts 9, 2, 1, 1, 6', () => {
    const d = loadFashionMnist()
    checkSplit(d.train, 60000, 28, 28, 1, 10)
    checkSplit(d.test, 10000, 28, 28, 1, 10)
    expect(Array.from(d.test.labels.subarray(0, 5))).toEqual([9, 2, 1, 1, 6])
    expect(d.classes).toEqual(FASHION_MNIST_CLASSES)
    // garments are bright on a black background: the corners are background
    const img = imageAt(d.test, 0)
    expect([img[0], img[27], img[27 * 28], img[28 * 28 - 1]]).toEqual([0, 0, 0, 0])
  })

  it('CIFAR-10 test: 10,000 32x32x3, starts 3, 8, 8, 0, 6', () => {
    const d = loadCifar10({ splits: ['test'] })
    expect('train' in d).toBe(false)
    checkSplit(d.test, 10000, 32, 32, 3, 10)
    expect(Array.from(d.test.labels.subarray(0, 5))).toEqual([3, 8, 8, 0, 6])
    expect(d.classes).toEqual(CIFAR10_CLASSES)
    // RGB, not grey: some pixel has differing channels
    const img = imageAt(d.test, 0)
    let coloured = false
    for (let p = 0; p < 1024 && !coloured; p++) coloured = img[3 * p] !== img[3 * p + 2]
    expect(coloured).toBe(true)
  })

  it('CIFAR-10 train: 50,000 32x32x3', () => {
    const d = loadCifar10({ splits: ['train'] })
    checkSplit(d.train, 50000, 32, 32, 3, 10)
    // first training labels of the official data_batch_1: 6 (frog), 9 (truck), 9, 4, 1
    expect(Array.from(d.train.labels.subarray(0, 5))).toEqual([6, 9, 9, 4, 1])
  }, 120_000)

  it('a missing cache names the fetch command', () => {
    const saved = process.env.BLINDFOLD_DATASETS
    process.env.BLINDFOLD_DATASETS = '/nonexistent-dataset-cache'
    try {
      expect(() => loadFashionMnist({ splits: ['test'] })).toThrow(/npm run datasets:fetch/)
      expect(() => loadCifar10({ splits: ['test'] })).toThrow(/npm run datasets:fetch/)
    } finally {
      if (saved === undefined) delete process.env.BLINDFOLD_DATASETS
      else process.env.BLINDFOLD_DATASETS = saved
    }
  })

  it('parseIdx rejects a truncated file', () => {
    const buf = Buffer.alloc(4 + 4 + 3)
    buf.writeUInt32BE(0x801, 0)
    buf.writeUInt32BE(5, 4)
    expect(() => parseIdx(buf)).toThrow(/data bytes/)
  })
})
