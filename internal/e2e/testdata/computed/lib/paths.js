exports.prefix = '';
