/**
 * The sample images a model ships for "try an example": official test images of its data set,
 * listed with their class and served as PNG files. Shared by the browser and the server.
 */
import { API_PREFIX } from './wire'

export const samplePaths = {
  /** GET: SampleList of the model */
  list: (model: string) => `${API_PREFIX}/models/${encodeURIComponent(model)}/samples`,
  /** GET: one sample image (image/png, cacheable for good: its name holds its content hash) */
  file: (model: string, file: string) => `${API_PREFIX}/models/${encodeURIComponent(model)}/samples/${encodeURIComponent(file)}`,
} as const

/** what a sample's file name may be: a class slug, the first 12 hex digits of the PNG's SHA-256, .png */
export const SAMPLE_FILE_PATTERN = /^[a-z0-9][a-z0-9-]{0,47}-[0-9a-f]{12}\.png$/

export interface SampleImage {
  /** the file name (SAMPLE_FILE_PATTERN) */
  file: string
  /** where to GET it */
  url: string
  /** the true class index (logit index) */
  label: number
}

export interface SampleList {
  model: string
  /** the data set the images come from, its authors and its licence */
  dataset: string
  source: string
  license: string
  samples: SampleImage[]
}
