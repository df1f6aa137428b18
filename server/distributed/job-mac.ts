/**
 * What makes Redis an untrusted store for jobs: a key shared by the API replicas and the
 * evaluators (JOB_MAC_KEY, never in Redis) binds each job to its request, each result to its job
 * and each cancel or displacement flag to its job, so that whoever can write to Redis cannot swap
 * a request, inject a job, forge an answer or cancel someone else's job: each of those ends in an
 * error, never in a wrong answer.
 *
 * - A job's data carries the SHA-256 of its request container (for a key validation: of the
 *   uploaded key container) and an HMAC-SHA-256 over the job id, its op, session, model and that
 *   hash. The session id itself rides sealed (AES-256-GCM), so a finished job that BullMQ keeps
 *   a while holds no bearer token in the clear.
 * - A result carries an HMAC over the job id and the SHA-256 of the response container.
 * - A cancel flag's value is an HMAC over the job id, and so is a displacement flag's.
 * Two keys are derived from the shared secret (HKDF-SHA-256): one for MACs, one for sealing.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { HttpError } from '../http/http-error'

/** the shortest JOB_MAC_KEY accepted: 32 characters (a random one: `openssl rand -hex 32`) */
export const MIN_JOB_MAC_KEY_LENGTH = 32

/** A job, a result or a flag that does not verify: answered as an error, never evaluated or returned. */
export function integrityFailed(what: string): HttpError {
  return new HttpError(502, 'integrity_failed', `${what} did not verify (the queue's store was changed by someone without the job key): not answered`)
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url')
}

export class JobMac {
  private readonly macKey: Buffer
  private readonly sealKey: Buffer

  constructor(secret: string) {
    if (secret.length < MIN_JOB_MAC_KEY_LENGTH) {
      throw new Error(`JOB_MAC_KEY must be at least ${MIN_JOB_MAC_KEY_LENGTH} characters, shared by every API replica and evaluator (e.g. openssl rand -hex 32)`)
    }
    const ikm = Buffer.from(secret, 'utf8')
    this.macKey = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'blindfold job mac', 32))
    this.sealKey = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'blindfold job seal', 32))
  }

  /** HMAC-SHA-256 over the parts, each length-prefixed so that no two lists give the same input. */
  mac(...parts: string[]): string {
    const h = createHmac('sha256', this.macKey)
    for (const p of parts) {
      const b = Buffer.from(p, 'utf8')
      const n = Buffer.alloc(4)
      n.writeUInt32BE(b.length)
      h.update(n).update(b)
    }
    return h.digest('base64url')
  }

  verify(mac: unknown, ...parts: string[]): boolean {
    if (typeof mac !== 'string') return false
    const want = Buffer.from(this.mac(...parts))
    const got = Buffer.from(mac)
    return got.length === want.length && timingSafeEqual(got, want)
  }

  /** The session id sealed for a job's data (AES-256-GCM, bound to the job id). */
  seal(session: string, jobId: string): string {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.sealKey, iv).setAAD(Buffer.from(jobId))
    const body = Buffer.concat([c.update(session, 'utf8'), c.final()])
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')
  }

  /** The session id of a sealed one; undefined when it does not open (forged, or another job's). */
  open(sealed: unknown, jobId: string): string | undefined {
    if (typeof sealed !== 'string') return undefined
    try {
      const b = Buffer.from(sealed, 'base64url')
      const d = createDecipheriv('aes-256-gcm', this.sealKey, b.subarray(0, 12)).setAAD(Buffer.from(jobId))
      d.setAuthTag(b.subarray(12, 28))
      return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8')
    } catch {
      return undefined
    }
  }
}
