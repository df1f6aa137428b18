import { BlindfoldError } from '../errors'

/** The code of the BlindfoldError `fn` throws, or 'no error'; anything else thrown is rethrown. */
export function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof BlindfoldError) return e.code
    throw e
  }
  return 'no error'
}
