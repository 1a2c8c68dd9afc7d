'use strict';

const types = require('@noderr/types');

const name = '@noderr/utils';
const dependsOn = [types.name];

module.exports = { name, dependsOn, ready: () => true };
