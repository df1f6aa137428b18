/**
 * Checks on the binary bodies made in the main thread, before any SEAL code runs (the route
 * schemas check parameters and headers; a container's bytes are beyond a JSON schema):
 * container magic/version/kind/section count (src/he/wire.ts), the SEAL
 * header of every section and the structure of its zstd frame, whose declared
 * size is bounded (src/he/seal-header.ts, src/he/bounded-inflate.ts), or the
 * header of a packed key set or input ciphertext (src/he/packed-keys.ts,
 * src/he/packed-request.ts). A
 * section declaring more than it may inflate to is refused here, without
 * decoding a byte. In a worker, the evaluator then inflates each section in JS
 * to exactly the size its plan expects, and SEAL's loader and the level,
 * scale, size and step checks follow.
 */
import type { HeParams } from '../../src/model/manifest'
import { ContainerKind, unpack } from '../../src/he/wire'
import { checkSealSectionBounded } from '../../src/he/seal-header'
import { checkPackedKeySetBounded, isPackedKeySet } from '../../src/he/packed-keys'
import { checkPackedRequestBounded, isPackedRequest } from '../../src/he/packed-request'
import { ciphertextSizes } from '../../src/he/object-sizes'
import { HttpError } from '../http/http-error'

/**
 * Key sections: their exact sizes depend on the Galois elements and are
 * measured in the worker; here a bound well above any model's unseeded Galois
 * keys refuses the bombs cheaply.
 */
export const MAX_KEY_SECTION_BYTES = 256 * 1024 * 1024

function nonEmpty(body: unknown): Uint8Array {
  if (body === undefined || body === null || (body instanceof Uint8Array && body.byteLength === 0)) {
    throw new HttpError(400, 'empty_body', 'the request body is empty')
  }
  if (!(body instanceof Uint8Array)) throw new HttpError(415, 'unsupported_media_type', 'expected an application/octet-stream body')
  return body
}

/** An evaluation-keys container: relinearisation keys then Galois keys. */
export function checkKeysBody(body: unknown): Uint8Array {
  const bytes = nonEmpty(body)
  const [relin, galois] = unpack(bytes, ContainerKind.evaluationKeys, 2)
  for (const [section, what] of [[relin, 'relinearisation keys'], [galois, 'Galois keys']] as const) {
    if (isPackedKeySet(section)) checkPackedKeySetBounded(section, MAX_KEY_SECTION_BYTES, what)
    else checkSealSectionBounded(section, MAX_KEY_SECTION_BYTES, what)
  }
  return bytes
}

/** A request container with the model's number of input ciphertexts, each no larger than a fresh ciphertext of its parameters. */
export function checkRequestBody(body: unknown, ciphertexts: number, he: HeParams): Uint8Array {
  const bytes = nonEmpty(body)
  const max = ciphertextSizes(he.polyModulusDegree, he.coeffModulusBits.length - 1).full
  unpack(bytes, ContainerKind.request, ciphertexts).forEach((s, i) => {
    if (isPackedRequest(s)) checkPackedRequestBounded(s, max, `ciphertext ${i}`)
    else checkSealSectionBounded(s, max, `ciphertext ${i}`)
  })
  return bytes
}
