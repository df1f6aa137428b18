import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'
import { buildManifest } from './scripts/tools/build-manifest'
import { precompress } from './scripts/tools/precompress'

const apiPort = Number(process.env.API_PORT ?? 8080)
// Where `vite` and `vite preview` forward the API: the local server, or API_TARGET (an origin such as
// https://blindfold.example) to run a locally built, verified app against a remote inference server.
const apiTarget = process.env.API_TARGET || `http://127.0.0.1:${apiPort}`
const proxy = {
  '/api': { target: apiTarget, changeOrigin: true },
  '/healthz': { target: apiTarget, changeOrigin: true },
}

export default defineConfig({
  // precompress: a .br and a .gz beside each compressible output file, written before the bundle closes,
  // so buildManifest (dist/build-manifest.json: SHA-256 of every emitted file + buildHash) covers them
  plugins: [react(), precompress(), buildManifest()],
  // node-seal's wasm path breaks under dependency pre-bundling (404 under .vite/deps)
  optimizeDeps: { exclude: ['node-seal'] },
  worker: { format: 'es' },
  build: { target: 'es2023', outDir: 'dist' },
  server: { port: 5173, proxy },
  preview: { port: 4173, proxy },
})
