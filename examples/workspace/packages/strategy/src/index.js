'use strict';

const quant_research = require('@noderr/quant-research');

const name = '@noderr/strategy';
const dependsOn = [quant_research.name];

module.exports = { name, dependsOn, ready: () => true };
