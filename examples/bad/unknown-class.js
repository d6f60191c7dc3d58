// A user class that names a function the script does not export: the workers' k6 fails in the
// init code, before any load (exit 4).
import http from 'k6/http';

export const options = { ext: { stampede: { classes: { browse: { weight: 3 }, checkout: { weight: 1 } } } } };

export function browse() { http.get(`${__ENV.TARGET}/`); }

export default function () {}
