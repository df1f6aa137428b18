/**
 * The client description published with every model (`client` in GET
 * /api/v1/models): enough, as data, to write a client for any model from the
 * public documents alone: how to normalise pixels, where every input value
 * goes (a rule with its parameters, not a table), the scale, which keys to
 * upload in which order, what the request and response containers hold and
 * in which slots the logits are read.
 *
 * It is computed from the evaluation plan (src/he/plan.ts), which depends on
 * the public geometry and HE parameters only: no weight and no number derived
 * from a weight can reach it (the function does not even receive them).
 * client-spec.test.ts expands the published rule and checks it against the
 * plan's own layout for the shipped model and random geometries.
 * Isomorphic: no DOM, no Node APIs.
 */
import { convShape } from '../model/geometry'
import { firstConvGeometry } from '../model/forward'
import { DEFAULT_FRAME, type FrameSpec, type HeParams, type InputSpec, type LayerGeometry, type Preprocess } from '../model/manifest'
import { preprocessSteps } from '../image/preprocess-rule'
import { ciphertextSizes } from './object-sizes'
import { derivePlan } from './plan'
import type { EvaluationPlan } from './evaluation-plan'
import { galoisElement } from './rotation-search'
import { keyTables, PACKED_KEYS_LAYOUT, packedKeySetSize } from './packed-keys'
import { PACKED_REQUEST_LAYOUT, packedRequestSize } from './packed-request'
import { ComprMode, SEAL_HEADER_SIZE, SEAL_MAGIC, SEAL_VERSION_MAJOR } from './seal-header'
import { ContainerKind, WIRE_FORMAT_VERSION } from './wire'
import { droppedBits as packedDroppedBits, PACKED_HEADER_BYTES, packedBytes, PRECISION_BITS } from './packed-ciphertext'

export const CLIENT_SPEC_FORMAT = 'blindfold-client/3'
export const NORMALISATION_FORMULA = '(pixel[c]/255 - mean[c])/std[c]'

export const IMAGE_RULE =
  'Block b (0 <= b < blocks) holds the whole normalised image (one channel), row-major: offset y*width + x holds pixel (y, x). ' +
  'Block b lies in ciphertext floor(b / blocksPerCiphertext) at slots (b mod blocksPerCiphertext)*blockSize + offset. Every other slot is 0.'
export const PATCHES_RULE =
  'im2col, tap-major. Block b is tap b = (ky*kernel + kx)*channels + c (0 <= ky, kx < kernel, 0 <= c < channels); offset p = oy*outWidth + ox ' +
  '(0 <= oy < outHeight, 0 <= ox < outWidth) holds channel c of the normalised pixel (y, x) = (oy*stride + ky - padding, ox*stride + kx - padding), ' +
  'or padValue where (y, x) lies outside the image. ' +
  'Block b lies in ciphertext floor(b / blocksPerCiphertext) at slots (b mod blocksPerCiphertext)*blockSize + offset. Every other slot is 0.'

export interface ClientNormalisation {
  /** what the client encodes for channel c of each 8-bit pixel */
  formula: typeof NORMALISATION_FORMULA
  /** per channel */
  mean: number[]
  std: number[]
  /** what a client does to a picture first: `steps` says how, in order, with every number */
  preprocess: Preprocess
  /** 'ink-on-background' only: how the data set framed its object (the manifest's, or the digit rule when it names none) */
  frame?: FrameSpec
  /** from an RGBA picture to the 8-bit input this formula reads, in order */
  steps: string[]
  height: number
  width: number
  channels: 1 | 3
  /** value c of pixel (y, x) is element (y*width + x)*channels + c of the image */
  pixelOrder: 'row-major, channels last'
}

export interface ClientEncoding {
  scheme: 'ckks'
  /** CKKSEncoder slots, polyModulusDegree / 2: every input vector has this many values */
  slots: number
  scaleBits: number
  /** 2^scaleBits, exactly: the server refuses a ciphertext at any other scale */
  scale: number
}

interface InputLayoutCommon {
  /** ciphertexts in a request */
  ciphertexts: number
  /** logical input elements = blocks * blockSize; element i is offset i mod blockSize of block floor(i / blockSize) */
  elements: number
  blocks: number
  blockSize: number
  blocksPerCiphertext: number
  /** the image the blocks are made of */
  height: number
  width: number
  /** the value of every slot no block covers */
  fill: 0
  /** the rule in words; the numbers are the fields beside it */
  rule: string
}

/** The image, repeated `copies` (= blocks) times: copy k at slot offset k*height*width. */
export interface ImageInputLayout extends InputLayoutCommon {
  packing: 'image'
  copies: number
}

