import Foundation
public import PGPhaseModel
import PGPhasePostgres

/// Contract guard, hooks and notifications around phases.
public struct RolloutOptions: Sendable {
  /// Seconds: a check-in this recent from a release that does not know an intent blocks that
  /// intent's contract. 0 turns the guard off.
  public var guardWindow: Double = 15 * 60
  /// Contract despite recent check-ins of older releases; journaled in `pgphase.events`.
  public var force = false
  /// Run through `/bin/sh -c` before each phase; a non-zero exit stops the phase before it changes anything.
  public var beforePhase: String?
  /// Run through `/bin/sh -c` after each phase, finished or failed; its failure is only logged.
  public var afterPhase: String?
  /// A webhook (e.g. a Slack incoming webhook) that receives a JSON event per phase start, finish and failure.
  public var notifyURL: String?
  /// Seconds to wait for the webhook before giving up (the phase goes on either way).
  public var notifyTimeout: Double = 10

  /// The defaults: a 15-minute contract guard, no hooks, no webhook.
  public init() {}
}

/// Why a rollout safeguard stopped a phase before it changed anything (exit 1).
public enum RolloutError: Error, CustomStringConvertible {
  /// Releases that do not know `intent` checked in within the guard window.
  case contractGuard(intent: String, releases: [RecentCheckin], window: Double)
  /// The before-phase hook failed.
  case hookFailed(command: String, phase: Phase, status: Int32)
  /// A hook could not be started at all.
  case hookNotRun(command: String, reason: String)

  /// The refusal as a diagnostic (its message names the intent and the phase).
  public var diagnostic: Diagnostic { Diagnostic(.error, description, at: nil) }

  /// What was refused and how to get past it.
  public var description: String {
    switch self {
    case .contractGuard(let intent, let releases, let window):
      let list = releases.map { "\($0.release) on \($0.hosts.joined(separator: ", ")) (last check-in \($0.lastCheckin))" }
      return
        "refusing to contract \(intent): \(releases.count == 1 ? "an app release that does" : "app releases that do") not know it checked in within the last \(formatSeconds(window)): \(list.joined(separator: "; ")). Finish rolling out a release built with \(intent) (or stop those hosts), wait for the window to pass, or rerun with --force (journaled)"
    case .hookFailed(let command, let phase, let status):
      return "the --before-phase hook failed (exit \(status)) before \(phase.rawValue); nothing was changed: \(command)"
    case .hookNotRun(let command, let reason):
      return "could not run the hook \(command): \(reason)"
    }
  }
}

/// A release that checked in recently from one or more hosts.
public struct RecentCheckin: Sendable, Equatable, Codable {
  /// The release's name.
  public var release: String
  /// The hosts that checked in with it, sorted.
  public var hosts: [String]
  /// Server time of the newest check-in, as text.
  public var lastCheckin: String
}

