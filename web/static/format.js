// Formatting for the tables and the header. One locale everywhere, so what a test reads is what a
// person reads.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** A count: 12,345. */
export function count(n) {
  return integer.format(n ?? 0);
}

/** Milliseconds with the precision that matters at their size: 0.42, 12.3, 1,234. */
export function ms(v) {
  if (v == null || !Number.isFinite(v)) return '-';
  if (v >= 100) return integer.format(v);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** A rate per second, one decimal. */
export function rate(v) {
  return oneDecimal.format(v ?? 0);
}

/** A fraction (0..1) as a percentage; small non-zero values keep two decimals so they do not read as 0. */
export function percent(fraction) {
  const p = (fraction ?? 0) * 100;
  if (p === 0) return '0%';
  if (p < 1) return `${p.toFixed(2)}%`;
  return `${p.toFixed(1)}%`;
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units: 512 B, 86.2 MiB. */
export function bytes(n) {
  if (n == null || !Number.isFinite(n)) return '-';
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** Seconds as 45s, 2m 05s, 1h 02m 03s. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds ?? 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x) => String(x).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s % 60)}s`;
  if (m > 0) return `${m}m ${pad(s % 60)}s`;
  return `${s}s`;
}

/** How long before `now` the RFC 3339 time `iso` was, in whole seconds: "3s ago". */
export function ago(iso, now) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return '-';
  return `${Math.max(0, Math.round((now - t) / 1000))}s ago`;
}

/** A k6 group path ("::browse::cart") as a person reads it ("browse › cart"). */
export function group(path) {
  return (path ?? '').replace(/^::/, '').split('::').join(' › ');
}

/** A log line's time of day, hh:mm:ss in local time. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString('en-GB', { hour12: false });
}

const twoDecimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

// k6's builtin counters: their "rate" is per second, not a 0..1 ratio.
const builtinCounters = new Set(['http_reqs', 'iterations', 'data_received', 'data_sent', 'dropped_iterations']);

/**
 * A threshold's observed value ({metric, source, observed, has_data}) in its metric's unit, as the
 * reports print it (internal/report/junit.go, observed): "412 ms" for timings (http_req_*,
 * *_duration), a percentage for rates (http_req_failed, checks, or an expression on "rate"), "/s"
 * for the rate of a builtin counter, a plain number otherwise; "no samples" when there were none.
 */
export function thresholdObserved(t) {
  if (!t?.has_data) return 'no samples';
  const v = t.observed;
  if (v == null || !Number.isFinite(v)) return '-';
  const name = String(t.metric ?? '').split('{')[0].trim();
  const agg = String(t.source ?? '').trim().split(/[<>=!]/)[0].trim();
  if (agg === 'rate' && builtinCounters.has(name)) return `${rate(v)}/s`;
  if (name === 'http_req_failed' || name === 'checks' || agg === 'rate') return percent(v);
  const timing = (name.startsWith('http_req_') || name.endsWith('_duration')) && agg !== 'count';
  if (timing) return `${ms(v)} ms`;
  return twoDecimals.format(v);
}

/** The worker Deployment as the master sees it: "deployment ns/w: 3 of 5 pods ready (spec 5)". */
export function fleet(f) {
  return `${f.name}: ${count(f.ready)} of ${count(f.desired)} pods ready (spec ${count(f.spec)})`;
}

/** The header's threshold summary: "3/4 passing". */
export function thresholdSummary(list) {
  const passing = list.filter((t) => t.ok).length;
  return `${count(passing)}/${count(list.length)} passing`;
}
