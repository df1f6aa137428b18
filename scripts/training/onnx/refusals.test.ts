/**
 * Every refusal fixture (made by ./make-fixtures.py) is refused with one message that names what
 * is wrong (the node and its op type where one node is to blame, with the replacement to train
 * with), and nothing is written; an existing model folder is kept without --force.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { OnnxImportError } from './import-error'
import { importOnnx } from './import-model'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const modelsDir = mkdtempSync(join(tmpdir(), 'blindfold-onnx-refusals-'))
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }))

async function refusal(file: string, classes = ['a', 'b']): Promise<OnnxImportError> {
  const error = await importOnnx({ onnx: join(FIXTURES, file), name: 'refused', classes, preprocess: 'ink-on-background', modelsDir }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(OnnxImportError)
  expect(existsSync(join(modelsDir, 'refused'))).toBe(false)
  expect(readdirSync(modelsDir).filter((n) => n.startsWith('.'))).toEqual([])
  return error as OnnxImportError
}

describe('model:import refuses', () => {
  it.each([
    ['refused/relu.onnx', '/Relu', 'Relu', /square .*polynomial/],
    ['refused/maxpool.onnx', '/MaxPool', 'MaxPool', /AveragePool/],
    ['refused/too-deep.onnx', '/Mul_3', 'Mul', /too deep for N = 16384.*fewer activations/],
    ['refused/two-squares.onnx', '/Mul_1', 'Mul', /follows the activation of node '\/Mul'.*one square or polynomial after each linear layer/],
  ])('%s naming node %s (%s) and its replacement', async (file, name, opType, hint) => {
    const e = await refusal(file)
    expect(e.node).toEqual({ name, opType })
    expect(e.message).toContain(`'${name}' (${opType}`)
    expect(e.message).toMatch(hint)
  })

  it.each([
    ['refused/two-outputs.onnx', /2 outputs \(logits, doubled\).*one output/],
    ['refused/nan-weight.onnx', /initializer 'fc.weight': weight \d+ is NaN/],
    ['refused/external-data.onnx', /external data file/],
    ['refused/truncated.onnx', /not an ONNX model or is truncated/],
    ['refused/not-onnx.onnx', /not an ONNX model or is truncated/],
  ])('%s with a clear message', async (file, message) => {
    expect((await refusal(file, ['a', 'b', 'c'])).message).toMatch(message)
  })

  it('a class list that does not match the logits', async () => {
    expect((await refusal('grey-square-gemm.onnx', ['a', 'b'])).message).toMatch(/names 2 classes; the network gives 3 logits/)
  })

  it('to overwrite an existing model folder without --force', async () => {
    const dir = join(modelsDir, 'taken')
    mkdirSync(dir)
    writeFileSync(join(dir, 'manifest.json'), 'kept')
    const e = await importOnnx({ onnx: join(FIXTURES, 'grey-square-gemm.onnx'), name: 'taken', classes: ['a', 'b', 'c'], preprocess: 'photo', modelsDir }).catch((x: unknown) => x)
    expect((e as Error).message).toMatch(/exists; pass --force/)
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe('kept')
  })
})
