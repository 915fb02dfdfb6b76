import Foundation
package import PGPhaseModel
package import PGPhasePostgres

/// The state of one step as the journal records it.
public enum StepState: String, Sendable, Codable, CaseIterable {
  case pending, running, done, failed, undone
}

/// One row of `pgphase.steps`.
package struct JournalStep: Sendable, Equatable {
  package var intent: String
  package var stepID: String
  package var phase: Phase
  package var state: StepState
  package var attempts: Int
  /// The statements the step ran, to detect a plan edited after the step ran.
  package var statements: [String]
  package var startedAt: String?
  package var finishedAt: String?
  /// Seconds since `started_at`, computed by the server.
  package var ageSeconds: Double?
  package var runner: String?
  package var backendPID: Int32?
  package var errorSQLState: String?
  package var errorMessage: String?
  package var errorDetail: String?
  package var errorStatement: String?
}

/// One row of `pgphase.intents`.
package struct JournalIntent: Sendable, Equatable {
  package var intent: String
  /// The hash of the plan last applied, computed in `planFormat`.
  package var planHash: String
  /// The format of the plan stored (1 when a pgphase before typed steps applied it).
  package var planFormat: Int
  package var firstAppliedAt: String?
}

/// The executor's journal: schema `pgphase` in the target database.
///
/// Tables:
/// - `pgphase.schema_version (version int primary key, applied_at timestamptz)`: one row per
///   migration of the journal itself, applied in order by `Journal.ensure` (under the runner lock).
/// - `pgphase.intents (intent text primary key, plan_hash text, plan jsonb, first_applied_at,
///   updated_at)`: the plan last applied for each intent.
/// - `pgphase.steps (intent, step_id, phase, position, statements text[], state, attempts,
///   started_at, finished_at, runner, backend_pid, error_sqlstate, error_message, error_detail,
///   error_statement, primary key (intent, step_id))`.
///
/// A transactional step's row is written in the same transaction as its DDL. A non-transactional
/// step is recorded `running` (committed) before it runs and `done` after its postconditions hold.
package enum Journal {
  /// Migrations of the journal schema, in order; index + 1 is the version. Each feature keeps
  /// its migration next to its code.
  static let migrations: [String] = [coreMigration, backfillMigration, rolloutMigration]

  /// Version 1: plans and steps.
  static let coreMigration = """
    CREATE TABLE pgphase.intents (
      intent text PRIMARY KEY,
      plan_hash text NOT NULL,
      plan jsonb NOT NULL,
      first_applied_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE pgphase.steps (
      intent text NOT NULL REFERENCES pgphase.intents (intent),
      step_id text NOT NULL,
      phase text NOT NULL CHECK (phase IN ('expand', 'backfill', 'contract')),
      position int NOT NULL,
      statements text[] NOT NULL,
      state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'undone')),
      attempts int NOT NULL DEFAULT 0,
      started_at timestamptz,
      finished_at timestamptz,
      runner text,
      backend_pid int,
      error_sqlstate text,
      error_message text,
      error_detail text,
      error_statement text,
      PRIMARY KEY (intent, step_id)
    );
    """

  package static var currentVersion: Int { migrations.count }

  /// Creates or upgrades the journal. Call while holding the runner lock.
  package static func ensure(on connection: Connection) throws {
    let present = try connection.execute("SELECT to_regclass('pgphase.schema_version') IS NOT NULL").scalarBool() ?? false
    if !present {
      try connection.executeScript(
        """
        CREATE SCHEMA IF NOT EXISTS pgphase;
        CREATE TABLE IF NOT EXISTS pgphase.schema_version (
          version int PRIMARY KEY,
          applied_at timestamptz NOT NULL DEFAULT now()
        );
        """)
    }
    let current = try connection.execute("SELECT coalesce(max(version), 0) FROM pgphase.schema_version").scalarInt() ?? 0
    if current > currentVersion {
      throw ExecutorError.journalTooNew(found: current, supported: currentVersion)
    }
    for version in (current + 1)..<(currentVersion + 1) {
      try connection.transaction { c in
        try c.executeScript(migrations[version - 1])
        try c.execute("INSERT INTO pgphase.schema_version (version) VALUES ($1::int)", [String(version)])
      }
    }
  }

  /// Whether the journal exists at all (read-only callers such as `status` use this).
  package static func exists(on connection: Connection) throws -> Bool {
    try connection.execute("SELECT to_regclass('pgphase.steps') IS NOT NULL").scalarBool() ?? false
  }

  package static func intent(_ id: String, on connection: Connection) throws -> JournalIntent? {
    let result = try connection.execute(
      """
      SELECT intent, plan_hash, (plan ->> 'format')::int AS format, first_applied_at::text AS first
      FROM pgphase.intents WHERE intent = $1
      """, [id])
    return try result.first.map {
      JournalIntent(
        intent: $0["intent"] ?? id, planHash: $0["plan_hash"] ?? "", planFormat: try $0.int("format") ?? 1,
        firstAppliedAt: $0["first"])
    }
  }

  /// Steps of `intent` (every intent when nil), keyed by step id.
  package static func steps(intent: String?, on connection: Connection) throws -> [String: [String: JournalStep]] {
    let result = try connection.execute(
      """
      SELECT intent, step_id, phase, state, attempts, statements, started_at::text AS started_at,
             finished_at::text AS finished_at, extract(epoch FROM clock_timestamp() - started_at)::float8 AS age,
             runner, backend_pid, error_sqlstate, error_message, error_detail, error_statement
      FROM pgphase.steps WHERE $1::text IS NULL OR intent = $1 ORDER BY intent, position
      """, [intent])
    var out: [String: [String: JournalStep]] = [:]
    for row in result.rows {
      let step = JournalStep(
        intent: row["intent"] ?? "", stepID: row["step_id"] ?? "", phase: Phase(rawValue: row["phase"] ?? "") ?? .expand,
        state: StepState(rawValue: row["state"] ?? "") ?? .pending, attempts: try row.int("attempts") ?? 0,
        statements: parseTextArray(row["statements"] ?? "{}"), startedAt: row["started_at"],
        finishedAt: row["finished_at"], ageSeconds: try row.double("age"), runner: row["runner"],
        backendPID: try row.int("backend_pid").map { Int32($0) }, errorSQLState: row["error_sqlstate"],
        errorMessage: row["error_message"], errorDetail: row["error_detail"], errorStatement: row["error_statement"])
      out[step.intent, default: [:]][step.stepID] = step
    }
    return out
  }

  /// Records the plan for an intent (insert, or update hash and plan).
  static func recordPlan(_ loaded: LoadedPlan, on connection: Connection) throws {
    try connection.execute(
      """
      INSERT INTO pgphase.intents (intent, plan_hash, plan) VALUES ($1, $2, $3::jsonb)
      ON CONFLICT (intent) DO UPDATE SET plan_hash = excluded.plan_hash, plan = excluded.plan, updated_at = now()
      """, [loaded.plan.intent, loaded.hash, loaded.canonicalJSON])
  }
}

/// `{"a","b"}` for a text[] parameter.
func textArrayLiteral(_ items: [String]) -> String {
  "{"
    + items.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
    .joined(separator: ",") + "}"
}

/// Parses PostgreSQL's text output of a one-dimensional text[].
func parseTextArray(_ text: String) -> [String] {
  var items: [String] = []
  var chars = Array(text)
  guard chars.first == "{", chars.last == "}" else { return [text] }
  chars = Array(chars.dropFirst().dropLast())
  var i = 0
  while i < chars.count {
    var item = ""
    if chars[i] == "\"" {
      i += 1
      while i < chars.count, chars[i] != "\"" {
        if chars[i] == "\\", i + 1 < chars.count { i += 1 }
        item.append(chars[i])
        i += 1
      }
      i += 1  // closing quote
    } else {
      while i < chars.count, chars[i] != "," {
        item.append(chars[i])
        i += 1
      }
      if item == "NULL" { item = "" }
    }
    items.append(item)
    if i < chars.count, chars[i] == "," { i += 1 }
  }
  return items
}
