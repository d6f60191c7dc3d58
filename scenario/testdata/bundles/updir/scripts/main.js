import { format } from '../shared/util.js';

export default function () {
  console.log(format(__VU));
}
