import Foundation
import PGPhaseLint

/// Reads the files migration tools keep beside a .sql migration to say whether they wrap it in
/// a transaction (see `MigrationTool` for the table of tools).
enum MigrationTools {
  /// Whether the tool that owns `path` runs it in a transaction, or nil when nothing beside the
  /// file says.
  static func transactional(path: String) -> Bool? {
    let fm = FileManager.default
    // Most migrations have neither file: `access` says so for a fraction of what a failing
    // `FileManager.contents` costs (a tenth of a 2,000-file lint's CPU went to these lookups).
    func contents(_ path: String) -> Data? { access(path, F_OK) == 0 ? fm.contents(atPath: path) : nil }
    if let data = contents(path + ".conf"),
      let value = MigrationTool.flywayExecuteInTransaction(scriptConfig: String(decoding: data, as: UTF8.self))
    {
      return value
    }
    let folder = (path as NSString).deletingLastPathComponent
    if let data = contents((folder.isEmpty ? "." : folder) + "/metadata.toml"),
      let value = MigrationTool.dieselRunInTransaction(metadataToml: String(decoding: data, as: UTF8.self))
    {
      return value
    }
    return nil
  }
}
