'use strict';

const ml = require('@noderr/ml');
const strategy = require('@noderr/strategy');

const name = '@noderr/capital-ai';
const dependsOn = [ml.name, strategy.name];

module.exports = { name, dependsOn, ready: () => true };
