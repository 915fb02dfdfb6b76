import Foundation

/// How migration tools say whether they wrap a file in a transaction, read from the files they
/// keep beside the SQL (the command line reads those files; this only interprets their text):
///
/// | tool | default | per-file switch |
/// |---|---|---|
/// | Diesel | one transaction per migration | `run_in_transaction = false` in the migration folder's `metadata.toml` |
/// | Flyway | one transaction per script | `executeInTransaction=false` in `<script>.sql.conf` |
/// | Rails | one transaction per migration | `disable_ddl_transaction!` in the Ruby file: write `-- pgphase:no-transaction` in the SQL |
/// | Prisma | no wrapping transaction on PostgreSQL | write BEGIN/COMMIT in the file |
/// | golang-migrate | none | write BEGIN/COMMIT in the file |
///
/// `-- pgphase:no-transaction` and `-- pgphase:transaction` in a file override all of these.
public enum MigrationTool {
  /// Diesel's `metadata.toml`: `run_in_transaction = true|false`, nil when it does not say.
  public static func dieselRunInTransaction(metadataToml text: String) -> Bool? {
    setting("run_in_transaction", in: text, separator: "=")
  }

  /// Flyway's script config (`V1__x.sql.conf`): `executeInTransaction=true|false`.
  public static func flywayExecuteInTransaction(scriptConfig text: String) -> Bool? {
    setting("executeInTransaction", in: text, separator: "=")
  }

  private static func setting(_ key: String, in text: String, separator: Character) -> Bool? {
    for raw in text.split(whereSeparator: \.isNewline) {
      let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      let parts = line.split(separator: separator, maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, parts[0] == key else { continue }
      switch parts[1].lowercased() {
      case "true": return true
      case "false": return false
      default: return nil
      }
    }
    return nil
  }
}
