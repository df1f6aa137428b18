import { describe, expect, it } from 'vitest'
import { imageAt, loadMnistSplit, loadSplit } from '../datasets'
import jpeg from 'jpeg-js'
import { encodeDigit } from '../datasets/fixtures/digits'
import { encode, enlarge } from '../datasets/fixtures/photos'
import { luminance } from './ink'
import { findSheet, GARMENT_SHEET_MAX_MARKS } from './sheet'

const W = 200
const H = 160

/** A seeded generator in [0, 1), so every picture is the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32
}

interface Scene {
  /** the surface's luminance at (x, y) */
  desk: (x: number, y: number) => number
  /** the sheet's corners, clockwise; a convex quadrilateral (rotated, in perspective, off the edge) */
  corners: [number, number][]
  paper?: (x: number, y: number) => number
  /** ink, 0-1, at (x, y) */
  ink?: (x: number, y: number) => number
}

function inside(corners: [number, number][], x: number, y: number): boolean {
  return corners.every(([ax, ay], k) => {
    const [bx, by] = corners[(k + 1) % corners.length]
    return (bx - ax) * (y - ay) - (by - ay) * (x - ax) >= 0
  })
}

function render(scene: Scene): Float32Array {
  const lum = new Float32Array(W * H)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const onSheet = inside(scene.corners, x + 0.5, y + 0.5)
      const paper = scene.paper?.(x, y) ?? 235
      lum[y * W + x] = onSheet ? paper * (1 - (5 / 6) * (scene.ink?.(x, y) ?? 0)) : scene.desk(x, y)
    }
  }
  return lum
}

const digitAt = (index: number, ox: number, oy: number, scale: number) => {
  const mnist = loadMnistSplit('test')
  const d = mnist.images.subarray(index * 784, index * 784 + 784)
  return (x: number, y: number) => {
    const [gx, gy] = [Math.floor((x - ox) / scale), Math.floor((y - oy) / scale)]
    return gx >= 0 && gy >= 0 && gx < 28 && gy < 28 ? d[gy * 28 + gx] / 255 : 0
  }
}

const rotated = (cx: number, cy: number, w: number, h: number, degrees: number): [number, number][] => {
  const a = (degrees * Math.PI) / 180
  const corner = (u: number, v: number): [number, number] => [cx + u * Math.cos(a) - v * Math.sin(a), cy + u * Math.sin(a) + v * Math.cos(a)]
  return [corner(-w / 2, -h / 2), corner(w / 2, -h / 2), corner(w / 2, h / 2), corner(-w / 2, h / 2)]
}

const noisy = (base: number, spread: number, seed: number) => {
  const r = random(seed)
  return () => base + (r() - 0.5) * 2 * spread
}

