// webpack-dev-server with its defaults (hot: true, allowedHosts: 'auto', static: 'public').
module.exports = { mode: 'development', entry: './src/index.js' }
