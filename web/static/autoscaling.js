// The watched HPAs in the master's gauges and the series' extra values: keys such as
// "hpa_replicas{hpa:web}" (internal/kube.ExtraKey), grouped per HPA.

const metrics = { hpa_replicas: 'replicas', hpa_desired_replicas: 'desired', hpa_cpu_utilization: 'cpu' };
const keyPattern = /^(\w+)\{hpa:(.+)\}$/s;

/** The HPA and the column ('replicas', 'desired' or 'cpu') of an extra key; null for another key. */
export function parseKey(key) {
  const m = keyPattern.exec(key);
  if (!m || !Object.hasOwn(metrics, m[1])) return null;
  return { hpa: m[2], column: metrics[m[1]] };
}

/**
 * The HPAs among keys, by name: [{name, replicas, desired, cpu}], each field the key of that value
 * (undefined when there is none, e.g. cpu while the HPA reports no metric).
 */
export function groupKeys(keys) {
  const byName = new Map();
  for (const key of keys ?? []) {
    const k = parseKey(key);
    if (!k) continue;
    if (!byName.has(k.hpa)) byName.set(k.hpa, { name: k.hpa });
    byName.get(k.hpa)[k.column] = key;
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The table's rows from the gauges: [{name, replicas, desired, cpu}], null for a value not reported. */
export function hpaRows(gauges) {
  const g = gauges ?? {};
  return groupKeys(Object.keys(g)).map((h) => ({
    name: h.name,
    replicas: h.replicas ? g[h.replicas] : null,
    desired: h.desired ? g[h.desired] : null,
    cpu: h.cpu ? g[h.cpu] : null,
  }));
}
