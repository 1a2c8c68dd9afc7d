'use strict';

const ml = require('@noderr/ml');
const market_data = require('@noderr/market-data');

const name = '@noderr/quant-research';
const dependsOn = [ml.name, market_data.name];

module.exports = { name, dependsOn, ready: () => true };
