import Foundation
import PGPhaseConfig
import PGPhaseModel
import PGPhaseSchema

/// The schema `plan` starts from: the file `--schema` names, else the config's `schema:`.
enum SchemaInput {
  /// Reads and parses the schema file (and says which file it was); nil when neither names one. Its warnings are printed;
  /// an error (a file that cannot be read, a statement the reader cannot take) stops with exit 2,
  /// each at its file:line:column.
  static func read(flag: String?, config: String?) throws -> (snapshot: SchemaSnapshot, path: String)? {
    let path: String
    var namedAt: SourceLocation?
    if let flag {
      path = flag
    } else {
      let setting: SchemaFileSetting?
      do {
        setting = try ConfigFile.load(path: config).schema
      } catch {
        for d in error.diagnostics { report(d) }
        throw ExitCodeError(ExitStatus.badInput)
      }
      guard let setting else { return nil }
      path = setting.resolvedPath
      namedAt = setting.location
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      let exists = FileManager.default.fileExists(atPath: path)
      let message = exists ? "cannot read the schema file \(path)" : "no such schema file: \(path)"
      report(namedAt.map { Diagnostic(.error, message, at: $0, object: path) } ?? fileProblem(path, message))
      throw ExitCodeError(ExitStatus.badInput)
    }
    guard let text = String(data: data, encoding: .utf8) else {
      report(fileProblem(path, "the schema file is not UTF-8 text"))
      throw ExitCodeError(ExitStatus.badInput)
    }
    let reading = SchemaFileReader.read(text, file: path)
    for d in reading.diagnostics { report(d) }
    if reading.hasErrors {
      let count = reading.diagnostics.filter { $0.severity == .error }.count
      printError("\(count) error\(count == 1 ? "" : "s") in the schema file; nothing was planned or written")
      throw ExitCodeError(ExitStatus.badInput)
    }
    return (reading.snapshot, path)
  }
}
