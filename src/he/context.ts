/**
 * Loading SEAL and building a CKKS context from a manifest's HE parameters.
 * Isomorphic: no DOM, no Node APIs. SEAL's own 128-bit check decides: a
 * parameter set it does not accept at tc128 is refused, never downgraded.
 */
import SEAL from 'node-seal'
import type { HeParams } from '../model/manifest'
import { BlindfoldError, sealMessage } from './errors'

export type Seal = Awaited<ReturnType<typeof SEAL>>
export type Context = InstanceType<Seal['SEALContext']>
export type ParmsId = ReturnType<Context['firstParmsId']>

let sealPromise: Promise<Seal> | undefined

/**
 * One SEAL instance per JS realm (worker, worker thread or process), loaded
 * once. `locateFile: undefined` lets a bundler's asset URL win over the
 * package's own (whose path does not exist after a Vite build).
 */
export function loadSeal(): Promise<Seal> {
  sealPromise ??= SEAL({ locateFile: undefined })
  return sealPromise
}

export interface Level {
  parmsId: ParmsId
  /** the prime a rescale at this level drops (the last data prime) */
  lastPrime: number
  /** number of data primes at this level */
  primes: number
}

export interface KeyLevel {
  polyModulusDegree: number
  /** its primes, exactly, in SEAL's order */
  primes: bigint[]
  /** its parms id, four words */
  parmsId: bigint[]
}

export interface HeContext {
  seal: Seal
  context: Context
  params: HeParams
  /** levels[0] is the top data level (what fresh ciphertexts use) */
  levels: Level[]
  /** the first data prime, exactly: the one modulus left at the last level, where responses are packed */
  q0: bigint
  /** the key level (every prime, the special one last): what evaluation keys are made at */
  keyLevel: KeyLevel
  dispose(): void
}

export function validateParams(p: HeParams): void {
  const ok =
    p &&
    p.scheme === 'ckks' &&
    [4096, 8192, 16384, 32768].includes(p.polyModulusDegree) &&
    Array.isArray(p.coeffModulusBits) &&
    p.coeffModulusBits.length >= 2 &&
    p.coeffModulusBits.every((b) => Number.isInteger(b) && b >= 20 && b <= 60) &&
    Number.isInteger(p.scaleBits) &&
    p.scaleBits >= 20 &&
    p.scaleBits < 60
  if (!ok) throw new BlindfoldError('invalid_parameters', `invalid CKKS parameters: ${JSON.stringify(p)}`)
  if (p.securityLevel !== 'tc128') {
    throw new BlindfoldError('insecure_parameters', `security level ${String(p.securityLevel)} refused: Blindfold runs at tc128 only`)
  }
}

/**
 * `chain: false` builds only the key level and the first data level: enough to make
 * keys, encode and encrypt, not to load or decrypt a ciphertext below the top level.
 * SEAL builds NTT tables for every prime of every level, and in WASM that is most of
 * the cost of a context, so key generation need not wait for the whole chain
 * (docs/decisions/chainless-keygen-context.md). A level's parms id is a hash of its
 * parameters, so keys and ciphertexts made under either context are the same objects
 * to the other.
 */
export function createHeContext(seal: Seal, params: HeParams, { chain = true }: { chain?: boolean } = {}): HeContext {
  validateParams(params)
  const max = seal.CoeffModulus.MaxBitCount(params.polyModulusDegree, seal.SecLevelType.tc128)
  const total = params.coeffModulusBits.reduce((a, b) => a + b, 0)
  const parms = new seal.EncryptionParameters(seal.SchemeType.ckks)
  let modulus: ReturnType<Seal['CoeffModulus']['Create']> | undefined
  let context: Context | undefined
  try {
    parms.setPolyModulusDegree(params.polyModulusDegree)
    try {
      modulus = seal.CoeffModulus.Create(params.polyModulusDegree, Int32Array.from(params.coeffModulusBits))
    } catch (e) {
      throw new BlindfoldError('invalid_parameters', `SEAL cannot build the modulus ${params.coeffModulusBits}: ${sealMessage(e)}`)
    }
    parms.setCoeffModulus(modulus)
    context = new seal.SEALContext(parms, chain, seal.SecLevelType.tc128)
    if (!context.parametersSet()) {
      throw new BlindfoldError(
        'insecure_parameters',
        `SEAL rejects N=${params.polyModulusDegree} with ${total} modulus bits at 128-bit security (max ${max})`,
      )
    }
    const { levels, q0 } = readLevels(seal, context)
    const keyLevel = readKeyLevel(seal, context, params.polyModulusDegree)
    const owned = context
    const result: HeContext = {
      seal,
      context,
      params,
      levels,
      q0,
      keyLevel,
      dispose() {
        if (owned.isDeleted()) return
        for (const l of levels) l.parmsId.delete()
        owned.delete()
      },
    }
    context = undefined // ownership moved to result
    return result
  } finally {
    context?.delete()
    modulus?.delete()
    parms.delete()
  }
}

function readLevels(seal: Seal, context: Context): { levels: Level[]; q0: bigint } {
  const levels: Level[] = []
  let q0 = 0n
  let data = context.firstContextData()
  for (;;) {
    const parms = data.parms()
    const moduli = parms.coeffModulus()
    const exact = seal.jsArrayFromVecModulus(moduli) as bigint[]
    const primes = exact.map(Number)
    moduli.delete()
    parms.delete()
    if (exact.length > 0) q0 = exact[0]
    if (primes.length > 0) levels.push({ parmsId: ownParmsId(seal, data), lastPrime: primes[primes.length - 1], primes: primes.length })
    // the chain ends at index 0; past it SEAL hands back an empty ContextData, not null
    const last = primes.length === 0 || data.chainIndex() === 0
    const next = last ? undefined : data.nextContextData()
    data.delete()
    if (!next) break
    data = next
  }
  return { levels, q0 }
}

function readKeyLevel(seal: Seal, context: Context, polyModulusDegree: number): KeyLevel {
  const data = context.keyContextData()
  const parms = data.parms()
  const moduli = parms.coeffModulus()
  const id = data.parmsId()
  try {
    return {
      polyModulusDegree,
      primes: [...(seal.jsArrayFromVecModulus(moduli) as bigint[])],
      parmsId: Array.from(id.values() as ArrayLike<bigint>),
    }
  } finally {
    id.delete()
    moduli.delete()
    parms.delete()
    data.delete()
  }
}

/** A ParmsIdType that outlives the ContextData it came from. */
function ownParmsId(seal: Seal, data: { parmsId(): ParmsId }): ParmsId {
  const borrowed = data.parmsId()
  try {
    return new seal.ParmsIdType(borrowed)
  } finally {
    borrowed.delete()
  }
}

/** Whether two parms ids (a ciphertext's level and a chain level) are equal. */
export function sameParms(a: { values(): unknown }, b: { values(): unknown }): boolean {
  const x = Array.from(a.values() as ArrayLike<bigint>)
  const y = Array.from(b.values() as ArrayLike<bigint>)
  return x.length === y.length && x.every((v, i) => v === y[i])
}
