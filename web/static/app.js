// Stampede's web UI. Everything on the page comes from the master's websocket feed (web.Frame: a
// snapshot on connect, then an update every second with only the new series points and log lines);
// the forms use the REST API under api/v1/. All URLs are relative, so the UI works behind a prefix.

import { connectFeed } from './feed.js';
import { Charts } from './charts.js';
import { StatsTable } from './stats-table.js';
import * as fmt from './format.js';
import { formatEnv, parseEnv } from './env.js';
import { hpaRows } from './autoscaling.js';
import { formatTags, formatWeights, parseTags, parseWeights, shapeStatus, stageLabel } from './swarm.js';

const logLimit = 500;     // log lines kept in the DOM
const failureLimit = 500; // failure groups shown, most frequent first

const $ = (id) => document.getElementById(id);

const el = {
  scriptName: $('script-name'),
  engine: $('engine'),
  state: $('run-state'),
  users: $('users'),
  workerCount: $('worker-count'),
  podsItem: $('pods-item'),
  pods: $('header-pods'),
  waiting: $('header-waiting'),
  fleetError: $('fleet-error'),
  rps: $('total-rps'),
  failurePercent: $('failure-percent'),
  elapsed: $('elapsed'),
  thresholdsSummaryItem: $('thresholds-summary-item'),
  thresholdsSummary: $('thresholds-summary'),
  connection: $('connection'),
  runError: $('run-error'),
  startForm: $('start-form'),
  startMode: $('start-mode'),
  startUsers: $('start-users'),
  startSpawnRate: $('start-spawn-rate'),
  startRunTime: $('start-run-time'),
  startWorkersLabel: $('start-workers-label'),
  startWorkers: $('start-workers'),
  startEnv: $('start-env'),
  startTags: $('start-tags'),
  startExcludeTags: $('start-exclude-tags'),
  startClassWeights: $('start-class-weights'),
  editForm: $('edit-form'),
  editUsers: $('edit-users'),
  editSpawnRate: $('edit-spawn-rate'),
  stopButton: $('stop-button'),
  resetButton: $('reset-button'),
  formError: $('form-error'),
  runSwarm: $('run-swarm'),
  classesSection: $('classes-section'),
  classesTags: $('classes-tags'),
  classes: $('classes-table').tBodies[0],
  shapeSection: $('shape-section'),
  shapeStatus: $('shape-status'),
  shapeStages: $('shape-stages'),
  statsFilter: $('stats-filter'),
  statsCount: $('stats-count'),
  namesFolded: $('names-folded'),
  failuresBadge: $('failures-badge'),
  failuresNote: $('failures-note'),
  failures: $('failures-table').tBodies[0],
  checks: $('checks-table').tBodies[0],
  thresholdsBadge: $('thresholds-badge'),
  thresholdsNote: $('thresholds-note'),
  thresholds: $('thresholds-table').tBodies[0],
  workers: $('workers-table').tBodies[0],
  fleetNote: $('fleet-note'),
  hpaSection: $('hpa-section'),
  hpa: $('hpa-table').tBodies[0],
  hpaFigure: $('chart-hpa-figure'),
  logs: $('logs-table').tBodies[0],
  logsScroll: $('logs-scroll'),
  downloads: $('downloads'),
};

// What the page shows: the last frame and what it has merged so far.
const view = {
  frame: null,
  runId: undefined,      // the run the charts, tables and logs belong to
  statsReset: undefined, // that run's last stats reset
  lastLogSeq: 0,
  controls: '',          // 'start' or 'edit': which form is up
  editFilled: null,      // the values last written into the edit form
  busy: false,           // an API call is under way
  tab: 'stats',
};

const charts = new Charts({ rps: $('chart-rps'), latency: $('chart-latency'), users: $('chart-users'), hpa: $('chart-hpa') });
const statsTable = new StatsTable($('stats-table'), $('stats-scroll'), {
  onCount: (shown, total) => {
    el.statsCount.textContent = shown === total ? `${fmt.count(total)} rows` : `${fmt.count(shown)} of ${fmt.count(total)} rows`;
  },
});

// ---- The feed ----

