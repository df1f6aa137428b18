/**
 * A minimal Blindfold client written from the public documents alone:
 * docs/wire-format.md, GET /api/v1/openapi.json and the model
 * description of GET /api/v1/models. It imports nothing from the project:
 * node-seal and the platform's fetch are all it uses, and every number comes
 * from the published `client` description (HE parameters, normalisation, input
 * rule, scale, key sections, logit slots), so the same code serves every model.
 * It takes pixels already framed as the model expects (`client.normalisation.steps`
 * says how a picture becomes them), so a model imported from ONNX is served to it like
 * a shipped one.
 *
 *   node --import tsx examples/minimal-client.ts --url http://localhost:8080 --model mnist-cnn digit.pgm
 *
 * (a binary PGM, P5, for a one-channel model; a binary PPM, P6, for an RGB one; or a raw
 * file of height*width*channels bytes, row-major, channels interleaved)
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import SEAL from 'node-seal'

type Seal = Awaited<ReturnType<typeof SEAL>>

/** The part of GET /api/v1/models this client reads (see the OpenAPI schema PublicModel). */
export interface PublicDescription {
  name: string
  classes: string[]
  client: {
    format: string
    he: { scheme: 'ckks'; polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number; securityLevel: 'tc128' }
    container: { version: number }
    normalisation: { formula: string; mean: number[]; std: number[]; height: number; width: number; channels: number }
    encoding: { slots: number; scale: number }
    input: {
      packing: 'image' | 'patches'
      ciphertexts: number
      elements: number
      blocks: number
      blockSize: number
      blocksPerCiphertext: number
      height: number
      width: number
      // 'patches' only
      kernel?: number
      stride?: number
      padding?: number
      outHeight?: number
      outWidth?: number
      channels?: number
      padValue?: number
    }
    keys: { containerKind: number; sections: Array<{ section: number; sealObject: string; rotationSteps?: number[] }> }
    request: { containerKind: number; sections: number }
    response: { containerKind: number; sections: number; packed: { headerBytes: number; maxBytes: number }; logits: { ciphertext: number[]; slot: number[] } }
  }
}

// ---- the container: 'BLFD' | version u8 | kind u8 | count u16 LE | (length u32 LE | bytes)* ----

const MAGIC = [0x42, 0x4c, 0x46, 0x44]

export function packContainer(version: number, kind: number, sections: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(8 + sections.reduce((n, s) => n + 4 + s.byteLength, 0))
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  view.setUint8(4, version)
  view.setUint8(5, kind)
  view.setUint16(6, sections.length, true)
  let at = 8
  for (const s of sections) {
    view.setUint32(at, s.byteLength, true)
    out.set(s, at + 4)
    at += 4 + s.byteLength
  }
  return out
}

export function unpackContainer(bytes: Uint8Array, version: number, kind: number, count: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('not a Blindfold container')
  if (view.getUint8(4) !== version || view.getUint8(5) !== kind || view.getUint16(6, true) !== count) {
    throw new Error(`container: version ${view.getUint8(4)}, kind ${view.getUint8(5)}, ${view.getUint16(6, true)} sections; expected ${version}, ${kind}, ${count}`)
  }
  const sections: Uint8Array[] = []
  let at = 8
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) throw new Error('container truncated')
    const length = view.getUint32(at, true)
    if (at + 4 + length > bytes.byteLength) throw new Error('container truncated')
    // a response's sections are packed ciphertexts (sealCiphertext reads them), not SEAL objects
    sections.push(bytes.subarray(at + 4, at + 4 + length))
    at += 4 + length
  }
  if (at !== bytes.byteLength) throw new Error('trailing bytes after the last section')
  return sections
}

// ---- a response section: packed coefficients (client.response.packed.layout) to SEAL's Ciphertext bytes ----

/**
 * Reads k, b and the scale from the 12-byte header, takes the 2N b-bit values from the
 * little-endian bit stream, and writes SEAL's uncompressed Ciphertext object in
 * coefficient form (client.response.packed.decrypt): coefficient = (value * 2^k) mod q0.
 */
