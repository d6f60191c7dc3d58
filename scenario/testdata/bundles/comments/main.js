// import x from './fake-line-comment.js';
/*
 * import { y } from './fake-block-comment.js';
 * require('./fake-require.js')
 */
import { check } from 'k6';

const s = "import z from './fake-string.js'";
const t = `${s} import('./fake-template.js') ${`nested ${"open('./fake-nested.txt')"}`}`;
const re = /import '.\/fake-regex.js'/;
const half = 10 / 2; const other = half / 5; // open('./fake-after-division.txt')
const name = './fake-variable.js';
const lazy = () => import(name);
const built = () => require('./fake-' + name);
const data = __ENV.DATA ? open(__ENV.DATA) : '';
const api = { open: (p) => p };
api.open('./fake-member.txt');

export default function () {
  check(re.test(t), { ok: (v) => v !== undefined });
}
