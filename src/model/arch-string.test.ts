import { describe, expect, it } from 'vitest'
import { parseArch } from './arch-string'

describe('architecture strings', () => {
  it('reads every token kind, the first conv carrying the packing', () => {
    expect(parseArch('c5s1p0-16,poly,pool2,c3s2p1-32,square,spool2,dense64,poly,dense', 'image')).toEqual([
      { type: 'conv2d', kernel: 5, stride: 1, padding: 0, filters: 16, packing: 'image' },
      { type: 'poly' },
      { type: 'avgpool2d', size: 2 },
      { type: 'conv2d', kernel: 3, stride: 2, padding: 1, filters: 32 },
      { type: 'square' },
      { type: 'avgpool2d', size: 2, stagger: true },
      { type: 'dense', units: 64 },
      { type: 'poly' },
      { type: 'dense', units: 10 },
    ])
  })

  it('refuses what the trainer refuses', () => {
    expect(() => parseArch('c5s1p0-16,relu,dense')).toThrow(/'relu' has no encrypted form: it may appear only in --teacher-arch/)
    expect(() => parseArch('c5s1p0-16,poly,maxpool2,dense')).toThrow(/'maxpool2' has no encrypted form/)
    expect(() => parseArch('c5s1p0-16,tanh,dense')).toThrow(/bad architecture token 'tanh'/)
    expect(() => parseArch('c5s1p0-16,poly')).toThrow(/last layer must be a 10-unit dense/)
    expect(() => parseArch('c5s1p0-16,poly,dense20')).toThrow(/last layer must be a 10-unit dense/)
    expect(() => parseArch('c5s1p0-16,poly,dense30,bilinear')).toThrow(/bilinear must follow a dense layer of 20 x K units/)
    expect(() => parseArch('c5s1p0-16,poly,bilinear')).toThrow(/bilinear must follow a dense layer/)
  })

  it('reads grouped (gG), depthwise (dwKsSpP: one filter per channel of its input) and pointwise (pwN) convolutions', () => {
    expect(parseArch('c3s1p1-6g3,poly,dw3s2p1,poly,pw16g2,square,dense').slice(0, 6)).toEqual([
      { type: 'conv2d', kernel: 3, stride: 1, padding: 1, filters: 6, groups: 3, packing: 'patches' },
      { type: 'poly' },
      { type: 'conv2d', kernel: 3, stride: 2, padding: 1, filters: 6, groups: 6 },
      { type: 'poly' },
      { type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: 16, groups: 2 },
      { type: 'square' },
    ])
    expect(parseArch('c3s1p1-8,poly,pw4,dense')[2]).toEqual({ type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: 4 })
    expect(() => parseArch('dw3s1p1,poly,dense')).toThrow(/'dw3s1p1' cannot be the first layer/)
  })

  it('reads a bilinear read-out after a dense layer of 20 x K units', () => {
    expect(parseArch('c5s1p0-40,poly,pool2,dense80,bilinear', 'image').slice(-2)).toEqual([
      { type: 'dense', units: 80 },
      { type: 'bilinear', units: 10 },
    ])
  })
})
