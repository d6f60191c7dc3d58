import http from 'k6/http';
import { check } from 'k6';
import { helper } from './lib/missing.js';

export default function () {
  check(http.get('https://test.k6.io'), { ok: helper });
}
