'use strict';

const data_connectors = require('@noderr/data-connectors');

const name = '@noderr/market-intel';
const dependsOn = [data_connectors.name];

module.exports = { name, dependsOn, ready: () => true };
