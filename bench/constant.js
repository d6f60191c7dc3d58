// Benchmark script for bench/cpu.sh: the same file is run by plain `k6 run`
// and by Stampede (script mode), so both generate exactly this load.
// A fixed arrival rate makes the request count independent of the tool's
// speed (as long as neither falls behind), so CPU per request compares the
// tools' own cost. Override the load with RATE / DURATION in __ENV.
import http from 'k6/http';

const rate = parseInt(__ENV.RATE || '2000', 10);
const duration = __ENV.DURATION || '10s';

export const options = {
  scenarios: {
    constant: {
      executor: 'constant-arrival-rate',
      rate: rate,
      timeUnit: '1s',
      duration: duration,
      preAllocatedVUs: 50,
      maxVUs: 200,
    },
  },
};

export default function () {
  http.get(`${__ENV.TARGET}/`, { tags: { name: 'home' } });
}