/** Client-side im2col of the first convolution, one block per kernel tap. */
export interface PatchesInputLayout extends InputLayoutCommon {
  packing: 'patches'
  kernel: number
  stride: number
  padding: number
  outHeight: number
  outWidth: number
  /** taps = kernel^2 = blocks */
  taps: number
  /** positions = outHeight * outWidth = blockSize */
  positions: number
  /** channels per pixel; taps = kernel^2 * channels */
  channels: 1 | 3
  /** normalised value of a tap outside the image: zero padding */
  padValue: 0
}

export type ClientInputLayout = ImageInputLayout | PatchesInputLayout

export interface ClientKeySection {
  section: number
  sealObject: 'RelinKeys' | 'GaloisKeys'
  /** node-seal calls that make it (either works; seeded is half the size) */
  make: string
  /** GaloisKeys only: exactly these left-rotation steps, no other */
  rotationSteps?: number[]
  /** GaloisKeys only: SEAL's Galois element of each step (3^step mod 2N), for clients outside node-seal */
  galoisElements?: number[]
  /** the same keys as a packed section (keys.packedLayout), the smaller form; the SEAL object is accepted as well */
  packed: { kind: number; tableEntries: number; tableIndices: number[]; bytes: number }
}

export interface ClientSpec {
  format: typeof CLIENT_SPEC_FORMAT
  /** the CKKS parameters to make keys with: SEALContext(EncryptionParameters(ckks) with these, true, tc128) */
  he: HeParams
  /** the binary container around SEAL objects (docs/wire-format.md) */
  container: {
    magic: 'BLFD'
    version: number
    header: string
    section: string
  }
  /** every section is one SEAL object as SEAL's save() writes it */
  sealObject: {
    header: string
    magic: number
    headerSize: number
    versionMajor: number
    /** SEAL compr_mode values accepted from clients: 0 none, 2 zstd (a zstd frame must declare its content size) */
    compression: number[]
    /** seeded objects (encryptSymmetricSerializable, create*Serializable) as well as ordinary ones */
    seededAllowed: true
  }
  normalisation: ClientNormalisation
  encoding: ClientEncoding
  input: ClientInputLayout
  keys: {
    containerKind: number
    sections: ClientKeySection[]
    /** a key section may be a packed key set instead of a SEAL object: its layout */
    packedLayout: string
    /** bits per coefficient of each key-level prime in a packed section: coeffModulusBits, the special prime last */
    primeBits: number[]
  }
  request: {
    containerKind: number
    /** = input.ciphertexts; section c is input ciphertext c */
    sections: number
    sealObject: 'Ciphertext'
    /** fresh encryption at the top of the modulus chain: every data prime (coeffModulusBits minus the last) */
    dataPrimes: number
    polynomials: 2
    scale: number
    /** exact uncompressed SEAL object sizes the server accepts (seeded or full), 16-byte header included */
    uncompressedBytes: { seeded: number; full: number }
    /** a section may be a packed ciphertext instead of a SEAL object (what the page sends): its layout and exact size */
    packed: { layout: string; primeBits: number[]; bytes: number }
  }
  response: {
    containerKind: number
    /** ciphertexts in the response; section c is output ciphertext c */
    sections: number
    /** each section is a packed ciphertext (not a SEAL object): its layout and how to decrypt it */
    packed: ClientPackedCiphertext
    /** logit o (class classes[o]) is slot logits.slot[o] of the decoded output ciphertext logits.ciphertext[o] */
    logits: { ciphertext: number[]; slot: number[] }
  }
  /** rescales the server performs (= levels consumed) */
  depth: number
}

/** A response section: see packed-ciphertext.ts, which this describes for clients in any language. */
export interface ClientPackedCiphertext {
  layout: string
  headerBytes: number
  polynomials: 2
  /** the ciphertext's one modulus q0: the first prime of SEAL's CoeffModulus.Create(N, coeffModulusBits) */
  modulusBits: number
  polyModulusDegree: number
  /** k and b this model's responses use; the header carries them, and any k with b = bitLength((q0 - 1 + 2^(k-1)) >> k) is valid */
  droppedBits: number
  bitsPerCoefficient: number
  /** the rounding noise's standard deviation stays below about 2^-precisionBits per logit */
  precisionBits: number
  /** one section as the server writes it for this model, and the most any valid section takes (k = 0) */
  bytes: number
  maxBytes: number
  /** the SEAL object to write from the coefficients, and the calls that decrypt it */
  decrypt: string
}

export const PACKED_LAYOUT =
  'polynomials u8 (2) | dropped bits k u8 | bits per coefficient b u8 | reserved u8 (0) | scale f64 LE | ' +
  "2N values of b bits as one little-endian bit stream (value i in stream bits [i*b, (i+1)*b), stream bit j = bit j%8 of byte j>>3, unused bits of the last byte 0): c0's N coefficient values, then c1's; " +
  'value r stands for the coefficient (r * 2^k) mod q0, in coefficient (not NTT) form'

