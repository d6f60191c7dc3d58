import { config } from './lib/config.js';

const users = open('./data/users.csv').split('\n');
const blob = open('data/blob.bin', 'b');
const extra = open(import.meta.resolve('./data/extra.txt'));

export default function () {
  console.log(config.baseURL, users[__VU % users.length], blob.byteLength, extra);
}
