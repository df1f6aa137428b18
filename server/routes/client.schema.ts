/**
 * The schema of `client`, the client description each model carries in GET /api/v1/models
 * (built by src/he/client-spec.ts): everything a client needs, as data.
 */
import { Type } from '@sinclair/typebox'
import type { ClientSpec } from '../../src/he/client-spec'
import type { HeParams } from '../../src/model/manifest'
import type { Equal } from './type-equal'

export const HeParamsSchema = Type.Object(
  {
    scheme: Type.Literal('ckks'),
    polyModulusDegree: Type.Integer({ description: 'N, a power of two; slots = N / 2' }),
    coeffModulusBits: Type.Array(Type.Integer(), { description: "bit sizes of the primes, special (key-switching) prime last: SEAL's CoeffModulus.Create(N, coeffModulusBits)" }),
    scaleBits: Type.Integer({ description: 'inputs are encoded at scale 2^scaleBits' }),
    securityLevel: Type.Literal('tc128', { description: 'SEALContext(parms, true, sec_level_type.tc128)' }),
  },
  { $id: 'HeParams', description: 'CKKS parameters: EncryptionParameters(ckks), setPolyModulusDegree, setCoeffModulus' },
)
export const typeCheckHeParams: Equal<typeof HeParamsSchema.static, HeParams> = true

export const FrameSchema = Type.Object(
  {
    fit: Type.Integer({ minimum: 1, description: 'longest side of the object once fitted, in pixels' }),
    centre: Type.Union([Type.Literal('mass'), Type.Literal('box')], {
      description: "'mass': the ink's centre of mass lands on the frame's centre; 'box': the object's bounding box is centred",
    }),
  },
  { $id: 'Frame', description: "How an 'ink-on-background' model's data set framed its object: fitted to `fit` pixels, then centred" },
)

const int = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) })
const ints = (description?: string) => Type.Array(Type.Integer({ minimum: 0 }), description ? { description } : {})
const channels = Type.Union([Type.Literal(1), Type.Literal(3)])

const inputCommon = {
  ciphertexts: int('input ciphertexts in a request'),
  elements: int('logical elements = blocks x blockSize; element i is offset i mod blockSize of block floor(i / blockSize)'),
  blocks: int(),
  blockSize: int(),
  blocksPerCiphertext: int('block b lies in ciphertext floor(b / blocksPerCiphertext) at slots (b mod blocksPerCiphertext) x blockSize + offset'),
  height: int('height of the image the blocks are made of'),
  width: int('width of the image the blocks are made of'),
  fill: Type.Literal(0, { description: 'the value of every slot no block covers' }),
  rule: Type.String({ description: 'the rule in words; the numbers are the fields beside it' }),
}

const ImageLayout = Type.Object(
  { packing: Type.Literal('image'), ...inputCommon, copies: int('blocks: the normalised image (one channel), row-major (offset y*width + x), repeated copies times') },
  { description: "'image': every block is the whole normalised image" },
)

const PatchesLayout = Type.Object(
  {
    packing: Type.Literal('patches'),
    ...inputCommon,
    kernel: int(),
    stride: int(),
    padding: int(),
    outHeight: int(),
    outWidth: int(),
    taps: int('kernel^2 x channels = blocks'),
    positions: int('outHeight x outWidth = blockSize'),
    channels,
    padValue: Type.Literal(0, { description: 'the normalised value of a tap outside the image: zero padding' }),
  },
  {
    description:
      "'patches': im2col of the first convolution, tap-major: block b = (ky*kernel + kx)*channels + c, offset oy*outWidth + ox holds channel c of the normalised pixel (oy*stride + ky - padding, ox*stride + kx - padding), padValue outside the image",
  },
)

const KeySection = Type.Object({
  section: int(),
  sealObject: Type.Union([Type.Literal('RelinKeys'), Type.Literal('GaloisKeys')]),
  make: Type.String({ description: 'the node-seal calls that make it (seeded or not; seeded is half the size)' }),
  rotationSteps: Type.Optional(Type.Array(Type.Integer(), { description: 'GaloisKeys only: exactly these left-rotation steps, no other' })),
  galoisElements: Type.Optional(ints("GaloisKeys only: SEAL's Galois element of each step (3^step mod 2N; 2N - 1 for none)")),
  packed: Type.Object(
    {
      kind: int('the key set byte of the packed section: 1 relinearisation, 2 Galois'),
      tableEntries: int("the length of SEAL's key table: 1 for relinearisation keys, N for Galois keys"),
      tableIndices: ints('the filled table entries, ascending: 0, or (Galois element >> 1) for each distinct element'),
      bytes: int('the packed section of this model, exactly'),
    },
    { description: 'the same keys as a packed key set (keys.packedLayout): seeds and coefficients only, each coefficient in its prime\'s bits' },
  ),
})

