// The start form's user classes (tags, class weights) and how a run's classes and load shape read.

/** Parses "read, write" (commas or spaces) into a list of tags; empty text is no tags (undefined). */
export function parseTags(text) {
  const tags = text.split(/[\s,]+/).filter((t) => t !== '');
  return tags.length > 0 ? tags : undefined;
}

/** The text parseTags reads back into tags. */
export function formatTags(tags) {
  return (tags ?? []).join(', ');
}

/**
 * Parses "browse=3, buy=1" into {browse: 3, buy: 1}; empty text is no weights (undefined). A weight
 * is a whole number, 0 or more; anything else is an error naming the entry.
 */
export function parseWeights(text) {
  const weights = {};
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^([^=\s]+)\s*=\s*(\d+)$/.exec(entry);
    if (!m) throw new Error(`Class weights: "${entry}" is not CLASS=WEIGHT (a whole number, 0 or more)`);
    weights[m[1]] = Number(m[2]);
  }
  return Object.keys(weights).length > 0 ? weights : undefined;
}

/** The text parseWeights reads back into weights, from a run's classes ([{name, weight}]) or an object. */
export function formatWeights(weights) {
  const pairs = Array.isArray(weights) ? weights.map((c) => [c.name, c.weight]) : Object.entries(weights ?? {});
  return pairs.map(([name, w]) => `${name}=${w}`).join(', ');
}

/**
 * Where a load shape stands, in words: "stage 2 of 3", "before the first stage", "ended after 3
 * stages", with "taken over" when a live change stopped it.
 */
export function shapeStatus(shape) {
  const n = shape.stages.length;
  const where = shape.stage < 0 ? 'before the first stage'
    : shape.stage >= n ? `ended after ${n} stage${n === 1 ? '' : 's'}`
      : `stage ${shape.stage + 1} of ${n}`;
  return shape.taken_over ? `taken over at ${where}` : where;
}

/** A shape's stage in words: "20s: 4 users at 10/s", "1m0s: 1 user at once". */
export function stageLabel(st) {
  const users = `${st.users.toLocaleString('en-US')} user${st.users === 1 ? '' : 's'}`;
  return `${st.duration}: ${users} at ${st.spawn_rate === 0 ? 'once' : `${st.spawn_rate}/s`}`;
}
