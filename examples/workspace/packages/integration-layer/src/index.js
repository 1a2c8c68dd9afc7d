'use strict';

const execution = require('@noderr/execution');

const name = '@noderr/integration-layer';
const dependsOn = [execution.name];

module.exports = { name, dependsOn, ready: () => true };
