// The start form's environment: KEY=VALUE lines, as the script's __ENV.

/** Parses KEY=VALUE lines into an object; blank lines and lines starting with # are skipped. */
export function parseEnv(text) {
  const env = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 1) throw new Error(`Environment, line ${i + 1}: "${line}" is not KEY=VALUE`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return env;
}

/** The lines parseEnv reads back into env. */
export function formatEnv(env) {
  return Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');
}
