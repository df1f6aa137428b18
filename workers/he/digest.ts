/** SHA-256 of a body, hex: the hash "what the server sees" shows for a ciphertext. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** The first 16 hex digits of a SHA-256 in hex: enough to tell bodies apart in the inspector. */
export function prefixOf(sha256: string): string {
  return sha256.slice(0, 16)
}

/** First 16 hex digits of SHA-256 of a body. */
export async function sha256Prefix(bytes: Uint8Array): Promise<string> {
  return prefixOf(await sha256Hex(bytes))
}
