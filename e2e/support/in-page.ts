/**
 * Code that runs inside the page. Kept as source strings because the Node
 * test project has no DOM types (on purpose); Playwright evaluates them as is.
 */

/** Collects the duration of every main-thread task over 50 ms into window.__longTasks. */
export const LONG_TASK_OBSERVER = `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(Math.round(e.duration)) })
    .observe({ type: 'longtask', buffered: true });
`
export const READ_LONG_TASKS = 'window.__longTasks'
export const RESET_LONG_TASKS = 'window.__longTasks = []'

/** A result card (an element) -> what the tests check. */
const RESULT_OF = `(el) => {
    const c = el.querySelector('canvas.frame');
    const channels = c ? Number(c.getAttribute('data-channels') ?? 1) : 1;
    const d = c ? c.getContext('2d').getImageData(0, 0, c.width, c.height).data : null;
    return {
      name: el.querySelector('.file-name')?.textContent ?? '',
      model: el.getAttribute('data-model'),
      status: el.getAttribute('data-status'),
      prediction: el.getAttribute('data-prediction'),
      probabilities: JSON.parse(el.getAttribute('data-probabilities') ?? 'null'),
      error: el.querySelector('[data-testid="error"]')?.textContent ?? null,
      // the input the model saw (HWC), read back from its preview canvas
      frame: d ? Array.from({ length: (d.length / 4) * channels }, (_, i) => d[Math.floor(i / channels) * 4 + (channels === 3 ? i % 3 : 0)]) : null,
    };
  }`

/** Every result card, oldest first, with what the tests check. */
export const READ_RESULTS = `
  Array.from(document.querySelectorAll('[data-testid="result"]')).reverse().map(${RESULT_OF})
`

/** The newest result card, as READ_RESULTS reads each. */
export const READ_NEWEST_RESULT = `(${RESULT_OF})(document.querySelector('[data-testid="result"]'))`

/** A DataTransfer holding the given files, as a drop would carry. */
export function dataTransferOf(files: Array<{ name: string; type: string; b64: string }>): string {
  return `(() => {
    const t = new DataTransfer();
    for (const f of ${JSON.stringify(files)}) {
      const bin = Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0));
      t.items.add(new File([bin], f.name, { type: f.type }));
    }
    return t;
  })()`
}

/** For the benchmark: when the file input changed and when a result first turned done. */
export const ANSWER_TIMING_HOOKS = `
  document.addEventListener('change', () => { window.__changeAt = performance.now() }, true);
  new MutationObserver((records) => {
    for (const r of records) if (r.target.getAttribute && r.target.getAttribute('data-status') === 'done') window.__doneAt ??= performance.now();
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
`
export const RESET_DONE = 'window.__doneAt = undefined'

/**
 * For the benchmark: when a model was picked and when the page first showed that model's keys
 * ready. Read in the page because Playwright's own view lags: it receives every request body
 * through the DevTools protocol, and digesting a large key upload there holds its waitFor back
 * by seconds after the page has turned ready.
 */
export const SWITCH_TIMING_HOOKS = `
  document.addEventListener('change', (e) => {
    if (e.target.closest && e.target.closest('[data-testid="model-picker"]')) window.__switch = { model: e.target.value, pickedAt: performance.now() };
  }, true);
  window.__sessionStatusAt = {};
  new MutationObserver(() => {
    const el = document.querySelector('[data-testid="session"]');
    if (el && el.getAttribute('data-status') === 'ready') window.__firstReadyAt ??= performance.now();
    if (el && window.__firstReadyAt === undefined) window.__sessionStatusAt[el.getAttribute('data-status')] ??= performance.now();
    const s = window.__switch;
    if (!s || s.readyAt !== undefined) return;
    if (el && el.getAttribute('data-model') === s.model && el.getAttribute('data-status') === 'ready') s.readyAt = performance.now();
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status', 'data-model'] });
`
export const READ_SWITCH_TIMES = 'window.__switch'
/** performance.now() (from navigation start) when the page first showed a model's keys ready */
export const READ_FIRST_READY = 'window.__firstReadyAt'
export const READ_ANSWER_TIMES = '[window.__changeAt, window.__doneAt]'
/**
 * performance.now() when the first model's session first showed each status (idle, loading,
 * keygen, uploading) before it was ready: where the cold start's time goes, page side
 */
export const READ_SESSION_STATUS_TIMES = 'window.__sessionStatusAt'

/** For the benchmark: when an example of the gallery was clicked (a result turning done: ANSWER_TIMING_HOOKS). */
export const EXAMPLE_TIMING_HOOKS = `
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('[data-testid="example"]')) window.__exampleAt = performance.now();
  }, true);
`
export const READ_EXAMPLE_TIMES = '[window.__exampleAt, window.__doneAt]'

/** Re-encodes a base64 PNG as WebP with the page's own encoder (Node has none here); resolves to base64. */
export function webpFromPng(b64png: string, quality = 0.9): string {
  return `(async () => {
    const bin = Uint8Array.from(atob(${JSON.stringify(b64png)}), (ch) => ch.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bin], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/webp', quality: ${quality} });
    if (blob.type !== 'image/webp') throw new Error('this browser cannot encode WebP');
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  })()`
}

/** Records, per result card, every server progress value it showed (data-server-done), into window.__progress. */
export const PROGRESS_OBSERVER = `
  window.__progress = {};
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target;
      if (!el.getAttribute || el.getAttribute('data-testid') !== 'result') continue;
      const done = el.getAttribute('data-server-done');
      if (done === null) continue;
      const name = el.querySelector('.file-name')?.textContent ?? '';
      const seen = (window.__progress[name] ??= { done: [], total: Number(el.getAttribute('data-server-total')) });
      if (seen.done[seen.done.length - 1] !== Number(done)) seen.done.push(Number(done));
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-server-done'] });
`
export const READ_PROGRESS = 'window.__progress'
