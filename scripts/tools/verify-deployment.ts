/**
 * Does a deployment serve exactly the code of a release? Build the release
 * locally (`npm run build`: dist/ and dist/build-manifest.json), then
 *
 *   npm run verify:deployment -- https://blindfold.example/ [--dist DIR]
 *
 * fetches the page (at the URL given and at /index.html) and every file of the
 * local manifest from the server, compares SHA-256s, checks the buildHash the
 * server reports (the one the page shows), and lists every script, stylesheet,
 * worker or other URL the served index.html and JavaScript load that is not in
 * the manifest. Prints OK or each problem; exit code 0 (OK) or 1.
 *
 * It checks what the server sent to this client at this moment: a server can
 * send other code to other clients, so it is an audit, not a guarantee.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { helpIfAsked } from '../help'
import { buildHashOf, computeManifest, MANIFEST_FILE, sha256Hex, type BuildManifest } from './build-manifest'

export interface Verification {
  ok: boolean
  /** one line per problem, each naming the file or URL concerned */
  problems: string[]
  /** the local (release) build hash */
  buildHash: string
  /** files compared */
  checked: number
}

type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>

const short = (hex: string) => `${hex.slice(0, 16)}…`

/** Attribute URLs of the served index.html (src, href, and a few more) and whether it has inline scripts. */
export function htmlReferences(html: string): { urls: string[]; inlineScripts: number } {
  const urls: string[] = []
  for (const m of html.matchAll(/\s(?:src|href|data|action|formaction|poster|srcset)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    urls.push((m[2] ?? m[3] ?? m[4]).trim())
  }
  for (const m of html.matchAll(/<meta[^>]*http-equiv\s*=\s*["']?refresh[^>]*content\s*=\s*["'][^"']*url\s*=\s*([^"'\s>]+)/gi)) urls.push(m[1])
  let inlineScripts = 0
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    if (!/\bsrc\s*=/i.test(m[1]) && m[2].trim() !== '') inlineScripts++
  }
  return { urls, inlineScripts }
}

/** Same-origin asset paths a served script names (new Worker(new URL('/assets/…')), imports, the .wasm). */
export function scriptReferences(js: string): string[] {
  return [...new Set([...js.matchAll(/(?:^|[^\w.-])\/?(assets\/[\w.@-]+)/g)].map((m) => m[1]))]
}

async function fetchBytes(fetchImpl: Fetch, url: URL): Promise<{ status: number; bytes?: Buffer; error?: string }> {
  try {
    const r = await fetchImpl(url, { cache: 'no-store', redirect: 'follow' })
    const bytes = Buffer.from(await r.arrayBuffer())
    return { status: r.status, bytes: r.ok ? bytes : undefined }
  } catch (e) {
    return { status: 0, error: (e as Error)?.message ?? String(e) }
  }
}

export async function readLocalManifest(distDir: string): Promise<BuildManifest> {
  const path = resolve(distDir, MANIFEST_FILE)
  let manifest: BuildManifest
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as BuildManifest
  } catch (e) {
    throw new Error(`cannot read ${path} (${(e as Error).message}): check out the release and run \`npm run build\` first`)
  }
  if (!manifest || typeof manifest.files !== 'object' || typeof manifest.buildHash !== 'string') throw new Error(`${path} is not a build manifest`)
  return manifest
}

/** Compares what `url` serves with the build in `distDir`. */
export async function verifyDeployment(url: string, distDir: string, fetchImpl: Fetch = fetch): Promise<Verification> {
  const page = new URL(url)
  const root = new URL('/', page)
  const manifest = await readLocalManifest(distDir)
  const problems: string[] = []

  // the local build must be what its manifest says (a stale manifest would make the check meaningless)
  const local = await computeManifest(distDir)
  if (local.buildHash !== manifest.buildHash || buildHashOf(manifest.files) !== manifest.buildHash) {
    problems.push(`local ${MANIFEST_FILE} does not match the files in ${distDir}: rebuild with \`npm run build\``)
  }
  const listed = new Set(Object.keys(manifest.files))
  let checked = 0
  const served = new Map<string, Buffer>()

  const compare = async (path: string, at: URL) => {
    const r = await fetchBytes(fetchImpl, at)
    checked++
    if (!r.bytes) {
      problems.push(`${path}: not served at ${at.href} (${r.error ?? `HTTP ${r.status}`})`)
      return
    }
    served.set(at.pathname, r.bytes)
    const got = sha256Hex(r.bytes)
    if (got !== manifest.files[path]) problems.push(`${path}: served content differs from the release (${at.href}: sha256 ${short(got)}, release ${short(manifest.files[path])})`)
  }

  if (!listed.has('index.html')) problems.push('index.html: missing from the local manifest')
  else {
    // the page as visitors open it, and by name
    await compare('index.html', page)
    if (page.pathname !== '/index.html') await compare('index.html', new URL('/index.html', root))
  }
  for (const path of listed) if (path !== 'index.html') await compare(path, new URL(path, root))

  // what the page reports about itself (and shows in the privacy inspector)
  const m = await fetchBytes(fetchImpl, new URL(MANIFEST_FILE, root))
  if (!m.bytes) problems.push(`${MANIFEST_FILE}: not served (${m.error ?? `HTTP ${m.status}`}); the page cannot show its build hash`)
  else {
    let reported: unknown
    try {
      reported = (JSON.parse(m.bytes.toString('utf8')) as BuildManifest).buildHash
    } catch {
      reported = undefined
    }
    if (reported !== manifest.buildHash) problems.push(`${MANIFEST_FILE}: the server reports buildHash ${String(reported)}, the release is ${manifest.buildHash}`)
  }

  // anything the served page or its scripts load that the release does not contain
  const unlisted = (ref: string, from: string) => {
    let target: URL
    try {
      target = new URL(ref, page)
    } catch {
      return
    }
    if (target.protocol === 'data:' || target.protocol === 'blob:') return
    if (target.origin !== root.origin) {
      problems.push(`${from}: loads ${target.href} from another origin`)
      return
    }
    const path = decodeURIComponent(target.pathname).replace(/^\//, '')
    if (path === '' || path === 'index.html' || listed.has(path)) return
    problems.push(`${from}: loads /${path}, which is not in the release's manifest`)
  }
  for (const pathname of new Set([page.pathname, '/index.html'])) {
    const html = served.get(pathname)
    if (!html) continue
    const { urls, inlineScripts } = htmlReferences(html.toString('utf8'))
    for (const u of urls) unlisted(u, 'index.html')
    if (inlineScripts) problems.push(`index.html: ${inlineScripts} inline script(s), not in the release`)
  }
  for (const [pathname, bytes] of served) {
    if (!/\.m?js$/.test(pathname) || pathname === page.pathname) continue
    for (const ref of scriptReferences(bytes.toString('utf8'))) unlisted(`/${ref}`, pathname.replace(/^\//, ''))
  }

  return { ok: problems.length === 0, problems: [...new Set(problems)], buildHash: manifest.buildHash, checked }
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv]
  let dist = fileURLToPath(new URL('../../dist', import.meta.url))
  const at = args.indexOf('--dist')
  if (at >= 0) {
    dist = resolve(args[at + 1] ?? '')
    args.splice(at, 2)
  }
  const url = args[0]
  if (!url || args.length !== 1 || !/^https?:\/\//.test(url)) {
    console.error('usage: npm run verify:deployment -- https://host/ [--dist DIR]   (build the release first: npm run build)')
    return 1
  }
  try {
    const v = await verifyDeployment(url, dist)
    if (v.ok) {
      console.log(`OK: ${url} serves release build ${v.buildHash} (${v.checked} files compared, nothing unlisted loaded)`)
      return 0
    }
    for (const p of v.problems) console.log(`MISMATCH ${p}`)
    console.log(`FAILED: ${v.problems.length} problem(s); ${url} does not serve release build ${v.buildHash}`)
    return 1
  } catch (e) {
    console.error(`error: ${(e as Error).message}`)
    return 1
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  helpIfAsked(import.meta.url)
  process.exitCode = await main(process.argv.slice(2))
}
