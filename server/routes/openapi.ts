// A hand-written OpenAPI 3.1 description of the API, served as JSON.
import type { FastifyInstance } from 'fastify'
import { API_PREFIX, BINARY, headers, REQUEST_ID_PATTERN } from '../../src/api/wire'
import { PACKED_DECRYPT, PACKED_LAYOUT } from '../../src/he/client-spec'

const error = { $ref: '#/components/schemas/ApiError' }
const retryAfter = { 'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'string' } } }
/** What each status means across the API (server/README.md has the full code table). */
const ERROR_CODES: Record<number, string> = {
  400: 'bad_request (also a malformed x-blindfold-request-id), bad_url, empty_body, or an engine code (bad_container, wrong_level, ...)',
  404: 'unknown_session, unknown_model, unknown_job or not_found',
  409: 'cancelled (DELETE on the job, while this POST was open) or request_id_in_use (this session has a live classification under that x-blindfold-request-id)',
  413: 'body_too_large (above the route limit, or a body where the route takes none)',
  414: 'uri_too_long (a path parameter longer than any valid one)',
  415: 'unsupported_media_type (the body is not application/octet-stream)',
  429: 'rate_limited (cost-weighted, per client) or query_budget_exhausted; Retry-After when waiting helps',
  500: 'worker_crashed, internal or model_mismatch',
  503: 'overloaded, sessions_full, not_ready, or store_unavailable (distributed mode: Redis unreachable); Retry-After',
  504: 'timeout',
}
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: `ApiError: ${ERROR_CODES[c]}`, content: { 'application/json': { schema: error } }, ...(c === 429 || c === 503 ? { headers: retryAfter } : {}) },
    ]),
  )

/** The container every binary body is (server/README.md, "Wire format", says the same in more words). */
const CONTAINER =
  "Bytes: 'BLFD' (42 4C 46 44) | format version u8 (2) | kind u8 (1 keys, 2 request, 3 response) | section count u16 LE, " +
  'then per section a length u32 LE and that many bytes, nothing after the last. In keys and requests each section is one SEAL 4.x object as save() writes it: ' +
  'a 16-byte header (magic u16 LE 0xA15E | header size u8 16 | major u8 4 | minor u8 | compr_mode u8: 0 none or 2 zstd | reserved u16 0 | ' +
  'total size u64 LE = the section length) and its body; a zstd body is exactly one frame that declares its content size (node-seal saveToArray(zstd) does), ' +
  'which the server inflates itself to exactly the size the model expects. '
