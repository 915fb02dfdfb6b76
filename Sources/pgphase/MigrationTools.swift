import Foundation
import PGPhaseLint

/// Reads the files migration tools keep beside a .sql migration to say whether they wrap it in
/// a transaction (see `MigrationTool` for the table of tools).
enum MigrationTools {
  /// Whether the tool that owns `path` runs it in a transaction, or nil when nothing beside the
  /// file says.
  static func transactional(path: String) -> Bool? {
    let fm = FileManager.default
    if let data = fm.contents(atPath: path + ".conf"),
      let value = MigrationTool.flywayExecuteInTransaction(scriptConfig: String(decoding: data, as: UTF8.self))
    {
      return value
    }
    let folder = (path as NSString).deletingLastPathComponent
    if let data = fm.contents(atPath: (folder.isEmpty ? "." : folder) + "/metadata.toml"),
      let value = MigrationTool.dieselRunInTransaction(metadataToml: String(decoding: data, as: UTF8.self))
    {
      return value
    }
    return nil
  }
}
