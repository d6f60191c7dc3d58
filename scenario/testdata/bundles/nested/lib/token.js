export const makeToken = (who) => `token-${who}`;
