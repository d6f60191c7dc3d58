// Deliberately imports a module that does not exist, for error tests.
import { nothing } from './does-not-exist.js';

export default function () {
  nothing();
}
