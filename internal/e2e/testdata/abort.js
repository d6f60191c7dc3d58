// Script mode, 30 s planned; every VU aborts the test at its 5th iteration.
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';

export const options = { scenarios: { steady: { executor: 'constant-vus', vus: 4, duration: '30s' } } };

export default function () {
  http.get(`${__ENV.TARGET}/`, { tags: { name: 'home' } });
  if (exec.vu.iterationInScenario >= 5) {
    exec.test.abort('enough');
  }
  sleep(0.1);
}
