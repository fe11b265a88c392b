/**
 * The page script's formatting of durations (local/ui/static/app.js is plain browser JavaScript without
 * modules: the helper is read from it and run here as the page runs it).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const APP_JS = readFileSync(join(__dirname, '../../../local/ui/static/app.js'), 'utf8');

function helper<T>(name: string): T {
  const source = new RegExp(`\\n  function ${name}\\([^)]*\\) \\{\\n[\\s\\S]*?\\n  \\}\\n`).exec(APP_JS)?.[0];
  if (!source) throw new Error(`No function ${name} in app.js`);
  return new Function(`const DASH = '—';\n${source}\nreturn ${name};`)() as T;
}

describe('seconds (lag time, "ago", how long a claim is open)', () => {
  const seconds = helper<(v: number | null) => string>('seconds');

  it.each([
    [0.04, '0.0 s'],
    [59.4, '59.4 s'],
    [59.97, '1 min 0 s'],
    [61, '1 min 1 s'],
    [119.6, '2 min 0 s'],
    [3599.7, '1.0 h'],
    [5400, '1.5 h'],
  ])('shows %s s as %s, never "60.0 s" or "1 min 60 s"', (v, shown) => {
    expect(seconds(v)).toBe(shown);
  });
});

describe('poll (every page’s refresh)', () => {
  /** The page's poll() over a fake tab: its timers, its visibility and the loads it starts. */
  function tab() {
    const timers = new Map<number, () => void>();
    let nextId = 1;
    const listeners: Array<() => void> = [];
    const document = {
      hidden: false,
      addEventListener: (_type: string, f: () => void) => listeners.push(f),
    };
    const loads: Array<() => void> = [];
    let started = 0;
    const source = /\n {2}function poll\(load\) \{\n[\s\S]*?\n {2}\}\n/.exec(APP_JS)?.[0];
    if (!source) throw new Error('No function poll in app.js');
    const poll = new Function(
      'document',
      'setTimeout',
      'clearTimeout',
      'ui',
      'setLive',
      'refreshMs',
      `${source}\nreturn poll;`,
    )(
      document,
      (f: () => void) => (timers.set(nextId, f), nextId++),
      (id: number) => timers.delete(id),
      { refreshes: 0 },
      () => undefined,
      5000,
    ) as (load: () => Promise<void>) => { now: () => Promise<void> };
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
    return {
      document,
      timers,
      loads,
      settle,
      /** The loads started so far. */
      started: () => started,
      start: () =>
        poll(() => {
          started++;
          return new Promise<void>((resolve) => loads.push(resolve));
        }),
      /** Fires every pending timer once, as 5 s passing does. */
      tick: () => {
        const due = [...timers.entries()];
        timers.clear();
        for (const [, f] of due) f();
      },
      show: () => {
        document.hidden = false;
        listeners.forEach((f) => f());
      },
      finishLoads: async () => {
        while (loads.length) {
          loads.shift()!();
          await settle();
        }
      },
    };
  }

  it('GIVEN a refresh asked for (the tab shown again, another range) while a load is under way THEN one load at a time, and one timer after', async () => {
    const t = tab();
    const charts = t.start();
    expect(t.loads).toHaveLength(1);
    t.show();
    void charts.now();
    // Two more loads at once, each of them then arming its own timer: the page polled three times as often.
    expect(t.loads).toHaveLength(1);
    await t.finishLoads();
    await t.settle();
    expect(t.timers.size).toBe(1);
    // The refresh asked for is not dropped: it runs, once, after the load under way (the two asks coalesced).
    expect(t.started()).toBe(2);
  });

  it('GIVEN the tab hidden THEN loads nothing until it is shown again', async () => {
    const t = tab();
    t.start();
    await t.finishLoads();
    t.document.hidden = true;
    t.tick();
    await t.settle();
    expect(t.loads).toHaveLength(0);
    t.show();
    expect(t.loads).toHaveLength(1);
  });
});

describe('byClick ("Older" and "Newer")', () => {
  function byClickWith(setLive: (text: string, error?: boolean) => void) {
    const source = /\n {2}function byClick\(load\) \{\n[\s\S]*?\n {2}\}\n/.exec(APP_JS)?.[0];
    if (!source) throw new Error('No function byClick in app.js');
    return new Function('setLive', `${source}\nreturn byClick;`)(setLive) as (
      load: () => Promise<void> | void,
    ) => () => Promise<void>;
  }

  it('GIVEN a page load that fails THEN the status line says why, and nothing is left uncaught', async () => {
    // GIVEN a status line, and a load that fails as the API does when Cassandra is down
    const shown: Array<[string, boolean | undefined]> = [];
    const click = byClickWith((text, error) => shown.push([text, error]))(() =>
      Promise.reject(new Error('Cassandra at 127.0.0.1:9042 is unreachable')),
    );
    // WHEN the button is clicked, THEN its promise resolves (a rejection would be uncaught in the page), and the
    // failure is on the status line as an error
    await expect(click()).resolves.not.toThrow();
    expect(shown).toEqual([['not updated: Cassandra at 127.0.0.1:9042 is unreachable', true]]);
  });

  it('GIVEN a load that throws before it awaits anything THEN that is shown too', async () => {
    const shown: string[] = [];
    const click = byClickWith((text) => shown.push(text))(() => {
      throw new Error('no cursor');
    });
    await click();
    expect(shown).toEqual(['not updated: no cursor']);
  });
});

describe('latestJson (a paged view: "Older", "Newer" and the refresh of the page shown)', () => {
  /** latestJson over a getJson whose answers the test gives, by URL, when it wants. */
  function pagedView() {
    const pending = new Map<string, { resolve: (json: unknown) => void; reject: (error: Error) => void }>();
    const getJson = (url: string) => new Promise((resolve, reject) => pending.set(url, { resolve, reject }));
    const source = /\n {2}function latestJson\(\) \{\n[\s\S]*?\n {2}\}\n/.exec(APP_JS)?.[0];
    if (!source) throw new Error('No function latestJson in app.js');
    const latestJson = new Function('getJson', `${source}\nreturn latestJson;`)(getJson) as () => (
      url: string,
    ) => Promise<unknown>;
    return { json: latestJson(), pending };
  }

  it('GIVEN the refresh of page 1 answering after "Older" asked for page 2 THEN the late answer is dropped (null), page 2 kept', async () => {
    // GIVEN page 1's refresh on its way, and "Older" clicked meanwhile
    const { json, pending } = pagedView();
    const refresh = json('/api/dead-letters?limit=1');
    const older = json('/api/dead-letters?limit=1&cursor=c2');

    // WHEN page 2 answers, then page 1
    pending.get('/api/dead-letters?limit=1&cursor=c2')!.resolve({ page: 2 });
    pending.get('/api/dead-letters?limit=1')!.resolve({ page: 1 });

    // THEN page 2 is drawn, and page 1's answer is nothing to draw
    await expect(older).resolves.toEqual({ page: 2 });
    await expect(refresh).resolves.toBeNull();
  });

  it('GIVEN a superseded request that fails THEN no error for it; GIVEN the latest fails THEN its error', async () => {
    const { json, pending } = pagedView();
    const refresh = json('/p1');
    const older = json('/p2');
    pending.get('/p1')!.reject(new Error('Cassandra at 127.0.0.1:9042 is unreachable'));
    pending.get('/p2')!.reject(new Error('cursor is not one this API returned'));
    await expect(refresh).resolves.toBeNull();
    await expect(older).rejects.toThrow('cursor is not one this API returned');
  });
});
