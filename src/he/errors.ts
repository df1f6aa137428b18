/**
 * Every failure the engine can explain carries a stable, machine-readable code;
 * the API turns these into 4xx answers without parsing messages.
 */
export type ErrorCode =
  | 'invalid_parameters'
  | 'insecure_parameters'
  | 'parameters_mismatch'
  | 'bad_container'
  | 'bad_seal_header'
  | 'unsupported_compression'
  | 'bad_compression'
  /** a packed section (packed-keys.ts) that is not what its layout allows */
  | 'bad_packing'
  | 'wrong_object_size'
  | 'not_ntt_form'
  | 'unsupported_version'
  | 'wrong_kind'
  | 'seal_rejected'
  | 'wrong_ciphertext_count'
  | 'wrong_level'
  | 'wrong_scale'
  | 'wrong_size'
  | 'transparent_ciphertext'
  | 'missing_rotation_step'
  | 'unexpected_rotation_step'
  | 'missing_relin_key'
  | 'model_mismatch'
  | 'internal'
  /** the caller stopped the evaluation (EvaluationControl.cancelled): not a fault of anyone's bytes */
  | 'cancelled'

/** Codes that mean "our bug or our model", not "the client's bytes": the server answers 5xx for these, 4xx for the rest. */
const SERVER_FAULTS: ReadonlySet<ErrorCode> = new Set(['internal', 'model_mismatch'])

export function isClientFault(code: ErrorCode): boolean {
  return !SERVER_FAULTS.has(code)
}

export class BlindfoldError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'BlindfoldError'
    this.code = code
  }
}

/**
 * SEAL's C++ exceptions reach JS as WebAssembly.Exception (not an Error) whose
 * `message` is an array like ['std::invalid_argument', 'scale mismatch'].
 */
export function sealMessage(e: unknown): string {
  const m = (e as { message?: unknown })?.message
  if (Array.isArray(m)) return m.join(': ')
  if (typeof m === 'string') return m
  return String(e)
}

/**
 * A C++ exception SEAL threw (WebAssembly.Exception): SEAL refused its input
 * and its heap is intact. Anything else escaping SEAL (a trap such as
 * WebAssembly.RuntimeError, an abort, an embind error) may leave the heap
 * broken, so callers must not treat it as an ordinary refusal.
 */
export function isSealException(e: unknown): boolean {
  const Exception = (globalThis as { WebAssembly?: { Exception?: abstract new (...args: never[]) => unknown } }).WebAssembly?.Exception
  return Exception !== undefined && e instanceof Exception
}

/** Runs a SEAL call, turning SEAL's own refusals (C++ exceptions) into a BlindfoldError with `code`; traps pass through unchanged. */
export function guard<T>(code: ErrorCode, what: string, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof BlindfoldError || !isSealException(e)) throw e
    throw new BlindfoldError(code, `${what}: ${sealMessage(e)}`)
  }
}
