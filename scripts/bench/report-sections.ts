/** The sections of docs/benchmarks.md, one function each. */
import { join, relative } from 'node:path'
import { cell, code, day, fmtBytes, fmtInt, fmtMs, fmtPct, link, shortMachine, table } from './report-format'
import { renderFloor } from './report-floor'
import { isPhotoStyleExperiment, renderPhotoStyleExperiment, type PhotoStyleExperiment } from './report-photo-styles'
import { RESULTS_DIR, listJson, readJson, type AttackResult, type BenchResult, type E2eResult, type ExperimentSet, type LoadResult, type ShippedModel } from './result-files'

function benchRow(file: string, r: BenchResult, label?: string): string[] {
  return [
    label ? cell(label) : `[${file.split('/').pop()}](${relative(RESULTS_DIR.replace(/\/benchmarks$/, ''), file)})`,
    cell(r.model),
    day(r.date),
    cell(shortMachine(r.machine)),
    fmtInt(r.images),
    `${fmtMs(r.ms.server)} (p95 ${fmtMs(r.serverMsP95)})`,
    r.ms.serverSplit !== undefined ? fmtMs(r.ms.serverSplit) : '',
    fmtPct(r.accuracy),
    fmtPct(r.agreement),
    r.maxLogitError.toExponential(1),
    fmtBytes(r.bytes.evaluationKeys),
    fmtBytes(r.bytes.requestPerImage),
    fmtBytes(r.bytes.responsePerImage),
  ]
}

const BENCH_HEAD = ['result', 'model', 'date', 'machine', 'images', 'server, one core (median)', 'both cores, one image', 'accuracy on those images', 'agreement', 'max logit error', 'keys', 'request', 'response']
const BENCH_ALIGN = ['---', '---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']

export function renderShipped(models: ShippedModel[]): string[] {
  const out: string[] = ['## Shipped models', '']
  for (const { manifest: m, results, headline: { file, r }, accuracy } of models) {
    const p = r.params
    out.push(`### ${m.name} ${m.version}`, '', `${cell(m.description)}.`, '')
    out.push(
      table(
        ['', ''],
        [
          ['server, one image on one core (median, p95)', `${fmtMs(r.ms.server)}, ${fmtMs(r.serverMsP95)} (${fmtInt(r.images)} images, ${r.threads} at a time)`],
          ['server, one image on both cores (median)', r.ms.serverSplit !== undefined && r.split ? `${fmtMs(r.ms.serverSplit)} (${r.split.images} images on ${r.split.workers} workers)` : 'not measured'],
          ['plaintext accuracy, full test set', `${fmtPct(accuracy.value)} of ${fmtInt(accuracy.images)}, from ${accuracy.source}`],
          ['encrypted accuracy on the benchmarked images', fmtPct(r.accuracy)],
          ['agreement, encrypted vs plaintext', `${fmtPct(r.agreement)} (max logit error ${r.maxLogitError.toExponential(1)})`],
          ['evaluation keys, once per session', `${fmtBytes(r.bytes.evaluationKeys)} (${fmtInt(r.bytes.evaluationKeys)} bytes)`],
          ['request per image', `${fmtBytes(r.bytes.requestPerImage)} (median)`],
          ['response per image', `${fmtBytes(r.bytes.responsePerImage)} (${fmtInt(r.bytes.responsePerImage)} bytes)`],
          ['HE parameters', `N = ${p.polyModulusDegree}, q = [${p.coeffModulusBits.join(', ')}] bits, scale 2^${p.scaleBits}, ${p.securityLevel}`],
          ['machine', cell(r.machine)],
          ['date', day(r.date)],
          ['command', code(r.command)],
          ['result', link(file)],
        ],
      ),
      '',
    )
    out.push(...renderFloor(results))
    out.push(`Every result in \`${RESULTS_DIR}/${m.name}/\`, this version and earlier ones (server times move with the machine's hour: compare rows of one machine and day):`, '')
    out.push(table(BENCH_HEAD, results.map((x) => benchRow(x.file, x.r)), BENCH_ALIGN), '')
    out.push('Commands:', '', ...results.map((x) => `- ${x.file.split('/').pop()}: ${code(x.r.command)}`), '')
  }
  return out
}

export function renderExperiments(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'experiments'))
  if (files.length === 0) return []
  const out: string[] = [
    '## Experiments',
    '',
    'Networks that were measured and not shipped, and runs of shipped ones side by side with them in the same hour. What they taught is in [models.md](models.md).',
    '',
  ]
  for (const path of files) {
    const file = relative(root, path)
    const j = readJson<ExperimentSet | BenchResult | PhotoStyleExperiment>(path)
    out.push(`### ${file.split('/').pop()!.replace(/\.json$/, '')}`, '')
    if (isPhotoStyleExperiment(j)) out.push(...renderPhotoStyleExperiment(j))
    else if ('runs' in j) {
      out.push(cell(j.what), '')
      if (j.commands) out.push(...j.commands.map((c) => `- ${code(c)}`), '')
      const rows = j.runs.map((x) => benchRow(file, x.bench, x.round !== undefined ? `${x.run} (round ${x.round})` : x.run))
      out.push(table(['run', ...BENCH_HEAD.slice(1)], rows, BENCH_ALIGN), '')
      const cmds = j.runs.filter((x) => x.command).map((x) => `- ${cell(x.run)}: ${code(x.command)}`)
      if (cmds.length) out.push(...cmds, '')
    } else {
      out.push(`${cell(j.description)}. ${code(j.command)}`, '')
      out.push(table(BENCH_HEAD, [benchRow(file, j)], BENCH_ALIGN), '')
    }
    out.push(`Result: ${link(file)}`, '')
  }
  return out
}

