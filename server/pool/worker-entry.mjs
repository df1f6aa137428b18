// Worker-thread entry in plain JS: registers tsx inside this thread, then loads
// the TypeScript worker. (`execArgv: ['--import', 'tsx']` alone leaves Node 24's
// native type stripping to resolve the worker's extensionless imports, which fails.)
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
