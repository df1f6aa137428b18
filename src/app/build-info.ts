/**
 * The build hash of the code this page runs, as the serving host reports it
 * (dist/build-manifest.json, written by scripts/tools/build-manifest.ts). The host
 * that serves the page also serves this file, so the value is self-reported:
 * `npm run verify:deployment -- URL` against a local build of the release is
 * the real check.
 */
import { useEffect, useState } from 'react'

export type BuildInfo =
  | { status: 'loading' }
  | { status: 'ok'; buildHash: string; files: number }
  | { status: 'unavailable'; reason: string }

export const BUILD_MANIFEST_URL = `${import.meta.env.BASE_URL}build-manifest.json`

export async function fetchBuildInfo(): Promise<BuildInfo> {
  try {
    const r = await fetch(BUILD_MANIFEST_URL, { cache: 'no-store' })
    if (!r.ok) return { status: 'unavailable', reason: `HTTP ${r.status}` }
    const m = (await r.json()) as { buildHash?: unknown; files?: unknown }
    if (typeof m.buildHash !== 'string' || !/^[0-9a-f]{64}$/.test(m.buildHash) || !m.files || typeof m.files !== 'object') {
      return { status: 'unavailable', reason: 'not a build manifest' }
    }
    return { status: 'ok', buildHash: m.buildHash, files: Object.keys(m.files).length }
  } catch {
    // the dev server answers index.html for unknown paths: no build, no manifest
    return { status: 'unavailable', reason: import.meta.env.DEV ? 'development server, no build' : 'not served' }
  }
}

export function useBuildInfo(): BuildInfo {
  const [info, setInfo] = useState<BuildInfo>({ status: 'loading' })
  useEffect(() => {
    let live = true
    void fetchBuildInfo().then((i) => live && setInfo(i))
    return () => {
      live = false
    }
  }, [])
  return info
}
