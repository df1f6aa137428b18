/**
 * `--help` for every script: prints the script's own header comment (its usage line and what it
 * does) and exits, so the documentation of a command is the comment at the top of its file.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The leading comment of a source file, without its comment markers. */
export function headerOf(source: string): string {
  const block = /^\s*\/\*\*?([\s\S]*?)\*\//.exec(source)
  if (block) return block[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim()
  const lines = /^(?:\s*\/\/.*\n)+/.exec(source)
  return lines ? lines[0].split('\n').map((l) => l.replace(/^\s*\/\/ ?/, '')).join('\n').trim() : ''
}

/** With --help or -h among the arguments: prints the calling script's header and exits. */
export function helpIfAsked(moduleUrl: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!argv.includes('--help') && !argv.includes('-h')) return
  console.log(headerOf(readFileSync(fileURLToPath(moduleUrl), 'utf8')))
  process.exit(0)
}
