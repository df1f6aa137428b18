import { describe, expect, it } from 'vitest'
import { headerOf } from './help'

describe('a script header as its --help', () => {
  it('reads a /** */ block without its markers', () => {
    expect(headerOf('/**\n * npm run x -- [--n 3]\n *\n * Does x.\n */\nimport a from "b"\n')).toBe('npm run x -- [--n 3]\n\nDoes x.')
  })
  it('reads leading // lines', () => {
    expect(headerOf('// What it measures.\n// Run: npm run y\nimport a from "b"\n')).toBe('What it measures.\nRun: npm run y')
  })
  it('is empty without a header', () => {
    expect(headerOf('import a from "b"\n')).toBe('')
  })
})