export function sealCiphertext(section: Uint8Array, N: number, q0: bigint, parmsId: BigUint64Array): Uint8Array {
  if (section.byteLength < 12) throw new Error('response section shorter than its header')
  const head = new DataView(section.buffer, section.byteOffset, 12)
  const [polys, k, b, reserved] = [0, 1, 2, 3].map((i) => head.getUint8(i))
  const scale = head.getFloat64(4, true)
  // b must be the bit length of (q0 - 1 + 2^(k-1)) >> k for this client's q0
  const widest = k < 64 ? (q0 - 1n + (k > 0 ? 1n << BigInt(k - 1) : 0n)) >> BigInt(k) : 0n
  if (polys !== 2 || reserved !== 0 || k >= 64 || b !== widest.toString(2).length) {
    throw new Error(`response section: ${polys} polynomials, ${k} dropped bits, ${b} bits each do not fit this model's q0`)
  }
  if (section.byteLength !== 12 + Math.ceil((2 * N * b) / 8)) throw new Error('response section has the wrong length')
  const out = new Uint8Array(113 + 16 * N)
  const v = new DataView(out.buffer)
  const sealHeader = (at: number, size: number) => {
    v.setUint16(at, 0xa15e, true)
    v.setUint8(at + 2, 16)
    v.setUint8(at + 3, 4)
    v.setUint8(at + 4, 1)
    v.setBigUint64(at + 8, BigInt(size), true)
  }
  sealHeader(0, out.byteLength)
  parmsId.forEach((word, i) => v.setBigUint64(16 + 8 * i, word, true))
  // byte 48, the NTT flag, stays 0: coefficient form
  v.setBigUint64(49, 2n, true)
  v.setBigUint64(57, BigInt(N), true)
  v.setBigUint64(65, 1n, true)
  v.setFloat64(73, scale, true)
  v.setBigUint64(81, 1n, true)
  sealHeader(89, out.byteLength - 89)
  v.setBigUint64(105, BigInt(2 * N), true)
  let bit = 12 * 8
  for (let i = 0; i < 2 * N; i++) {
    let value = 0n
    for (let j = 0; j < b; j++, bit++) if ((section[bit >> 3] >> (bit & 7)) & 1) value |= 1n << BigInt(j)
    v.setBigUint64(113 + 8 * i, (value << BigInt(k)) % q0, true)
  }
  return out
}

// ---- the input rule of the published description ----

/** (pixel[c]/255 - mean[c])/std[c] over HWC pixels, as `client.normalisation.formula` says. */
export function normalise(pixels: ArrayLike<number>, n: PublicDescription['client']['normalisation']): Float64Array {
  if (n.formula !== '(pixel[c]/255 - mean[c])/std[c]') throw new Error(`unknown normalisation ${n.formula}`)
  return Float64Array.from({ length: pixels.length }, (_, i) => (pixels[i] / 255 - n.mean[i % n.channels]) / n.std[i % n.channels])
}

/** One vector per input ciphertext: block b at ciphertext floor(b/bpc), slots (b mod bpc)*blockSize + offset. */
export function layoutInput(client: PublicDescription['client'], normalised: ArrayLike<number>): Float64Array[] {
  const L = client.input
  const C = L.packing === 'patches' ? L.channels! : 1
  if (normalised.length !== L.height * L.width * C) throw new Error(`expected ${L.height * L.width * C} values, got ${normalised.length}`)
  const vectors = Array.from({ length: L.ciphertexts }, () => new Float64Array(client.encoding.slots))
  /** the value at `offset` of block `b` */
  const value = (b: number, offset: number): number => {
    if (L.packing === 'image') return normalised[offset] // every block is the image, row-major
    // 'patches': block b = tap (ky, kx, channel c), offset = output position (oy, ox)
    const k = L.kernel!, s = L.stride!, pad = L.padding!, outW = L.outWidth!
    const c = b % C, tap = (b - c) / C
    const ky = Math.floor(tap / k), kx = tap % k
    const oy = Math.floor(offset / outW), ox = offset % outW
    const y = oy * s + ky - pad, x = ox * s + kx - pad
    return y >= 0 && y < L.height && x >= 0 && x < L.width ? normalised[(y * L.width + x) * C + c] : L.padValue!
  }
  for (let b = 0; b < L.blocks; b++) {
    const ct = Math.floor(b / L.blocksPerCiphertext)
    const base = (b % L.blocksPerCiphertext) * L.blockSize
    for (let o = 0; o < L.blockSize; o++) vectors[ct][base + o] = value(b, o)
  }
  return vectors
}

