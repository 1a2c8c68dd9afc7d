'use strict';

const risk_engine = require('@noderr/risk-engine');
const telemetry = require('@noderr/telemetry');

const name = '@noderr/safety-control';
const dependsOn = [risk_engine.name, telemetry.name];

module.exports = { name, dependsOn, ready: () => true };
