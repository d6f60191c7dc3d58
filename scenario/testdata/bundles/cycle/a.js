import { b } from './b.js';

export const a = () => 'a';
export default function () {
  b();
}
