'use strict';

const utils = require('@noderr/utils');

const name = '@noderr/ml';
const dependsOn = [utils.name];

module.exports = { name, dependsOn, ready: () => true };