extension Journal {
  /// Version 3: app check-ins (for the contract guard), an event log (forced overrides), and
  /// `pgphase.check_compatible`, the one implementation of the app compatibility check.
  ///
  /// `check_compatible(known text[], release_name text DEFAULT NULL, host_name text DEFAULT NULL)`
  /// takes the intent ids the app was built with. An element `id` means the app needs expand and
  /// backfill of `id` done; `id:expand` only expand (the app does not read backfilled data);
  /// `id:none` nothing (an intent with no expand or backfill steps). It returns one row per finding
  /// (`intent, phase, blocking, problem, fix`); compatible means no row with `blocking`. With a
  /// release name it also records a check-in, which the contract guard reads. SECURITY DEFINER, so
  /// an app role needs only `USAGE` on schema pgphase and `EXECUTE` on the function.
  static let rolloutMigration = """
    CREATE TABLE pgphase.checkins (
      release text NOT NULL,
      host text NOT NULL,
      intents text[] NOT NULL,
      checked_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (release, host)
    );
    CREATE INDEX checkins_checked_at_idx ON pgphase.checkins (checked_at);
    CREATE TABLE pgphase.events (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      kind text NOT NULL,
      intent text,
      phase text,
      runner text,
      detail jsonb
    );

    -- Where one phase of one journaled intent stands: planned and done step counts, and a
    -- description of every step that is not done.
    CREATE FUNCTION pgphase.phase_progress(p_intent text, p_phase text,
      OUT planned int, OUT done int, OUT started int, OUT live_runner boolean, OUT failed boolean, OUT detail text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
      WITH planned AS (
        SELECT st.step ->> 'id' AS step_id, st.n
        FROM pgphase.intents i, jsonb_array_elements(i.plan -> 'phases') ph,
             jsonb_array_elements(ph -> 'steps') WITH ORDINALITY st (step, n)
        WHERE i.intent = p_intent AND ph ->> 'phase' = p_phase
      ), joined AS (
        SELECT p.step_id, p.n, coalesce(s.state, 'pending') AS state, s.runner, s.error_message, s.error_sqlstate,
               s.state = 'running' AND EXISTS (
                 SELECT 1 FROM pg_stat_activity a WHERE a.pid = s.backend_pid AND a.application_name = s.runner) AS alive
        FROM planned p LEFT JOIN pgphase.steps s ON s.intent = p_intent AND s.step_id = p.step_id
      )
      SELECT count(*)::int,
             (count(*) FILTER (WHERE state = 'done'))::int,
             (count(*) FILTER (WHERE state IN ('running', 'done', 'failed')))::int,
             coalesce(bool_or(alive), false),
             coalesce(bool_or(state = 'failed'), false),
             string_agg(step_id || ' ' || CASE state
                 WHEN 'pending' THEN 'not run'
                 WHEN 'undone' THEN 'rolled back'
                 WHEN 'running' THEN 'running' || CASE WHEN alive THEN ' now (' || coalesce(runner, '?') || ')'
                   ELSE ', left half-done by ' || coalesce(runner, 'an earlier runner') || ' (no longer connected)' END
                 WHEN 'failed' THEN 'failed: ' || coalesce(error_message, '?')
                   || coalesce(' (SQLSTATE ' || error_sqlstate || ')', '')
                 ELSE state END, '; ' ORDER BY n) FILTER (WHERE state <> 'done')
      FROM joined
    $fn$;

    CREATE FUNCTION pgphase.check_compatible(known text[], release_name text DEFAULT NULL, host_name text DEFAULT NULL)
    RETURNS TABLE (intent text, phase text, blocking boolean, problem text, fix text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      item text;
      id text;
      need text;
      ids text[];
      ph text;
      pr record;
      other text;
      total_contract int;
    BEGIN
      SELECT coalesce(array_agg(split_part(k, ':', 1) ORDER BY k), '{}') INTO ids FROM unnest(known) k;
      IF release_name IS NOT NULL THEN
        INSERT INTO pgphase.checkins AS c (release, host, intents, checked_at)
        VALUES (release_name, coalesce(host_name, host(inet_client_addr()), 'local'), ids, now())
        ON CONFLICT ON CONSTRAINT checkins_pkey DO UPDATE SET intents = excluded.intents, checked_at = excluded.checked_at;
      END IF;

      -- Every intent the app knows: the phases it needs must be done.
      FOR item IN SELECT k FROM unnest(known) k ORDER BY k LOOP
        id := split_part(item, ':', 1);
        need := coalesce(nullif(split_part(item, ':', 2), ''), 'backfill');
        IF need NOT IN ('backfill', 'expand', 'none') THEN
          RAISE EXCEPTION 'pgphase.check_compatible: "%" asks for "%"; write id, id:expand or id:none', item, need
            USING ERRCODE = '22023';
        END IF;
        CONTINUE WHEN need = 'none';
        IF NOT EXISTS (SELECT 1 FROM pgphase.intents i WHERE i.intent = id) THEN
          intent := id; phase := 'expand'; blocking := true;
          problem := 'expand has not started (this database has never run a step of this intent)';
          fix := format('run `pgphase advance --to %s` with this release''s plans', need);
          RETURN NEXT;
          CONTINUE;
        END IF;
        FOREACH ph IN ARRAY CASE need WHEN 'backfill' THEN ARRAY['expand', 'backfill'] ELSE ARRAY['expand'] END LOOP
          SELECT * INTO pr FROM pgphase.phase_progress(id, ph);
          CONTINUE WHEN pr.done = pr.planned;
          intent := id; phase := ph; blocking := true;
          problem := format('%s is not done (%s of %s steps done): %s', ph, pr.done, pr.planned, pr.detail);
          fix := CASE
            WHEN pr.live_runner THEN 'wait: a pgphase runner is applying it now (`pgphase status` shows progress)'
            WHEN pr.failed THEN format('fix the cause of the failure, then run `pgphase advance --to %s`', need)
            ELSE format('run `pgphase advance --to %s` (it resumes where the last run stopped)', need) END;
          RETURN NEXT;
          EXIT;
        END LOOP;
      END LOOP;

      -- Every intent the app does not know: its contract must not have started; anything in
      -- progress is reported without blocking.
      FOR other IN SELECT i.intent FROM pgphase.intents i WHERE NOT (i.intent = ANY (ids)) ORDER BY i.intent LOOP
        SELECT * INTO pr FROM pgphase.phase_progress(other, 'contract');
        IF pr.started > 0 THEN
          intent := other; phase := 'contract'; blocking := true;
          problem := format(
            'contract has started (%s of %s steps done) but this release does not know the intent: it may still use what contract removes',
            pr.done, pr.planned);
          fix := 'deploy a release built with this intent (its plans folder includes it); contract cannot be rolled back';
          RETURN NEXT;
          CONTINUE;
        END IF;
        FOREACH ph IN ARRAY ARRAY['expand', 'backfill'] LOOP
          SELECT * INTO pr FROM pgphase.phase_progress(other, ph);
          CONTINUE WHEN pr.done = pr.planned OR (pr.started = 0 AND pr.detail NOT LIKE '%rolled back%');
          intent := other; phase := ph; blocking := false;
          problem := format('%s is not done (%s of %s steps done): %s; this release does not need it', ph, pr.done,
            pr.planned, pr.detail);
          fix := NULL;
          RETURN NEXT;
          EXIT;
        END LOOP;
      END LOOP;
    END
    $fn$;
    """
}

