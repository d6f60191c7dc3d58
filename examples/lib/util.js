// Helpers for modules.js. A local module is bundled with the script and
// shipped to every worker, along with any file the script open()s.

// pick returns a random element of a non-empty array.
export function pick(items) {
  if (!Array.isArray(items) || items.length === 0) {
    throw new Error('pick needs a non-empty array');
  }
  return items[Math.floor(Math.random() * items.length)];
}

// query builds "?k=v&..." from an object, encoding keys and values.
export function query(params) {
  const parts = Object.keys(params).map(
    (k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`,
  );
  return parts.length ? `?${parts.join('&')}` : '';
}
