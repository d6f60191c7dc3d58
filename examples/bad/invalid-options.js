// Deliberately names an executor k6 does not have, for error tests.
import http from 'k6/http';

export const options = {
  scenarios: {
    broken: {
      executor: 'no-such-executor',
      vus: 1,
      iterations: 1,
    },
  },
};

export default function () {
  http.get(`${__ENV.TARGET || 'http://127.0.0.1:8080'}/`);
}
