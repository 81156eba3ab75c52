#!/usr/bin/env node
// The `lifeboat` command. A committed file, so that package managers can link it at install
// time, before (or without) a build of this repository; the CLI itself is dist/cli.js.
import '../dist/cli.js';
