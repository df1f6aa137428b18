/**
 * bench:e2e's --folder: the test split of a folder of labelled images (the ImageFolder layout,
 * DIR/<class>/<image>, or DIR/train/... and DIR/test/...) classified in the page with one model,
 * each file given to the file input as a user would, against the plaintext model on the same split
 * as the trainer prepares it in Node (scripts/training/folder/read-folder.ts: the same seed and test
 * share give the same split) and on the very inputs the page computed (read back from each card).
 */
import { readFileSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import type { Page } from '@playwright/test'
import { READ_ANSWER_TIMES, READ_NEWEST_RESULT, RESET_DONE } from '../../e2e/support/in-page'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { argmax, forward, normalise } from '../../src/model/forward'
import { prepareFolder } from '../training/folder/read-folder'

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' }

export interface FolderRun {
  /** the trainer's split: its seed and test share (its defaults unless the model was trained with others) */
  seed: number
  testFraction: number
  /** at most this many test images, the split's first ones */
  limit?: number
}

/** Classifies the folder's test split in the page (the model selected, its keys ready). */
export async function classifyFolder(page: Page, model: string, dir: string, run: FolderRun) {
  const { manifest, weights } = await loadModelDir(join(MODELS_DIR, model))
  const prepared = prepareFolder(dir, { input: manifest.input, seed: run.seed, testFraction: run.testFraction })
  // the folder's class names, as the model names its classes
  const index = prepared.classes.map((name) => manifest.classes.indexOf(name))
  const unknown = prepared.classes.filter((_, c) => index[c] < 0)
  if (unknown.length) throw new Error(`${model} has no class named ${unknown.join(', ')} (its classes: ${manifest.classes.join(', ')})`)
  const size = manifest.input.height * manifest.input.width * manifest.input.channels
  const plaintext = (pixels: Uint8Array) => argmax(forward(manifest, weights, normalise(pixels, manifest)))
  const test = prepared.items
    .flatMap((item, i) => (item.split === 'test' ? [{ ...item, pixels: prepared.pixels.subarray(i * size, (i + 1) * size) }] : []))
    .slice(0, run.limit)

  const settled = page.locator('[data-testid="result"][data-status="done"], [data-testid="result"][data-status="error"]')
  const before = await settled.count()
  let app = 0
  let plain = 0
  let plainOnPageInputs = 0
  let agree = 0
  let failed = 0
  const answers: number[] = []
  for (const [i, item] of test.entries()) {
    const label = index[item.label]
    await page.evaluate(RESET_DONE)
    await page.locator('input[type=file]').setInputFiles({ name: basename(item.file), mimeType: MIME[extname(item.file).toLowerCase()], buffer: readFileSync(join(dir, item.file)) })
    await settled.nth(before + i).waitFor({ timeout: 300_000 })
    const card = (await page.evaluate(READ_NEWEST_RESULT)) as { status: string; prediction: string | null; frame: number[] | null }
    if (plaintext(item.pixels) === label) plain++
    if (card.status !== 'done' || !card.frame) {
      failed++
      continue
    }
    const [changeAt, doneAt] = (await page.evaluate(READ_ANSWER_TIMES)) as [number, number]
    answers.push(doneAt - changeAt)
    const prediction = Number(card.prediction)
    const onPageInput = plaintext(Uint8Array.from(card.frame))
    if (prediction === label) app++
    if (onPageInput === label) plainOnPageInputs++
    if (prediction === onPageInput) agree++
  }
  const n = test.length
  const sorted = [...answers].sort((a, b) => a - b)
  return {
    dir,
    model,
    split: { layout: prepared.layout, seed: run.seed, testFraction: run.testFraction },
    images: n,
    // files the trainer could not read (and so left out of both splits), and cards that ended in an error
    skipped: prepared.skipped.length,
    failed,
    // the app: the file given to the page, decoded, preprocessed, encrypted and classified there
    appAccuracy: app / n,
    // the plaintext model on the split as the trainer prepared it: the accuracy its training reports
    plaintextAccuracy: plain / n,
    // the plaintext model on the inputs the page computed: what the app's encryption is held to
    plaintextAccuracyOnPageInputs: plainOnPageInputs / n,
    agreementWithPlaintextOnPageInputs: agree / n,
    dropToAnswerMedianMs: sorted.length ? Math.round(sorted[sorted.length >> 1]) : null,
  }
}
