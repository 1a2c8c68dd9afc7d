'use strict';

const safety_control = require('@noderr/safety-control');
const integration_layer = require('@noderr/integration-layer');
const capital_ai = require('@noderr/capital-ai');

const name = '@noderr/system-orchestrator';
const dependsOn = [safety_control.name, integration_layer.name, capital_ai.name];

module.exports = { name, dependsOn, ready: () => true };