// ---- the client ----

let sealPromise: Promise<Seal> | undefined
const loadSeal = () => (sealPromise ??= SEAL())

async function ok(r: Response, what: string): Promise<Response> {
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${await r.text()}`)
  return r
}

export interface PublicClient {
  model: PublicDescription
  sessionId: string
  /** 8-bit pixels, row-major, channels interleaved (height*width*channels of `client.normalisation`): the logits, decrypted here */
  classify(pixels: ArrayLike<number>): Promise<Float64Array>
  /** deletes the session on the server and frees the keys */
  close(): Promise<void>
}

/** Fetches the model's description, makes keys, uploads the evaluation keys: a session ready to classify. */
export async function createClient(baseUrl: string, modelName: string): Promise<PublicClient> {
  const base = baseUrl.replace(/\/$/, '')
  // `connection: close`: key generation below blocks this thread for seconds, longer than the
  // server keeps an idle connection open; a pooled socket would then be reset under the upload
  const listing = await fetch(`${base}/api/v1/models`, { headers: { connection: 'close' } })
  const { models } = (await (await ok(listing, 'models')).json()) as { models: PublicDescription[] }
  const model = models.find((m) => m.name === modelName)
  if (!model) throw new Error(`no model ${modelName} (have ${models.map((m) => m.name).join(', ')})`)
  const { client } = model
  const { he } = client
  if (client.format !== 'blindfold-client/3') throw new Error(`unknown client description ${client.format}`)
  const version = client.container.version

  const seal = await loadSeal()
  const parms = new seal.EncryptionParameters(seal.SchemeType.ckks)
  parms.setPolyModulusDegree(he.polyModulusDegree)
  parms.setCoeffModulus(seal.CoeffModulus.Create(he.polyModulusDegree, Int32Array.from(he.coeffModulusBits)))
  const context = new seal.SEALContext(parms, true, seal.SecLevelType.tc128)
  if (!context.parametersSet()) throw new Error('SEAL refuses the published parameters')

  const keygen = new seal.KeyGenerator(context)
  const secretKey = keygen.secretKey()
  const publicKey = keygen.createPublicKey()
  const encryptor = new seal.Encryptor(context, publicKey, secretKey)
  const decryptor = new seal.Decryptor(context, secretKey)
  const encoder = new seal.CKKSEncoder(context)
  const evaluator = new seal.Evaluator(context)
  const zstd = seal.ComprModeType.zstd
  // the response's one modulus q0 and the parms id of the last level, where the response ciphertext lives
  const moduli = parms.coeffModulus()
  const q0 = (seal.jsArrayFromVecModulus(moduli) as bigint[])[0]
  moduli.delete()
  const lastParmsId = context.lastParmsId()

  // key sections in the published order: RelinKeys, then GaloisKeys for exactly the published steps (seeded)
  const keySections = client.keys.sections.map((s) => {
    const key =
      s.sealObject === 'RelinKeys'
        ? keygen.createRelinKeysSerializable()
        : s.sealObject === 'GaloisKeys'
          ? keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(s.rotationSteps ?? []))
          : undefined
    if (!key) throw new Error(`unknown key section ${s.sealObject}`)
    try {
      return key.saveToArray(zstd) as Uint8Array
    } finally {
      key.delete()
    }
  })
  const free = () => {
    for (const o of [lastParmsId, evaluator, encoder, decryptor, encryptor, publicKey, secretKey, keygen, context, parms]) o.delete()
  }
  const keys = packContainer(version, client.keys.containerKind, keySections)
  let sessionId: string
  try {
    const created = await ok(
      await fetch(`${base}/api/v1/sessions?model=${encodeURIComponent(model.name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: keys,
      }),
      'upload keys',
    )
    ;({ sessionId } = (await created.json()) as { sessionId: string })
  } catch (e) {
    free()
    throw e
  }


  return {
    model,
    sessionId,
    async classify(pixels) {
      const sections = layoutInput(client, normalise(pixels, client.normalisation)).map((values) => {
        const plain = new seal.Plaintext()
        try {
          encoder.encode(values, client.encoding.scale, plain)
          const ct = encryptor.encryptSymmetricSerializable(plain)
          try {
            return ct.saveToArray(zstd) as Uint8Array
          } finally {
            ct.delete()
          }
        } finally {
          plain.delete()
        }
      })
      const r = await ok(
        await fetch(`${base}/api/v1/sessions/${encodeURIComponent(sessionId)}/classify`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: packContainer(version, client.request.containerKind, sections),
        }),
        'classify',
      )
      const body = new Uint8Array(await r.arrayBuffer())
      // never more than the published largest packed section per ciphertext
      if (body.byteLength > 8 + client.response.sections * (4 + client.response.packed.maxBytes)) throw new Error('response too large')
      const decoded = unpackContainer(body, version, client.response.containerKind, client.response.sections).map((section) => {
        const ct = new seal.Ciphertext()
        const plain = new seal.Plaintext()
        try {
          ct.loadFromArray(context, sealCiphertext(section, he.polyModulusDegree, q0, lastParmsId.values() as BigUint64Array))
          evaluator.cipherTransformToNttInplace(ct)
          decryptor.decrypt(ct, plain)
          return Float64Array.from(encoder.decodeFloat64(plain) as ArrayLike<number>)
        } finally {
          plain.delete()
          ct.delete()
        }
      })
      const { ciphertext, slot } = client.response.logits
      return Float64Array.from(slot, (s, o) => decoded[ciphertext[o]][s])
    },
    async close() {
      try {
        await fetch(`${base}/api/v1/sessions/${encodeURIComponent(sessionId)}`, { method: 'DELETE' })
      } finally {
        free()
      }
    },
  }
}

