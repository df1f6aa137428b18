/**
 * Build manifest: the SHA-256 of every file `vite build` emits, and one build
 * hash over them. The Vite plugin writes it to dist/build-manifest.json after
 * the bundle is written; the page shows its buildHash (self-reported: the
 * server that serves the page also serves the manifest), and
 * scripts/tools/verify-deployment.ts compares a deployment with a local build.
 *
 * buildHash = SHA-256 of the lines `${path} ${sha256hex}\n`, sorted by path
 * (code-unit order), paths relative to the output dir with '/' separators,
 * build-manifest.json itself excluded. Reproduce it by hand with
 *   jq -r '.files | to_entries[] | "\(.key) \(.value)"' dist/build-manifest.json | LC_ALL=C sort | sha256sum
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { Plugin, ResolvedConfig } from 'vite'

export const MANIFEST_FILE = 'build-manifest.json'

export interface BuildManifest {
  /** path relative to the site root ('/' separators) -> SHA-256, lowercase hex */
  files: Record<string, string>
  buildHash: string
}

export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')

/** The build hash of a file list (see the header for the exact definition). */
export function buildHashOf(files: Record<string, string>): string {
  const lines = Object.keys(files)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => `${path} ${files[path]}\n`)
  return sha256Hex(lines.join(''))
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

/** Hashes every file under `dir` except the manifest itself. */
export async function computeManifest(dir: string): Promise<BuildManifest> {
  const files: Record<string, string> = {}
  for (const abs of await listFiles(dir)) {
    const path = relative(dir, abs).split(sep).join('/')
    if (path === MANIFEST_FILE) continue
    files[path] = sha256Hex(await readFile(abs))
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  return { files: sorted, buildHash: buildHashOf(sorted) }
}

export async function writeManifest(dir: string): Promise<BuildManifest> {
  const manifest = await computeManifest(dir)
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`)
  return manifest
}

/** Vite plugin: writes <outDir>/build-manifest.json once the client bundle (worker and WASM included) is on disk. */
export function buildManifest(): Plugin {
  let config: ResolvedConfig
  return {
    name: 'blindfold:build-manifest',
    apply: 'build',
    configResolved(resolved) {
      config = resolved
    },
    async closeBundle() {
      const outDir = resolve(config.root, config.build.outDir)
      const manifest = await writeManifest(outDir)
      config.logger.info(`build manifest: ${Object.keys(manifest.files).length} files, buildHash ${manifest.buildHash}`)
    },
  }
}
