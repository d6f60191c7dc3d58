import { rows } from './lib/data.js';
export default function () { console.log(rows); }
