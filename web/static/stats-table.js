// The request statistics table. It holds every row in memory but puts only the visible ones (plus a
// few either side) in the DOM: rows have a fixed height, two spacer rows stand in for the rest, and
// scrolling re-renders the window. A run with thousands of request names stays as fast as one with ten.

import * as fmt from './format.js';

const rowHeight = 28; // px; keep in step with .stats tbody tr in style.css
const overscan = 8;

const byText = (get) => ({ get, text: true });
const byNumber = (get, format) => ({ get, format });
const dist = (k) => (r) => r.duration_ms?.[k];

// Columns in display order. get() reads the value the column sorts by.
const columns = [
  { key: 'method', label: 'Type', width: 64, ...byText((r) => r.method ?? '') },
  { key: 'name', label: 'Name', ...byText((r) => r.name ?? '') }, // takes the width left
  { key: 'requests', label: '# Requests', width: 96, ...byNumber((r) => r.requests, fmt.count) },
  { key: 'failures', label: '# Fails', width: 80, ...byNumber((r) => r.failures, fmt.count) },
  { key: 'med', label: 'Median (ms)', width: 80, ...byNumber(dist('med'), fmt.ms) },
  { key: 'p90', label: '90%ile (ms)', width: 80, ...byNumber(dist('p90'), fmt.ms) },
  { key: 'p95', label: '95%ile (ms)', width: 80, ...byNumber(dist('p95'), fmt.ms) },
  { key: 'p99', label: '99%ile (ms)', width: 80, ...byNumber(dist('p99'), fmt.ms) },
  { key: 'avg', label: 'Average (ms)', width: 80, ...byNumber(dist('avg'), fmt.ms) },
  { key: 'min', label: 'Min (ms)', width: 72, ...byNumber(dist('min'), fmt.ms) },
  { key: 'max', label: 'Max (ms)', width: 72, ...byNumber(dist('max'), fmt.ms) },
  // k6 counts bytes per iteration, not per request: a row's size comes from the iterations whose
  // requests were all the row's ('-' if none); the totals' from every byte (docs/reports.md).
  {
    key: 'size', label: 'Average size (bytes)', width: 96,
    title: 'Bytes received per request, headers included. Per row: over the requests of iterations that made only that row\'s requests (- if none did). Aggregated: all bytes over all requests.',
    ...byNumber((r) => r.avg_size_bytes, (v) => (v == null ? '-' : fmt.count(v))),
  },
  { key: 'rps', label: 'Current RPS', width: 84, ...byNumber((r) => r.current_rps, fmt.rate) },
  { key: 'fps', label: 'Current failures/s', width: 96, ...byNumber((r) => r.current_failures_per_second, fmt.rate) },
];

