/**
 * The HE worker: all SEAL work happens here, off the main thread. Its API is
 * one object (workers/he/api.ts), typed by `HeWorkerApi` in src/api/he-worker-types.ts,
 * which is all the page imports; the page can call its methods and nothing else (expose-api.ts).
 */
import { api } from './he/api'
import { exposeApi } from './expose-api'

exposeApi(api)
