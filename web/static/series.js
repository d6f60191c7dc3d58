// The run's per-second series (report.Point) as columns, merged as the feed delivers it.

// The columns kept per point, in uPlot's data layout (time first).
export const fields = ['time', 'requests', 'failures', 'p50_ms', 'p95_ms', 'p99_ms', 'users', 'workers'];

// A second without requests has no response times: null leaves a gap instead of a dive to 0.
const latency = new Set(['p50_ms', 'p95_ms', 'p99_ms']);
const value = (p, f) => (latency.has(f) && !p.requests ? null : p[f] ?? 0);
const extraValue = (p, k) => (p.extra && Object.hasOwn(p.extra, k) ? p.extra[k] : null);

export class Series {
  /** limit is the most points kept; the oldest go first. */
  constructor(limit) {
    this.limit = limit;
    this.clear();
  }

  /** The number of points held. */
  get length() {
    return this.cols.time.length;
  }

  clear() {
    this.cols = Object.fromEntries(fields.map((f) => [f, []]));
    // The points' extra values (HPA replicas...), a column per key aligned with cols.time: null for
    // the seconds without that key. Keys come and go with what the master watches, so they are kept
    // as they appear.
    this.extra = new Map();
  }

  /** The extra keys seen, sorted. */
  extraKeys() {
    return [...this.extra.keys()].sort();
  }

  /** Adds points in any order; a point for a second already held replaces it. */
  merge(points) {
    const t = this.cols.time;
    for (const p of points ?? []) {
      for (const k of Object.keys(p.extra ?? {})) {
        if (!this.extra.has(k)) this.extra.set(k, new Array(t.length).fill(null));
      }
      const last = t.length - 1;
      if (last < 0 || p.time > t[last]) {
        for (const f of fields) this.cols[f].push(value(p, f));
        for (const [k, col] of this.extra) col.push(extraValue(p, k));
        continue;
      }
      const i = lowerBound(t, p.time);
      const replace = t[i] === p.time ? 1 : 0;
      for (const f of fields) this.cols[f].splice(i, replace, value(p, f));
      for (const [k, col] of this.extra) col.splice(i, replace, extraValue(p, k));
    }
    if (t.length > this.limit) {
      const drop = t.length - this.limit;
      for (const f of fields) this.cols[f].splice(0, drop);
      for (const col of this.extra.values()) col.splice(0, drop);
    }
  }
}

// The first index whose time is not before t.
function lowerBound(times, t) {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
