// The live charts: the run's per-second series (report.Point) drawn with uPlot.

import uPlot from './vendor/uPlot.esm.js';
import { Series } from './series.js';
import { groupKeys } from './autoscaling.js';

// A day of seconds: far more than a chart can show apart, and bounded memory for runs left going.
const maxPoints = 86_400;
const chartHeight = 190;
const minWindow = 60; // seconds

// Integer steps for replica counts: never a tick at 2.5 pods.
const countIncrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** The charts of one page; merge() takes points as the feed delivers them. */
export class Charts {
  constructor({ rps, latency, users, hpa }) {
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
    this.style = { color, axis, timeAxis, x, line, stepped, timeSeries };

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

    // The autoscaling chart's series depend on the HPAs seen, so its plot is rebuilt when they change.
    this.hpa = { el: hpa, plot: null, groups: '', gaugeKeys: [] };
    if (hpa) {
      this.#buildHPA();
      new ResizeObserver(() => {
        if (hpa.clientWidth > 0) this.hpa.plot.setSize({ width: hpa.clientWidth, height: chartHeight });
      }).observe(hpa);
    }
  }

  /** Whether the autoscaling chart has anything to show: an HPA in the points or the gauges. */
  get hasAutoscaling() {
    return this.#hpaGroups().length > 0;
  }

  /**
   * The keys of the master's gauges now: their HPAs get a place in the autoscaling chart (and its
   * legend) before the first point that carries them.
   */
  setGaugeKeys(keys) {
    const sorted = [...(keys ?? [])].sort();
    if (sorted.join('\n') === this.hpa.gaugeKeys.join('\n')) return;
    this.hpa.gaugeKeys = sorted;
    if (this.hpa.el) this.#redraw();
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

  #hpaGroups() {
    return groupKeys(new Set([...this.series.extra.keys(), ...this.hpa.gaugeKeys]));
  }

  // (Re)builds the autoscaling plot for the HPAs now known: per HPA, replicas and desired replicas
  // as steps on the left axis, CPU utilisation on the right one when any HPA reports it.
  #buildHPA() {
    const { color, axis, timeAxis, x, line, stepped, timeSeries } = this.style;
    const groups = this.#hpaGroups();
    this.hpa.groups = JSON.stringify(groups);
    const palette = ['--series-1', '--series-2', '--series-4', '--ok', '--series-3'].map(color);
    const series = [timeSeries];
    const keys = [];
    groups.forEach((h, i) => {
      const stroke = palette[i % palette.length];
      const add = (key, s) => {
        if (!key) return;
        keys.push(key);
        series.push(s);
      };
      add(h.replicas, line(`${h.name} replicas`, stroke, { scale: 'count', paths: stepped, value: fixed(0) }));
      add(h.desired, line(`${h.name} desired`, stroke, { scale: 'count', paths: stepped, dash: [6, 4], value: fixed(0) }));
      add(h.cpu, line(`${h.name} CPU %`, stroke, { scale: 'pct', width: 1, dash: [2, 3], value: fixed(1) }));
    });
    const cpu = groups.some((h) => h.cpu);
    const axes = [timeAxis, { ...axis, scale: 'count', size: 40, incrs: countIncrs, values: (_u, splits) => splits.map(String) }];
    if (cpu) axes.push({ ...axis, scale: 'pct', side: 1, size: 50, grid: { show: false }, values: (_u, splits) => splits.map((v) => `${v}%`) });
    const columns = () => {
      const t = this.series.cols.time;
      return [t, ...keys.map((k) => this.series.extra.get(k) ?? new Array(t.length).fill(null))];
    };
    this.hpa.plot?.destroy();
    this.hpa.plot = new uPlot({
      width: Math.max(this.hpa.el.clientWidth, 200),
      height: chartHeight,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x,
        count: { range: (_u, _min, max) => [0, Math.max(max ?? 0, 1) + 1] },
        pct: { range: (_u, _min, max) => [0, Math.max(max ?? 0, 100)] },
      },
      series,
      axes,
    }, columns(), this.hpa.el);
    this.hpa.columns = columns;
    this.hpa.el.dataset.hpas = groups.map((h) => h.name).join(',');
  }

  #redraw() {
    const t = this.series.cols.time;
    if (this.hpa.el) {
      if (JSON.stringify(this.#hpaGroups()) !== this.hpa.groups) this.#buildHPA();
      // Its points are the seconds drawn, once some point has carried an HPA's values.
      const drawn = groupKeys(this.series.extra.keys()).length > 0;
      this.hpa.el.dataset.points = String(drawn ? this.series.length : 0);
    }
    const plots = this.hpa.el ? [...this.plots, { plot: this.hpa.plot, columns: this.hpa.columns }] : this.plots;
    for (const { plot, columns } of plots) {
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
