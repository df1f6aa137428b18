import { availableParallelism } from 'node:os'
import { relative } from 'node:path'
import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The files that run longest (CIFAR-10 under encryption, the minimal client
 * against a server that builds every model, the shipped models' accuracy),
 * longest first. They start before everything else so that no worker is
 * still busy with one of them after the other has run out of files.
 */
const LONGEST_FIRST = [
  'src/he/memory.test.ts',
  'src/he/shipped-models.test.ts',
  'examples/minimal-client.test.ts',
  'src/model/model.test.ts',
  'src/image/round-trip.test.ts',
]

/** Vitest's own order (failed first, then by recorded duration or size), with LONGEST_FIRST ahead of it. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.indexOf(relative(f.project.config.root, f.moduleId).replaceAll('\\', '/'))
      return i < 0 ? LONGEST_FIRST.length : i
    }
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'server/**/*.test.ts', 'workers/**/*.test.ts', 'scripts/**/*.test.ts', 'examples/**/*.test.ts'],
    // SEAL work is CPU-bound and single-threaded per instance: one file per core
    // (Vitest's default leaves one core idle)
    pool: 'forks',
    maxWorkers: availableParallelism(),
    sequence: { sequencer: LongestFirst },
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
