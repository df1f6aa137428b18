/**
 * The part of a Lighthouse report (its LHR JSON) that docs/benchmarks/lighthouse/ keeps: the
 * category scores, the metrics and the audits that explain them, and in each category the audits
 * that did not pass. The full report is megabytes of traces and screenshots; this is what a
 * reader compares between runs.
 */

/** The audits kept with their values whatever their score. */
export const KEY_AUDITS = [
  'first-contentful-paint',
  'largest-contentful-paint',
  'speed-index',
  'total-blocking-time',
  'cumulative-layout-shift',
  'interactive',
  'server-response-time',
  'mainthread-work-breakdown',
  'bootup-time',
  'uses-text-compression',
  'unused-javascript',
  'render-blocking-resources',
  'total-byte-weight',
] as const

interface LhrAudit {
  id: string
  title: string
  score: number | null
  scoreDisplayMode?: string
  numericValue?: number
  numericUnit?: string
  displayValue?: string
}

/** The fields of a Lighthouse result that the summary reads. */
export interface Lhr {
  lighthouseVersion: string
  userAgent?: string
  environment?: { hostUserAgent?: string }
  fetchTime: string
  finalDisplayedUrl?: string
  configSettings: { formFactor: string; throttlingMethod?: string }
  categories: Record<string, { title: string; score: number | null; auditRefs: { id: string; weight: number }[] }>
  audits: Record<string, LhrAudit>
}

export interface AuditSummary {
  title: string
  score: number | null
  numericValue?: number
  numericUnit?: string
  displayValue?: string
}

export interface LighthouseRun {
  formFactor: string
  throttlingMethod?: string
  fetchTime: string
  /** category id -> score, 0..100 */
  scores: Record<string, number | null>
  audits: Record<string, AuditSummary>
  /** category id -> ids of its weighted audits that scored below 1 */
  failing: Record<string, string[]>
}

const pct = (score: number | null): number | null => (score === null ? null : Math.round(score * 100))

function auditSummary(a: LhrAudit): AuditSummary {
  const out: AuditSummary = { title: a.title, score: a.score }
  if (a.numericValue !== undefined) out.numericValue = Math.round(a.numericValue * 1000) / 1000
  if (a.numericUnit) out.numericUnit = a.numericUnit
  if (a.displayValue) out.displayValue = a.displayValue
  return out
}

export function summarise(lhr: Lhr): LighthouseRun {
  const scores: Record<string, number | null> = {}
  const failing: Record<string, string[]> = {}
  const audits: Record<string, AuditSummary> = {}
  for (const id of KEY_AUDITS) if (lhr.audits[id]) audits[id] = auditSummary(lhr.audits[id])
  for (const [id, category] of Object.entries(lhr.categories)) {
    scores[id] = pct(category.score)
    failing[id] = category.auditRefs
      .filter((ref) => ref.weight > 0 && lhr.audits[ref.id]?.score !== null && (lhr.audits[ref.id]?.score ?? 1) < 1)
      .map((ref) => ref.id)
    for (const ref of category.auditRefs) if (failing[id].includes(ref.id)) audits[ref.id] = auditSummary(lhr.audits[ref.id])
  }
  return {
    formFactor: lhr.configSettings.formFactor,
    throttlingMethod: lhr.configSettings.throttlingMethod,
    fetchTime: lhr.fetchTime,
    scores,
    audits,
    failing,
  }
}

/** The run whose performance score is the median of `runs` (the lower middle one for an even count). */
export function medianRun(runs: LighthouseRun[]): LighthouseRun {
  if (runs.length === 0) throw new Error('no Lighthouse runs')
  const sorted = [...runs].sort((a, b) => (a.scores.performance ?? 0) - (b.scores.performance ?? 0))
  return sorted[(sorted.length - 1) >> 1]
}
