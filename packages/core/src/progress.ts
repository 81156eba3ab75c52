/** What a long operation reports as it goes; the CLI draws it, the engine only emits it. */
export interface Progress {
  phase: string;
  bytes?: number;
  /** Tables the tool has started on (pg_dump / pg_restore report a table as they begin it). */
  tablesDone?: number;
  tablesTotal?: number;
}

export type ProgressFn = (progress: Progress) => void;

export const noProgress: ProgressFn = () => {};

/** One phase's progress display: started when the phase starts, stopped when it ends. */
export interface ProgressReporter {
  onProgress: ProgressFn;
  stop(): void;
}

export type StartProgress = () => ProgressReporter;
