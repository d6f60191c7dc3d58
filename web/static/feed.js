// The live feed: one websocket to the master's /ws, reopened with backoff whenever it closes.

const firstDelayMs = 500;
const maxDelayMs = 10_000;

/**
 * Connects to the feed and keeps it connected.
 * onFrame(frame) gets every parsed frame; onStatus(status, detail) gets "connecting", "live" or
 * "disconnected" (detail: seconds until the next try).
 */
export function connectFeed({ onFrame, onStatus }) {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let delay = firstDelayMs;

  const open = () => {
    onStatus('connecting');
    const ws = new WebSocket(url);
    ws.addEventListener('message', (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return; // not a frame; the next one will be
      }
      delay = firstDelayMs; // reset the backoff only once the master really talks
      onStatus('live');
      onFrame(frame);
    });
    ws.addEventListener('close', () => {
      const wait = delay;
      delay = Math.min(delay * 2, maxDelayMs);
      onStatus('disconnected', Math.ceil(wait / 1000));
      setTimeout(open, wait);
    });
  };
  open();
}
