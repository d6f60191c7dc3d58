// Benchmark script for bench/cpu.sh: the same file is run by plain `k6 run`
// and by a Stampede worker, so both generate exactly this load.
//
// VUS virtual users loop for DURATION; each iteration is one GET and then a
// sleep of VUS/RATE seconds, so every VU is in use all the time (they are
// mostly asleep, as real users are) and the aggregate rate is about RATE
// requests per second, a little less by the request's own latency. The
// tools' CPU is compared per request the target counted, so that small
// shortfall does not bias the comparison. Override with VUS, RATE and
// DURATION in __ENV.
import http from 'k6/http';
import { sleep } from 'k6';

const vus = parseInt(__ENV.VUS || '50', 10);
const rate = parseInt(__ENV.RATE || '2000', 10);
const duration = __ENV.DURATION || '30s';
const pause = vus / rate;

export const options = {
  scenarios: {
    constant: {
      executor: 'constant-vus',
      vus: vus,
      duration: duration,
    },
  },
};

export default function () {
  http.get(`${__ENV.TARGET}/`, { tags: { name: 'home' } });
  sleep(pause);
}
