// User classes and no default function: k6 refuses a script without scenarios and without a
// default function, and the message says what will do (exit 6).
import http from 'k6/http';

export const options = { ext: { stampede: { classes: { browse: { weight: 1 } } } } };

export function browse() { http.get(`${__ENV.TARGET}/`); }