const PackedCiphertext = Type.Object(
  {
    layout: Type.String({ description: 'the bytes of one section' }),
    headerBytes: int(),
    polynomials: Type.Literal(2),
    modulusBits: int("bits of q0, the first prime of SEAL's CoeffModulus.Create(polyModulusDegree, coeffModulusBits): the one modulus left at the last level"),
    polyModulusDegree: int(),
    droppedBits: int("k this model's responses use; the header carries it, and any k is valid with b = bitLength((q0 - 1 + 2^(k-1)) >> k)"),
    bitsPerCoefficient: int('b this model uses'),
    precisionBits: int('the rounding adds noise of standard deviation below about 2^-precisionBits per logit'),
    bytes: int('one section as the server writes it for this model'),
    maxBytes: int('the most any valid section takes (k = 0): read no more'),
    decrypt: Type.String({ description: 'the SEAL object to write from the coefficients, and the calls that decrypt it' }),
  },
  { description: 'each response section is a packed ciphertext (not a SEAL object): the output ciphertext at the last level in coefficient form, every coefficient rounded to a multiple of 2^k' },
)

export const ClientDescriptionSchema = Type.Object(
  {
    format: Type.Literal('blindfold-client/3'),
    he: Type.Ref(HeParamsSchema, { description: 'the CKKS parameters to make keys with: SEALContext(EncryptionParameters(ckks) with these, true, tc128); the same as the model\'s he' }),
    container: Type.Object(
      {
        magic: Type.Literal('BLFD'),
        version: int('the wire format version byte'),
        header: Type.String(),
        section: Type.String(),
      },
      { description: 'the binary container around every body' },
    ),
    sealObject: Type.Object(
      {
        header: Type.String(),
        magic: Type.Integer(),
        headerSize: int(),
        versionMajor: int(),
        compression: ints('SEAL compr_mode values accepted from clients: 0 none, 2 zstd (a zstd frame must declare its content size)'),
        seededAllowed: Type.Literal(true, { description: 'seeded objects (encryptSymmetricSerializable, create*Serializable) as well as ordinary ones' }),
      },
      { description: 'each key and request section: one SEAL object as save()/saveToArray() writes it' },
    ),
    normalisation: Type.Object(
      {
        formula: Type.Literal('(pixel[c]/255 - mean[c])/std[c]'),
        mean: Type.Array(Type.Number(), { description: 'per channel' }),
        std: Type.Array(Type.Number(), { description: 'per channel' }),
        preprocess: Type.Union([Type.Literal('ink-on-background'), Type.Literal('photo')], { description: 'what the client does to a picture first; steps says how' }),
        frame: Type.Optional(Type.Ref(FrameSchema, { description: "'ink-on-background' only, always given there: how the data set framed its object" })),
        steps: Type.Array(Type.String(), { description: 'from an RGBA picture to the 8-bit pixels the formula reads, in order, with every number' }),
        height: int(),
        width: int(),
        channels,
        pixelOrder: Type.Literal('row-major, channels last', { description: 'value c of pixel (y, x) is element (y*width + x)*channels + c' }),
      },
      { description: 'how an 8-bit image (grey or RGB) becomes the values the client encodes' },
    ),
    encoding: Type.Object({
      scheme: Type.Literal('ckks'),
      slots: int('polyModulusDegree / 2: each input ciphertext encodes this many values'),
      scaleBits: int(),
      scale: Type.Number({ description: '2^scaleBits: CKKSEncoder.encode(values, scale); the server refuses any other scale' }),
    }),
    input: Type.Union([ImageLayout, PatchesLayout], { description: 'where each input value goes' }),
    keys: Type.Object(
      {
        containerKind: int(),
        sections: Type.Array(KeySection),
        packedLayout: Type.String({ description: 'a key section is either one SEAL object (client.sealObject) or a packed key set laid out like this (docs/wire-format.md)' }),
        primeBits: ints('bits per coefficient of each key-level prime in a packed key set: coeffModulusBits, the special prime last'),
      },
      { description: 'the evaluation-keys container holds exactly these sections in this order: RelinKeys, then GaloisKeys for exactly rotationSteps' },
    ),
    request: Type.Object({
      containerKind: int(),
      sections: int('= input.ciphertexts; section c is input ciphertext c'),
      sealObject: Type.Literal('Ciphertext'),
      dataPrimes: int('fresh encryption at the top level: every prime but the special one'),
      polynomials: Type.Literal(2),
      scale: Type.Number(),
      uncompressedBytes: Type.Object({ seeded: int(), full: int() }, { description: 'the exact SEAL object sizes (header included) a section must inflate to' }),
      packed: Type.Object(
        {
          layout: Type.String({ description: 'a section is either one SEAL object (client.sealObject) or a packed ciphertext laid out like this (docs/wire-format.md)' }),
          primeBits: ints('bits per coefficient of each data prime: coeffModulusBits without the last'),
          bytes: int('a packed section of this model, exactly'),
        },
        { description: 'the same fresh seeded ciphertext as a packed section: its seed and coefficients only' },
      ),
    }),
    response: Type.Object({
      containerKind: int(),
      sections: int('output ciphertexts; section c is output ciphertext c'),
      packed: PackedCiphertext,
      logits: Type.Object(
        { ciphertext: ints(), slot: ints() },
        { description: 'logit o (class classes[o]) is slot slot[o] of the decrypted, decoded output ciphertext ciphertext[o]' },
      ),
    }),
    depth: int('rescales the server performs'),
  },
  {
    $id: 'ClientDescription',
    description: 'Everything a client needs, as data, computed from the public geometry and HE parameters; no weight and no weight-derived number',
  },
)
export const typeCheckClientDescription: Equal<typeof ClientDescriptionSchema.static, ClientSpec> = true