function onFrame(frame) {
  const run = frame.run;
  const runId = run?.id ?? null;
  const reset = run?.stats_reset ?? null;
  if (runId !== view.runId) {
    // A new run: nothing of the last one belongs on the page.
    view.runId = runId;
    view.statsReset = reset;
    charts.clear();
    statsTable.clear();
    clearLogs();
  } else if (reset !== view.statsReset) {
    view.statsReset = reset; // the master's series starts over with the statistics
    charts.clear();
  }
  if (frame.type === 'snapshot') {
    // A snapshot holds the whole series and every kept log line: start from it alone.
    charts.clear();
    clearLogs();
  }
  charts.merge(frame.series);
  charts.setGaugeKeys(Object.keys(frame.gauges ?? {}));
  el.hpaFigure.hidden = !charts.hasAutoscaling;
  appendLogs(frame.logs);
  view.frame = frame;
  renderHeader(frame);
  renderControls(frame);
  renderSwarm(frame.run);
  renderPanel();
}

function onStatus(status, retrySeconds) {
  const text = {
    connecting: 'connecting…',
    live: 'live',
    disconnected: `disconnected, retrying in ${retrySeconds}s`,
  }[status];
  if (el.connection.textContent === text) return; // every frame says "live": announce changes only
  el.connection.dataset.status = status;
  el.connection.textContent = text;
  document.body.classList.toggle('offline', status === 'disconnected');
}

// ---- Header ----

function renderHeader(frame) {
  const run = frame.run;
  const totals = frame.stats?.totals;
  const state = run?.state ?? 'idle';
  el.scriptName.textContent = run?.script || frame.defaults?.script || '';
  // Which of the workers' engines runs the file: k6 for a script, native for a flow.
  el.engine.textContent = run?.engine ? (run.engine === 'native' ? 'flow · native engine' : 'k6 engine') : '';
  el.engine.hidden = !run?.engine;
  el.state.textContent = state;
  el.state.dataset.state = state;
  el.users.textContent = !run ? '0' : run.mode === 'swarm'
    ? `${fmt.count(run.users_running)} / ${fmt.count(run.users)}`
    : fmt.count(run.users_running);
  el.workerCount.textContent = fmt.count(frame.workers?.length ?? 0);
  renderFleet(frame);
  el.rps.textContent = fmt.rate(totals?.current_rps);
  el.failurePercent.textContent = fmt.percent(totals?.failure_rate);
  el.elapsed.textContent = run?.started ? fmt.duration(run.elapsed_seconds) : '-';
  renderThresholdSummary(run?.thresholds ?? []);
  el.runError.hidden = !run?.error;
  el.runError.textContent = run?.error ? `Run error: ${run.error}` : '';
  document.title = run ? `Stampede · ${state}` : 'Stampede';
  for (const a of el.downloads.querySelectorAll('a')) {
    a.toggleAttribute('aria-disabled', !run); // no run, no reports
    a.tabIndex = run ? 0 : -1;
  }
}

// The worker Deployment the master scales (ready of desired pods, its error if any), and a run that
// waits for the workers it scaled to.
function renderFleet(frame) {
  const fleet = frame.fleet;
  el.podsItem.hidden = !fleet;
  el.pods.textContent = fleet ? `${fmt.count(fleet.ready)}/${fmt.count(fleet.desired)}` : '';
  el.pods.title = fleet ? fmt.fleet(fleet) : '';
  el.pods.dataset.state = !fleet ? '' : fleet.error ? 'error' : fleet.ready >= fleet.desired ? 'ready' : 'scaling';
  el.fleetError.hidden = !fleet?.error;
  el.fleetError.textContent = fleet?.error ? `Worker pods (${fleet.name}): ${fleet.error}` : '';
  const run = frame.run;
  const connected = (frame.workers ?? []).filter((w) => w.connected !== false).length;
  const waiting = run?.state === 'preparing' && run.workers_asked > connected;
  el.waiting.hidden = !waiting;
  el.waiting.textContent = waiting ? `waiting for ${fmt.count(run.workers_asked)} workers (${fmt.count(connected)} connected)` : '';
}

