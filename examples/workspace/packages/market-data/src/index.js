'use strict';

const types = require('@noderr/types');
const utils = require('@noderr/utils');

const name = '@noderr/market-data';
const dependsOn = [types.name, utils.name];

module.exports = { name, dependsOn, ready: () => true };
