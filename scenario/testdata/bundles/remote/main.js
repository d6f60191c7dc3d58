import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { describe, expect } from 'https://jslib.k6.io/k6chaijs/4.3.4.3/index.js';
import { uuidv4 } from "http://jslib.k6.io/k6-utils/1.4.0/index.js";
import lodash from 'lodash';

export default function () {
  describe('home', () => expect(http.get('https://test.k6.io').status).to.equal(200));
  console.log(uuidv4(), exec.vu.idInTest, lodash);
  sleep(1);
}