// The thresholds' verdict at a glance; hidden when the run has none. A click opens their tab.
function renderThresholdSummary(list) {
  el.thresholdsSummaryItem.hidden = list.length === 0;
  const failing = list.filter((t) => !t.ok).length;
  el.thresholdsSummary.textContent = list.length === 0 ? '' : fmt.thresholdSummary(list);
  el.thresholdsSummary.dataset.state = failing > 0 ? 'fail' : 'pass';
  el.thresholdsBadge.hidden = failing === 0;
  el.thresholdsBadge.textContent = fmt.count(failing);
}

// ---- Forms ----

function renderControls(frame) {
  const run = frame.run;
  const want = !run || run.state === 'stopped' ? 'start' : 'edit';
  if (want !== view.controls) {
    // Fill a form only as it comes up, never under the user's fingers.
    view.controls = want;
    if (want === 'start') fillStartForm(frame);
    else fillEditForm(run);
    el.startForm.hidden = want !== 'start';
    el.editForm.hidden = want !== 'edit';
  } else if (want === 'edit') {
    followRun(run);
  }
  const stopping = run?.state === 'stopping';
  const swarm = run?.mode === 'swarm';
  for (const input of [el.editUsers, el.editSpawnRate, $('edit-button')]) input.disabled = view.busy || stopping || !swarm;
  el.stopButton.disabled = view.busy || stopping;
  el.resetButton.disabled = view.busy || stopping;
  $('start-button').disabled = view.busy;
}

// The start form offers the last run's settings again, or the master's defaults before the first run.
function fillStartForm(frame) {
  const run = frame.run;
  const d = frame.defaults ?? {};
  const src = run ?? d;
  el.startMode.value = run?.shape ? 'shape' : run?.mode === 'script' ? 'script' : 'swarm';
  el.startUsers.value = (run?.mode === 'swarm' && !run.shape ? run.users : d.users) || 1;
  // After a run the class weights stay as typed: the run shows the weights in effect, not those
  // asked for. Before the first, the master's flags fill them.
  el.startTags.value = formatTags(run ? run.tags : d.tags);
  el.startExcludeTags.value = formatTags(run ? run.exclude_tags : d.exclude_tags);
  if (!run && d.class_weights) el.startClassWeights.value = formatWeights(d.class_weights);
  el.startSpawnRate.value = src.spawn_rate ?? 0;
  el.startRunTime.value = src.run_time ?? '';
  el.startEnv.value = formatEnv(src.env);
  // The workers to scale to: the last run's, or the master's default (0: the workers connected).
  el.startWorkersLabel.hidden = !d.scaling;
  el.startWorkers.max = d.max_workers > 0 ? String(d.max_workers) : '';
  el.startWorkers.value = String((run ? run.workers_asked : d.workers) ?? 0);
  syncMode();
}

function fillEditForm(run) {
  el.editUsers.value = run.users;
  el.editSpawnRate.value = run.spawn_rate;
  view.editFilled = { users: el.editUsers.value, spawnRate: el.editSpawnRate.value };
}

// Another client (or the API) may change the run: follow it unless the user has typed something.
function followRun(run) {
  const f = view.editFilled;
  if (!f || el.editUsers.value !== f.users || el.editSpawnRate.value !== f.spawnRate) return;
  if (document.activeElement === el.editUsers || document.activeElement === el.editSpawnRate) return;
  fillEditForm(run);
}

function syncMode() {
  const mode = el.startMode.value;
  el.startUsers.disabled = mode !== 'swarm';
  el.startSpawnRate.disabled = mode !== 'swarm';
  // User classes run in a swarm, whether users or a shape drive it.
  for (const input of [el.startTags, el.startExcludeTags, el.startClassWeights]) input.disabled = mode === 'script';
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new Error(`cannot reach the master: ${err.message}`);
  }
  if (res.status === 401) {
    location.assign('login'); // the session ended (the master restarted, or it expired)
    throw new Error('logged out');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error || `${method} ${path}: HTTP ${res.status}`);
  return data;
}

function showError(message) {
  el.formError.textContent = message;
  el.formError.hidden = !message;
}

