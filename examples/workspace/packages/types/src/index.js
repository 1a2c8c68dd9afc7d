'use strict';

const name = '@noderr/types';
const dependsOn = [];

module.exports = { name, dependsOn, ready: () => true };
