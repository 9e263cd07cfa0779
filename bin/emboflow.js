#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI without a build: tsx's CommonJS loader compiles the sources as they are required.
require('tsx/cjs');
require('../src/cli/emboflow/bin.ts');
