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

/** Every result card, oldest first, with what the tests check. */
export const READ_RESULTS = `
  Array.from(document.querySelectorAll('[data-testid="result"]')).reverse().map((el) => {
    const c = el.querySelector('canvas.frame');
    const d = c ? c.getContext('2d').getImageData(0, 0, 28, 28).data : null;
    return {
      name: el.querySelector('.file-name')?.textContent ?? '',
      status: el.getAttribute('data-status'),
      prediction: el.getAttribute('data-prediction'),
      probabilities: JSON.parse(el.getAttribute('data-probabilities') ?? 'null'),
      error: el.querySelector('[data-testid="error"]')?.textContent ?? null,
      // the 28x28 frame the model saw, read back from its preview canvas (red channel)
      frame: d ? Array.from({ length: 784 }, (_, i) => d[i * 4]) : null,
    };
  })
`

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
export const READ_ANSWER_TIMES = '[window.__changeAt, window.__doneAt]'