/** One image, one session: the logits and the class they name. */
export async function classifyWithPublicDescription(baseUrl: string, modelName: string, pixels: ArrayLike<number>) {
  const client = await createClient(baseUrl, modelName)
  try {
    const logits = await client.classify(pixels)
    let best = 0
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i
    return { logits, predicted: best, label: client.model.classes[best] }
  } finally {
    await client.close()
  }
}

/** A binary PGM (P5: one channel) or PPM (P6: RGB) with maxval 255, or raw bytes, to height*width*channels pixels. */
export function readPixels(file: Uint8Array, height: number, width: number, channels = 1): Uint8Array {
  const size = height * width * channels
  if (file[0] === 0x50 && (file[1] === 0x35 || file[1] === 0x36)) {
    const kind = channels === 3 ? '6' : '5'
    const text = new TextDecoder('latin1').decode(file.subarray(0, 64))
    const m = new RegExp(`^P${kind}\\s+(?:#[^\\n]*\\n\\s*)*(\\d+)\\s+(\\d+)\\s+(\\d+)\\s`).exec(text)
    if (!m || Number(m[1]) !== width || Number(m[2]) !== height || m[3] !== '255') throw new Error(`expected a ${width}x${height} 8-bit ${channels === 3 ? 'PPM (P6)' : 'PGM (P5)'}`)
    if (file.byteLength < m[0].length + size) throw new Error('image file truncated')
    return file.subarray(m[0].length, m[0].length + size)
  }
  if (file.byteLength !== size) throw new Error(`expected ${size} raw bytes, got ${file.byteLength}`)
  return file
}

async function main(argv: string[]) {
  let url = 'http://localhost:8080'
  let model = ''
  const files: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--url') url = argv[++i]
    else if (argv[i] === '--model') model = argv[++i]
    else files.push(argv[i])
  }
  if (files.length === 0 || !model) throw new Error('usage: minimal-client.ts [--url URL] --model NAME IMAGE.pgm|IMAGE.ppm|IMAGE.raw ... (GET /api/v1/models lists the names)')
  const client = await createClient(url, model)
  try {
    const { height, width, channels } = client.model.client.normalisation
    for (const f of files) {
      const logits = await client.classify(readPixels(readFileSync(f), height, width, channels))
      const best = logits.indexOf(Math.max(...logits))
      console.log(`${f}: ${client.model.classes[best]}  logits ${Array.from(logits, (v) => v.toFixed(3)).join(' ')}`)
    }
  } finally {
    await client.close()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  })
}
