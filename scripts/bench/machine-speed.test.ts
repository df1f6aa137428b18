import SEAL from 'node-seal'
import { expect, it } from 'vitest'
import { machineSpeed } from './machine-speed'

it('times rotations and plaintext products at the CIFAR-10 parameters, freeing what it made', async () => {
  const seal = await SEAL()
  const s = machineSpeed(seal, 3, 5)
  expect(s).toMatchObject({ rotations: 3, products: 5, params: expect.stringContaining('16384') })
  // a rotation key-switches (a dozen NTTs and more); a plaintext product is one pass over the coefficients
  expect(s.rotateMs).toBeGreaterThan(s.multiplyPlainMs)
  expect(s.multiplyPlainMs).toBeGreaterThan(0)
})
