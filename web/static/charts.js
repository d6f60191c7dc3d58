// The live charts: the run's per-second series (report.Point) drawn with uPlot.

import uPlot from './vendor/uPlot.esm.js';
import { Series } from './series.js';

// A day of seconds: far more than a chart can show apart, and bounded memory for runs left going.
const maxPoints = 86_400;
const chartHeight = 190;
const minWindow = 60; // seconds

/** The charts of one page; merge() takes points as the feed delivers them. */
export class Charts {
  constructor({ rps, latency, users }) {
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid') } };
    // One line of wall-clock time: uPlot's default adds a second line with the date, which crowds a small chart.
    const timeAxis = { ...axis, space: 70, values: (_u, splits) => splits.map(clock) };
    const zeroBased = { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] };
    const x = { time: true, range: (_u, min, max) => timeWindow(min, max) };
    const line = (label, stroke, extra = {}) => ({ label, stroke, width: 2, ...extra });
    const stepped = uPlot.paths.stepped({ align: 1 });
    const timeSeries = { value: (_u, v) => (v == null ? '-' : clock(v)) };

    this.series = new Series(maxPoints);
    const c = this.series;
    this.els = [rps, latency, users];
    this.plots = [
      this.#plot(rps, {
        scales: { x, y: zeroBased },
        series: [timeSeries, line('req/s', color('--ok'), { value: fixed(1) }), line('failures/s', color('--bad'), { value: fixed(1) })],
        axes: [timeAxis, { ...axis, size: 50 }],
      }, () => [c.cols.time, c.cols.requests, c.cols.failures]),
      this.#plot(latency, {
        scales: { x, y: zeroBased },
        series: [timeSeries, line('p50', color('--series-1'), { value: fixed(1) }), line('p95', color('--series-2'), { value: fixed(1) }),
          line('p99', color('--series-3'), { value: fixed(1) })],
        axes: [timeAxis, { ...axis, size: 50 }],
      }, () => [c.cols.time, c.cols.p50_ms, c.cols.p95_ms, c.cols.p99_ms]),
      this.#plot(users, {
        scales: { x, users: zeroBased, workers: { range: (_u, _min, max) => [0, (max ?? 0) + 1] } },
        series: [timeSeries, line('users', color('--series-1'), { scale: 'users', paths: stepped, value: fixed(0) }),
          line('workers', color('--series-4'), { scale: 'workers', paths: stepped, value: fixed(0) })],
        axes: [timeAxis, { ...axis, scale: 'users', size: 50 }, { ...axis, scale: 'workers', side: 1, size: 40, grid: { show: false } }],
      }, () => [c.cols.time, c.cols.users, c.cols.workers]),
    ];
  }

  /** Forgets every point (a new run, or the statistics were reset). */
  clear() {
    this.series.clear();
    this.#redraw();
  }

  /** Adds points as the feed delivers them (see Series.merge). */
  merge(points) {
    if (!points?.length) return;
    this.series.merge(points);
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
    // Follow the container: the charts share the row and the row follows the window.
    new ResizeObserver(() => {
      if (el.clientWidth > 0) plot.setSize({ width: el.clientWidth, height: chartHeight });
    }).observe(el);
    return { plot, columns: data };
  }

  #redraw() {
    const t = this.series.cols.time;
    for (const { plot, columns } of this.plots) {
      plot.setData(columns());
      // uPlot fits x to the data (a day around a single point); show at least a minute instead.
      if (t.length > 0) {
        const [min, max] = timeWindow(t[0], t[t.length - 1]);
        plot.setScale('x', { min, max });
      }
    }
    for (const el of this.els) el.dataset.points = String(this.series.length);
  }
}

// The x range for points from min to max (seconds): a run's first minute fills the chart from the
// left instead of stretching a few points across it; no points yet shows the minute to come.
function timeWindow(min, max) {
  const from = min ?? Math.floor(Date.now() / 1000);
  return [from, Math.max(max ?? from, from + minWindow)];
}

const clockFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

function clock(seconds) {
  return clockFormat.format(new Date(seconds * 1000));
}

function fixed(digits) {
  return (_u, v) => (v == null ? '-' : v.toFixed(digits));
}
