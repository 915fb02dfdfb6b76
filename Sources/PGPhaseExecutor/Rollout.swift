import Foundation
import PGPhaseModel
import PGPhasePostgres

/// Contract guard, hooks and notifications around phases.
public struct RolloutOptions: Sendable {
  public init() {}
}

extension Journal {
  /// Version 3: app check-ins (for the contract guard) and an event log (forced overrides).
  static let rolloutMigration = """
    CREATE TABLE pgphase.checkins (
      release text NOT NULL,
      host text NOT NULL,
      intents text[] NOT NULL,
      checked_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (release, host)
    );
    CREATE TABLE pgphase.events (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      kind text NOT NULL,
      intent text,
      phase text,
      runner text,
      detail jsonb
    );
    """
}

extension Executor {
  /// Called under the runner lock before any step of `phase` runs for `intents`. Throwing
  /// stops the phase before anything changes (contract guard, before-phase hook).
  func willRunPhase(_ phase: Phase, intents: [LoadedPlan], on c: Connection) throws {}

  /// Called after the steps of `phase` ran for `intents`, or after the first failure (`error`).
  func didRunPhase(_ phase: Phase, intents: [LoadedPlan], seconds: Double, error: (any Error)?, on c: Connection) {}
}