// Runs one API action: the buttons wait for it, and its answer (a RunView) shows at once instead of
// at the next frame.
async function act(action) {
  if (view.busy) return;
  view.busy = true;
  showError('');
  if (view.frame) renderControls(view.frame);
  try {
    const run = await action();
    if (run?.id && view.frame) {
      const prev = view.frame;
      const same = prev.run?.id === run.id;
      onFrame({ ...prev, type: 'update', run, stats: same ? prev.stats : null, series: [], logs: [] });
    }
  } catch (err) {
    showError(err.message);
  } finally {
    view.busy = false;
    if (view.frame) renderControls(view.frame);
  }
}

el.startMode.addEventListener('change', syncMode);

el.startForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(() => {
    const body = { env: parseEnv(el.startEnv.value), run_time: el.startRunTime.value.trim() };
    const mode = el.startMode.value;
    if (mode === 'swarm') {
      body.users = Number(el.startUsers.value);
      body.spawn_rate = Number(el.startSpawnRate.value || 0);
    } else {
      body.mode = mode;
    }
    if (mode !== 'script') {
      body.tags = parseTags(el.startTags.value);
      body.exclude_tags = parseTags(el.startExcludeTags.value);
      body.class_weights = parseWeights(el.startClassWeights.value);
    }
    if (!el.startWorkersLabel.hidden) body.workers = Number(el.startWorkers.value || 0);
    return api('POST', 'api/v1/runs', body);
  });
});

el.editForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(async () => {
    const run = await api('PATCH', 'api/v1/runs/current', {
      users: Number(el.editUsers.value),
      spawn_rate: Number(el.editSpawnRate.value || 0),
    });
    fillEditForm(run);
    return run;
  });
});

el.stopButton.addEventListener('click', () => act(() => api('POST', 'api/v1/runs/current/stop')));
el.resetButton.addEventListener('click', () => act(() => api('POST', 'api/v1/stats/reset')));
el.thresholdsSummary.addEventListener('click', () => selectTab($('tab-thresholds')));

// ---- User classes and load shape ----

// The run's user classes with the users asked of each now, and its load shape's stages with the
// one playing marked; hidden for a run without them.
function renderSwarm(run) {
  const classes = run?.classes ?? [];
  const shape = run?.shape ?? null;
  el.runSwarm.hidden = classes.length === 0 && !shape;
  el.classesSection.hidden = classes.length === 0;
  const chosen = [run?.tags?.length ? `tags ${run.tags.join(', ')}` : '',
    run?.exclude_tags?.length ? `excluding ${run.exclude_tags.join(', ')}` : ''].filter(Boolean).join('; ');
  el.classesTags.textContent = chosen;
  el.classes.replaceChildren(...classes.map((c) => {
    const tr = row('class-row', [
      cell(c.name, { col: 'name', cls: 'mono' }), cell((c.tags ?? []).join(', '), { col: 'tags', cls: 'muted' }),
      cell(fmt.count(c.weight), { num: true, col: 'weight' }), cell(fmt.count(c.users), { num: true, col: 'users' }),
    ]);
    tr.dataset.name = c.name;
    return tr;
  }));
  el.shapeSection.hidden = !shape;
  if (!shape) return;
  el.shapeStatus.textContent = shapeStatus(shape);
  el.shapeStatus.dataset.takenOver = String(shape.taken_over);
  el.shapeStages.replaceChildren(...shape.stages.map((st, i) => {
    const li = document.createElement('li');
    li.dataset.testid = 'shape-stage';
    li.dataset.state = i < shape.stage ? 'done' : i === shape.stage ? 'current' : 'next';
    if (i === shape.stage) li.setAttribute('aria-current', 'step');
    li.textContent = `${i + 1}. ${stageLabel(st)}`;
    return li;
  }));
}

// ---- Tabs ----

const tabs = [...document.querySelectorAll('[role=tab]')];

function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  view.tab = tab.id.replace(/^tab-/, '');
  if (view.tab === 'logs') scrollLogs(true);
  renderPanel();
}

for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (ev) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (!step) return;
    const next = tabs[(tabs.indexOf(t) + step + tabs.length) % tabs.length];
    selectTab(next);
    next.focus();
  });
}
selectTab(tabs[0]);

