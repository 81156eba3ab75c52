import { redact } from './secrets.js';

/** `--debug` output: what Lifeboat runs and why, on stderr, secrets removed. */
let sink: ((line: string) => void) | undefined;

export function setDebugSink(fn: ((line: string) => void) | undefined): void {
  sink = fn;
}

export function debug(message: string): void {
  sink?.(redact(message));
}
