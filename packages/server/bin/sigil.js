#!/usr/bin/env node
import '../dist/sigil/cli.js';
