/**
 * Precompressed build output: beside every compressible file of dist/ (scripts, styles, HTML,
 * JSON, SVG, WASM) a Brotli `.br` and a gzip `.gz` copy, written once at build time so the server
 * sends them (@fastify/static `preCompressed`) without compressing per request. A copy is kept
 * only where it is smaller than the file; tiny files are left alone. The Vite plugin writes them
 * when the bundle is on disk, before the build manifest hashes the output, so the manifest
 * covers every variant the server may send.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'
import type { Plugin, ResolvedConfig } from 'vite'

const COMPRESSIBLE = /\.(?:js|mjs|css|html|json|svg|wasm|txt|map)$/
/** below this a compressed copy saves less than its own response headers */
const MIN_BYTES = 1024

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)

export interface Compressed {
  file: string
  bytes: number
  br?: number
  gz?: number
}

async function compressFile(path: string, file: string): Promise<Compressed> {
  const data = await readFile(path)
  const out: Compressed = { file, bytes: data.length }
  if (data.length < MIN_BYTES) return out
  const br = await brotli(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      [constants.BROTLI_PARAM_MODE]: path.endsWith('.wasm') ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
    },
  })
  const gzipped = await gz(data, { level: constants.Z_BEST_COMPRESSION })
  if (br.length < data.length) {
    await writeFile(`${path}.br`, br)
    out.br = br.length
  }
  if (gzipped.length < data.length) {
    await writeFile(`${path}.gz`, gzipped)
    out.gz = gzipped.length
  }
  return out
}

/** Writes the `.br` and `.gz` copies of every compressible file under `dir`; returns what it did, by path relative to `dir`. */
export async function precompressDir(dir: string): Promise<Compressed[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files = entries.filter((e) => e.isFile() && COMPRESSIBLE.test(e.name)).map((e) => join(e.parentPath, e.name))
  const done: Compressed[] = []
  for (const path of files) done.push(await compressFile(path, path.slice(dir.length + 1)))
  return done
}

/** Vite plugin: precompresses the output directory once the bundle (workers and WASM included) is written. */
export function precompress(): Plugin {
  let config: ResolvedConfig
  return {
    name: 'blindfold:precompress',
    apply: 'build',
    configResolved(resolved) {
      config = resolved
    },
    writeBundle: {
      sequential: true,
      order: 'post',
      async handler(options) {
        const done = await precompressDir(options.dir ?? join(config.root, config.build.outDir))
        const sum = (k: 'bytes' | 'br' | 'gz') => done.reduce((s, c) => s + (c[k] ?? (k === 'bytes' ? 0 : c.bytes)), 0)
        config.logger.info(`precompressed ${done.filter((c) => c.br ?? c.gz).length} files: ${sum('bytes')} bytes, brotli ${sum('br')}, gzip ${sum('gz')}`)
      },
    },
  }
}
