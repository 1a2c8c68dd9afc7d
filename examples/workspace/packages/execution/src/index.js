'use strict';

const exchanges = require('@noderr/exchanges');
const risk_engine = require('@noderr/risk-engine');

const name = '@noderr/execution';
const dependsOn = [exchanges.name, risk_engine.name];

module.exports = { name, dependsOn, ready: () => true };
