import Foundation
import PGPhaseConfig
import PGPhaseModel

/// Finds and reads `.pgphase.yaml` for every command that takes `--config`. The whole file is
/// checked whichever command reads it, so a typo in `rollout:` is found by `lint` in CI, not at
/// deploy time.
enum ConfigFile {
  /// Reads `path`, or `.pgphase.yaml` in the current folder when nil (absent: the defaults).
  /// - Throws: `DiagnosticsError` with file:line:column for every problem.
  static func load(path: String?) throws(DiagnosticsError) -> ProjectConfig {
    let file = path ?? ProjectConfig.fileName
    guard FileManager.default.fileExists(atPath: file) else {
      if path == nil { return ProjectConfig() }
      throw DiagnosticsError([.error("no such config file", at: SourceLocation(file: file, line: 1, column: 1))])
    }
    guard let data = FileManager.default.contents(atPath: file) else {
      throw DiagnosticsError([.error("cannot read the config file", at: SourceLocation(file: file, line: 1, column: 1))])
    }
    return try ProjectConfig.parse(data, file: file)
  }
}
