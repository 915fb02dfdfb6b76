import Foundation
package import PGPhaseModel
package import PGPhasePostgres

/// The session settings pgphase runs with, so that only its own limits ever stop a step.
///
/// A role or database may carry timeouts of its own (`ALTER ROLE app SET statement_timeout =
/// '1s'`): sensible for an app, wrong for a `VALIDATE CONSTRAINT` that scans for minutes, a batch
/// transaction that is idle between its statements for a moment, an index build, the check that
/// no row is left pending, or the runner lock's connection, which is idle for the whole run.
/// Every pgphase session therefore starts with these timeouts off, and each step kind sets what it
/// needs on top (`forStep`); the journal records, per step, what was set and what it overrode, and
/// `pgphase status` shows it.
package struct SessionSettings: Sendable, Equatable {
  /// The timeouts a role, a database or postgresql.conf may set that would cancel work for a
  /// reason of their own. Those the server does not know (idle_session_timeout before 14,
  /// transaction_timeout before 17) are left out.
  package static let timeouts = [
    "statement_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout", "transaction_timeout",
  ]

  /// A value in effect before pgphase set its own.
  package struct Inherited: Sendable, Equatable, Codable {
    /// As `current_setting` prints it, e.g. `1s`.
    package var value: String
    /// `pg_settings.source`: `user` (ALTER ROLE), `database`, `database user`, `configuration file`, ...
    package var source: String

    /// `1s set on the role`.
    package var description: String {
      let whence =
        switch source {
        case "user": "set on the role"
        case "database": "set on the database"
        case "database user": "set on the role in this database"
        case "configuration file": "from postgresql.conf"
        default: "from \(source)"
        }
      return "\(value) \(whence)"
    }
  }

  /// Timeouts (of `timeouts`) this server knows, with what they were before, when it was not
  /// already off.
  package var present: [String]
  package var inherited: [String: Inherited]

  /// Turns the timeouts off for the session on `c`, and reads what they were and where that came
  /// from. `statement_timeout` goes first, alone: the query that reads the catalog must not be
  /// cancelled by the very timeout it is about to report.
  /// - Parameter set: false through a transaction pool, where a session setting would stay on
  ///   whichever server connection ran it, for the pool's other clients: then only each
  ///   transaction sets them, locally.
  package static func prepare(on c: Connection, set: Bool = true) throws -> SessionSettings {
    if set { try c.executeAlone("SET statement_timeout = 0") }
    // reset_val is what the session had before any SET (role, database, postgresql.conf or the
    // default); pg_db_role_setting says whether a role or database set it.
    let rows = try c.execute(
      """
      SELECT s.name, s.reset_val, s.unit,
        CASE
          WHEN EXISTS (SELECT 1 FROM pg_db_role_setting r, unnest(r.setconfig) c
                       WHERE r.setrole = u.oid AND r.setdatabase = d.oid AND c LIKE s.name || '=%') THEN 'database user'
          WHEN EXISTS (SELECT 1 FROM pg_db_role_setting r, unnest(r.setconfig) c
                       WHERE r.setrole = u.oid AND r.setdatabase = 0 AND c LIKE s.name || '=%') THEN 'user'
          WHEN EXISTS (SELECT 1 FROM pg_db_role_setting r, unnest(r.setconfig) c
                       WHERE r.setrole = 0 AND r.setdatabase = d.oid AND c LIKE s.name || '=%') THEN 'database'
          WHEN s.reset_val IS DISTINCT FROM s.boot_val THEN 'configuration file'
          ELSE 'default'
        END AS source
      FROM pg_settings s
      CROSS JOIN (SELECT oid FROM pg_roles WHERE rolname = session_user) u
      CROSS JOIN (SELECT oid FROM pg_database WHERE datname = current_database()) d
      WHERE s.name = ANY($1::text[])
      """, [textArrayLiteral(timeouts)]
    ).rows
    var present: [String] = []
    var inherited: [String: Inherited] = [:]
    for row in rows {
      guard let name = row["name"] else { continue }
      present.append(name)
      let value = row["reset_val"] ?? "0"
      if value != "0", row["source"] != "default" {
        inherited[name] = Inherited(value: formatMilliseconds(value, unit: row["unit"]), source: row["source"] ?? "?")
      }
    }
    let others = present.filter { $0 != "statement_timeout" }
    if set, !others.isEmpty {
      try c.execute("SELECT " + others.map { "set_config('\($0)', '0', false)" }.joined(separator: ", "))
    }
    return SessionSettings(present: timeouts.filter(present.contains), inherited: inherited)
  }

  /// For a command that only reads (`status`, `verify`, `check`, `schema dump`): turns the role's
  /// or database's timeouts off for this session when it is a server session of its own, so a
  /// `statement_timeout` meant for the app cannot cancel a long catalog read. Through a pooler
  /// (the backend pid libpq was given is not the one running the statements) nothing is set: a
  /// session setting would stay on the pool's server connection for its next client.
  package static func relaxForReading(_ c: Connection) throws {
    let pid = try c.execute("SELECT pg_backend_pid()").scalarInt()
    guard pid == Int(c.backendPID) else { return }
    _ = try prepare(on: c)
  }

  /// `1000` ms as `1s`, `1500` as `1500ms`, `90000` as `90s`; other units as given.
  static func formatMilliseconds(_ value: String, unit: String?) -> String {
    guard unit == "ms", let ms = Int(value) else { return value + (unit ?? "") }
    if ms % 60_000 == 0, ms >= 60_000 { return "\(ms / 60_000)min" }
    if ms % 1000 == 0 { return "\(ms / 1000)s" }
    return "\(ms)ms"
  }

  /// The settings a step of `action` runs with, on top of the session's (every timeout off):
  /// the plan's `lock_timeout` for what waits in the lock queue (DDL, a batch), none for what
  /// must not be cancelled in the middle (index builds, CONCURRENTLY statements), and for a
  /// backfill its asynchronous commits and the trigger it bypasses.
  package static func forStep(_ action: StepAction, lockTimeout: String) -> [(name: String, value: String)] {
    switch action {
    case .transaction, .validateConstraint, .sql(transactional: true, _), .sql(_, concurrently: false):
      return [("lock_timeout", lockTimeout)]
    case .buildIndex, .rebuildIndex, .dropIndex, .sql(_, concurrently: true):
      return [("lock_timeout", "0")]
    case .backfill(let spec):
      return [("lock_timeout", lockTimeout), ("synchronous_commit", "off")]
        + (spec.bypassTrigger.map { [("pgphase.bypass_trigger", $0)] } ?? [])
    }
  }

  /// What a step of `action` ran with, as the journal stores it (`pgphase.steps.session_settings`):
  /// `{"statement_timeout": {"set": "0", "was": "1s", "source": "user"}, "lock_timeout": {"set": "2s"}}`.
  package func record(for action: StepAction, lockTimeout: String) -> String {
    var object: [String: [String: String]] = [:]
    for name in present {
      var entry = ["set": "0"]
      if let was = inherited[name] {
        entry["was"] = was.value
        entry["source"] = was.source
      }
      object[name] = entry
    }
    for (name, value) in Self.forStep(action, lockTimeout: lockTimeout) { object[name] = ["set": value] }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(object)) ?? Data("{}".utf8), as: UTF8.self)
  }
}

extension Journal {
  /// Version 6: the session settings each step ran with (`SessionSettings.record`), so `status`
  /// can say which pgphase set and what they overrode.
  static let sessionSettingsMigration = """
    ALTER TABLE pgphase.steps ADD COLUMN session_settings jsonb;
    """

  /// Records the settings a step runs with, on whatever transaction the connection is in (after
  /// its row was written).
  static func recordSettings(_ settings: String, intent: String, step: String, on c: Connection) throws {
    try c.execute(
      "UPDATE pgphase.steps SET session_settings = $3::jsonb WHERE intent = $1 AND step_id = $2", [intent, step, settings])
  }
}
