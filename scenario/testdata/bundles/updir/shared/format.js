export function format(n) {
  return `vu ${n}`;
}
