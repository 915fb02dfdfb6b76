import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner

/// Finds and reads intent files, then parses and plans them; stops with exit 2 on bad input.
enum IntentFiles {
  static let defaultDirectory = "intents"

  /// The intent files a command line names.
  struct Inputs {
    var files: [String]
    /// Every input is a folder: the run sees every intent there is, so a plan folder whose
    /// intent is not among them is stale. A run on single files knows nothing of the others.
    var onlyFolders: Bool
  }

  /// `.yaml`/`.yml` files named directly or found (recursively, sorted) under named folders.
  static func find(_ paths: [String]) throws -> Inputs {
    let fm = FileManager.default
    let roots = paths.isEmpty ? [defaultDirectory] : paths
    var inputs = Inputs(files: [], onlyFolders: true)
    for root in roots {
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: root, isDirectory: &isDirectory) else {
        report(
          fileProblem(
            root,
            "no such file or folder"
              + (paths.isEmpty ? " (give intent files or folders, e.g. `pgphase plan examples/intents`)" : "")))
        throw ExitCodeError(ExitStatus.badInput)
      }
      if isDirectory.boolValue {
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        let found = (fm.enumerator(atPath: root)?.allObjects as? [String] ?? [])
          .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
          .sorted()
          .map { "\(base)/\($0)" }
        inputs.files += found
      } else {
        inputs.files.append(root)
        inputs.onlyFolders = false
      }
    }
    return inputs
  }

  /// Parses and plans; prints every diagnostic and exits 2 if any is an error.
  static func plan(_ paths: [String]) throws -> [Plan] {
    try plan(find(paths), paths: paths)
  }

  /// - Parameter schema: the schema the intents start from (`plan --schema`), if any.
  static func plan(_ inputs: Inputs, paths: [String], schema: SchemaSnapshot? = nil) throws -> [Plan] {
    try planning(inputs, paths: paths, schema: schema).plans
  }

  /// `plan`, with the schema the intents leave (`Planner.Outcome.schema`).
  static func planning(_ inputs: Inputs, paths: [String], schema: SchemaSnapshot? = nil) throws -> (
    plans: [Plan], schema: SchemaSnapshot
  ) {
    if inputs.files.isEmpty {
      report(
        Diagnostic(
          .error, "no intent files (.yaml) found in \(paths.isEmpty ? defaultDirectory : paths.joined(separator: ", "))", at: nil)
      )
      throw ExitCodeError(ExitStatus.badInput)
    }
    var sources: [IntentSource] = []
    let contents = Parallel.map(inputs.files) { FileManager.default.contents(atPath: $0) }
    for (file, data) in zip(inputs.files, contents) {
      guard let data else {
        report(fileProblem(file, "cannot read the file"))
        throw ExitCodeError(ExitStatus.badInput)
      }
      // The parser checks the size bound and UTF-8 (locating the first bad byte) itself.
      sources.append(IntentSource(path: file, bytes: [UInt8](data)))
    }
    let (intents, parseDiagnostics) = IntentLoader.load(sources)
    var diagnostics = parseDiagnostics
    var plans: [Plan] = []
    var after = SchemaSnapshot()
    if !parseDiagnostics.hasErrors {
      let result = Planner.planning(intents, schema: schema)
      diagnostics += result.diagnostics
      plans = result.plans
      after = result.schema
    }
    for d in diagnostics { report(d) }
    if diagnostics.hasErrors {
      let count = diagnostics.filter { $0.severity == .error }.count
      printError("\(count) error\(count == 1 ? "" : "s"); nothing was planned or written")
      throw ExitCodeError(ExitStatus.badInput)
    }
    return (plans, after)
  }
}

/// Ends the command with an exit code after the command has printed its own message.
struct ExitCodeError: Error {
  var code: Int32
  init(_ code: Int32) { self.code = code }
}
