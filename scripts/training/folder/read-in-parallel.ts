/**
 * ./read-folder.ts prepareFolder with the decoding spread over worker threads (decoding large
 * JPEG files in JavaScript is the slow part of preparing a folder); the same results in the same
 * order as the one-thread version.
 */
import { Worker } from 'node:worker_threads'
import { assemble, listFolder, type FileResult, type FolderOptions, type PreparedFolder } from './read-folder'

export async function prepareFolderInParallel(data: string, options: FolderOptions, threads: number): Promise<PreparedFolder> {
  const listed = listFolder(data)
  const total = listed.files.length
  const results: FileResult[] = new Array(total)
  let done = 0
  const n = Math.max(1, Math.min(threads, total))
  await Promise.all(
    Array.from({ length: n }, (_, w) => {
      // every n-th file, so that each thread gets a share of every class
      const mine = listed.files.flatMap((_, i) => (i % n === w ? [i] : []))
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./prepare-worker-entry.mjs', import.meta.url), {
          workerData: { data, files: mine.map((i) => listed.files[i].file), input: options.input },
        })
        worker.on('message', ({ i, result }: { i: number; result: FileResult }) => {
          results[mine[i]] = result
          options.onImage?.(++done, total)
        })
        worker.on('error', reject)
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a preparing thread stopped with exit code ${code}`))))
      })
    }),
  )
  return assemble(listed, results, options)
}
