// Files found only by running the init code, as k6 finds them: a data file whose name comes from
// __ENV, and a module whose path is built from a variable. Script mode, so that every iteration
// runs exactly once across the workers.
import http from 'k6/http';
import exec from 'k6/execution';

const set = __ENV.SET || 'a';
const paths = JSON.parse(open(`./data/${set}.json`));
const helper = ['pa', 'ths'].join('');
const { prefix } = require(`./lib/${helper}.js`);

export const options = {
  scenarios: { all: { executor: 'shared-iterations', vus: 3, iterations: 3 * paths.length } },
};

export default function () {
  const path = paths[exec.scenario.iterationInTest % paths.length];
  http.get(`${__ENV.TARGET}${prefix}${path}`, { tags: { name: path } });
}