export function renderE2e(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'e2e'))
  if (files.length === 0) return []
  const out: string[] = [
    '## In the browser',
    '',
    '`npm run bench:e2e`: headless Chromium against the real server on loopback; times read in the page from the event to the DOM showing its outcome.',
    '',
  ]
  const rows: string[][] = []
  for (const path of files) {
    const file = relative(root, path)
    const j = readJson<E2eResult>(path)
    for (const name of Object.keys(j.models).sort()) {
      const m = j.models[name]
      const version = j.modelVersions?.[name]
      rows.push([
        link(file),
        day(j.date),
        cell(j.machine ? shortMachine(j.machine) : 'not recorded'),
        version ? `${name}@${version}` : name,
        fmtInt(j.coldStart.medianMs) + ' ms',
        m.switchToReadyMs ? fmtMs(m.switchToReadyMs) : 'first model',
        m.exampleToAnswer ? `${fmtMs(m.exampleToAnswer.firstMs)} / ${fmtMs(m.exampleToAnswer.medianMs)}` : 'not recorded',
        `${fmtMs(m.dropToAnswer.medianMs)} (p95 ${fmtMs(m.dropToAnswer.p95Ms)})`,
        fmtMs(m.stageMedians.serverMs),
        fmtMs(m.dropToAnswer.firstMs),
        fmtInt(m.dropToAnswer.images),
        `${fmtPct(m.appAccuracy)} / ${fmtPct(m.plaintextAccuracyOnSameImages)}`,
        fmtPct(m.agreementWithPlaintext),
        m.mainThreadLongTasks ? String(m.mainThreadLongTasks.length) : 'not recorded',
      ])
    }
  }
  out.push(
    table(
      ['result', 'date', 'machine', 'model', 'page load to first model ready (median)', 'switch to the model: keys made and uploaded', 'example click to answer: first / median', 'drop to answer (median)', 'of which server', 'first image', 'images', 'app / plaintext accuracy on the same files', 'app answer = plaintext', 'main-thread tasks over 50 ms'],
      rows,
      ['---', '---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
    'Commands:',
    '',
    ...files.map((p) => `- ${relative(root, p).split('/').pop()}: ${code(readJson<E2eResult>(p).command)}`),
    '',
  )
  return out
}

export function renderLoad(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'load'))
  if (files.length === 0) return []
  const out: string[] = [
    '## Under load',
    '',
    '`npm run bench:load`: S sessions send their images one after another, all sessions at once; every answer is decrypted and checked against the plaintext model. "Serial" rows send one image at a time; "outside" is the round trip minus the worker\'s own evaluation.',
    '',
  ]
  for (const path of files) {
    const file = relative(root, path)
    const j = readJson<LoadResult>(path)
    out.push(`### ${file.split('/').pop()!.replace(/\.json$/, '')}`, '', `${j.model}, ${cell(j.cpu)}, ${j.cores} cores, Node ${j.node}, ${day(j.date)}: ${code(j.command)}. Result: ${link(file)}`, '')
    const load = j.runs.filter((r) => r.serial === undefined)
    const serial = j.runs.filter((r) => r.serial !== undefined)
    out.push(
      table(
        ['mode', 'cores', 'sessions', 'images', 'images/s', 'p50 / p95 / p99', 'key cache hits / misses', 'failed / wrong'],
        load.map((r) => [
          r.mode,
          String(r.cores),
          fmtInt(r.sessions ?? 0),
          fmtInt(r.images ?? 0),
          (r.imagesPerSecond ?? 0).toFixed(2),
          r.latencyMs ? `${fmtMs(r.latencyMs.p50)} / ${fmtMs(r.latencyMs.p95)} / ${fmtMs(r.latencyMs.p99)}` : '',
          r.keyCache ? `${r.keyCache.hits} / ${r.keyCache.misses} (${fmtPct(r.keyCache.hitRate)})` : '',
          `${r.failed ?? 0} / ${r.wrong}`,
        ]),
        ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
      ),
      '',
    )
    if (serial.length) {
      out.push(
        table(
          ['mode', 'cores', 'serial images', 'round trip (median)', 'evaluation (median)', 'outside the evaluation (median)', 'wrong'],
          serial.map((r) => [r.mode, String(r.cores), fmtInt(r.serial!), `${(r.medianMs ?? 0).toFixed(1)} ms`, `${(r.evaluationMedianMs ?? 0).toFixed(1)} ms`, `${(r.outsideEvaluationMedianMs ?? 0).toFixed(1)} ms`, String(r.wrong)]),
          ['---', '---:', '---:', '---:', '---:', '---:', '---:'],
        ),
        '',
      )
    }
  }
  return out
}

export function renderAttack(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'attack'))
  if (files.length === 0) return []
  const out: string[] = ['## Model extraction by queries', '', 'What the numbers mean: [attack-extract.md](attack-extract.md) and [threat-model.md](threat-model.md).', '']
  for (const path of files) {
    const file = relative(root, path)
    const j = readJson<AttackResult>(path)
    out.push(`${cell(j.model)}, ${cell(shortMachine(j.machine))}, ${day(j.date)}: ${code(j.command)}. Result: ${link(file)}`, '')
    const points = [...j.points].sort((a, b) => a.inputs.localeCompare(b.inputs) || a.sigma - b.sigma || a.queries - b.queries)
    out.push(
      table(
        ['queries from', 'logit noise sigma', 'queries', 'agreement with the real model', 'student accuracy', 'real model accuracy under that noise'],
        points.map((p) => [p.inputs, String(p.sigma), fmtInt(p.queries), fmtPct(p.agreement), fmtPct(p.studentAccuracy), fmtPct(p.realAccuracyNoisy)]),
        ['---', '---:', '---:', '---:', '---:', '---:'],
      ),
      '',
    )
  }
  return out
}
