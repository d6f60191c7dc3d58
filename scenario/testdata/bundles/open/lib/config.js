// open() is relative to this file, not to the entry.
export const config = JSON.parse(open('./config.json'));