extension Executor {
  /// Called under the runner lock before any step of `phase` runs for `intents`. Throwing
  /// stops the phase before anything changes (contract guard, before-phase hook).
  func willRunPhase(_ phase: Phase, intents: [LoadedPlan], on c: Connection) throws {
    let rollout = options.rollout
    let ids = intents.map(\.plan.intent)
    let database = (try? c.execute("SELECT current_database()").first?["current_database"]) ?? nil
    do {
      if phase == .contract, rollout.guardWindow > 0 {
        try guardContract(ids, window: rollout.guardWindow, force: rollout.force, on: c)
      }
      if let command = rollout.beforePhase {
        let status = try runHook(command, environment: hookEnvironment(phase, ids, database, event: "before"))
        if status != 0 { throw RolloutError.hookFailed(command: command, phase: phase, status: status) }
      }
    } catch {
      notify(.failed, phase: phase, intents: ids, database: database, seconds: nil, error: error)
      throw error
    }
    notify(.started, phase: phase, intents: ids, database: database, seconds: nil, error: nil)
  }

  /// Called after the steps of `phase` ran for `intents`, or after the first failure (`error`).
  func didRunPhase(_ phase: Phase, intents: [LoadedPlan], seconds: Double, error: (any Error)?, on c: Connection) {
    let rollout = options.rollout
    let ids = intents.map(\.plan.intent)
    let database = (try? c.execute("SELECT current_database()").first?["current_database"]) ?? nil
    if let command = rollout.afterPhase {
      var env = hookEnvironment(phase, ids, database, event: "after")
      env["PGPHASE_STATUS"] = error == nil ? "finished" : "failed"
      env["PGPHASE_DURATION_SECONDS"] = String(format: "%.3f", seconds)
      if let error { env["PGPHASE_ERROR"] = "\(error)" }
      do {
        let status = try runHook(command, environment: env)
        if status != 0 { log("warning: the --after-phase hook failed (exit \(status)) after \(phase.rawValue): \(command)") }
      } catch {
        log("warning: \(error)")
      }
    }
    notify(error == nil ? .finished : .failed, phase: phase, intents: ids, database: database, seconds: seconds, error: error)
  }

