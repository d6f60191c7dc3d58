import { check } from 'k6';

export function checkStatus(res) {
  check(res, { 'status is 200': (r) => r.status === 200 });
}
