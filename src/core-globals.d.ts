// The isomorphic core (src/he, src/model, src/api) compiles without DOM or Node
// types, so neither can creep in. These are the only two platform globals it
// uses; both exist in browsers, workers and Node >= 19 with the same shape.
declare const performance: { now(): number }
declare const crypto: { subtle: { digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer> } }
declare class TextEncoder {
  encode(input: string): Uint8Array
}
