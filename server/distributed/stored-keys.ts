/**
 * A session's evaluation keys as they rest in Redis (redisKeys.keys): a MAC with the job key
 * (job-mac.ts) over the session id, its model and the SHA-256 of the key container, then the
 * container. Whoever can write to Redis but does not hold JOB_MAC_KEY cannot replace a session's
 * keys (with their own, or with another session's stored ones): the evaluator refuses them with
 * integrity_failed instead of evaluating, so the client never decrypts noise as an answer.
 */
import { integrityFailed, sha256, type JobMac } from './job-mac'

/** the length of the MAC in front (base64url of HMAC-SHA-256) */
const KEYS_MAC_BYTES = 43

/** What the session store writes for `keys`. */
export function sealKeys(mac: JobMac, session: string, model: string, keys: Uint8Array): Buffer {
  const tag = Buffer.from(mac.mac('keys', session, model, sha256(keys)))
  return Buffer.concat([tag, keys])
}

/** The key container of a stored value; throws integrity_failed for one not written for this session and model. */
export function openKeys(mac: JobMac, session: string, model: string, stored: Buffer): Uint8Array {
  const keys = stored.subarray(KEYS_MAC_BYTES)
  if (stored.length < KEYS_MAC_BYTES || !mac.verify(stored.subarray(0, KEYS_MAC_BYTES).toString(), 'keys', session, model, sha256(keys))) {
    throw integrityFailed("the session's keys")
  }
  return new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength)
}
