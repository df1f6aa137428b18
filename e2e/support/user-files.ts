/**
 * Official test images rendered as user files (sizes, formats), each with the
 * class the plaintext model gives the original: shared by the e2e specs and
 * the browser benchmark.
 */
import type { Page } from '@playwright/test'
import { imageAt, loadSplit } from '../../src/datasets'
import { webpFromPng } from './in-page'
import { plaintextPrediction } from './plaintext'

export type UserFormat = 'png' | 'jpeg' | 'webp'

export interface UserFile {
  name: string
  mimeType: string
  bytes: Buffer
  /** the official image's label, and the class the plaintext model gives that image */
  label: number
  expected: number
}

async function asWebp(page: Page, png: Buffer): Promise<Buffer> {
  return Buffer.from((await page.evaluate(webpFromPng(png.toString('base64')))) as string, 'base64')
}

/** Official test images of a data set, rendered by `render` in turn through the given sizes and formats. */
export async function userFiles(
  page: Page,
  model: string,
  dataset: string,
  indices: number[],
  variants: Array<{ side: number; format: UserFormat }>,
  render: (raw: Uint8Array, o: { side: number; format: 'png' | 'jpeg' }) => Buffer,
): Promise<UserFile[]> {
  const split = loadSplit(dataset, 'test')
  const out: UserFile[] = []
  for (const [k, index] of indices.entries()) {
    const raw = imageAt(split, index)
    const v = variants[k % variants.length]
    const bytes = v.format === 'webp' ? await asWebp(page, render(raw, { side: v.side, format: 'png' })) : render(raw, { side: v.side, format: v.format })
    out.push({
      name: `${dataset}-${index}-${v.side}px.${v.format === 'jpeg' ? 'jpg' : v.format}`,
      mimeType: `image/${v.format}`,
      bytes,
      label: split.labels[index],
      expected: await plaintextPrediction(model, raw),
    })
  }
  return out
}

