/**
 * The HE worker: all SEAL work happens here, off the main thread. Its API is
 * one object (workers/he/api.ts), typed by `HeWorkerApi` in src/api/he-worker-types.ts,
 * which is all the page imports; the page can call its methods and nothing else (expose-api.ts).
 */
import { loadSeal } from '../src/he/context'
import { api } from './he/api'
import { exposeApi } from './expose-api'

exposeApi(api)
// the page starts this worker before it knows its model: SEAL loads meanwhile (a failure
// reaches the first session, which awaits the same load)
loadSeal().catch(() => undefined)