// ---- Panels ----

// Only the panel in view is rendered; the others catch up when they are opened.
function renderPanel() {
  const frame = view.frame;
  if (!frame) return;
  const failures = frame.stats?.totals?.failures ?? 0;
  el.failuresBadge.hidden = failures === 0;
  el.failuresBadge.textContent = fmt.count(failures);
  switch (view.tab) {
    case 'stats': return renderStats(frame);
    case 'failures': return renderFailures(frame);
    case 'checks': return renderChecks(frame);
    case 'thresholds': return renderThresholds(frame);
    case 'workers': return renderWorkers(frame);
  }
}

function renderStats(frame) {
  const run = frame.run;
  statsTable.setData(frame.stats?.rows, frame.stats?.totals);
  const folded = run?.names_folded ?? 0;
  el.namesFolded.hidden = folded === 0;
  el.namesFolded.textContent = folded === 0 ? ''
    : `${fmt.count(folded)} request names beyond the cap of ${fmt.count(run.name_cap)} were folded into the (other) row.`;
}

function renderFailures(frame) {
  const all = [...(frame.stats?.errors ?? [])].sort((a, b) => b.count - a.count);
  const shown = all.slice(0, failureLimit);
  el.failuresNote.textContent = all.length === 0 ? 'No failures.'
    : all.length > shown.length ? `The ${fmt.count(shown.length)} most frequent of ${fmt.count(all.length)} kinds of failure.`
      : '';
  el.failures.replaceChildren(...shown.map((e) => row('failure-row', [
    cell(e.method), cell(e.name, { title: true }), cell(e.error, { cls: 'wrap' }), cell(fmt.count(e.count), { num: true, col: 'count' }),
  ])));
}

function renderChecks(frame) {
  el.checks.replaceChildren(...(frame.stats?.checks ?? []).map((c) => {
    const tr = row('check-row', [
      cell(fmt.group(c.group)), cell(c.name, { title: true }), cell(fmt.count(c.passes), { num: true, col: 'passes' }),
      cell(fmt.count(c.fails), { num: true, col: 'fails' }), cell(fmt.percent(c.rate), { num: true, col: 'rate' }),
    ]);
    tr.classList.toggle('failing', c.fails > 0);
    return tr;
  }));
}

// One row per threshold, in the master's order: judged every second while the load runs, and at the end.
function renderThresholds(frame) {
  const run = frame.run;
  const list = run?.thresholds ?? [];
  el.thresholdsNote.textContent = !run ? 'No run yet.'
    : list.length === 0 ? 'The run has no thresholds (the script\'s options.thresholds or --threshold).'
      : run.state === 'stopped' ? 'The final verdict of the run.'
        : 'Judged on the merged data of all workers, every second while the load runs.';
  el.thresholds.replaceChildren(...list.map((t) => {
    const status = t.ok ? 'pass' : t.aborted ? 'aborted' : 'fail';
    const expr = cell(t.source, { col: 'expression', cls: 'mono' });
    if (t.abort_on_fail) {
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = 'abortOnFail';
      tag.title = 'stops the run when it fails';
      expr.append(' ', tag);
    }
    const tr = row('threshold-row', [
      cell(t.metric, { col: 'metric', cls: 'mono', title: true }), expr,
      cell(fmt.thresholdObserved(t), { num: true, col: 'observed', cls: t.has_data ? '' : 'muted' }),
      cell(t.ok ? '✓ pass' : t.aborted ? '✗ aborted the run' : '✗ fail', { col: 'status', cls: `verdict verdict-${t.ok ? 'pass' : 'fail'}` }),
      cell(t.error ?? '', { col: 'error', cls: 'wrap' }),
    ]);
    tr.dataset.status = status;
    tr.classList.toggle('failing', !t.ok);
    return tr;
  }));
}

