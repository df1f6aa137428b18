/**
 * The size of this thread's WASM linear memory (SEAL's heap). node-seal does
 * not expose its Module's memory, so the thread records every memory exported
 * by a WebAssembly.instantiate call made after watchWasmHeap(), which must run
 * before SEAL loads. A WASM heap only grows: the pool retires a worker whose
 * heap passed its bound, since nothing else would give that memory back.
 */

// The server's tsconfig has no DOM lib and @types/node declares no WebAssembly values: the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory
  Instance: abstract new (...args: never[]) => { exports: Record<string, unknown> }
  instantiate(...args: unknown[]): Promise<unknown>
  RuntimeError: new (message: string) => Error
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

const memories: WasmMemory[] = []

export function watchWasmHeap(): void {
  const instantiate = Wasm.instantiate.bind(Wasm)
  Wasm.instantiate = async (...args: unknown[]) => {
    const result = await instantiate(...args)
    const instance = result instanceof Wasm.Instance ? result : (result as { instance: InstanceType<WasmApi['Instance']> }).instance
    for (const value of Object.values(instance.exports)) if (value instanceof Wasm.Memory) memories.push(value)
    return result
  }
}

/** Bytes of WASM linear memory in this thread (0 before SEAL has loaded). */
export function wasmHeapBytes(): number {
  return memories.reduce((n, m) => n + m.buffer.byteLength, 0)
}
