'use strict';

const risk_engine = require('@noderr/risk-engine');

const name = '@noderr/floor-engine';
const dependsOn = [risk_engine.name];

module.exports = { name, dependsOn, ready: () => true };