export class StatsTable {
  /**
   * table: an empty <table>; scroller: the element that scrolls it (fixed height);
   * onCount(shown, total): told how many rows pass the filter.
   */
  constructor(table, scroller, { onCount = () => {} } = {}) {
    this.table = table;
    this.scroller = scroller;
    this.onCount = onCount;
    this.rows = [];      // every row, as the master sent them
    this.view = [];      // filtered and sorted
    this.pool = [];      // the <tr>s in the DOM, reused as the window moves
    this.filter = '';
    this.sort = { key: 'name', desc: false };
    this.#build();
    let queued = false;
    scroller.addEventListener('scroll', () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        this.render();
      });
    }, { passive: true });
    new ResizeObserver(() => this.render()).observe(scroller);
  }

  /** Replaces the rows and the totals (the Aggregated row). */
  setData(rows, totals) {
    this.rows = rows ?? [];
    this.#fill(this.totalRow, totals ? { ...totals, name: 'Aggregated', method: '' } : null);
    this.#refresh();
  }

  /** Shows only rows whose name contains text (any case). */
  setFilter(text) {
    this.filter = text.trim().toLowerCase();
    this.#refresh();
    this.scroller.scrollTop = 0;
  }

  clear() {
    this.setData([], null);
  }

  /** Renders the rows in view; call after the table becomes visible. */
  render() {
    const n = this.view.length;
    const height = this.scroller.clientHeight;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / rowHeight) - overscan);
    const last = Math.min(n, Math.ceil((this.scroller.scrollTop + height) / rowHeight) + overscan);
    const count = Math.max(0, last - first);
    this.top.firstChild.style.height = `${first * rowHeight}px`;
    this.bottom.firstChild.style.height = `${(n - last) * rowHeight}px`;
    this.top.hidden = first === 0;
    this.bottom.hidden = last >= n;
    while (this.pool.length < count) {
      const tr = this.#row('stats-row');
      this.body.insertBefore(tr, this.bottom);
      this.pool.push(tr);
    }
    while (this.pool.length > count) this.pool.pop().remove();
    for (let i = 0; i < count; i++) this.#fill(this.pool[i], this.view[first + i]);
  }

  #refresh() {
    const f = this.filter;
    const shown = f ? this.rows.filter((r) => (r.name ?? '').toLowerCase().includes(f)) : this.rows.slice();
    const col = columns.find((c) => c.key === this.sort.key);
    const sign = this.sort.desc ? -1 : 1;
    shown.sort((a, b) => sign * compare(col.get(a), col.get(b)) || compare(a.name, b.name) || compare(a.method, b.method));
    this.view = shown;
    this.table.dataset.rows = String(shown.length);
    this.onCount(shown.length, this.rows.length);
    this.render();
  }

  #build() {
    const colgroup = document.createElement('colgroup');
    const headRow = document.createElement('tr');
    this.headers = new Map();
    for (const c of columns) {
      const col = document.createElement('col');
      if (c.width) col.style.width = `${c.width}px`;
      colgroup.append(col);
      const th = document.createElement('th');
      th.scope = 'col';
      th.dataset.col = c.key;
      if (!c.text) th.className = 'num';
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = c.label;
      if (c.title) button.title = c.title;
      button.addEventListener('click', () => this.#sortBy(c));
      th.append(button);
      headRow.append(th);
      this.headers.set(c.key, th);
    }
    const thead = document.createElement('thead');
    thead.append(headRow);

    this.body = document.createElement('tbody');
    this.top = this.#spacer();
    this.bottom = this.#spacer();
    this.body.append(this.top, this.bottom);

    const tfoot = document.createElement('tfoot');
    this.totalRow = this.#row('stats-total');
    tfoot.append(this.totalRow);

    this.table.replaceChildren(colgroup, thead, this.body, tfoot);
    this.#markSort();
  }

  #sortBy(col) {
    // Numbers read best largest first; text A to Z. A second click turns the order around.
    this.sort = this.sort.key === col.key ? { key: col.key, desc: !this.sort.desc } : { key: col.key, desc: !col.text };
    this.#markSort();
    this.scroller.scrollTop = 0;
    this.#refresh();
  }

  #markSort() {
    for (const [key, th] of this.headers) {
      th.setAttribute('aria-sort', key !== this.sort.key ? 'none' : this.sort.desc ? 'descending' : 'ascending');
    }
  }

  #spacer() {
    const tr = document.createElement('tr');
    tr.className = 'spacer';
    tr.setAttribute('aria-hidden', 'true');
    const td = document.createElement('td');
    td.colSpan = columns.length;
    tr.append(td);
    return tr;
  }

  #row(testid) {
    const tr = document.createElement('tr');
    tr.dataset.testid = testid;
    for (const c of columns) {
      const td = document.createElement('td');
      td.dataset.col = c.key;
      if (!c.text) td.className = 'num';
      tr.append(td);
    }
    return tr;
  }

  // Writes row r into tr, touching only the cells whose text changed.
  #fill(tr, r) {
    tr.hidden = !r;
    if (!r) return;
    tr.dataset.name = r.name ?? '';
    tr.dataset.method = r.method ?? '';
    tr.title = r.name ?? '';
    const cells = tr.children;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i];
      const v = c.get(r);
      const text = c.text ? v : c.format(v);
      if (cells[i].textContent !== text) cells[i].textContent = text;
    }
  }
}

function compare(a, b) {
  if (a === b) return 0;
  if (a == null) return -1;
  if (b == null) return 1;
  return a < b ? -1 : 1;
}