const binaryBody = (schema: string, description: string) => ({
  description,
  content: { [BINARY]: { schema: { $ref: `#/components/schemas/${schema}` } } },
})
const int = { type: 'integer', minimum: 0 } as const
const ints = { type: 'array', items: int } as const
const num = { type: 'number' } as const
const nums = { type: 'array', items: num } as const
const str = { type: 'string' } as const
const obj = (properties: Record<string, unknown>, description?: string, optional: string[] = []) => ({
  type: 'object',
  ...(description ? { description } : {}),
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
})
const requestIdSchema = { type: 'string', pattern: REQUEST_ID_PATTERN.source } as const
const sessionParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } } as const
const requestIdParam = {
  name: 'requestId',
  in: 'path',
  required: true,
  description: `the ${headers.requestId} the classification was sent with`,
  schema: requestIdSchema,
} as const
const inputCommon = {
  ciphertexts: { ...int, description: 'input ciphertexts in a request' },
  elements: { ...int, description: 'logical elements = blocks * blockSize; element i is offset i mod blockSize of block floor(i / blockSize)' },
  blocks: int,
  blockSize: int,
  blocksPerCiphertext: int,
  height: int,
  width: int,
  fill: { const: 0, description: 'value of every slot no block covers' },
  rule: { ...str, description: 'the rule in words' },
}

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'Blindfold inference API',
    version: '1.0.0',
    description:
      'Classify CKKS-encrypted images. Bodies are Blindfold wire containers (BLFD | version | kind | sections of SEAL objects): ' +
      'the exact bytes are in the schemas EvaluationKeysContainer, RequestContainer and ResponseContainer, and each model of GET /models carries ' +
      '`client` (schema ClientDescription): normalisation, input slot layout, scale, key sections and logit slots, enough to build a client for it. ' +
      'The server never holds a secret key; every error body is { error: { code, message } } and no API answer may be cached (Cache-Control: no-store). ' +
      'Only the two binary routes take a body; a body anywhere else is refused (413, or 404 off any route) without being read. ' +
      'Requests draw on a per-client rate-limit budget by cost (a key upload and a classification cost more than a GET); ' +
      'each client holds a bounded number of sessions (a new one replaces its own least recently used), and a full server refuses new sessions (503 sessions_full).',
  },
  paths: {
    [`${API_PREFIX}/models`]: {
      get: {
        summary: 'Public model descriptions (geometry, classes, HE parameters, rotation steps) and, per model, `client`: the machine-readable description a client is built from (normalisation, input slot rule, scale, key sections, logit slots). No weight.',
        responses: { '200': { description: 'models', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelsResponse' } } } }, ...errors(413, 429) },
      },
    },
    [`${API_PREFIX}/sessions`]: {
      post: {
        summary: 'Upload evaluation keys (relinearisation + Galois), validated before the session exists',
        parameters: [{ name: 'model', in: 'query', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          ...binaryBody('EvaluationKeysContainer', 'evaluation-keys container (kind 1), at most MAX_KEYS_BYTES (16 MB by default, raised to the bound of the largest served model)'),
        },
        responses: {
          '201': { description: 'session', content: { 'application/json': { schema: { $ref: '#/components/schemas/SessionCreated' } } } },
          ...errors(400, 404, 413, 415, 429, 500, 503, 504),
        },
      },
    },
    [`${API_PREFIX}/sessions/{id}/classify`]: {
      post: {
        summary:
          'Evaluate the model on one encrypted image (counts against the query budgets, if the server sets any). ' +
          `With ${headers.requestId}, its progress can be read and the job cancelled at /sessions/{id}/jobs/{requestId} while this POST is open. ` +
          'Closing the connection before the answer cancels the job too (with or without a request id). A cancelled classification is not counted.',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          {
            name: headers.requestId,
            in: 'header',
            required: false,
            description: 'an id of the client\'s choosing (a random UUID fits); unique among this session\'s live classifications (else 409 request_id_in_use), malformed: 400 bad_request',
            schema: requestIdSchema,
          },
        ],
        requestBody: { required: true, ...binaryBody('RequestContainer', 'request container (kind 2), at most MAX_REQUEST_BYTES (400 KB by default, raised to the bound of the largest served model)') },
        responses: {
          '200': {
            ...binaryBody('ResponseContainer', 'response container (kind 3): encrypted logits'),
            headers: {
              [headers.serverMs]: { description: 'server evaluation time, ms', schema: { type: 'string' } },
              [headers.serverWorkers]: { description: 'worker threads that shared this image (more than 1 when the image was shared by idle workers: SPLIT_IMAGES=auto on an idle server)', schema: { type: 'string' } },
            },
          },
          ...errors(400, 404, 409, 413, 414, 415, 429, 500, 503, 504),
        },
      },
    },
    [`${API_PREFIX}/sessions/{id}/jobs/{requestId}`]: {
      get: {
        summary:
          'Progress of a classification sent with this request id: queued (and its queue position), running (stages done, the stage running now), ' +
          'then how it ended, for 60 s after its POST ended. Meant to be polled (every ~250 ms); costs 1 rate-limit point like any GET and does not extend the session.',
        parameters: [sessionParam, requestIdParam],
        responses: {
          '200': { description: 'progress', content: { 'application/json': { schema: { $ref: '#/components/schemas/JobProgress' } } } },
          ...errors(400, 404, 413, 414, 429),
        },
      },
      delete: {
        summary:
          'Cancel the classification: a queued job leaves the queue, a running one stops at its worker\'s next check; its POST answers 409 cancelled ' +
          'and the query is given back. A job that already ended stays as it ended (204 all the same).',
        parameters: [sessionParam, requestIdParam],
        responses: { '204': { description: 'cancelled (or already ended)' }, ...errors(400, 404, 413, 414, 429) },
      },
    },
    [`${API_PREFIX}/sessions/{id}`]: {
      delete: {
        summary: 'Forget a session and its keys at once',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'deleted' }, ...errors(400, 404, 413, 414, 429) },
      },
    },
    '/healthz': { get: { summary: 'Liveness (not rate-limited)', responses: { '200': { description: 'ok' } } } },
    '/readyz': {
      get: {
        summary: 'Readiness only (no counts): 503 until the workers have loaded the models; not rate-limited',
        responses: {
          '200': { description: 'ready', content: { 'application/json': { schema: { type: 'object', required: ['ready'], properties: { ready: { const: true } } } } } },
          '503': { description: 'not ready: { ready: false, error: { code: not_ready, message } }' },
        },
      },
    },
  },
  components: {
    schemas: {
      ApiError: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
      },
      SessionCreated: {
        type: 'object',
        required: ['sessionId', 'model', 'expiresAt'],
        properties: { sessionId: { type: 'string' }, model: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
      },
      ModelsResponse: { type: 'object', required: ['models'], properties: { models: { type: 'array', items: { $ref: '#/components/schemas/ServedModel' } } } },
      ServedModel: {
        description: 'A public model description with what it costs on this server',
        allOf: [{ $ref: '#/components/schemas/PublicModel' }, { type: 'object', required: ['cost'], properties: { cost: { $ref: '#/components/schemas/ModelCost' } } }],
      },
      ModelCost: obj(
        {
          evaluationKeyBytes: {
            type: ['integer', 'null'],
            minimum: 0,
            description:
              'bytes of one evaluation-key upload: the median of the last 50 this server accepted for the model; before the first, the exact size of a seeded, uncompressed key set (zstd uploads are smaller); null only before the workers have loaded the model',
          },
          requestBytes: {
            type: ['integer', 'null'],
            minimum: 0,
            description: 'bytes of one classification request: the median of the last 50 accepted; before the first, the exact size of a seeded, uncompressed request',
          },
          responseBytes: {
            type: ['integer', 'null'],
            minimum: 0,
            description: 'bytes of one answer: the median of the last 50 sent; before the first, the exact uncompressed size (answers are zstd)',
          },
          serverMs: {
            oneOf: [{ type: 'null' }, obj({ median: { ...num, minimum: 0 }, samples: { ...int, minimum: 1 } })],
            description: 'worker time of one image, ms: the median of the last 50 classifications of this model on this server and how many that is; null before the first',
          },
          measured: {
            ...obj({ evaluationKeys: { type: 'boolean' }, request: { type: 'boolean' }, response: { type: 'boolean' } }),
            description: 'per byte size: true when it is the median of what this server saw, false while it is the plan\'s uncompressed upper bound',
          },
        },
        'What a model costs on this server, measured (byte sizes fall back to the plan\'s exact uncompressed sizes until measured)',
      ),
      JobProgress: obj(
        {
          requestId: requestIdSchema,
          state: {
            enum: ['queued', 'running', 'done', 'failed', 'cancelled'],
            description: 'queued: waiting for a worker (or its body still arriving); running: on a worker; done / failed: its POST was answered; cancelled: by DELETE or by the client closing its POST',
          },
          queuePosition: { ...int, description: 'while queued in the pool: jobs ahead of it (absent while its body is still arriving)' },
          done: { ...int, description: 'stages of the plan finished on this image (linear layer runs and activations), as the worker reports them; = total once done' },
          total: { ...int, description: 'stages of the plan' },
          stage: { ...str, description: 'while running: the stage running now, e.g. conv1, poly1, pool1+dense1' },
        },
        'One classification as the server sees it',
        ['queuePosition', 'stage'],
      ),
      PublicModel: obj(
        {
          name: str,
          version: str,
          description: str,
          classes: { type: 'array', items: str, description: 'class o is logit o' },
          input: obj(
            { height: int, width: int, channels: { enum: [1, 3] }, mean: nums, std: nums, preprocess: { enum: ['ink-on-background', 'photo'] } },
            'the network sees (pixel[c]/255 - mean[c])/std[c], pixels HWC; preprocess names what the browser does first',
          ),
          layers: { type: 'array', items: { $ref: '#/components/schemas/LayerGeometry' } },
          he: { $ref: '#/components/schemas/HeParams' },
          plan: obj({ rotationSteps: ints }),
          client: { $ref: '#/components/schemas/ClientDescription' },
          contentHash: { ...str, description: 'sha256 over the private manifest and the model file (identifies the model; reveals nothing of it)' },
        },
        'What any client may see of a model: geometry, classes, HE parameters and the client description; never a weight.',
      ),
      HeParams: obj(
        {
          scheme: { const: 'ckks' },
          polyModulusDegree: { enum: [4096, 8192, 16384, 32768] },
          coeffModulusBits: { ...ints, description: 'bit sizes of the primes, special (key-switching) prime last: CoeffModulus.Create(N, bits)' },
          scaleBits: int,
          securityLevel: { const: 'tc128', description: 'SEALContext(parms, true, sec_level_type.tc128)' },
        },
        'CKKS parameters: EncryptionParameters(ckks), setPolyModulusDegree, setCoeffModulus',
      ),
      LayerGeometry: {
        oneOf: [
          obj(
            { type: { const: 'conv2d' }, kernel: int, stride: int, padding: int, filters: int, packing: { enum: ['image', 'patches'] } },
            'zero padding in normalised space; packing (first layer only) decides the client input layout (default patches)',
            ['packing'],
          ),
          obj(
            { type: { const: 'avgpool2d' }, size: int, stagger: { type: 'boolean' } },
            'window = stride = size, folded into the next linear layer. stagger (default false): channel c\'s windows start q = c mod size^2 cells in, at (q div size, q mod size), reading zeros past the bottom and right edges; the server may then sum size^2 conv ciphertexts into one (rotations the plan\'s keys cover)',
            ['stagger'],
          ),
          obj({ type: { const: 'square' } }),
          obj({ type: { const: 'poly' } }, 'a*x^2 + b*x + c per channel; the coefficients are trained, so not published; one level, like square'),
          obj({ type: { const: 'dense' }, units: int }, 'inputs in HWC order'),
          obj({ type: { const: 'bilinear' }, units: int }, 'last layer only, after a dense layer of 2 x units x K outputs x: logit i = sum over k < K of x[i + units*k] * x[half + i + units*k]; no weights; one level (a ciphertext product)'),
        ],
      },
      ClientDescription: obj(
        {
          format: { const: 'blindfold-client/3' },
          container: obj({ magic: { const: 'BLFD' }, version: int, header: str, section: str }, 'the binary container; see EvaluationKeysContainer'),
          sealObject: obj(
            {
              header: str,
              magic: { const: 0xa15e },
              headerSize: { const: 16 },
              versionMajor: { const: 4 },
              compression: { ...ints, description: 'SEAL compr_mode values the server accepts: 0 none, 2 zstd (with a declared content size)' },
              seededAllowed: { const: true, description: 'seeded objects (encryptSymmetricSerializable, create*Serializable) as well as ordinary ones' },
            },
            'each section: one SEAL object as save()/saveToArray() writes it',
          ),
          normalisation: obj(
            {
              formula: { const: '(pixel[c]/255 - mean[c])/std[c]' },
              mean: { ...nums, description: 'per channel' },
              std: { ...nums, description: 'per channel' },
              preprocess: { enum: ['ink-on-background', 'photo'], description: 'what the browser does to a picture first (docs/model-format.md)' },
              height: int,
              width: int,
              channels: { enum: [1, 3] },
              pixelOrder: { const: 'row-major, channels last', description: 'value c of pixel (y, x) is element (y*width + x)*channels + c' },
            },
            'how an 8-bit image (grey or RGB) becomes the values the client encodes',
          ),
          encoding: obj(
            {
              scheme: { const: 'ckks' },
              slots: { ...int, description: 'polyModulusDegree / 2: each input ciphertext encodes this many values' },
              scaleBits: int,
              scale: { ...num, description: '2^scaleBits: CKKSEncoder.encode(values, scale); the server refuses any other scale' },
            },
          ),
          input: {
            description:
              'Where each input value goes: block b lies in ciphertext floor(b / blocksPerCiphertext) at slots (b mod blocksPerCiphertext)*blockSize + offset; every other slot is 0. ' +
              "'image': every block is the normalised image, row-major (offset y*width + x), repeated copies (= blocks) times. " +
              "'patches': im2col, tap-major: block b = (ky*kernel + kx)*channels + c, offset oy*outWidth + ox holds channel c of pixel (oy*stride + ky - padding, ox*stride + kx - padding), padValue (0) outside the image.",
            oneOf: [
              obj({ packing: { const: 'image' }, ...inputCommon, copies: int }),
              obj({
                packing: { const: 'patches' },
                ...inputCommon,
                kernel: int,
                stride: int,
                padding: int,
                outHeight: int,
                outWidth: int,
                taps: int,
                positions: int,
                channels: { enum: [1, 3] },
                padValue: { const: 0, description: 'normalised value outside the image: zero padding' },
              }),
            ],
          },
          keys: obj(
            {
              containerKind: { const: 1 },
              sections: {
                type: 'array',
                description: 'the evaluation-keys container holds exactly these sections in this order: RelinKeys, then GaloisKeys for exactly rotationSteps',
                items: obj(
                  {
                    section: int,
                    sealObject: { enum: ['RelinKeys', 'GaloisKeys'] },
                    make: str,
                    rotationSteps: { ...ints, description: 'GaloisKeys only: exactly these left-rotation steps, no other' },
                    galoisElements: { ...ints, description: "GaloisKeys only: SEAL's Galois element of each step" },
                  },
                  undefined,
                  ['rotationSteps', 'galoisElements'],
                ),
              },
            },
          ),
          request: obj(
            {
              containerKind: { const: 2 },
              sections: { ...int, description: '= input.ciphertexts; section c is input ciphertext c' },
              sealObject: { const: 'Ciphertext' },
              dataPrimes: { ...int, description: 'fresh encryption at the top level: every prime but the special one' },
              polynomials: { const: 2 },
              scale: num,
              uncompressedBytes: obj({ seeded: int, full: int }, 'the exact SEAL object sizes (header included) a section must inflate to'),
            },
          ),
          response: obj(
            {
              containerKind: { const: 3 },
              sections: { ...int, description: 'output ciphertexts; section c is output ciphertext c' },
              packed: obj(
                {
                  layout: { const: PACKED_LAYOUT },
                  headerBytes: { const: 12 },
                  polynomials: { const: 2 },
                  modulusBits: { ...int, description: "bits of q0, the first prime of SEAL's CoeffModulus.Create(polyModulusDegree, coeffModulusBits): the one modulus left at the last level" },
                  polyModulusDegree: int,
                  droppedBits: { ...int, description: "k this model's responses use; any k is valid with b = bitLength((q0 - 1 + 2^(k-1)) >> k), the header says which" },
                  bitsPerCoefficient: int,
                  precisionBits: { ...int, description: 'the rounding adds noise of standard deviation below about 2^-precisionBits per logit' },
                  bytes: { ...int, description: 'one section as the server writes it for this model' },
                  maxBytes: { ...int, description: 'the most a valid section takes (k = 0): read no more' },
                  decrypt: { const: PACKED_DECRYPT },
                },
                'each section is a packed ciphertext (not a SEAL object): the ciphertext at the last level in coefficient form, every coefficient rounded to a multiple of 2^k',
              ),
              logits: obj(
                { ciphertext: ints, slot: ints },
                'logit o (class classes[o]) is slot slot[o] of the decrypted, decoded output ciphertext ciphertext[o]',
              ),
            },
          ),
          depth: { ...int, description: 'rescales the server performs' },
        },
        'Everything a client needs, as data, computed from the public geometry and HE parameters (src/he/client-spec.ts); no weight and no weight-derived number.',
      ),
      EvaluationKeysContainer: {
        type: 'string',
        contentMediaType: BINARY,
        description:
          CONTAINER +
          'Kind 1, two sections in this order: RelinKeys (KeyGenerator.createRelinKeys[Serializable]), then GaloisKeys for exactly the model\'s client.keys rotation steps ' +
          '(createGaloisKeys[Serializable]WithSteps). Seeded (…Serializable) or not; zstd or uncompressed.',
      },
      RequestContainer: {
        type: 'string',
        contentMediaType: BINARY,
        description:
          CONTAINER +
          'Kind 2, client.request.sections sections: input ciphertext c in section c, each fresh at the top level and at scale 2^scaleBits, ' +
          'laid out by client.input. Seeded symmetric (Encryptor.encryptSymmetricSerializable) or ordinary ciphertexts (encrypt / encryptSymmetric).',
      },
      ResponseContainer: {
        type: 'string',
        contentMediaType: BINARY,
        description:
          CONTAINER +
          "Kind 3, client.response.sections packed ciphertexts (not SEAL objects; the container's words about sections apply to kinds 1 and 2): " +
          'each the output ciphertext at the last level, in coefficient form, every coefficient rounded to a multiple of 2^k. Layout: ' +
          PACKED_LAYOUT +
          '. To decrypt: ' +
          PACKED_DECRYPT +
          '. Then read logit o at client.response.logits (ciphertext[o], slot[o]). client.response.packed gives k, b and the sizes for the model.',
      },
    },
  },
} as const

export async function openapiRoutes(app: FastifyInstance): Promise<void> {
  app.get(`${API_PREFIX}/openapi.json`, async () => openapi)
}
