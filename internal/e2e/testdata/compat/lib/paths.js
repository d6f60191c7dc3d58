// A local module: where each kind of request goes.
export function pathFor(kind, i) {
  return kind === 'items' ? `/json?i=${i % 5}` : `/status/${200 + (i % 3)}`;
}