describe('findSheet', () => {
  const scenes: [string, Scene][] = [
    ['askew on a dark, plain desk', { desk: () => 40, corners: rotated(100, 80, 130, 110, 12), ink: digitAt(0, 58, 38, 3) }],
    ['in perspective on a grey, noisy desk', { desk: noisy(105, 25, 1), corners: [[45, 15], [160, 20], [185, 150], [20, 145]], ink: digitAt(1, 50, 30, 4) }],
    ['running off the right edge, lit from the left', { desk: noisy(70, 15, 2), corners: rotated(150, 80, 150, 130, -5), paper: (x) => 245 - 0.4 * x, ink: digitAt(2, 90, 25, 4) }],
    ['dim: paper at 110 on a desk at 30', { desk: noisy(30, 8, 3), corners: rotated(100, 80, 150, 120, 3), paper: () => 110, ink: digitAt(3, 45, 25, 4) }],
  ]
  for (const [what, scene] of scenes) {
    it(`finds a sheet ${what}: the desk is off it and the digit on it`, () => {
      const sheet = findSheet(render(scene), W, H)
      expect(sheet).toBeDefined()
      let deskOn = 0
      let inkOff = 0
      let inkAll = 0
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const on = sheet!.inside[y * W + x] === 1
          const drawn = inside(scene.corners, x + 0.5, y + 0.5)
          if (on && !drawn) deskOn++
          if (drawn && (scene.ink?.(x, y) ?? 0) > 0.5) (inkAll++, (inkOff += on ? 0 : 1))
        }
      }
      expect(deskOn).toBe(0)
      expect(inkOff).toBe(0)
      expect(inkAll).toBeGreaterThan(0)
      // the paper is read just inside the sheet's outline
      for (const i of sheet!.edge) expect(inside(scene.corners, (i % W) + 0.5, Math.floor(i / W) + 0.5)).toBe(true)
    })
  }

  it('measures how far the sheet is turned, as the turn nearest upright', () => {
    for (const degrees of [-12, -5, 0, 3, 12, 30, 50]) {
      const sheet = findSheet(render({ desk: noisy(60, 10, 5), corners: rotated(100, 80, 110, 90, degrees), ink: digitAt(5, 75, 55, 2) }), W, H)
      expect(sheet, `${degrees} degrees`).toBeDefined()
      const expected = degrees > 45 ? degrees - 90 : degrees
      expect(Math.abs((sheet!.angle * 180) / Math.PI - expected), `${degrees} degrees`).toBeLessThan(1)
    }
  })

  const plain: [string, Scene][] = [
    ['paper filling the picture, strokes reaching two edges', { desk: () => 0, corners: [[-1, -1], [W + 1, -1], [W + 1, H + 1], [-1, H + 1]], ink: (x, y) => (Math.abs(x - 100) < 5 || Math.abs(y - 40) < 5 ? 1 : 0) }],
    ['paper in shadow on one half, no desk', { desk: () => 0, corners: [[-1, -1], [W + 1, -1], [W + 1, H + 1], [-1, H + 1]], paper: (x) => 250 - (110 * x) / W, ink: digitAt(4, 40, 20, 4) }],
    ['a blank card on a desk: no marks', { desk: () => 50, corners: rotated(100, 80, 120, 100, 8) }],
  ]
  for (const [what, scene] of plain) {
    it(`finds none on ${what}`, () => {
      expect(findSheet(render(scene), W, H)).toBeUndefined()
    })
  }

  it('finds none on photos of paper lit from one side, where strokes hug the shaded part', () => {
    // the light half's outline runs along the strokes that cross into the shade: the ring just
    // outside it is partly ink, which must not pass the fall of light for a step down to a desk
    const mnist = loadMnistSplit('test')
    for (let index = 0; index < 100; index++) {
      const photo = jpeg.decode(encodeDigit(mnist.images.subarray(index * 784, index * 784 + 784), 'jpeg-shadowed-paper', index).bytes, { useTArray: true })
      const lum = new Float32Array(photo.width * photo.height).map((_, i) => luminance(photo.data[i * 4], photo.data[i * 4 + 1], photo.data[i * 4 + 2]))
      expect(findSheet(lum, photo.width, photo.height), `test digit ${index}`).toBeUndefined()
    }
  })

  it('finds none on a bold light ring on black: round, not a sheet', () => {
    const lum = new Float32Array(W * H)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) lum[y * W + x] = Math.hypot((x - 100) / 90, (y - 80) / 75) <= 1 && Math.hypot((x - 100) / 45, (y - 80) / 35) > 1 ? 240 : 10
    expect(findSheet(lum, W, H)).toBeUndefined()
  })

  it('finds none on MNIST test digits enlarged tenfold, white on black', () => {
    const mnist = loadMnistSplit('test')
    const side = 280
    for (let index = 0; index < 200; index++) {
      const lum = new Float32Array(side * side)
      for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) lum[y * side + x] = mnist.images[index * 784 + Math.floor(y / 10) * 28 + Math.floor(x / 10)]
      expect(findSheet(lum, side, side), `test digit ${index}`).toBeUndefined()
    }
  })

  describe('garments (the share of the sheet their marks may cover raised)', () => {
    const fashion = loadSplit('fashion-mnist', 'test')
    const lumOfJpeg = (bytes: Uint8Array) => {
      const photo = jpeg.decode(bytes, { useTArray: true })
      return { lum: new Float32Array(photo.width * photo.height).map((_, i) => luminance(photo.data[i * 4], photo.data[i * 4 + 1], photo.data[i * 4 + 2])), width: photo.width, height: photo.height }
    }

    it('finds the sheet under most garments drawn dark on one lying on a desk, which often cover more of it than a digit may', () => {
      let found = 0
      let asDigits = 0
      for (let index = 0; index < 60; index++) {
        const { lum, width, height } = lumOfJpeg(encodeDigit(imageAt(fashion, index), 'jpeg-sheet-on-desk', index).bytes)
        if (findSheet(lum, width, height, GARMENT_SHEET_MAX_MARKS)) found++
        if (findSheet(lum, width, height)) asDigits++
      }
      expect(found).toBeGreaterThanOrEqual(54)
      expect(asDigits).toBeLessThan(found)
    })

    it("finds none on garments light on a dark backdrop, the data set's own style enlarged: their outline is not plain paper", () => {
      for (let index = 0; index < 200; index++) {
        const side = 200
        const pad = index % 2 ? 30 : 0
        const backdrop = index % 3 === 0 ? 40 : 0
        const big = enlarge({ width: 28, height: 28, channels: 1, data: imageAt(fashion, index) }, side, side)
        const w = side + 2 * pad
        const data = new Uint8ClampedArray(w * w * 4).fill(255)
        for (let y = 0; y < w; y++) {
          for (let x = 0; x < w; x++) {
            const on = x >= pad && y >= pad && x < pad + side && y < pad + side
            const v = on ? Math.max(backdrop, big.data[(y - pad) * side + x - pad]) : backdrop
            data.set([v, v, v], (y * w + x) * 4)
          }
        }
        const { lum, width, height } = lumOfJpeg(encode({ width: w, height: w, data }, 'jpeg'))
        expect(findSheet(lum, width, height, GARMENT_SHEET_MAX_MARKS), `test garment ${index}`).toBeUndefined()
      }
    })
  })

  it('finds none on a picture too small to be a photo of a sheet', () => {
    expect(findSheet(new Float32Array(28 * 28).fill(255), 28, 28)).toBeUndefined()
  })
})
