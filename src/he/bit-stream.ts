/**
 * Little-endian bit streams of fixed-width integers, the layout of every packed
 * section on the wire: value i of width b fills stream bits [i*b, (i+1)*b), stream
 * bit j is bit j % 8 of byte j >> 3, and the last byte's unused bits are 0.
 *
 * Values up to 64 bits travel as two 32-bit halves (lo, hi) so that packing the
 * millions of coefficients of a key set needs no BigInt per value.
 * Isomorphic: no DOM, no Node APIs.
 */

export class BitWriter {
  /** pending bits, low first; always fewer than 32 */
  private acc = 0
  private n = 0

  constructor(
    private readonly out: Uint8Array,
    private at: number,
  ) {}

  /** Appends the low `bits` bits (at most 64) of the value whose 32-bit halves are lo and hi. */
  write(lo: number, hi: number, bits: number): void {
    if (bits <= 32) {
      this.put(lo, bits)
    } else {
      this.put(lo, 32)
      this.put(hi, bits - 32)
    }
  }

  /** Writes the last partial byte; the writer's bytes are complete after this. Returns the end offset. */
  end(): number {
    for (; this.n > 0; this.n -= 8) {
      this.out[this.at++] = this.acc & 0xff
      this.acc >>>= 8
    }
    this.n = 0
    return this.at
  }

  private put(value: number, bits: number): void {
    const v = bits === 32 ? value >>> 0 : (value >>> 0) & ((1 << bits) >>> 0) - 1
    this.acc = (this.acc | (v << this.n)) >>> 0
    const total = this.n + bits
    if (total < 32) {
      this.n = total
      return
    }
    const out = this.out
    const acc = this.acc
    out[this.at] = acc & 0xff
    out[this.at + 1] = (acc >>> 8) & 0xff
    out[this.at + 2] = (acc >>> 16) & 0xff
    out[this.at + 3] = acc >>> 24
    this.at += 4
    // the bits of v that did not fit (none when the accumulator was empty: x >>> 32 is x in JS)
    this.acc = this.n === 0 ? 0 : v >>> (32 - this.n)
    this.n = total - 32
  }
}

export class BitReader {
  /** bits read ahead, low first */
  private acc = 0
  private n = 0

  constructor(
    private readonly bytes: Uint8Array,
    private at: number,
    /** the offset the stream may not read past */
    private readonly limit = bytes.byteLength,
  ) {}

  /** Reads up to 32 bits as a non-negative number. */
  read32(bits: number): number {
    if (bits <= 16) return this.take(bits)
    const lo = this.take(16)
    return lo + this.take(bits - 16) * 65536
  }

  /** Reads up to 64 bits as a bigint. */
  read(bits: number): bigint {
    const lo = this.read32(Math.min(bits, 32))
    return bits > 32 ? (BigInt(this.read32(bits - 32)) << 32n) | BigInt(lo) : BigInt(lo)
  }

  /** The bits left unread in the last byte read, as a number (0 in a well-formed stream). */
  rest(): number {
    return this.acc
  }

  /** At most 16 bits: the accumulator then never holds more than 23. */
  private take(bits: number): number {
    while (this.n < bits) {
      if (this.at >= this.limit) throw new RangeError('bit stream read past its end')
      this.acc |= this.bytes[this.at++] << this.n
      this.n += 8
    }
    const value = this.acc & ((1 << bits) - 1)
    this.acc >>>= bits
    this.n -= bits
    return value
  }
}

/**
 * Packs `count` values, given as (lo, hi) pairs of 32-bit words from src[from], into
 * the stream's 32-bit words from dst[to]: the same layout as BitWriter on a little-endian
 * machine. `count * bits` must be a whole number of words (the stream of one polynomial,
 * N >= 1024 coefficients). Returns the index after the last word written.
 */
export function packWords(src: Uint32Array, from: number, count: number, bits: number, dst: Uint32Array, to: number): number {
  if ((count * bits) % 32 !== 0 || bits < 1 || bits > 64) throw new RangeError(`${count} values of ${bits} bits are not whole 32-bit words`)
  const low = Math.min(bits, 32)
  const high = bits - low
  const lowMask = low === 32 ? 0xffffffff : (1 << low) - 1
  const highMask = high === 0 ? 0 : high === 32 ? 0xffffffff : (1 << high) - 1
  let acc = 0 // pending bits, low first, fewer than 32
  let n = 0
  let j = to
  const end = from + 2 * count
  // one field of w bits (1..32) appended: the word fills when n + w reaches 32
  for (let i = from; i < end; i += 2) {
    let v = src[i] & lowMask
    acc |= v << n
    if (n + low >= 32) {
      dst[j++] = acc
      acc = n === 0 ? 0 : v >>> (32 - n)
      n = n + low - 32
    } else n += low
    if (high > 0) {
      v = src[i + 1] & highMask
      acc |= v << n
      if (n + high >= 32) {
        dst[j++] = acc
        acc = n === 0 ? 0 : v >>> (32 - n)
        n = n + high - 32
      } else n += high
    }
  }
  return j
}

/**
 * The inverse of packWords: reads `count` values of `bits` bits from src[from] into
 * (lo, hi) pairs at dst[to]. A value at or above `limit` (given as its 32-bit halves)
 * stops it: the answer is then that value's position, else -1.
 */
export function unpackWords(src: Uint32Array, from: number, count: number, bits: number, dst: Uint32Array, to: number, limitLo: number, limitHi: number): number {
  if ((count * bits) % 32 !== 0 || bits < 1 || bits > 64) throw new RangeError(`${count} values of ${bits} bits are not whole 32-bit words`)
  if (from + (count * bits) / 32 > src.length) throw new RangeError('bit stream read past its end')
  const low = Math.min(bits, 32)
  const high = bits - low
  const lowMask = low === 32 ? 0xffffffff : (1 << low) - 1
  const highMask = high === 32 ? 0xffffffff : (1 << high) - 1
  let acc = 0 // bits read ahead, low first, fewer than 32
  let n = 0
  let j = from
  // each field of w bits (1..32) comes from the bits ahead, topped up from the next word when short
  for (let i = 0, d = to; i < count; i++, d += 2) {
    let lo: number
    if (n >= low) {
      lo = (acc & lowMask) >>> 0
      acc = low === 32 ? 0 : acc >>> low
      n -= low
    } else {
      const word = src[j++]
      const used = low - n // bits taken from the new word, 1..32
      lo = ((n === 0 ? word : acc | (word << n)) & lowMask) >>> 0
      acc = used === 32 ? 0 : word >>> used
      n = 32 - used
    }
    let hi = 0
    if (high > 0) {
      if (n >= high) {
        hi = (acc & highMask) >>> 0
        acc = high === 32 ? 0 : acc >>> high
        n -= high
      } else {
        const word = src[j++]
        const used = high - n
        hi = ((n === 0 ? word : acc | (word << n)) & highMask) >>> 0
        acc = used === 32 ? 0 : word >>> used
        n = 32 - used
      }
    }
    if (hi > limitHi || (hi === limitHi && lo >= limitLo)) return i
    dst[d] = lo
    dst[d + 1] = hi
  }
  return -1
}
