// The live charts: the run's per-second series (report.Point) drawn with uPlot.

import uPlot from './vendor/uPlot.esm.js';

// A day of seconds: far more than a chart can show apart, and bounded memory for runs left going.
const maxPoints = 86_400;
const chartHeight = 190;
const minWindow = 60; // seconds

// The columns kept per point, in uPlot's data layout (time first).
const fields = ['time', 'requests', 'failures', 'p50_ms', 'p95_ms', 'p99_ms', 'users', 'workers'];

/** The charts of one page; merge() takes points as the feed delivers them. */
export class Charts {
  constructor({ rps, latency, users }) {
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid') } };
    // One line of wall-clock time: uPlot's default adds a second line with the date, which crowds a small chart.
    const timeAxis = { ...axis, space: 70, values: (_u, splits) => splits.map(clock) };
    const zeroBased = { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] };
    // A run's first minute fills the chart from the left instead of stretching a few points across it.
    const x = {
      time: true,
      range: (_u, min, max) => {
        const from = min ?? Math.floor(Date.now() / 1000); // no data yet: the minute to come
        return [from, Math.max(max ?? from, from + minWindow)];
      },
    };
    const line = (label, stroke, extra = {}) => ({ label, stroke, width: 2, points: { show: false }, ...extra });
    const stepped = uPlot.paths.stepped({ align: 1 });
    const timeSeries = { value: (_u, v) => (v == null ? '-' : clock(v)) };

    this.cols = Object.fromEntries(fields.map((f) => [f, []]));
    this.els = [rps, latency, users];
    this.plots = [
      this.#plot(rps, {
        scales: { x, y: zeroBased },
        series: [timeSeries, line('req/s', color('--ok'), { value: fixed(1) }), line('failures/s', color('--bad'), { value: fixed(1) })],
        axes: [timeAxis, { ...axis, size: 50 }],
      }, () => [this.cols.time, this.cols.requests, this.cols.failures]),
      this.#plot(latency, {
        scales: { x, y: zeroBased },
        series: [timeSeries, line('p50', color('--series-1'), { value: fixed(1) }), line('p95', color('--series-2'), { value: fixed(1) }),
          line('p99', color('--series-3'), { value: fixed(1) })],
        axes: [timeAxis, { ...axis, size: 50 }],
      }, () => [this.cols.time, this.cols.p50_ms, this.cols.p95_ms, this.cols.p99_ms]),
      this.#plot(users, {
        scales: { x, users: zeroBased, workers: { range: (_u, _min, max) => [0, (max ?? 0) + 1] } },
        series: [timeSeries, line('users', color('--series-1'), { scale: 'users', paths: stepped, value: fixed(0) }),
          line('workers', color('--series-4'), { scale: 'workers', paths: stepped, value: fixed(0) })],
        axes: [timeAxis, { ...axis, scale: 'users', size: 50 }, { ...axis, scale: 'workers', side: 1, size: 40, grid: { show: false } }],
      }, () => [this.cols.time, this.cols.users, this.cols.workers]),
    ];
  }

  /** The number of points held. */
  get length() {
    return this.cols.time.length;
  }

  /** Forgets every point (a new run, or the statistics were reset). */
  clear() {
    for (const f of fields) this.cols[f] = [];
    this.#redraw();
  }

  /** Adds points in any order; a point for a second already held replaces it. */
  merge(points) {
    if (!points?.length) return;
    const t = this.cols.time;
    for (const p of points) {
      const last = t.length - 1;
      if (last < 0 || p.time > t[last]) {
        for (const f of fields) this.cols[f].push(p[f] ?? 0);
        continue;
      }
      const i = lowerBound(t, p.time);
      const replace = t[i] === p.time ? 1 : 0;
      for (const f of fields) this.cols[f].splice(i, replace, p[f] ?? 0);
    }
    if (t.length > maxPoints) {
      for (const f of fields) this.cols[f].splice(0, t.length - maxPoints);
    }
    this.#redraw();
  }

  #plot(el, opts, data) {
    const plot = new uPlot({
      width: Math.max(el.clientWidth, 200),
      height: chartHeight,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      ...opts,
    }, data(), el);
    plot.columns = data;
    // Follow the container: the charts share the row and the row follows the window.
    new ResizeObserver(() => {
      if (el.clientWidth > 0) plot.setSize({ width: el.clientWidth, height: chartHeight });
    }).observe(el);
    return plot;
  }

  #redraw() {
    for (const plot of this.plots) plot.setData(plot.columns());
    for (const el of this.els) el.dataset.points = String(this.length);
  }
}

const clockFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

function clock(seconds) {
  return clockFormat.format(new Date(seconds * 1000));
}

function fixed(digits) {
  return (_u, v) => (v == null ? '-' : v.toFixed(digits));
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