function renderWorkers(frame) {
  const now = Date.parse(frame.time);
  const taking = new Map((frame.run?.workers ?? []).map((w) => [w.id, w]));
  const rows = (frame.workers ?? []).map((w) => row('worker-row', [
    cell(String(w.index), { num: true, col: 'index' }), cell(w.host, { col: 'host' }), cell(w.id, { cls: 'muted' }),
    cell(w.state, { col: 'state', cls: `worker-${w.state}` }), cell(fmt.count(w.users), { num: true, col: 'users' }),
    cell(w.cpu_percent.toFixed(1), { num: true, col: 'cpu' }), cell(fmt.bytes(w.memory_bytes), { num: true, col: 'memory' }),
    cell(taking.has(w.id) ? fmt.count(taking.get(w.id).requests) : '-', { num: true, col: 'requests' }),
    cell(fmt.ago(w.last_heartbeat, now), { num: true, col: 'heartbeat' }),
  ]));
  // Workers that took part in the run but are gone: their requests still count.
  const connected = new Set((frame.workers ?? []).map((w) => w.id));
  for (const w of taking.values()) {
    if (connected.has(w.id)) continue;
    const tr = row('worker-row', [
      cell(String(w.index), { num: true, col: 'index' }), cell(w.host, { col: 'host' }), cell(w.id, { cls: 'muted' }),
      cell(w.lost ? 'lost' : 'left', { col: 'state', cls: 'worker-lost' }), cell('0', { num: true, col: 'users' }),
      cell('-', { num: true }), cell('-', { num: true }), cell(fmt.count(w.requests), { num: true, col: 'requests' }), cell('-', { num: true }),
    ]);
    tr.classList.add('gone');
    rows.push(tr);
  }
  el.workers.replaceChildren(...rows);
  renderAutoscaling(frame);
}

// The worker Deployment and the watched HPAs as they are now (the chart has their history).
function renderAutoscaling(frame) {
  const fleet = frame.fleet;
  el.fleetNote.hidden = !fleet;
  el.fleetNote.textContent = fleet ? fmt.fleet(fleet) : '';
  const hpas = hpaRows(frame.gauges);
  el.hpaSection.hidden = frame.gauges == null;
  el.hpa.replaceChildren(...hpas.map((h) => {
    const tr = row('hpa-row', [
      cell(h.name, { col: 'name', cls: 'mono', title: true }),
      cell(h.replicas == null ? '-' : fmt.count(h.replicas), { num: true, col: 'replicas' }),
      cell(h.desired == null ? '-' : fmt.count(h.desired), { num: true, col: 'desired' }),
      cell(h.cpu == null ? '-' : h.cpu.toFixed(0), { num: true, col: 'cpu' }),
    ]);
    tr.dataset.name = h.name;
    return tr;
  }));
}

// ---- Logs ----

function clearLogs() {
  el.logs.replaceChildren();
  view.lastLogSeq = 0;
}

function appendLogs(lines) {
  const fresh = (lines ?? []).filter((l) => l.seq > view.lastLogSeq).slice(-logLimit);
  if (fresh.length === 0) return;
  view.lastLogSeq = fresh[fresh.length - 1].seq;
  const atBottom = isAtBottom(el.logsScroll);
  el.logs.append(...fresh.map((l) => row('log-row', [
    cell(fmt.clock(l.time), { cls: 'muted', title: l.time }), cell(String(l.worker), { num: true }),
    cell(l.level, { cls: `level level-${l.level}` }), cell(l.message, { cls: 'message' }),
  ])));
  while (el.logs.rows.length > logLimit) el.logs.rows[0].remove();
  scrollLogs(atBottom);
}

// Newest at the bottom: stay there unless the user scrolled up to read.
function scrollLogs(follow) {
  if (follow) el.logsScroll.scrollTop = el.logsScroll.scrollHeight;
}

function isAtBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
}

// ---- Small DOM helpers ----

function row(testid, cells) {
  const tr = document.createElement('tr');
  tr.dataset.testid = testid;
  tr.append(...cells);
  return tr;
}

function cell(text, { num = false, col = '', cls = '', title = false } = {}) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (num) td.classList.add('num');
  if (cls) td.className += ` ${cls}`;
  if (col) td.dataset.col = col;
  if (title === true) td.title = text ?? '';
  else if (title) td.title = title;
  return td;
}

el.statsFilter.addEventListener('input', () => statsTable.setFilter(el.statsFilter.value));

connectFeed({ onFrame, onStatus });