export const PACKED_DECRYPT =
  "write SEAL's uncompressed Ciphertext (113 + 16N bytes): SEAL header (magic 0xA15E, 16, 4, 1, compr_mode 0, reserved 0, size u64 = 113 + 16N) | " +
  "parms id of the chain's last level (4 x u64, SEALContext.lastParmsId()) | NTT flag u8 0 | size u64 2 | N u64 | primes u64 1 | scale f64 (the section's) | correction factor u64 1 | " +
  'SEAL header of the coefficient array (as above, size = 24 + 16N) | count u64 2N | the 2N coefficient values as u64 LE; ' +
  'then Ciphertext.loadFromArray, Evaluator.cipherTransformToNttInplace, Decryptor.decrypt, CKKSEncoder.decodeFloat64'

type PublicGeometry = { input: InputSpec; layers: LayerGeometry[]; he: HeParams }

/** The client description of a model, from its public geometry and HE parameters only. */
export function clientSpec(model: PublicGeometry, plan: EvaluationPlan = derivePlan(model)): ClientSpec {
  const g = firstConvGeometry(model)
  const { outH, outW, positions, taps } = convShape(g)
  const { mean, std, channels, preprocess } = model.input
  const { input } = plan
  const common = {
    ciphertexts: input.ciphertexts,
    height: g.inputHeight,
    width: g.inputWidth,
    fill: 0 as const,
  }
  let layout: ClientInputLayout
  if (input.packing === 'image') {
    const area = g.inputHeight * g.inputWidth
    layout = {
      packing: 'image',
      ...common,
      elements: input.copies * area,
      blocks: input.copies,
      blockSize: area,
      blocksPerCiphertext: input.copies,
      copies: input.copies,
      rule: IMAGE_RULE,
    }
  } else {
    layout = {
      packing: 'patches',
      ...common,
      elements: taps * positions,
      blocks: taps,
      blockSize: positions,
      blocksPerCiphertext: input.copies,
      kernel: g.kernel,
      stride: g.stride,
      padding: g.padding,
      outHeight: outH,
      outWidth: outW,
      taps,
      positions,
      channels,
      padValue: 0,
      rule: PATCHES_RULE,
    }
  }
  const N = model.he.polyModulusDegree
  const dataPrimes = model.he.coeffModulusBits.length - 1
  const top = ciphertextSizes(N, dataPrimes)
  const steps = [...plan.rotationSteps]
  const tables = keyTables(N, steps)
  const primeBits = [...model.he.coeffModulusBits]
  const packed = (t: (typeof tables)['relin']) => ({
    kind: t.kind,
    tableEntries: t.entries,
    tableIndices: [...t.filled],
    bytes: packedKeySetSize(N, primeBits, t.filled.length),
  })
  return {
    format: CLIENT_SPEC_FORMAT,
    he: { ...model.he, coeffModulusBits: [...model.he.coeffModulusBits] },
    container: {
      magic: 'BLFD',
      version: WIRE_FORMAT_VERSION,
      header: "8 bytes: 'BLFD' (42 4C 46 44) | version u8 | kind u8 | section count u16 LE",
      section: 'length u32 LE | that many bytes (one SEAL object); nothing after the last section',
    },
    sealObject: {
      header: 'magic u16 LE 0xA15E | header size u8 16 | version major u8 4 | minor u8 | compr_mode u8 | reserved u16 0 | total size u64 LE (header included) = section length',
      magic: SEAL_MAGIC,
      headerSize: SEAL_HEADER_SIZE,
      versionMajor: SEAL_VERSION_MAJOR,
      compression: [ComprMode.none, ComprMode.zstd],
      seededAllowed: true,
    },
    normalisation: {
      formula: NORMALISATION_FORMULA,
      mean: [...mean],
      std: [...std],
      preprocess,
      ...(preprocess === 'ink-on-background' ? { frame: { ...(model.input.frame ?? DEFAULT_FRAME) } } : {}),
      steps: preprocessSteps(model.input),
      height: model.input.height,
      width: model.input.width,
      channels,
      pixelOrder: 'row-major, channels last',
    },
    encoding: { scheme: 'ckks', slots: plan.slots, scaleBits: model.he.scaleBits, scale: 2 ** model.he.scaleBits },
    input: layout,
    keys: {
      containerKind: ContainerKind.evaluationKeys,
      sections: [
        { section: 0, sealObject: 'RelinKeys', make: 'KeyGenerator.createRelinKeysSerializable() or createRelinKeys()', packed: packed(tables.relin) },
        {
          section: 1,
          sealObject: 'GaloisKeys',
          make: 'KeyGenerator.createGaloisKeysSerializableWithSteps(Int32Array.from(rotationSteps)) or createGaloisKeysWithSteps(...)',
          rotationSteps: steps,
          galoisElements: steps.map((s) => galoisElement(s, N)),
          packed: packed(tables.galois),
        },
      ],
      packedLayout: PACKED_KEYS_LAYOUT,
      primeBits,
    },
    request: {
      containerKind: ContainerKind.request,
      sections: input.ciphertexts,
      sealObject: 'Ciphertext',
      dataPrimes,
      polynomials: 2,
      scale: 2 ** model.he.scaleBits,
      uncompressedBytes: top,
      packed: { layout: PACKED_REQUEST_LAYOUT, primeBits: primeBits.slice(0, -1), bytes: packedRequestSize(N, primeBits.slice(0, -1)) },
    },
    response: {
      containerKind: ContainerKind.response,
      sections: plan.outputCiphertexts,
      packed: packedDescription(model.he),
      logits: { ciphertext: [...plan.outputCts], slot: [...plan.outputSlots] },
    },
    depth: plan.depth,
  }
}

