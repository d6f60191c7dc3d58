// the file is next to this module, or should be
export const rows = open('./rows.csv');
