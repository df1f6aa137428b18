/**
 * Checks on request bodies made in the main thread, before any SEAL code runs:
 * container magic/version/kind/section count (src/he/wire.ts) and the SEAL
 * header of every section (src/he/seal-header.ts). SEAL's own loader and the
 * evaluator's level/scale/size/step checks follow in a worker.
 */
import { ContainerKind, unpack } from '../src/he/wire'
import { checkSealSection } from '../src/he/seal-header'
import { HttpError } from './http-error'

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
  checkSealSection(relin, 'relinearisation keys')
  checkSealSection(galois, 'Galois keys')
  return bytes
}

/** A request container with the model's number of input ciphertexts. */
export function checkRequestBody(body: unknown, ciphertexts: number): Uint8Array {
  const bytes = nonEmpty(body)
  unpack(bytes, ContainerKind.request, ciphertexts).forEach((s, i) => checkSealSection(s, `ciphertext ${i}`))
  return bytes
}
