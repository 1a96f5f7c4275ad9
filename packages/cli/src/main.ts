#!/usr/bin/env node
/** Entry point of the `tapedup` command (bundled to packages/cli/dist/main.js). */
import { processIo } from './output/io';
import { runCli } from './program';

const status = await runCli(process.argv.slice(2), processIo);
// Let stdout drain before leaving; sockets and child processes are closed by the commands.
process.exitCode = status;
