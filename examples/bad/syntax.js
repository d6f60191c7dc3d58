// Deliberately broken, for error tests: line 6 is a syntax error
// (an assignment with nothing on the right), reported at 6:18.
import http from 'k6/http';

export default function () {
  const broken = ;
  http.get('http://127.0.0.1:8080/');
}