function packedDescription(he: HeParams): ClientPackedCiphertext {
  const N = he.polyModulusDegree
  const modulusBits = he.coeffModulusBits[0]
  const droppedBits = packedDroppedBits(2 ** he.scaleBits, N, modulusBits)
  // SEAL's q0 lies just below 2^modulusBits: q0 - 1 + 2^(k-1) < 2^modulusBits for every k the server uses
  const bitsPerCoefficient = modulusBits - droppedBits
  return {
    layout: PACKED_LAYOUT,
    headerBytes: PACKED_HEADER_BYTES,
    polynomials: 2,
    modulusBits,
    polyModulusDegree: N,
    droppedBits,
    bitsPerCoefficient,
    precisionBits: PRECISION_BITS,
    bytes: packedBytes(N, bitsPerCoefficient),
    maxBytes: packedBytes(N, modulusBits),
    decrypt: PACKED_DECRYPT,
  }
}

/**
 * Expands the published input rule: (ciphertext, slot) of every logical
 * element, element i being offset i mod blockSize of block floor(i / blockSize).
 * A client in another language does the same few lines.
 */
export function expandInputRule(layout: ClientInputLayout): { ct: Int32Array; slot: Int32Array } {
  const ct = new Int32Array(layout.elements)
  const slot = new Int32Array(layout.elements)
  for (let b = 0; b < layout.blocks; b++) {
    const c = Math.floor(b / layout.blocksPerCiphertext)
    const base = (b % layout.blocksPerCiphertext) * layout.blockSize
    for (let o = 0; o < layout.blockSize; o++) {
      ct[b * layout.blockSize + o] = c
      slot[b * layout.blockSize + o] = base + o
    }
  }
  return { ct, slot }
}

/** The normalised value of every logical element under the published rule. */
export function inputValues(layout: ClientInputLayout, normalised: ArrayLike<number>): Float64Array {
  const { height, width } = layout
  const channels = layout.packing === 'patches' ? layout.channels : 1
  if (normalised.length !== height * width * channels) throw new Error(`client spec: ${normalised.length} values, expected ${height * width * channels}`)
  const out = new Float64Array(layout.elements)
  if (layout.packing === 'image') {
    for (let b = 0; b < layout.blocks; b++) for (let o = 0; o < layout.blockSize; o++) out[b * layout.blockSize + o] = normalised[o]
    return out
  }
  for (let ky = 0; ky < layout.kernel; ky++) {
    for (let kx = 0; kx < layout.kernel; kx++) {
      for (let c = 0; c < channels; c++) {
        const b = (ky * layout.kernel + kx) * channels + c
        for (let oy = 0; oy < layout.outHeight; oy++) {
          for (let ox = 0; ox < layout.outWidth; ox++) {
            const y = oy * layout.stride + ky - layout.padding
            const x = ox * layout.stride + kx - layout.padding
            const inside = y >= 0 && y < height && x >= 0 && x < width
            out[b * layout.blockSize + oy * layout.outWidth + ox] = inside ? normalised[(y * width + x) * channels + c] : layout.padValue
          }
        }
      }
    }
  }
  return out
}

/** The vectors to encode, one per input ciphertext, each `slots` long. */
export function layoutInput(spec: Pick<ClientSpec, 'input' | 'encoding'>, normalised: ArrayLike<number>): Float64Array[] {
  const { ct, slot } = expandInputRule(spec.input)
  const values = inputValues(spec.input, normalised)
  const vectors = Array.from({ length: spec.input.ciphertexts }, () => new Float64Array(spec.encoding.slots))
  for (let i = 0; i < values.length; i++) vectors[ct[i]][slot[i]] = values[i]
  return vectors
}
