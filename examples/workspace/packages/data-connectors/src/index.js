'use strict';

const market_data = require('@noderr/market-data');

const name = '@noderr/data-connectors';
const dependsOn = [market_data.name];

module.exports = { name, dependsOn, ready: () => true };
