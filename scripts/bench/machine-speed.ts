/**
 * A fixed SEAL workload, timed on one thread and recorded in every `npm run
 * bench` JSON, so that runs on different days of a shared machine can be
 * compared: the same code can run markedly slower in another hour of the same
 * machine, and without a probe like this only an A/B run of old and new
 * commits in the same hour could tell the machine from the code.
 *
 * The ops are the two that make up a linear stage (docs: products dominate,
 * rotations next), at the CIFAR-10 model's parameters and top level.
 */
import { createHeContext, type Seal } from '../../src/he/context'
import type { HeParams } from '../../src/model/manifest'

export interface MachineSpeed {
  /** what was timed */
  params: string
  /** median of `rotations` left rotations by one slot */
  rotateMs: number
  /** median of `products` plaintext products (NTT form) */
  multiplyPlainMs: number
  rotations: number
  products: number
}

const PARAMS: HeParams = { scheme: 'ckks', polyModulusDegree: 16384, coeffModulusBits: [60, 40, 40, 40, 40, 40, 40, 40, 60], scaleBits: 40, securityLevel: 'tc128' }

export function machineSpeed(seal: Seal, rotations = 20, products = 200): MachineSpeed {
  const he = createHeContext(seal, PARAMS)
  const { context } = he
  const handles: Array<{ delete(): void }> = []
  const keep = <T extends { delete(): void }>(h: T): T => (handles.push(h), h)
  try {
    const keygen = keep(new seal.KeyGenerator(context))
    const secret = keep(keygen.secretKey())
    const encoder = keep(new seal.CKKSEncoder(context))
    const encryptor = keep(new seal.Encryptor(context, keep(keygen.createPublicKey()), secret))
    const evaluator = keep(new seal.Evaluator(context))
    const serialized = keep(keygen.createGaloisKeysSerializableWithSteps(Int32Array.from([1])))
    const galois = keep(new seal.GaloisKeys())
    galois.loadFromArray(context, serialized.saveToArray(seal.ComprModeType.none) as Uint8Array)
    const values = Float64Array.from({ length: encoder.slotCount() }, (_, i) => Math.sin(i))
    const plain = keep(new seal.Plaintext())
    encoder.encode(values, 2 ** PARAMS.scaleBits, plain)
    const ct = keep(new seal.Ciphertext())
    encryptor.encrypt(plain, ct)
    const out = keep(new seal.Ciphertext())
    const rotate = timeEach(rotations, () => evaluator.rotateVector(ct, 1, galois, out))
    const multiply = timeEach(products, () => evaluator.multiplyPlain(ct, plain, out))
    return { params: `N=${PARAMS.polyModulusDegree}, q=[${PARAMS.coeffModulusBits}], top level`, rotateMs: rotate, multiplyPlainMs: multiply, rotations, products }
  } finally {
    for (const h of handles.reverse()) h.delete()
    he.dispose()
  }
}

/** Median of `n` timed calls of `op`, after one untimed call. */
export function timeEach(n: number, op: () => unknown): number {
  op() // the first call pays for allocations the others reuse
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    op()
    ms.push(performance.now() - t)
  }
  ms.sort((a, b) => a - b)
  return ms[Math.floor(n / 2)]
}
