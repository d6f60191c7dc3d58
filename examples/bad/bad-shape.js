// A load shape with a negative user count: refused when the master inspects the script (exit 6).
import http from 'k6/http';

export const options = { ext: { stampede: { shape: [{ duration: '10s', users: 5 }, { duration: '10s', users: -3 }] } } };

export default function () { http.get(`${__ENV.TARGET}/`); }
