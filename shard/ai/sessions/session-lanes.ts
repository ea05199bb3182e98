// One run at a time per session: later runs queue behind the current one; runs can be aborted.

interface Lane {
  tail: Promise<void>;
  current: { runId: string; abort: AbortController } | null;
  queued: Map<string, AbortController>;
}

export class SessionLanes {
  private readonly lanes = new Map<string, Lane>();

  /** Runs `fn` after every earlier run of `key`; `fn` gets a signal aborted by abort() or `outer`. */
  async run<T>(key: string, runId: string, outer: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { tail: Promise.resolve(), current: null, queued: new Map() };
      this.lanes.set(key, lane);
    }
    const ac = new AbortController();
    const onOuter = (): void => ac.abort(outer.reason);
    if (outer.aborted) ac.abort(outer.reason);
    else outer.addEventListener('abort', onOuter, { once: true });
    const prev = lane.tail;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    lane.tail = prev.then(() => mine);
    lane.queued.set(runId, ac);
    const l = lane;
    try {
      await prev;
      l.queued.delete(runId);
      l.current = { runId, abort: ac };
      if (ac.signal.aborted) throw ac.signal.reason instanceof Error ? ac.signal.reason : new Error('aborted');
      return await fn(ac.signal);
    } finally {
      outer.removeEventListener('abort', onOuter);
      l.queued.delete(runId);
      if (l.current?.runId === runId) l.current = null;
      done();
      if (l.tail === mine || (l.current === null && l.queued.size === 0)) {
        // nothing else waits on this lane: drop it so the map does not grow with sessions
        void l.tail.then(() => {
          if (this.lanes.get(key) === l && l.current === null && l.queued.size === 0) this.lanes.delete(key);
        });
      }
    }
  }

  isBusy(key: string): boolean {
    const l = this.lanes.get(key);
    return l !== undefined && (l.current !== null || l.queued.size > 0);
  }

  /** Aborts the running run of `key` (or the given run, running or queued); true when one was found. */
  abort(key: string, runId?: string): boolean {
    const l = this.lanes.get(key);
    if (l === undefined) return false;
    if (runId === undefined || l.current?.runId === runId) {
      if (l.current === null) return false;
      l.current.abort.abort(new Error('aborted by chat.abort'));
      return true;
    }
    const q = l.queued.get(runId);
    if (q === undefined) return false;
    q.abort(new Error('aborted by chat.abort'));
    return true;
  }

  abortAll(): void {
    for (const l of this.lanes.values()) {
      l.current?.abort.abort(new Error('shard closing'));
      for (const q of l.queued.values()) q.abort(new Error('shard closing'));
    }
  }
}