  /// Releases that checked in within `window` seconds and do not know `intent`.
  static func recentCheckins(notKnowing intent: String, window: Double, on c: Connection) throws -> [RecentCheckin] {
    let result = try c.execute(
      """
      SELECT release, array_agg(host ORDER BY host)::text AS hosts, max(checked_at)::text AS last
      FROM pgphase.checkins
      WHERE checked_at > now() - make_interval(secs => $1::float8) AND NOT ($2 = ANY (intents))
      GROUP BY release ORDER BY max(checked_at) DESC
      """, [String(window), intent])
    return result.rows.map {
      RecentCheckin(release: $0["release"] ?? "", hosts: parseTextArray($0["hosts"] ?? "{}"), lastCheckin: $0["last"] ?? "")
    }
  }

  /// Refuses (or, forced, journals) contracting an intent an app release still running does not know.
  private func guardContract(_ ids: [String], window: Double, force: Bool, on c: Connection) throws {
    for id in ids {
      let recent = try Self.recentCheckins(notKnowing: id, window: window, on: c)
      guard !recent.isEmpty else { continue }
      let refusal = RolloutError.contractGuard(intent: id, releases: recent, window: window)
      guard force else { throw refusal }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      let detail = String(decoding: try encoder.encode(["releases": recent]), as: UTF8.self)
      try c.execute(
        """
        INSERT INTO pgphase.events (kind, intent, phase, runner, detail)
        VALUES ('contract_guard_overridden', $1, 'contract', $2, $3::jsonb || jsonb_build_object('window_seconds', $4::float8))
        """, [id, runnerName, detail, String(window)])
      log("warning: --force: contracting \(id) although \(refusal.description.dropFirst("refusing to contract \(id): ".count))")
    }
  }

  private func hookEnvironment(_ phase: Phase, _ ids: [String], _ database: String?, event: String) -> [String: String] {
    [
      "PGPHASE_EVENT": event, "PGPHASE_PHASE": phase.rawValue, "PGPHASE_INTENTS": ids.joined(separator: ","),
      "PGPHASE_DATABASE": database ?? "", "PGPHASE_RUNNER": runnerName,
    ]
  }

  /// Runs `command` through `/bin/sh -c` with `environment` added; its output goes to stderr.
  private func runHook(_ command: String, environment: [String: String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = FileHandle.standardError
    process.standardError = FileHandle.standardError
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw RolloutError.hookNotRun(command: command, reason: "\(error)")
    }
    process.waitUntilExit()
    return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
  }

  private func notify(
    _ event: PhaseEvent.Kind, phase: Phase, intents: [String], database: String?, seconds: Double?, error: (any Error)?
  ) {
    guard let url = options.rollout.notifyURL else { return }
    let payload = PhaseEvent(
      kind: event, phase: phase, intents: intents, database: database, runner: runnerName, seconds: seconds,
      error: error.map { "\($0)" })
    if let problem = Notifier.post(payload, to: url, timeout: options.rollout.notifyTimeout) {
      log("warning: --notify \(redactURL(url)): \(problem)")
    }
  }
}
