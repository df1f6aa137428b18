/**
 * A worker thread of ./read-in-parallel.ts: prepares its share of a folder's files
 * (./read-folder.ts prepareFile) and posts the results back, pixel buffers transferred.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { prepareFile, type FileResult, type FolderInput } from './read-folder'

const { data, files, input } = workerData as { data: string; files: string[]; input: FolderInput }
files.forEach((file, i) => {
  const result: FileResult = prepareFile(data, file, input)
  parentPort!.postMessage({ i, result }, 'pixels' in result ? [result.pixels.buffer as ArrayBuffer] : [])
})
