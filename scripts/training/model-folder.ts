/**
 * Writing a model folder so that no reader ever sees it half-written: the writer fills a hidden
 * sibling `.NAME.partial-PID`, which the loader skips (src/datasets/model-files.ts), and renames
 * it to NAME only once everything is in it. Replacing an existing folder happens at that moment
 * too: the old folder is renamed aside (hidden), the new one into place, the old one removed. A
 * writer that dies leaves only its hidden folder behind, which the next writer of the same name
 * removes. The Python trainer does the same (blindfold_train/model_folder.py).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** The hidden folder a writer of `target` fills before renaming it into place. */
export const partialFolder = (target: string, pid = process.pid): string => join(dirname(target), `.${basename(target)}.partial-${pid}`)

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the partial folders of `target` whose writers are gone; returns their paths. */
export function removeStalePartials(target: string): string[] {
  const parent = dirname(target)
  if (!existsSync(parent)) return []
  const prefix = `.${basename(target)}.partial-`
  const stale = readdirSync(parent)
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .filter((n) => Number(n.slice(prefix.length)) !== process.pid && !alive(Number(n.slice(prefix.length))))
    .map((n) => join(parent, n))
  for (const dir of stale) rmSync(dir, { recursive: true, force: true })
  return stale
}

export interface PublishOptions {
  /** replace a folder already at the target (else publishing refuses it) */
  replace?: boolean
  /** copy what the old folder holds and the new one does not (samples/, accuracy.json) before the switch */
  keepFromOld?: boolean
}

/** Renames the finished folder `partial` to `target` (see the file comment). */
export function publishFolder(partial: string, target: string, o: PublishOptions = {}): void {
  if (existsSync(target)) {
    if (!o.replace) throw new Error(`${target} exists; pass --force to replace it`)
    if (o.keepFromOld) for (const entry of readdirSync(target)) if (!existsSync(join(partial, entry))) cpSync(join(target, entry), join(partial, entry), { recursive: true })
    const old = join(dirname(target), `.${basename(target)}.old-${process.pid}`)
    rmSync(old, { recursive: true, force: true })
    renameSync(target, old)
    renameSync(partial, target)
    rmSync(old, { recursive: true, force: true })
  } else {
    renameSync(partial, target)
  }
}

/**
 * Runs `write` on a fresh partial folder of `target` and publishes it when `write` returns; when
 * `write` throws, the partial folder is removed and nothing changes at the target.
 */
export async function writeModelFolder<T>(target: string, o: PublishOptions, write: (dir: string) => Promise<T>): Promise<T> {
  mkdirSync(dirname(target), { recursive: true })
  removeStalePartials(target)
  const partial = partialFolder(target)
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial)
  try {
    const result = await write(partial)
    publishFolder(partial, target, o)
    return result
  } finally {
    rmSync(partial, { recursive: true, force: true })
  }
}
