/** The selected model's sample images, asked of the server once per model; a sample's file, fetched as any image (the browser caches it). */
import { samplePaths, type SampleImage, type SampleList } from '../api/samples'

const lists = new Map<string, Promise<SampleList>>()

export function sampleList(model: string): Promise<SampleList> {
  let list = lists.get(model)
  if (!list) {
    list = fetch(samplePaths.list(model)).then((r) => {
      if (!r.ok) throw new Error(`the server lists no samples of ${model} (${r.status})`)
      return r.json() as Promise<SampleList>
    })
    // a failure is not kept: the next look asks again
    list.catch(() => lists.delete(model))
    lists.set(model, list)
  }
  return list
}

export async function sampleBlob(sample: SampleImage): Promise<Blob> {
  const r = await fetch(sample.url)
  if (!r.ok) throw new Error(`the sample image could not be loaded (${r.status})`)
  return r.blob()
}
