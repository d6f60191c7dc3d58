import http from 'k6/http';
import { login } from './lib/auth.js';
export { checkStatus } from "./lib/checks.js";
import './lib/side-effect.js';
const helpers = require('./lib/helpers.js');

export default async function () {
  const lazy = await import('./lib/lazy.js');
  const token = login();
  checkStatus(http.get(helpers.url('/'), { headers: { Authorization: `Bearer ${token}` } }));
  lazy.run();
}
