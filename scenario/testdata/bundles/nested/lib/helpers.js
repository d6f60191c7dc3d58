module.exports = { url: (p) => 'https://test.k6.io' + p };
