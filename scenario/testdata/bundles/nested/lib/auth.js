import { makeToken } from './token.js';

export function login() {
  return makeToken('user');
}
