'use strict';

const types = require('@noderr/types');
const market_data = require('@noderr/market-data');

const name = '@noderr/risk-engine';
const dependsOn = [types.name, market_data.name];

module.exports = { name, dependsOn, ready: () => true };
