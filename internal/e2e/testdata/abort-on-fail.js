// Every request fails, and http_req_failed aborts the run after 2 s: the whole fleet must stop long
// before the 60 s run time.
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '2s' }],
  },
};

export default function () {
  http.get(`${__ENV.TARGET}/status/500`, { tags: { name: 'broken' } });
  sleep(0.05);
}
